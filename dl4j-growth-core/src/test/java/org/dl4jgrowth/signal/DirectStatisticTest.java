package org.dl4jgrowth.signal;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.dl4jgrowth.activation.ActivationGrowthReLU;
import org.dl4jgrowth.network.NetworkAdapter;
import org.dl4jgrowth.testing.NetState;
import org.dl4jgrowth.testing.TestNets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The direct route ({@link DirectStatistic}: one unwidened forward and backward pass) against the
 * probe route, its oracle, in DOUBLE: equal to 1e-6 relative on every site it supports, on both
 * network types, with label and feature masks; sites it does not support say why and take the probes.
 */
@org.junit.jupiter.api.extension.ExtendWith(org.dl4jgrowth.testing.DoublePrecision.class)
class DirectStatisticTest {

    /** x(5) -> d1(6, growth ReLU) -> d2(4, plain ReLU) -> d3(3, tanh) -> out(3, identity, MSE). */
    static final TestNets.Arch DEEP_MSE = new TestNets.Arch("deep MSE", () -> List.of(
            new DenseLayer.Builder().name("d1").nOut(6).activation(new ActivationGrowthReLU()).build(),
            new DenseLayer.Builder().name("d2").nOut(4).activation(Activation.RELU).build(),
            new DenseLayer.Builder().name("d3").nOut(3).activation(Activation.TANH).build(),
            new OutputLayer.Builder().name("out").nOut(3).activation(Activation.IDENTITY)
                    .lossFunction(LossFunctions.LossFunction.MSE).build()),
            InputType.feedForward(5), new long[]{1, 5}, 3);

    /** x(4) -> d1(5, tanh) -> d2(4, growth ReLU) -> bn -> out(3, softmax): batch norm above the consumer. */
    static final TestNets.Arch BN_ABOVE = new TestNets.Arch("BN above the consumer", () -> List.of(
            new DenseLayer.Builder().name("d1").nOut(5).activation(Activation.TANH).build(),
            new DenseLayer.Builder().name("d2").nOut(4).activation(new ActivationGrowthReLU()).build(),
            new org.deeplearning4j.nn.conf.layers.BatchNormalization.Builder().name("bn").build(),
            new OutputLayer.Builder().name("out").nOut(3).activation(Activation.SOFTMAX)
                    .lossFunction(LossFunctions.LossFunction.MCXENT).build()),
            InputType.feedForward(4), new long[]{1, 4}, 3);

    /**
     * x(2, 9x9) -> c1(3, 3x3, stride 2, Same, tanh) -> avg-pool(2x2, stride 1) -> c2(4, 3x3, dilation 2,
     * stride 2, Same, growth ReLU) -> global sum pool -> out(3, softmax): Same-mode padding, strides
     * and dilation on both sides of the site.
     */
    static final TestNets.Arch CONV_SAME = new TestNets.Arch("Conv(Same, stride)->AvgPool->Conv(dilated)", () -> List.of(
            new org.deeplearning4j.nn.conf.layers.ConvolutionLayer.Builder(3, 3).name("c1").nOut(3).stride(2, 2)
                    .convolutionMode(org.deeplearning4j.nn.conf.ConvolutionMode.Same).activation(Activation.TANH).build(),
            new org.deeplearning4j.nn.conf.layers.SubsamplingLayer.Builder(
                    org.deeplearning4j.nn.conf.layers.PoolingType.AVG).kernelSize(2, 2).stride(1, 1).name("pool").build(),
            new org.deeplearning4j.nn.conf.layers.ConvolutionLayer.Builder(3, 3).name("c2").nOut(4).stride(2, 2)
                    .dilation(2, 2).convolutionMode(org.deeplearning4j.nn.conf.ConvolutionMode.Same)
                    .activation(new ActivationGrowthReLU()).build(),
            new org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer.Builder(
                    org.deeplearning4j.nn.conf.layers.PoolingType.SUM).name("gp").build(),
            new OutputLayer.Builder().name("out").nOut(3).activation(Activation.SOFTMAX)
                    .lossFunction(LossFunctions.LossFunction.MCXENT).build()),
            InputType.convolutional(9, 9, 2), new long[]{1, 2, 9, 9}, 3);

