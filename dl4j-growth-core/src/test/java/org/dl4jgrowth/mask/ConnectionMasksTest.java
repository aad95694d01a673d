package org.dl4jgrowth.mask;

import org.deeplearning4j.datasets.iterator.ExistingDataSetIterator;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.weightnoise.DropConnect;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.deeplearning4j.optimize.listeners.CollectScoresListener;
import org.deeplearning4j.optimize.listeners.ScoreIterationListener;
import org.deeplearning4j.util.ModelSerializer;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.activation.PlainReluExport;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.plan.GrowthPipelineTest;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.testing.ChildJvm;
import org.dl4jgrowth.testing.NetState;
import org.dl4jgrowth.testing.TestNets;
import org.dl4jgrowth.when.GrowthTrigger;
import org.dl4jgrowth.where.GrowthAmount;
import org.dl4jgrowth.where.SiteSelector;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Connection masks inside {@code fit()} on both network types: pruned after 20 Adam steps, the
 * dormant weights and Adam's m and v stay exactly 0 through 20 more steps with L2, weight decay and
 * gradient clipping, through a widening and a narrowing in one growth event, a save/restore and a
 * resume (bit-identical to the uninterrupted run); bad masks are refused with the network
 * bit-identical; the masked network exports to plain DL4J and loads without this library.
 */
class ConnectionMasksTest {
    @TempDir
    Path tmp;

    private static final List<String> MASKED = List.of("h1", "h2", "out");

    private static List<DataSet> batches() {
        return TestNets.digitsBatches(0, 5);
    }

    /** Five minibatches an epoch: {@code epochs * 5} Adam steps. */
    private static void fit(Model net, int epochs) {
        if (net instanceof MultiLayerNetwork) {
            ((MultiLayerNetwork) net).fit(new ExistingDataSetIterator(batches()), epochs);
        } else {
            ((ComputationGraph) net).fit(new ExistingDataSetIterator(batches()), epochs);
        }
    }

    /**
     * Adam with gradient clipping and L2 or weight decay: DL4J M2.1 drops L2 when weight decay is
     * also given ("L2 regularization removed: incompatible with added WeightDecay"), so each is
     * tested on its own.
     */
    private static NeuralNetConfiguration.Builder regularised(boolean weightDecay) {
        NeuralNetConfiguration.Builder b = TestNets.base(42, new Adam(0.01), DataType.FLOAT)
                .gradientNormalization(GradientNormalization.ClipL2PerLayer).gradientNormalizationThreshold(0.5);
        return weightDecay ? b.weightDecay(1e-2) : b.l2(1e-2);
    }

    private static Model net(boolean graph) {
        return net(graph, false);
    }

    private static Model net(boolean graph, boolean weightDecay) {
        return TestNets.build(TestNets.DIGITS_MLP, regularised(weightDecay), graph);
    }

    static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> typesAndRegularisation() {
        return java.util.stream.Stream.of(false, true).flatMap(g -> java.util.stream.Stream.of(
                org.junit.jupiter.params.provider.Arguments.of(g, false),
                org.junit.jupiter.params.provider.Arguments.of(g, true)));
    }

    private static void attach(Model net, TrainingListener... ls) {
        if (net instanceof MultiLayerNetwork) {
            ((MultiLayerNetwork) net).setListeners(ls);
        } else {
            ((ComputationGraph) net).setListeners(ls);
        }
    }

    /** About half of the entries dormant, drawn with a fixed seed. */
    private static INDArray randomMask(long[] shape, long seed) {
        Random r = new Random(seed);
        INDArray m = Nd4j.create(DataType.FLOAT, shape);
        INDArray flat = m.reshape(m.length());
        for (long i = 0; i < flat.length(); i++) {
            flat.putScalar(i, r.nextBoolean() ? 1 : 0);
        }
        return m;
    }

