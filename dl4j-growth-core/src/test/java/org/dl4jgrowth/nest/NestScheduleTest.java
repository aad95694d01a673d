package org.dl4jgrowth.nest;

import org.deeplearning4j.datasets.iterator.ExistingDataSetIterator;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.deeplearning4j.optimize.listeners.CollectScoresListener;
import org.deeplearning4j.optimize.listeners.ScoreIterationListener;
import org.deeplearning4j.util.ModelSerializer;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.GrowthJson;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.network.NetworkAdapter;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.testing.NetState;
import org.dl4jgrowth.testing.TestNets;
import org.dl4jgrowth.when.GrowthTrigger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * NeST II inside {@code fit()} on both network types: dead units are removed with every other
 * unit's parameters, Adam state and mask bit-identical and the output unchanged; the
 * grow-then-prune schedule fires its phases at the configured iterations and a run saved and
 * restored in the middle ends with the same sparsity pattern; pruning compares batch-norm-folded
 * magnitudes.
 */
class NestScheduleTest {
    @TempDir
    Path tmp;

    /** 64 -> h1(16, growth ReLU) -> h2(8, tanh) -> 10 softmax, for the digits. */
    static final TestNets.Arch MLP = new TestNets.Arch("digits MLP 16-8", () -> List.of(
            new DenseLayer.Builder().name("h1").nOut(16)
                    .activation(new org.dl4jgrowth.activation.ActivationGrowthReLU()).build(),
            new DenseLayer.Builder().name("h2").nOut(8).activation(Activation.TANH).build(),
            new OutputLayer.Builder().name("out").nOut(10).activation(Activation.SOFTMAX)
                    .lossFunction(LossFunctions.LossFunction.MCXENT).build()),
            InputType.feedForward(64), new long[]{1, 64}, 10);

