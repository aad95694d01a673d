package org.dl4jgrowth.rewrite;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.deeplearning4j.optimize.listeners.ScoreIterationListener;
import org.deeplearning4j.ui.model.stats.StatsListener;
import org.deeplearning4j.ui.model.storage.InMemoryStatsStorage;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.network.NetworkAdapter;
import org.dl4jgrowth.testing.NetState;
import org.dl4jgrowth.testing.TestNets;
import org.dl4jgrowth.when.GrowthTrigger;
import org.dl4jgrowth.where.GrowthAmount;
import org.dl4jgrowth.where.SiteSelector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.learning.config.Adam;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The rewrite builds into buffers a network keeps between growths ({@link RewriteBuffers}): the
 * result is exactly what fresh allocation gives, inside {@code fit()} with DL4J's listeners around
 * the growth; stale values in a reused buffer never reach the network; a failed rewrite leaves the
 * network bit-identical and the spare still spare; a prepared rewrite whose buffers another took is
 * refused; and two generations alternate.
 */
class RewriteBuffersTest {

    @AfterEach
    void reuseOnAgain() {
        System.clearProperty(RewriteBuffers.PROPERTY);
    }

    private static Model net(boolean graph) {
        Model net = TestNets.build(TestNets.DENSE_DENSE, TestNets.base(7, new Adam(0.01), DataType.DOUBLE), graph);
        for (int i = 0; i < 2; i++) {
            TestNets.fit(net, TestNets.DENSE_DENSE.data(8, i, DataType.DOUBLE));
        }
        return net;
    }

    private static long address(INDArray a) {
        return a.data().address();
    }

    private static INDArray gradient(Model net) {
        return NetworkAdapter.of(net).gradientsView();
    }

    private static INDArray state(Model net) {
        return NetState.updater(net).getStateViewArray();
    }

    private static void grow(Model net, String layer, int n) {
        NetworkRewrite.of(net).grow(layer, n).initializer(UnitInitializer.zeros()).apply();
    }