    /** The number of dormant entries of {@code layer}, after asserting weight, m and v are exactly 0 there. */
    private static long assertDormantAreZero(Model net, GrowthListener growth, String layer, String when) {
        INDArray mask = growth.masks().get(layer);
        INDArray w = TestNets.layer(net, layer).getParam("W");
        assertArrayEquals(w.shape(), mask.shape(), layer + " mask follows the weights' shape " + when);
        INDArray dormant = mask.eq(0.0).castTo(DataType.FLOAT);
        assertEquals(0.0, w.mul(dormant).amaxNumber().doubleValue(), 0.0, layer + " dormant weights " + when);
        List<INDArray> state = NetState.stateByParam(net).get(layer + "/W");
        assertEquals(2, state.size(), "Adam: m and v");
        for (int c = 0; c < 2; c++) {
            assertEquals(0.0, state.get(c).mul(dormant).amaxNumber().doubleValue(), 0.0,
                    layer + (c == 0 ? " m" : " v") + " of dormant entries " + when);
        }
        return dormant.sumNumber().longValue();
    }

    @ParameterizedTest(name = "graph={0}, weightDecay={1}")
    @org.junit.jupiter.params.provider.MethodSource("typesAndRegularisation")
    void dormantWeightsAndAdamStateStayExactlyZeroThroughTrainingGrowthSaveAndResume(boolean graph,
                                                                                    boolean weightDecay)
            throws Exception {
        Model net = net(graph, weightDecay);
        // h1 gains two fresh units and h2 loses unit 1 at iteration 30 (zeros for h1's new units).
        GrowthListener growth = new GrowthListener(GrowthPolicy.builder()
                .planner(new GrowthPipelineTest.WidenAndNarrow(30)).build());
        CollectScoresListener scores = new CollectScoresListener(1);
        attach(net, new ScoreIterationListener(10), growth, scores);
        fit(net, 4);
        assertEquals(20, TestNets.iterationCount(net), "20 Adam steps before the prune");

        Map<String, INDArray> masks = new java.util.LinkedHashMap<>();
        for (String layer : MASKED) {
            INDArray m = randomMask(TestNets.layer(net, layer).getParam("W").shape(), layer.hashCode());
            masks.put(layer, m);
            growth.setMask(net, layer, m);
            assertTrue(assertDormantAreZero(net, growth, layer, "right after the prune") > 0, layer);
        }
        INDArray h1Before = TestNets.layer(net, "h1").getParam("W").dup();
        INDArray h2MaskBefore = growth.masks().get("h2");

        fit(net, 4);
        assertEquals(40, TestNets.iterationCount(net));
        assertEquals(1, growth.history().size(), "the widen-and-narrow event happened: " + growth.history());
        for (String layer : MASKED) {
            assertDormantAreZero(net, growth, layer, "after 20 more steps and a widening and narrowing");
        }
        // The masks followed the unit maps element by element: h1 gained two all-active units (its
        // mask's columns), h2 lost its unit 1 (its mask's column 1) and gained two input rows; the
        // output layer lost input row 1.
        INDArray h1Mask = growth.masks().get("h1");
        assertEquals(masks.get("h1"), h1Mask.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 4)));
        assertEquals(128.0, h1Mask.get(NDArrayIndex.all(), NDArrayIndex.interval(4, 6)).sumNumber().doubleValue(),
                0.0, "fresh units start connected");
        INDArray h2Mask = growth.masks().get("h2");
        assertArrayEquals(new long[]{6, 3}, h2Mask.shape());
        INDArray kept = Nd4j.hstack(h2MaskBefore.getColumn(0).reshape(4, 1), h2MaskBefore.get(NDArrayIndex.all(),
                NDArrayIndex.interval(2, 4)));
        assertEquals(kept, h2Mask.get(NDArrayIndex.interval(0, 4), NDArrayIndex.all()));
        assertEquals(6.0, h2Mask.get(NDArrayIndex.interval(4, 6), NDArrayIndex.all()).sumNumber().doubleValue(), 0.0);
        INDArray outMask = growth.masks().get("out");
        assertEquals(Nd4j.vstack(masks.get("out").getRow(0).reshape(1, 10), masks.get("out")
                .get(NDArrayIndex.interval(2, 4), NDArrayIndex.all())), outMask);
        // Training went on for the active entries.
        INDArray active = masks.get("h1").eq(1.0).castTo(DataType.FLOAT);
        INDArray h1After = TestNets.layer(net, "h1").getParam("W").get(NDArrayIndex.all(), NDArrayIndex.interval(0, 4));
        assertTrue(h1After.sub(h1Before).mul(active).amaxNumber().doubleValue() > 1e-4, "active weights trained");
        for (double s : scores.getListScore().toDoubleArray()) {
            assertTrue(Double.isFinite(s));
        }

        // Save with the growth state; the restored run and the original go on identically.
        File file = tmp.resolve("masked-" + graph + "-" + weightDecay + ".zip").toFile();
        growth.writeModel(net, file, true);
        Model resumed = graph ? ModelSerializer.restoreComputationGraph(file, true)
                : ModelSerializer.restoreMultiLayerNetwork(file, true);
        GrowthListener resumedGrowth = GrowthListener.builder().policy(GrowthPolicy.builder()
                .planner(new GrowthPipelineTest.WidenAndNarrow(30)).build()).build().restoreState(file);
        assertEquals(MASKED, resumedGrowth.masks().layers());
        for (String layer : MASKED) {
            assertEquals(growth.masks().get(layer), resumedGrowth.masks().get(layer), layer + " mask restored");
            assertDormantAreZero(resumed, resumedGrowth, layer, "after the restore");
        }
        attach(resumed, new ScoreIterationListener(10), resumedGrowth, new CollectScoresListener(1));
        fit(resumed, 2);
        fit(net, 2);
        for (String layer : MASKED) {
            assertDormantAreZero(resumed, resumedGrowth, layer, "after the resume");
        }
        NetState a = NetState.of(net);
        NetState b = NetState.of(resumed);
        assertArrayEquals(a.params, b.params, "the resumed run is bit-identical to the uninterrupted one");
        assertArrayEquals(a.updaterState, b.updaterState);
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void maskedLayersGrownByTheLayerwisePlannerKeepTheirZeros(boolean graph) {
        Model net = net(graph);
        GrowthListener growth = new GrowthListener(GrowthPolicy.builder()
                .when(GrowthTrigger.everyIterations(4)).where(SiteSelector.roundRobin("h1", "h2"))
                .howMuch(GrowthAmount.add(2)).initializer(UnitInitializer.random()).seed(3).build());
        attach(net, new ScoreIterationListener(10), growth);
        fit(net, 1);
        for (String layer : MASKED) {
            growth.setMask(net, layer, randomMask(TestNets.layer(net, layer).getParam("W").shape(), 7));
        }
        fit(net, 3);
        assertTrue(growth.history().size() >= 3, growth.history().toString());
        for (String layer : MASKED) {
            assertDormantAreZero(net, growth, layer, "after random growths of masked layers");
        }
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void badMasksAreRefusedNamingTheLayerAndTheNetworkIsUnchanged(boolean graph) {
        Model net = net(graph);
        GrowthListener growth = new GrowthListener(GrowthPolicy.builder()
                .when(GrowthTrigger.everyIterations(1000)).where(SiteSelector.layers("h1"))
                .howMuch(GrowthAmount.add(1)).build());
        attach(net, growth);
        fit(net, 1);
        NetState before = NetState.of(net);
        long[] shape = TestNets.layer(net, "h1").getParam("W").shape();

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> growth.setMask(net, "h1", Nd4j.ones(DataType.FLOAT, 4, 64)));
        assertTrue(e.getMessage().contains("'h1' has shape [4, 64], but its weights W have shape [64, 4]"),
                e.getMessage());
        INDArray half = Nd4j.ones(DataType.FLOAT, shape).muli(0.5);
        e = assertThrows(IllegalArgumentException.class, () -> growth.setMask(net, "h1", half));
        assertTrue(e.getMessage().contains("'h1' holds 256 values other than 0 and 1 (e.g. 0.5)"), e.getMessage());
        INDArray nan = Nd4j.ones(DataType.FLOAT, shape);
        nan.putScalar(3, Float.NaN);
        e = assertThrows(IllegalArgumentException.class, () -> growth.setMask(net, "h1", nan));
        assertTrue(e.getMessage().contains("holds 1 values other than 0 and 1 (e.g. NaN)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> growth.setMask(net, "h7", Nd4j.ones(shape)));
        assertTrue(e.getMessage().contains("'h7': no such layer"), e.getMessage());
        assertTrue(growth.masks().layers().isEmpty());
        assertArrayEquals(before.params, NetState.of(net).params, "nothing changed");
        assertArrayEquals(before.updaterState, NetState.of(net).updaterState, "nothing changed");
        fit(net, 1);   // still trains

        // A convolution network's batch norm takes no mask; a layer with weight noise neither.
        Model cnn = TestNets.build(TestNets.DIGITS_CNN, TestNets.base(1, new Adam(0.01), DataType.FLOAT), graph);
        GrowthListener cg = new GrowthListener(GrowthPolicy.builder().when(GrowthTrigger.everyIterations(1000))
                .where(SiteSelector.layers("c1")).howMuch(GrowthAmount.add(1)).build());
        e = assertThrows(IllegalArgumentException.class, () -> cg.setMask(cnn, "bn1", Nd4j.ones(1, 3)));
        assertTrue(e.getMessage().contains("layer 'bn1' is a BatchNormalization"), e.getMessage());
        cg.setMask(cnn, "c1", Nd4j.ones(DataType.FLOAT, TestNets.layer(cnn, "c1").getParam("W").shape()));
        assertEquals(List.of("c1"), cg.masks().layers(), "a 2-D convolution takes a mask");

        Model noisy = TestNets.build(TestNets.DIGITS_MLP, TestNets.base(1, new Adam(0.01), DataType.FLOAT)
                .weightNoise(new DropConnect(0.9)), graph);
        GrowthListener ng = new GrowthListener(GrowthPolicy.builder().when(GrowthTrigger.everyIterations(1000))
                .where(SiteSelector.layers("h1")).howMuch(GrowthAmount.add(1)).build());
        NetState noisyBefore = NetState.of(noisy);
        e = assertThrows(IllegalArgumentException.class, () -> ng.setMask(noisy, "h1",
                Nd4j.ones(DataType.FLOAT, 64, 4)));
        assertTrue(e.getMessage().contains("Layer 'h1' has weight noise") && e.getMessage().contains("DropConnect"),
                e.getMessage());
        assertArrayEquals(noisyBefore.params, NetState.of(noisy).params);
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void aMaskedNetworkExportsToPlainDl4jAndLoadsWithoutThisLibrary(boolean graph) throws Exception {
        Model net = net(graph);
        GrowthListener growth = new GrowthListener(GrowthPolicy.builder().when(GrowthTrigger.everyIterations(3))
                .where(SiteSelector.layers("h1")).howMuch(GrowthAmount.add(2))
                .initializer(UnitInitializer.random()).build());
        attach(net, growth);
        fit(net, 1);
        for (String layer : MASKED) {
            growth.setMask(net, layer, randomMask(TestNets.layer(net, layer).getParam("W").shape(), 5));
        }
        fit(net, 2);

        Model plain = graph ? PlainReluExport.toPlainRelu((ComputationGraph) net)
                : PlainReluExport.toPlainRelu((MultiLayerNetwork) net);
        File zip = tmp.resolve("plain-" + graph + ".zip").toFile();
        ModelSerializer.writeModel(plain, zip, false);
        INDArray x = batches().get(0).getFeatures();
        File in = tmp.resolve("in.bin").toFile();
        File out = tmp.resolve("out.bin").toFile();
        File params = tmp.resolve("params.bin").toFile();
        Nd4j.saveBinary(x, in);
        int code = ChildJvm.run(ConnectionMasks.class, LoadMaskedWithoutLibraryMain.class, tmp.resolve("child.log"),
                graph ? "graph" : "mln", zip.getPath(), in.getPath(), out.getPath(), params.getPath());
        assertEquals(0, code, Files.readString(tmp.resolve("child.log")));
        assertEquals(TestNets.output(net, x), Nd4j.readBinary(out), "the same outputs");
        assertEquals(net.params(), Nd4j.readBinary(params), "the same parameters, zeros in place");
        for (String layer : MASKED) {
            assertDormantAreZero(net, growth, layer, "in the exported network");
        }
    }
}