    /** 64 -> d1(6, identity) -> BN -> tanh -> 10 softmax: a batch norm that folds into d1. */
    static final TestNets.Arch BN_MLP = new TestNets.Arch("dense-BN", () -> List.of(
            new DenseLayer.Builder().name("d1").nOut(6).activation(Activation.IDENTITY).build(),
            new BatchNormalization.Builder().name("bn").build(),
            new ActivationLayer.Builder().name("act").activation(Activation.TANH).build(),
            new OutputLayer.Builder().name("out").nOut(10).activation(Activation.SOFTMAX)
                    .lossFunction(LossFunctions.LossFunction.MCXENT).build()),
            InputType.feedForward(64), new long[]{1, 64}, 10);

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void removingDeadUnitsKeepsEveryOtherUnitExactlyAndTheOutput(boolean graph) {
        Model net = TestNets.build(MLP, TestNets.base(42, new Adam(0.01), DataType.DOUBLE), graph);
        GrowthListener growth = new GrowthListener(GrowthPolicy.builder().planner(NestPlanner.builder()
                .when(GrowthTrigger.atIterations(4)).removeDeadUnits().build()).build());
        // h1 unit 3 has no input connection and a negative bias (ReLU(b) = 0, and it stays: its
        // gradient is 0); h2 unit 5 has no output connection; h1 unit 9 has no output connection.
        TestNets.layer(net, "h1").getParam("b").putScalar(3, -0.5);
        INDArray m1 = Nd4j.ones(DataType.DOUBLE, 64, 16);
        m1.getColumn(3).assign(0);
        m1.putScalar(new long[]{0, 7}, 0);   // a sparse but live unit: not removed
        INDArray m2 = Nd4j.ones(DataType.DOUBLE, 16, 8);
        m2.getRow(9).assign(0);
        INDArray mo = Nd4j.ones(DataType.DOUBLE, 8, 10);
        mo.getRow(5).assign(0);
        growth.setMask(net, "h1", m1);
        growth.setMask(net, "h2", m2);
        growth.setMask(net, "out", mo);
        INDArray x = TestNets.digitsBatches(9, 1).get(0).getFeatures().castTo(DataType.DOUBLE);
        Map<String, Object> before = new HashMap<>();
        Map<String, Object> after = new HashMap<>();
        attach(net, new ScoreIterationListener(5), probe(4, before, x, growth), growth, probe(4, after, x, growth),
                new CollectScoresListener(1));
        fit(net, 1, DataType.DOUBLE);

        assertEquals(1, growth.history().size(), growth.history().toString());
        GrowthEvent e = growth.history().events().get(0);
        NestDetails d = (NestDetails) e.details();
        assertEquals("removeUnits", d.operation());
        assertEquals(2, d.layers().get("h1").unitsRemoved(), d.toString());
        assertEquals(1, d.layers().get("h2").unitsRemoved(), d.toString());
        // h1 loses unit 3 (no input: 0 active fan-in) and unit 9 (64 active fan-in).
        assertEquals(64, d.layers().get("h1").removed());
        assertEquals(14 * 64 - 1, d.layers().get("h1").active());
        assertEquals(14 * 64, d.layers().get("h1").total());
        // h2 loses its unit 5's 15 active fan-in and the 8 connections from h1's unit 3, one of
        // them (from unit 3 to unit 5) in both: 22 connections, each counted once.
        assertEquals(15 + 8 - 1, d.layers().get("h2").removed());
        assertEquals(16 * 8 - 8 - 22, d.layers().get("h2").active(), "row 9 was dormant already");
        assertEquals(14 * 7, d.layers().get("h2").total());
        assertEquals(14, NetworkRewrite.width(net, "h1"));
        assertEquals(7, NetworkRewrite.width(net, "h2"));

        int[] h1Kept = keptExcept(16, 3, 9);
        int[] h2Kept = keptExcept(8, 5);
        @SuppressWarnings("unchecked") Map<String, INDArray> p0 = (Map<String, INDArray>) before.get("params");
        @SuppressWarnings("unchecked") Map<String, INDArray> p1 = (Map<String, INDArray>) after.get("params");
        assertBitEqual(cols(p0.get("h1/W"), h1Kept), p1.get("h1/W"), "h1 W");
        assertBitEqual(cols(p0.get("h1/b"), h1Kept), p1.get("h1/b"), "h1 b");
        assertBitEqual(cols(rows(p0.get("h2/W"), h1Kept), h2Kept), p1.get("h2/W"), "h2 W");
        assertBitEqual(cols(p0.get("h2/b"), h2Kept), p1.get("h2/b"), "h2 b");
        assertBitEqual(rows(p0.get("out/W"), h2Kept), p1.get("out/W"), "out W");
        assertBitEqual(p0.get("out/b"), p1.get("out/b"), "out b");
        @SuppressWarnings("unchecked") Map<String, INDArray> s0 = (Map<String, INDArray>) before.get("state");
        @SuppressWarnings("unchecked") Map<String, INDArray> s1 = (Map<String, INDArray>) after.get("state");
        for (int c = 0; c < 2; c++) {
            String k = "/" + c;
            assertBitEqual(cols(s0.get("h1/W" + k), h1Kept), s1.get("h1/W" + k), "Adam h1 W " + c);
            assertBitEqual(cols(rows(s0.get("h2/W" + k), h1Kept), h2Kept), s1.get("h2/W" + k), "Adam h2 W " + c);
            assertBitEqual(rows(s0.get("out/W" + k), h2Kept), s1.get("out/W" + k), "Adam out W " + c);
        }
        @SuppressWarnings("unchecked") Map<String, INDArray> k0 = (Map<String, INDArray>) before.get("masks");
        @SuppressWarnings("unchecked") Map<String, INDArray> k1 = (Map<String, INDArray>) after.get("masks");
        assertBitEqual(cols(k0.get("h1"), h1Kept), k1.get("h1"), "mask h1");
        assertBitEqual(cols(rows(k0.get("h2"), h1Kept), h2Kept), k1.get("h2"), "mask h2");
        assertBitEqual(rows(k0.get("out"), h2Kept), k1.get("out"), "mask out");
        INDArray y0 = (INDArray) before.get("output");
        INDArray y1 = (INDArray) after.get("output");
        assertTrue(y0.equalsWithEps(y1, 1e-12), "the output is unchanged: " + y0.sub(y1).amaxNumber());
        // Training goes on with the narrower network.
        fit(net, 1, DataType.DOUBLE);
        assertEquals(14, NetworkRewrite.width(net, "h1"));
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void aChannelWithoutOutputsIsRemovedThroughItsBatchNormAndTheOutputStays(boolean graph) {
        Model net = TestNets.build(TestNets.DIGITS_CNN, TestNets.base(42, new Adam(0.01), DataType.DOUBLE), graph);
        GrowthListener growth = new GrowthListener(GrowthPolicy.builder().planner(NestPlanner.builder()
                .when(GrowthTrigger.atIterations(2)).removeDeadUnits().build()).build());
        // c2 takes nothing from c1's channel 1: that channel (and its batch norm's) has no output.
        INDArray m2 = Nd4j.ones(DataType.DOUBLE, TestNets.layer(net, "c2").getParam("W").shape());
        m2.get(NDArrayIndex.all(), NDArrayIndex.point(1), NDArrayIndex.all(), NDArrayIndex.all()).assign(0);
        growth.setMask(net, "c2", m2);
        List<DataSet> data = new ArrayList<>();
        org.dl4jgrowth.testing.DigitsImages digits = org.dl4jgrowth.testing.DigitsImages.split(DataType.DOUBLE, 5);
        for (DataSet ds : org.dl4jgrowth.testing.DigitsImages.batches(digits.train(0, 128), 32)) {
            data.add(ds);
        }
        INDArray x = data.get(0).getFeatures();
        Map<String, Map<String, INDArray>> at = new HashMap<>();
        TrainingListener before = snapshotAt(2, "before", at, x);
        TrainingListener after = snapshotAt(2, "after", at, x);
        attach(net, before, growth, after);
        if (net instanceof MultiLayerNetwork) {
            ((MultiLayerNetwork) net).fit(new ExistingDataSetIterator(data), 1);
        } else {
            ((ComputationGraph) net).fit(new ExistingDataSetIterator(data), 1);
        }
        assertEquals(1, growth.history().size(), growth.history().toString());
        assertEquals(2, NetworkRewrite.width(net, "c1"));
        assertEquals(1, ((NestDetails) growth.history().events().get(0).details()).layers().get("c1").unitsRemoved());
        Map<String, INDArray> b = at.get("before");
        Map<String, INDArray> a = at.get("after");
        long[] kept = {0, 2};
        assertBitEqual(b.get("c1/W").get(NDArrayIndex.indices(kept)), a.get("c1/W"), "c1 W");
        for (String p : List.of("gamma", "beta", "mean", "log10stdev")) {
            if (b.containsKey("bn1/" + p)) {
                assertBitEqual(b.get("bn1/" + p).get(NDArrayIndex.all(), NDArrayIndex.indices(kept)), a.get("bn1/" + p),
                        "bn1 " + p);
            }
        }
        assertBitEqual(b.get("c2/W").get(NDArrayIndex.all(), NDArrayIndex.indices(kept)), a.get("c2/W"), "c2 W");
        assertTrue(b.get("output").equalsWithEps(a.get("output"), 1e-12),
                "the output is unchanged: " + b.get("output").sub(a.get("output")).amaxNumber());
    }

    private static TrainingListener snapshotAt(int iteration, String key, Map<String, Map<String, INDArray>> into,
                                               INDArray x) {
        return new BaseTrainingListener() {
            @Override
            public void iterationDone(Model model, int it, int epoch) {
                if (it != iteration) {
                    return;
                }
                Map<String, INDArray> m = new LinkedHashMap<>();
                for (String l : List.of("c1", "bn1", "c2")) {
                    TestNets.layer(model, l).paramTable().forEach((p, v) -> m.put(l + "/" + p, v.dup('c')));
                }
                m.put("output", TestNets.output(model, x).dup());
                into.put(key, m);
            }
        };
    }

    /** Records params, Adam state (by param, component), masks and the output on {@code x} at {@code at}. */
    private static TrainingListener probe(int at, Map<String, Object> into, INDArray x, GrowthListener growth) {
        return new BaseTrainingListener() {
            @Override
            public void iterationDone(Model model, int iteration, int epoch) {
                if (iteration != at) {
                    return;
                }
                Map<String, INDArray> params = new LinkedHashMap<>();
                Map<String, INDArray> state = new LinkedHashMap<>();
                Map<String, INDArray> masks = new LinkedHashMap<>();
                for (String l : List.of("h1", "h2", "out")) {
                    for (String p : List.of("W", "b")) {
                        INDArray v = TestNets.layer(model, l).getParam(p);
                        params.put(l + "/" + p, v.dup('c'));
                        List<INDArray> st = NetworkRewrite.optimizerState(model, l, p);
                        for (int c = 0; c < st.size(); c++) {
                            // Flat state in the parameter's own order ('f' for both network types' W).
                            state.put(l + "/" + p + "/" + c, Nd4j.create(st.get(c).toDoubleVector(), v.shape(),
                                    v.ordering()).dup('c'));
                        }
                    }
                    masks.put(l, growth.masks().get(l).dup('c'));
                }
                into.put("params", params);
                into.put("state", state);
                into.put("masks", masks);
                into.put("output", TestNets.output(model, x).dup());
            }
        };
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void theScheduleRunsItsPhasesAtTheirIterationsAndAResumedRunEndsWithTheSamePattern(boolean graph)
            throws Exception {
        NestSchedule schedule = NestSchedule.builder().layers("h1", "h2", "out").seed(0.5, 0.5)
                .growConnections(4, 12, 4, 80)
                .growNeurons(5, 12, 3, 2, "h1", "h2")
                .prune(14, 26, 4, 30)
                .build();
        GrowthPolicy policy = GrowthPolicy.builder().planner(schedule).maxWidth(16).seed(7).build();

        Model whole = TestNets.build(MLP, TestNets.base(42, new Adam(0.01), DataType.FLOAT), graph);
        GrowthListener wholeGrowth = new GrowthListener(policy);
        attach(whole, new ScoreIterationListener(10), wholeGrowth, new CollectScoresListener(1));
        fit(whole, 6, DataType.FLOAT);

        List<String> kinds = wholeGrowth.history().events().stream()
                .map(e -> e.iteration() + ":" + ((NestDetails) e.details()).operation()).collect(Collectors.toList());
        // Seed at 0 (widths) and 1 (connections); connection growth at 4 and 8; neuron growth at 5,
        // at 9 (its moment 8 was taken by connection growth) and 11; pruning at 14, 18, 22. A
        // removal may follow a prune (never the seed) at the next iteration.
        List<String> scheduled = kinds.stream().filter(k -> !k.endsWith("removeUnits")).collect(Collectors.toList());
        assertEquals(List.of("0:seedWidths", "1:seed", "4:connections", "5:neurons", "8:connections", "9:neurons",
                "11:neurons", "14:prune", "18:prune", "22:prune"), scheduled, kinds.toString());
        for (GrowthEvent e : wholeGrowth.history().events()) {
            NestDetails d = (NestDetails) e.details();
            if (d.operation().equals("removeUnits")) {
                GrowthEvent previous = wholeGrowth.history().events().get(e.index() - 1);
                assertEquals(previous.iteration() + 1, e.iteration(), "a removal follows its prune at once");
                assertEquals("prune", ((NestDetails) previous.details()).operation());
            }
            for (GrowthEvent.LayerGrowth g : e.layers()) {
                NestDetails.Layer l = d.layers().get(g.layer());
                if (l != null) {
                    assertEquals(Math.max(0, g.after() - g.before()), l.unitsAdded(), e.toString());
                    assertEquals(Math.max(0, g.before() - g.after()), l.unitsRemoved(), e.toString());
                }
            }
        }
        assertEquals(8 + 2 + 2, NetworkRewrite.width(whole, "h1") + countRemoved(wholeGrowth, "h1"));
        assertEquals(4 + 2, NetworkRewrite.width(whole, "h2") + countRemoved(wholeGrowth, "h2"));
        // The records agree with the masks: the last recorded active count of each layer is the mask's.
        for (String l : List.of("h1", "h2", "out")) {
            long last = -1;
            for (GrowthEvent e : wholeGrowth.history().events()) {
                NestDetails.Layer r = ((NestDetails) e.details()).layers().get(l);
                if (r != null) {
                    last = r.active();
                }
            }
            assertEquals(wholeGrowth.masks().active(l), last, l);
            INDArray w = TestNets.layer(whole, l).getParam("W");
            assertEquals(0.0, w.mul(wholeGrowth.masks().get(l).rsub(1.0)).amaxNumber().doubleValue(), 0.0,
                    l + ": dormant weights are 0");
            for (GrowthEvent e : wholeGrowth.history().events()) {
                NestDetails d = (NestDetails) e.details();
                if (d.operation().equals("prune") && d.layers().containsKey(l)) {
                    NestDetails.Layer r = d.layers().get(l);
                    assertEquals((long) Math.ceil(0.3 * (r.active() + r.removed()) - 1e-9), r.removed(),
                            l + ": each prune takes 30% of the active connections");
                }
            }
        }

        // The same run saved after epoch 2 (iteration 9, inside the grow phase) and restored.
        Model first = TestNets.build(MLP, TestNets.base(42, new Adam(0.01), DataType.FLOAT), graph);
        GrowthListener firstGrowth = new GrowthListener(policy);
        attach(first, new ScoreIterationListener(10), firstGrowth);
        fit(first, 2, DataType.FLOAT);
        File file = tmp.resolve("nest-" + graph + ".zip").toFile();
        firstGrowth.writeModel(first, file, true);
        Model resumed = graph ? ModelSerializer.restoreComputationGraph(file, true)
                : ModelSerializer.restoreMultiLayerNetwork(file, true);
        GrowthListener resumedGrowth = GrowthListener.builder().policy(policy).build().restoreState(file);
        attach(resumed, new ScoreIterationListener(10), resumedGrowth, new CollectScoresListener(1));
        fit(resumed, 4, DataType.FLOAT);

        assertEquals(wholeGrowth.history().events().stream().map(e -> GrowthJson.toJson(e.withoutTimings()))
                        .collect(Collectors.toList()),
                resumedGrowth.history().events().stream().map(e -> GrowthJson.toJson(e.withoutTimings()))
                        .collect(Collectors.toList()));
        for (String l : List.of("h1", "h2", "out")) {
            assertEquals(wholeGrowth.masks().get(l).dup('c'), resumedGrowth.masks().get(l).dup('c'),
                    l + ": the same sparsity pattern");
        }
        assertArrayEquals(NetState.of(whole).params, NetState.of(resumed).params, "bit-identical parameters");
    }

    /** Units removed from {@code layer} by dead-unit removals. */
    private static int countRemoved(GrowthListener g, String layer) {
        int n = 0;
        for (GrowthEvent e : g.history().events()) {
            NestDetails d = (NestDetails) e.details();
            if (d.operation().equals("removeUnits") && d.layers().containsKey(layer)) {
                n += d.layers().get(layer).unitsRemoved();
            }
        }
        return n;
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void pruningComparesBatchNormFoldedMagnitudes(boolean graph) {
        Model net = TestNets.build(BN_MLP, TestNets.base(42, new Adam(0.01), DataType.DOUBLE), graph);
        GrowthListener growth = new GrowthListener(GrowthPolicy.builder().planner(NestPlanner.builder()
                .when(GrowthTrigger.atIterations(3)).layers("d1").pruneConnections(40).build()).build());
        growth.setMask(net, "d1", Nd4j.ones(DataType.DOUBLE, 64, 6));
        // Unit 2's batch norm scales it down 1000-fold: its weights are the smallest once folded.
        TestNets.layer(net, "bn").getParam("gamma").putScalar(2, 1e-3);
        Map<String, INDArray> at = new HashMap<>();
        TrainingListener snapshot = new BaseTrainingListener() {
            @Override
            public void iterationDone(Model model, int iteration, int epoch) {
                if (iteration == 3) {
                    at.put("W", TestNets.layer(model, "d1").getParam("W").dup('c'));
                    at.put("folded", NestPlanner.prunedMagnitudes(NetworkAdapter.of(model), "d1").dup('c'));
                    INDArray gamma = TestNets.layer(model, "bn").getParam("gamma").dup().reshape(-1);
                    // DL4J keeps log10(σ) (useLogStd, its default) or σ² itself.
                    org.deeplearning4j.nn.api.Layer bn = TestNets.layer(model, "bn");
                    double[] a = new double[6];
                    for (int j = 0; j < 6; j++) {
                        double var = bn.getParam("var") != null ? bn.getParam("var").getDouble(j)
                                : Math.pow(Math.pow(10, bn.getParam("log10stdev").getDouble(j)), 2);
                        a[j] = gamma.getDouble(j) / Math.sqrt(var + 1e-5);
                    }
                    at.put("a", Nd4j.create(a).reshape(1, 6));
                }
            }
        };
        attach(net, snapshot, growth);
        fit(net, 1, DataType.DOUBLE);

        INDArray w = at.get("W");
        INDArray expectedFolded = w.mulRowVector(at.get("a"));
        assertTrue(expectedFolded.equalsWithEps(at.get("folded"), 1e-12), "folded = W·γ/√(σ²+ε) per unit");
        INDArray mask = growth.masks().get("d1").dup('c');
        NestPlanner.Selection s = NestPlanner.smallest(expectedFolded, Nd4j.ones(DataType.DOUBLE, 64, 6), 40);
        INDArray expected = Nd4j.ones(DataType.DOUBLE, 64, 6);
        for (long i : s.indices) {
            expected.putScalar(org.nd4j.linalg.api.shape.Shape.ind2subC(new long[]{64, 6}, i), 0);
        }
        assertEquals(expected, mask);
        assertEquals(0.0, mask.getColumn(2).sumNumber().doubleValue(), 0.0,
                "the unit its batch norm scales down is pruned first, although its raw weights are not small");
        // By raw magnitudes the choice would differ: the fold matters in this case.
        NestPlanner.Selection raw = NestPlanner.smallest(w, Nd4j.ones(DataType.DOUBLE, 64, 6), 40);
        assertTrue(!java.util.Arrays.equals(raw.indices, s.indices));
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void pruningToDensitiesFallsGeometricallyAndReachesTheTargetsAtTheLastEvent(boolean graph) {
        Map<String, Double> targets = Map.of("h1", 0.1, "*", 0.3);
        NestSchedule schedule = NestSchedule.builder().layers("h1", "h2", "out").pruneTo(3, 22, 4, targets)
                .removeDeadUnits(false).build();
        Model net = TestNets.build(MLP, TestNets.base(42, new Adam(0.01), DataType.FLOAT), graph);
        GrowthListener growth = new GrowthListener(GrowthPolicy.builder().planner(schedule).build());
        attach(net, new ScoreIterationListener(10), growth, new CollectScoresListener(1));
        fit(net, 5, DataType.FLOAT);

        List<GrowthEvent> events = growth.history().events();
        assertEquals(List.of(3L, 7L, 11L, 15L, 19L), events.stream().map(GrowthEvent::iteration)
                .collect(Collectors.toList()), "events at 3 + 4k below 22");
        for (String l : List.of("h1", "h2", "out")) {
            long n = TestNets.layer(net, l).getParam("W").length();
            double target = l.equals("h1") ? 0.1 : 0.3;
            double d = 1;
            for (int k = 0; k < events.size(); k++) {
                NestDetails.Layer r = ((NestDetails) events.get(k).details()).layers().get(l);
                long keep = k == events.size() - 1 ? (long) Math.ceil(n * target - 1e-9)
                        : (long) Math.ceil(n * d * Math.pow(target / d, 1.0 / (events.size() - k)) - 1e-9);
                assertEquals(keep, r.active(), l + " event " + k);
                d = r.active() / (double) n;
            }
            assertEquals((long) Math.ceil(n * target - 1e-9), growth.masks().active(l), l + " reaches its target");
        }
    }

    @Test
    void schedulesSurviveJsonAndBadSchedulesAreRefused() {
        NestSchedule s = NestSchedule.builder().layers("h1", "h2", "out").seed(0.1, 0.5).seedAt(3)
                .growConnections(4, 100, 10, 90).growNeurons(4, 100, 25, 4, "h1").prune(200, 400, 20, 10)
                .removeDeadUnits(false).build();
        NestSchedule t = NestSchedule.builder().layers("h1", "out").pruneTo(0, 100, 10, Map.of("h1", 0.1, "*", 0.25))
                .build();
        assertEquals(t, GrowthPolicy.fromJson(GrowthPolicy.builder().planner(t).build().toJson()).planner());
        GrowthPolicy policy = GrowthPolicy.builder().planner(s).build();
        assertEquals(policy, GrowthPolicy.fromJson(policy.toJson()), policy.toJson());

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NestSchedule.builder()
                .layers("h1").prune(0, 100, 10, 10).prune(50, 200, 10, 10).build());
        assertTrue(e.getMessage().contains("overlapping windows"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> NestSchedule.builder().layers("h1").seed(0, 1).build());
        assertTrue(e.getMessage().contains("seed density must be in (0, 1]") && e.getMessage().contains("got: 0.0"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> NestSchedule.builder().layers("h1").seed(0.5, 1.5)
                .build());
        assertTrue(e.getMessage().contains("seed width scale r must be in (0, 1]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> NestSchedule.builder().prune(0, 10, 1, 5).build());
        assertTrue(e.getMessage().contains("name the layers"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> NestSchedule.builder().layers("h1")
                .prune(10, 10, 1, 5).build());
        assertTrue(e.getMessage().contains("from 10, until 10"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> NestSchedule.builder().layers("h1")
                .pruneTo(0, 10, 1, 1.5).build());
        assertTrue(e.getMessage().contains("density for layer '*' must be in (0, 1]"), e.getMessage());
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void aTypoInTheScheduleLayersIsRefusedBeforeTheNetworkChanges(boolean graph) {
        Model net = TestNets.build(MLP, TestNets.base(42, new Adam(0.01), DataType.FLOAT), graph);
        NetState before = NetState.of(net);
        GrowthListener growth = new GrowthListener(GrowthPolicy.builder().planner(NestSchedule.builder()
                .layers("h1", "hh2").seed(0.5, 1).build()).build());
        attach(net, growth);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> growth.controller()
                .growNow(net));
        assertTrue(e.getMessage().contains("layer 'hh2' named in layers(...) does not exist"), e.getMessage());
        assertTrue(growth.history().events().isEmpty());
        assertTrue(growth.masks().layers().isEmpty(), "no mask was set");
        assertEquals(8, NetworkRewrite.width(net, "h2"));
        assertEquals(before.json, NetState.of(net).json);
    }

    private static int[] keptExcept(int width, int... dropped) {
        List<Integer> out = new ArrayList<>();
        for (int j = 0; j < width; j++) {
            boolean d = false;
            for (int x : dropped) {
                d |= x == j;
            }
            if (!d) {
                out.add(j);
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    private static INDArray cols(INDArray a, int[] keep) {
        return a.get(NDArrayIndex.all(), NDArrayIndex.indices(toLong(keep))).dup('c');
    }

    private static INDArray rows(INDArray a, int[] keep) {
        return a.get(NDArrayIndex.indices(toLong(keep)), NDArrayIndex.all()).dup('c');
    }

    private static long[] toLong(int[] v) {
        long[] out = new long[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i];
        }
        return out;
    }

    private static void assertBitEqual(INDArray expected, INDArray actual, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what);
        assertArrayEquals(expected.dup('c').data().asDouble(), actual.dup('c').data().asDouble(), 0.0, what);
    }

    private static void fit(Model net, int epochs, DataType type) {
        List<DataSet> data = new ArrayList<>();
        for (DataSet ds : TestNets.digitsBatches(0, 5)) {
            data.add(new DataSet(ds.getFeatures().castTo(type), ds.getLabels().castTo(type)));
        }
        if (net instanceof MultiLayerNetwork) {
            ((MultiLayerNetwork) net).fit(new ExistingDataSetIterator(data), epochs);
        } else {
            ((ComputationGraph) net).fit(new ExistingDataSetIterator(data), epochs);
        }
    }

    private static void attach(Model net, TrainingListener... ls) {
        if (net instanceof MultiLayerNetwork) {
            ((MultiLayerNetwork) net).setListeners(ls);
        } else {
            ((ComputationGraph) net).setListeners(ls);
        }
    }
}