    /** x(4) -> d1(6, tanh) -> d2(5, tanh, DropConnect weight noise) -> out(3). */
    static final TestNets.Arch WEIGHT_NOISE = new TestNets.Arch("Dense->Dense(weight noise)", () -> List.of(
            new DenseLayer.Builder().name("d1").nOut(6).activation(Activation.TANH).build(),
            new DenseLayer.Builder().name("d2").nOut(5).activation(Activation.TANH)
                    .weightNoise(new org.deeplearning4j.nn.conf.weightnoise.DropConnect(0.8)).build(),
            new OutputLayer.Builder().name("out").nOut(3).activation(Activation.SOFTMAX)
                    .lossFunction(LossFunctions.LossFunction.MCXENT).build()),
            InputType.feedForward(4), new long[]{1, 4}, 3);

    static Stream<Arguments> sites() {
        List<Arguments> out = new ArrayList<>();
        for (boolean graph : new boolean[]{false, true}) {
            out.add(Arguments.of(TestNets.DENSE_DENSE, "d1", graph));   // consumer hidden, one layer above
            out.add(Arguments.of(TestNets.DENSE_DENSE, "d2", graph));   // consumer is the output layer
            out.add(Arguments.of(TestNets.DIGITS_MLP, "h1", graph));
            out.add(Arguments.of(DEEP_MSE, "d1", graph));               // plain ReLU consumer, two layers above
            out.add(Arguments.of(DEEP_MSE, "d2", graph));               // plain ReLU site
            out.add(Arguments.of(DEEP_MSE, "d3", graph));               // MSE output consumer
            out.add(Arguments.of(BN_ABOVE, "d1", graph));               // batch norm's own backward pass above
            out.add(Arguments.of(TestNets.DENSE_BN_DENSE_NO_DROPOUT, "d1", graph)); // batch norm between
            out.add(Arguments.of(TestNets.CONV_BN_CONV, "c1", graph));  // BN, activation, zero padding between
            out.add(Arguments.of(TestNets.CONV_BN_CONV, "c2", graph));  // global average pool -> output
            out.add(Arguments.of(TestNets.CONV_CONV, "c1", graph));     // strided consumer
            out.add(Arguments.of(TestNets.CONV_CONV, "c2", graph));     // global max pool -> output
            out.add(Arguments.of(TestNets.DIGITS_CNN, "c1", graph));    // BN, activation, max pool between
            out.add(Arguments.of(TestNets.DIGITS_CNN, "c2", graph));    // BN, activation, global pool -> dense
            out.add(Arguments.of(CONV_SAME, "c1", graph));              // Same mode, strides, dilation
            out.add(Arguments.of(CONV_SAME, "c2", graph));              // global sum pool
        }
        return out.stream();
    }

    private static Model trained(TestNets.Arch arch, boolean graph) {
        Model net = TestNets.build(arch, TestNets.base(7, new Adam(0.05), DataType.DOUBLE), graph);
        // A few steps so that no unit is at its initial symmetry and ReLUs are partly off.
        for (int i = 0; i < 3; i++) {
            TestNets.fit(net, arch.data(16, 100 + i, DataType.DOUBLE));
        }
        return net;
    }