    /** Six minibatches, two epochs, with DL4J's listeners before and after the growth listener. */
    private static List<GrowthListener> train(Model net) {
        org.nd4j.linalg.factory.Nd4j.getRandom().setSeed(123);
        GrowthListener growth = new GrowthListener(GrowthPolicy.builder().when(GrowthTrigger.everyIterations(2))
                .where(SiteSelector.layers("d1")).howMuch(GrowthAmount.add(2)).seed(3).build());
        List<TrainingListener> all = new ArrayList<>();
        all.add(new ScoreIterationListener(100));
        all.add(growth);
        all.add(new StatsListener(new InMemoryStatsStorage()));
        net.setListeners(all.toArray(new TrainingListener[0]));
        List<DataSet> batches = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            batches.add(TestNets.DENSE_DENSE.data(8, 10 + i, DataType.DOUBLE));
        }
        for (int epoch = 0; epoch < 2; epoch++) {
            DataSetIterator it = new org.deeplearning4j.datasets.iterator.IteratorDataSetIterator(batches.iterator(), 8);
            if (net instanceof MultiLayerNetwork) {
                ((MultiLayerNetwork) net).fit(it);
            } else {
                ((ComputationGraph) net).fit(it);
            }
        }
        return List.of(growth);
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void reusedBuffersGiveExactlyWhatFreshOnesGiveInsideFit(boolean graph) {
        Model fresh = net(graph);
        Model reused = TestNets.copy(fresh);
        System.setProperty(RewriteBuffers.PROPERTY, "false");
        GrowthListener freshGrowth = train(fresh).get(0);
        assertNull(RewriteBuffers.liveOf(fresh), "reuse off: no buffers kept");

        System.setProperty(RewriteBuffers.PROPERTY, "true");
        GrowthListener reusedGrowth = train(reused).get(0);

        int events = reusedGrowth.history().events().size();
        assertTrue(events >= 4, "grew " + events + " times");
        assertEquals(freshGrowth.history().events().size(), events);
        assertEquals(TestNets.layer(fresh, "d1").getParam("W").size(1), TestNets.layer(reused, "d1").getParam("W").size(1));

        NetState a = NetState.of(fresh);
        NetState b = NetState.of(reused);
        assertEquals(a.json, b.json);
        assertArrayEquals(a.params, b.params, "parameters");
        assertArrayEquals(a.updaterState, b.updaterState, "optimizer state");
        assertArrayEquals(gradient(fresh).toDoubleVector(), gradient(reused).toDoubleVector(), "gradient");
        INDArray x = TestNets.DENSE_DENSE.input(5, 99, DataType.DOUBLE);
        assertEquals(TestNets.output(fresh, x), TestNets.output(reused, x));
        INDArray[] live = RewriteBuffers.liveOf(reused);
        assertNotNull(live, "reuse on: the network's arrays are ours");
        assertEquals(address(live[0]), address(reused.params()), "parameters in the kept buffer");
        assertEquals(address(live[2]), address(state(reused)), "optimizer state in the kept buffer");
        assertNotNull(RewriteBuffers.spareOf(reused), "a spare generation is kept");
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void staleValuesInAReusedBufferNeverReachTheNetwork(boolean graph) {
        Model net = net(graph);
        grow(net, "d1", 1);
        grow(net, "d1", 1);
        INDArray[] spare = RewriteBuffers.spareOf(net);
        assertNotNull(spare);
        for (INDArray buffer : spare) {
            buffer.assign(Double.NaN);
        }
        INDArray x = TestNets.DENSE_DENSE.input(5, 3, DataType.DOUBLE);
        INDArray before = TestNets.output(net, x).dup();

        grow(net, "d1", 1);

        assertEquals(address(spare[0]), address(net.params()), "the rewrite built into the spare");
        assertEquals(address(spare[2]), address(state(net)), "the optimizer state too");
        assertFalse(net.params().isNaN().any(), "parameters");
        assertFalse(state(net).isNaN().any(), "optimizer state");
        assertFalse(gradient(net).isNaN().any(), "gradient");
        // Adam starts a new unit's moments at zero, whatever the buffer held.
        assertEquals(0.0, freshStateMax(net), 0.0);
        assertEquals(before, TestNets.output(net, x), "zero-initialised units keep the function");
        TestNets.fit(net, TestNets.DENSE_DENSE.data(8, 40, DataType.DOUBLE));
        assertFalse(Double.isNaN(net.score()));
        assertFalse(net.params().isNaN().any());
    }

    /** The largest |m| or |v| of d1's new unit (its last column of W). */
    private static double freshStateMax(Model net) {
        double max = 0;
        for (INDArray component : NetState.stateByParam(net).get("d1/W")) {
            max = Math.max(max, Math.abs(component.getColumn(component.columns() - 1).amaxNumber().doubleValue()));
        }
        return max;
    }

    static Stream<Arguments> failures() {
        return Stream.of(RewriteStep.PARAMETERS, RewriteStep.UPDATER_STATE, RewriteStep.CONFIGURATION,
                RewriteStep.INITIALISATION, RewriteStep.UPDATER).flatMap(s -> Stream.of(Arguments.of(s, false),
                Arguments.of(s, true)));
    }

    @ParameterizedTest(name = "failure at {0}, graph={1}")
    @MethodSource("failures")
    void aFailedRewriteLeavesTheNetworkBitIdenticalAndTheSpareSpare(RewriteStep failAt, boolean graph) {
        Model net = net(graph);
        grow(net, "d1", 1);
        grow(net, "d1", 1);
        INDArray[] live = RewriteBuffers.liveOf(net);
        INDArray[] spare = RewriteBuffers.spareOf(net);
        NetState before = NetState.of(net);
        double[] gradientBefore = gradient(net).toDoubleVector();

        assertThrows(RewriteException.class, () -> NetworkRewrite.of(net).grow("d1", 1)
                .initializer(UnitInitializer.zeros())
                .observer(step -> {
                    if (step == failAt) {
                        throw new IllegalStateException("injected at " + step);
                    }
                }).apply());

        NetState after = NetState.of(net);
        assertEquals(before.json, after.json);
        assertArrayEquals(before.params, after.params, "parameters");
        assertArrayEquals(before.updaterState, after.updaterState, "optimizer state");
        assertArrayEquals(gradientBefore, gradient(net).toDoubleVector(), "gradient");
        assertEquals(address(live[0]), address(net.params()), "still the live buffers");
        assertEquals(address(live[0]), address(RewriteBuffers.liveOf(net)[0]));
        assertEquals(address(spare[0]), address(RewriteBuffers.spareOf(net)[0]), "the spare is still the spare");

        grow(net, "d1", 1);
        assertEquals(address(spare[0]), address(net.params()), "and the next rewrite builds into it");
        assertEquals(9, TestNets.layer(net, "d1").getParam("W").size(1));
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void aPreparedRewriteWhoseBuffersAreTakenCannotBeApplied(boolean graph) {
        Model net = net(graph);
        grow(net, "d1", 1);
        grow(net, "d1", 1);
        INDArray[] spare = RewriteBuffers.spareOf(net);

        // Two rewrites prepared from the same state: the second cannot have the first's buffers.
        PreparedRewrite first = NetworkRewrite.of(net).grow("d1", 1).initializer(UnitInitializer.zeros()).prepare();
        PreparedRewrite second = NetworkRewrite.of(net).grow("d1", 2).initializer(UnitInitializer.zeros()).prepare();
        second.apply();
        assertNotEquals(address(spare[0]), address(net.params()), "the second built into buffers of its own");
        assertEquals(10, TestNets.layer(net, "d1").getParam("W").size(1));
        assertThrows(IllegalStateException.class, first::apply);
        assertEquals(10, TestNets.layer(net, "d1").getParam("W").size(1));

        // A rewrite prepared before training went on is stale; a later prepare takes its buffers.
        PreparedRewrite stale = NetworkRewrite.of(net).grow("d1", 1).initializer(UnitInitializer.zeros()).prepare();
        TestNets.fit(net, TestNets.DENSE_DENSE.data(8, 41, DataType.DOUBLE));
        NetworkRewrite.of(net).grow("d1", 1).initializer(UnitInitializer.zeros()).prepare().apply();
        IllegalStateException e = assertThrows(IllegalStateException.class, stale::apply);
        assertTrue(e.getMessage().contains("prepare it again"), e.getMessage());
        assertEquals(11, TestNets.layer(net, "d1").getParam("W").size(1));
        TestNets.fit(net, TestNets.DENSE_DENSE.data(8, 42, DataType.DOUBLE));
        assertFalse(net.params().isNaN().any());
    }

    /** in -> frozen dense f0 -> d1 -> d2 -> out, Adam: a layer with no optimizer state before the grown one. */
    private static Model withFrozenLayer(boolean graph) {
        org.deeplearning4j.nn.conf.NeuralNetConfiguration.Builder base = TestNets.base(5, new Adam(0.01), DataType.DOUBLE);
        org.deeplearning4j.nn.conf.layers.Layer f0 = new org.deeplearning4j.nn.conf.layers.misc.FrozenLayerWithBackprop(
                new org.deeplearning4j.nn.conf.layers.DenseLayer.Builder().nIn(4).nOut(5)
                        .activation(org.nd4j.linalg.activations.Activation.TANH).build());
        org.deeplearning4j.nn.conf.layers.Layer d1 = new org.deeplearning4j.nn.conf.layers.DenseLayer.Builder()
                .name("d1").nIn(5).nOut(6).activation(org.nd4j.linalg.activations.Activation.TANH).build();
        org.deeplearning4j.nn.conf.layers.Layer d2 = new org.deeplearning4j.nn.conf.layers.DenseLayer.Builder()
                .name("d2").nIn(6).nOut(5).activation(org.nd4j.linalg.activations.Activation.TANH).build();
        org.deeplearning4j.nn.conf.layers.Layer out = new org.deeplearning4j.nn.conf.layers.OutputLayer.Builder()
                .name("out").nIn(5).nOut(3).activation(org.nd4j.linalg.activations.Activation.SOFTMAX)
                .lossFunction(org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction.MCXENT).build();
        Model net;
        if (graph) {
            ComputationGraph g = new ComputationGraph(base.graphBuilder().addInputs("in")
                    .addLayer("f0", f0, "in").addLayer("d1", d1, "f0").addLayer("d2", d2, "d1")
                    .addLayer("out", out, "d2").setOutputs("out").build());
            g.init();
            net = g;
        } else {
            MultiLayerNetwork m = new MultiLayerNetwork(base.list().layer(f0).layer(d1).layer(d2).layer(out).build());
            m.init();
            net = m;
        }
        for (int i = 0; i < 2; i++) {
            TestNets.fit(net, TestNets.DENSE_DENSE.data(8, i, DataType.DOUBLE));
        }
        return net;
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void aFrozenLayerBesideTheGrownOneGivesTheSameNetworkWithAndWithoutReuse(boolean graph) {
        Model fresh = withFrozenLayer(graph);
        Model reused = TestNets.copy(fresh);
        System.setProperty(RewriteBuffers.PROPERTY, "false");
        for (int i = 0; i < 3; i++) {
            grow(fresh, "d1", 1);
            TestNets.fit(fresh, TestNets.DENSE_DENSE.data(8, 20 + i, DataType.DOUBLE));
        }
        System.setProperty(RewriteBuffers.PROPERTY, "true");
        for (int i = 0; i < 3; i++) {
            grow(reused, "d1", 1);
            TestNets.fit(reused, TestNets.DENSE_DENSE.data(8, 20 + i, DataType.DOUBLE));
        }
        assertNotNull(RewriteBuffers.spareOf(reused), "reuse on");
        NetState a = NetState.of(fresh);
        NetState b = NetState.of(reused);
        assertEquals(9, TestNets.layer(reused, "d1").getParam("W").size(1));
        assertArrayEquals(a.params, b.params, "parameters");
        assertArrayEquals(a.updaterState, b.updaterState, "optimizer state");
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void twoGenerationsAlternate(boolean graph) {
        Model net = net(graph);
        long[] params = new long[4];
        for (int i = 0; i < params.length; i++) {
            grow(net, "d1", 1);
            params[i] = address(net.params());
        }
        // The first two growths allocate (with headroom), the next two reuse: A, B, A, B.
        assertNotEquals(params[0], params[1]);
        assertEquals(params[0], params[2], Arrays.toString(params));
        assertEquals(params[1], params[3], Arrays.toString(params));
    }
}