    private static List<MultiDataSet> batches(TestNets.Arch arch, boolean masked) {
        List<MultiDataSet> out = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            DataSet d = arch.data(9 - i, 20 + i, DataType.DOUBLE);
            if (masked) {
                // Example-wise on the first minibatch; output-wise on the second where the loss allows
                // it (DL4J refuses per-output masks for softmax with MCXENT).
                boolean perOutput = i == 1 && arch == DEEP_MSE;
                INDArray m = perOutput ? Nd4j.ones(DataType.DOUBLE, d.numExamples(), arch.classes)
                        : Nd4j.ones(DataType.DOUBLE, d.numExamples(), 1);
                m.putScalar(new long[]{1, 0}, 0.0);
                m.putScalar(new long[]{3, 0}, 0.0);
                d.setLabelsMaskArray(m);
                // And, on flat inputs, a features mask on another example, which DL4J hands to every
                // layer (features masks on images take the probes: sitesTheDirectRouteDoesNotTake...).
                if (arch.inputShape.length == 2) {
                    INDArray f = Nd4j.ones(DataType.DOUBLE, d.numExamples(), 1);
                    f.putScalar(new long[]{2, 0}, 0.0);
                    d.setFeaturesMaskArray(f);
                }
            }
            out.add(NetworkAdapter.toMulti(d));
        }
        return out;
    }

    private static void assertRelativelyEqual(INDArray expected, INDArray actual, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what);
        double scale = expected.norm2Number().doubleValue();
        assertTrue(scale > 1e-8, what + ": a non-trivial statistic (norm " + scale + ")");
        double diff = expected.sub(actual).norm2Number().doubleValue();
        assertTrue(diff <= 1e-6 * scale, what + ": |direct - probes| = " + diff + " against |probes| = " + scale
                + "\nprobes " + expected + "\ndirect " + actual);
    }

    @ParameterizedTest(name = "{0} {1} graph={2}")
    @MethodSource("sites")
    void equalsTheProbeRoute(TestNets.Arch arch, String layer, boolean graph) {
        for (boolean masked : new boolean[]{false, true}) {
            Model net = trained(arch, graph);
            assertNull(DirectStatistic.unsupported(net, layer));
            List<MultiDataSet> data = batches(arch, masked);
            NetState before = NetState.of(net);
            INDArray direct = DirectStatistic.compute(net, layer, data);
            assertArrayEquals(before.params, NetState.of(net).params, 0.0, "the network is untouched");
            assertEquals(before.json, NetState.of(net).json);
            assertRelativelyEqual(GradientStatistic.probes(net, layer, data), direct, arch + " " + layer
                    + (masked ? " with label and feature masks" : ""));
            GradientStatistic.Routed routed = GradientStatistic.computeWithRoute(net, layer, data);
            assertEquals("direct", routed.route());
            assertEquals(direct, routed.sum(), "the default route is the direct one");
        }
    }

    /**
     * The scratch networks' gradient view is one buffer shared by every statistic (nothing reads it):
     * statistics of two networks of different sizes computed at the same time on two threads, as
     * parallel workers compute theirs, are bit-identical to the same statistics computed alone.
     */
    @Test
    void statisticsOnTwoThreadsAtOnceEqualThoseComputedAlone() throws Exception {
        Model small = trained(TestNets.DENSE_DENSE, false);
        Model large = trained(TestNets.DIGITS_MLP, true);
        List<MultiDataSet> smallData = batches(TestNets.DENSE_DENSE, true);
        List<MultiDataSet> largeData = batches(TestNets.DIGITS_MLP, false);
        INDArray smallAlone = DirectStatistic.compute(small, "d1", smallData);
        INDArray largeAlone = DirectStatistic.compute(large, "h1", largeData);
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            List<java.util.concurrent.Future<INDArray>> smalls = new ArrayList<>();
            List<java.util.concurrent.Future<INDArray>> larges = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                smalls.add(pool.submit(() -> DirectStatistic.compute(small, "d1", smallData)));
                larges.add(pool.submit(() -> DirectStatistic.compute(large, "h1", largeData)));
            }
            for (int i = 0; i < 6; i++) {
                assertEquals(smallAlone, smalls.get(i).get(), "small network, run " + i);
                assertEquals(largeAlone, larges.get(i).get(), "large network, run " + i);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * Several sites from one forward pass and one backward walk: each equals its own pass and the
     * probe route, on both network types, with label masks; the network stays bit-identical.
     */
    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void severalSitesShareOnePassAndEachEqualsItsOwn(boolean graph) {
        Object[][] cases = {{TestNets.DIGITS_CNN, List.of("d", "c1", "c2")}, {DEEP_MSE, List.of("d1", "d2", "d3")}};
        for (Object[] c : cases) {
            TestNets.Arch arch = (TestNets.Arch) c[0];
            @SuppressWarnings("unchecked")
            List<String> layers = (List<String>) c[1];
            Model net = trained(arch, graph);
            List<MultiDataSet> data = batches(arch, true);
            NetState before = NetState.of(net);
            java.util.Map<String, INDArray> together = DirectStatistic.computeSupported(net, layers, data);
            assertArrayEquals(before.params, NetState.of(net).params, 0.0, "the network is untouched");
            assertEquals(layers, List.copyOf(together.keySet()), "in the order asked");
            java.util.Map<String, GradientStatistic.Routed> routed = GradientStatistic.computeAllWithRoute(net,
                    layers, data);
            for (String layer : layers) {
                INDArray alone = DirectStatistic.computeSupported(net, layer, data);
                assertRelativelyEqual(alone, together.get(layer), arch + " " + layer + " together against alone");
                assertRelativelyEqual(GradientStatistic.probes(net, layer, data), together.get(layer),
                        arch + " " + layer + " together against the probes");
                assertEquals("direct", routed.get(layer).route());
                assertEquals(together.get(layer), routed.get(layer).sum());
            }
        }
    }

    /**
     * The signals prepare several sites' statistics from one shared pass when the direct route
     * takes them all, and leave probe-route sites to be asked one by one (a trigger may stop first).
     */
    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void signalsPrepareDirectSitesTogetherAndLeaveProbeSitesAlone(boolean graph) {
        Model cnn = trained(TestNets.DIGITS_CNN, graph);
        List<MultiDataSet> data = batches(TestNets.DIGITS_CNN, false);
        StatisticSignals together = new StatisticSignals(cnn, () -> data, () -> List.of("c1", "c2", "d"));
        together.prepareStatistics(List.of("c1", "c2", "d"));
        assertEquals(data.size(), together.passes(), "one shared pass per minibatch for three sites");
        for (String layer : List.of("c1", "c2", "d")) {
            assertRelativelyEqual(GradientStatistic.computeWithRoute(cnn, layer, data).sum(),
                    together.gradientStatistic(layer), "prepared " + layer);
        }
        assertEquals(data.size(), together.passes(), "asking afterwards reads the prepared statistics");
        assertEquals(java.util.Map.of("c1", "direct", "c2", "direct", "d", "direct"), together.statisticRoutes());

        Model noisy = TestNets.build(WEIGHT_NOISE, TestNets.base(3, new Adam(0.01), DataType.DOUBLE), graph);
        List<MultiDataSet> flat = batches(WEIGHT_NOISE, false);
        StatisticSignals probes = new StatisticSignals(noisy, () -> flat, () -> List.of("d1", "d2"));
        probes.prepareStatistics(List.of("d1", "d2"));
        assertEquals(0, probes.passes(), "probe-route sites are not computed ahead");
    }

    /**
     * On a network with dropout the direct route runs with dropout off: it equals the probe route on
     * the same network without its dropout (same parameters), says so in its route, draws nothing
     * from ND4J's random stream and leaves the network bit-identical; both network types, a
     * DropoutLayer between the site and its consumer and below the other site.
     */
    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void withDropoutTheDirectRouteRunsWithDropoutOff(boolean graph) {
        Model dropout = trained(TestNets.DENSE_BN_DENSE, graph);
        Model twin = TestNets.build(TestNets.DENSE_BN_DENSE_NO_DROPOUT, TestNets.base(7, new Adam(0.05),
                DataType.DOUBLE), graph);
        twin.setParams(dropout.params().dup());
        assertTrue(DirectStatistic.hasDropout(dropout));
        for (boolean masked : new boolean[]{false, true}) {
            List<MultiDataSet> data = batches(TestNets.DENSE_BN_DENSE, masked);
            for (String layer : List.of("d1", "d2")) {
                assertNull(DirectStatistic.unsupported(dropout, layer));
                NetState before = NetState.of(dropout);
                Nd4j.getRandom().setSeed(11);
                GradientStatistic.Routed routed = GradientStatistic.computeWithRoute(dropout, layer, data);
                double next = Nd4j.getRandom().nextDouble();
                Nd4j.getRandom().setSeed(11);
                assertEquals(Nd4j.getRandom().nextDouble(), next, 0.0, "no random draw");
                assertEquals("direct (dropout off)", routed.route());
                assertArrayEquals(before.params, NetState.of(dropout).params, 0.0, "the network is untouched");
                assertEquals(before.json, NetState.of(dropout).json, "its dropout is still configured");
                assertRelativelyEqual(GradientStatistic.probes(twin, layer, data), routed.sum(),
                        layer + " against the probes without dropout" + (masked ? ", masked" : ""));
            }
        }
    }

    /** A masked-out example contributes nothing: its statistic is that of the others alone. */
    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void aMaskedExampleContributesNothing(boolean graph) {
        Model net = trained(TestNets.DENSE_DENSE, graph);
        DataSet d = TestNets.DENSE_DENSE.data(6, 3, DataType.DOUBLE);
        INDArray m = Nd4j.ones(DataType.DOUBLE, 6, 1);
        m.putScalar(2, 0, 0.0);
        DataSet masked = d.copy();
        masked.setLabelsMaskArray(m);
        List<DataSet> rest = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            if (i != 2) {
                rest.add(d.get(i));
            }
        }
        INDArray withMask = DirectStatistic.compute(net, "d1", List.of(NetworkAdapter.toMulti(masked)));
        INDArray others = DirectStatistic.compute(net, "d1", List.of(NetworkAdapter.toMulti(DataSet.merge(rest))));
        assertRelativelyEqual(others, withMask, "masked example left out");
        DataSet featureMasked = d.copy();
        featureMasked.setFeaturesMaskArray(m);
        assertRelativelyEqual(others, DirectStatistic.compute(net, "d1",
                List.of(NetworkAdapter.toMulti(featureMasked))), "example left out by the features mask");
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void sitesTheDirectRouteDoesNotTakeSayWhyAndTakeTheProbes(boolean graph) {
        // Weight noise changes the pass in a way only the probe route reproduces: refused, and the probes run.
        Model noisy = TestNets.build(WEIGHT_NOISE, TestNets.base(3, new Adam(0.01), DataType.DOUBLE), graph);
        String why = DirectStatistic.unsupported(noisy, "d1");
        assertNotNull(why);
        assertTrue(why.contains("'d2' has weight noise"), why);
        List<MultiDataSet> data = batches(WEIGHT_NOISE, false);
        Nd4j.getRandom().setSeed(5);
        GradientStatistic.Routed routed = GradientStatistic.computeWithRoute(noisy, "d1", data);
        assertEquals("probes (" + why + ")", routed.route());
        Nd4j.getRandom().setSeed(5);
        assertEquals(GradientStatistic.probes(noisy, "d1", data), routed.sum());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DirectStatistic.compute(noisy, "d1", data));
        assertTrue(e.getMessage().contains("'d1'") && e.getMessage().contains(why), e.getMessage());

        // A convolution site with a features mask on its images: the probes.
        Model conv = trained(TestNets.CONV_CONV, graph);
        DataSet images = TestNets.CONV_CONV.data(6, 4, DataType.DOUBLE);
        images.setFeaturesMaskArray(Nd4j.ones(DataType.DOUBLE, 6, 1, 7, 7));
        List<MultiDataSet> masked = List.of(NetworkAdapter.toMulti(images));
        assertNull(DirectStatistic.unsupported(conv, "c1"));
        assertTrue(GradientStatistic.computeWithRoute(conv, "c1", masked).route().contains("features masks"));

        // A convolution reaching a dense layer through a flatten, and a batch norm starting new
        // channels at a non-zero beta, are refused by name.
        Model flat = trained(TestNets.CONV_POOL_DENSE, graph);
        assertTrue(DirectStatistic.unsupported(flat, "c1").contains("through a CnnToFeedForwardPreProcessor"),
                DirectStatistic.unsupported(flat, "c1"));
        TestNets.Arch shifted = new TestNets.Arch("Dense->BN(beta 0.5)->Dense", () -> List.of(
                new DenseLayer.Builder().name("d1").nOut(6).activation(Activation.TANH).build(),
                new org.deeplearning4j.nn.conf.layers.BatchNormalization.Builder().beta(0.5).name("bn1").build(),
                new OutputLayer.Builder().name("out").nOut(3).activation(Activation.SOFTMAX)
                        .lossFunction(LossFunctions.LossFunction.MCXENT).build()),
                InputType.feedForward(4), new long[]{1, 4}, 3);
        Model beta = TestNets.build(shifted, TestNets.base(3, new Adam(0.01), DataType.DOUBLE), graph);
        assertTrue(DirectStatistic.unsupported(beta, "d1").contains("'bn1' starts new channels at beta 0.5"),
                DirectStatistic.unsupported(beta, "d1"));
    }

    @Test
    void theRoutePropertyForcesProbesRefusesAndChecksItsValue() {
        Model net = trained(TestNets.DENSE_DENSE, false);
        List<MultiDataSet> data = batches(TestNets.DENSE_DENSE, false);
        String old = System.getProperty(GradientStatistic.ROUTE_PROPERTY);
        try {
            System.setProperty(GradientStatistic.ROUTE_PROPERTY, "probes");
            assertTrue(GradientStatistic.computeWithRoute(net, "d1", data).route().startsWith("probes (asked for"));
            System.setProperty(GradientStatistic.ROUTE_PROPERTY, "direct");
            assertEquals("direct", GradientStatistic.computeWithRoute(net, "d1", data).route());
            Model noisy = TestNets.build(WEIGHT_NOISE, TestNets.base(3, new Adam(0.01), DataType.DOUBLE), false);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GradientStatistic
                    .computeWithRoute(noisy, "d1", batches(WEIGHT_NOISE, false)));
            assertTrue(e.getMessage().contains("=direct") && e.getMessage().contains("'d1'"), e.getMessage());
            System.setProperty(GradientStatistic.ROUTE_PROPERTY, "fast");
            e = assertThrows(IllegalArgumentException.class, () -> GradientStatistic.computeWithRoute(net, "d1", data));
            assertTrue(e.getMessage().contains("fast") && e.getMessage().contains("auto, direct and probes"),
                    e.getMessage());
        } finally {
            if (old == null) {
                System.clearProperty(GradientStatistic.ROUTE_PROPERTY);
            } else {
                System.setProperty(GradientStatistic.ROUTE_PROPERTY, old);
            }
        }
    }
}
