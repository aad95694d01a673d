package org.dl4jgrowth;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.deeplearning4j.optimize.listeners.ScoreIterationListener;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.rewrite.InfeasibleGrowthException;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.rewrite.UnitMap;
import org.dl4jgrowth.signal.GrowthDataException;
import org.dl4jgrowth.testing.NetState;
import org.dl4jgrowth.testing.TestNets;
import org.dl4jgrowth.when.GrowthTrigger;
import org.dl4jgrowth.where.GrowthAmount;
import org.dl4jgrowth.where.SiteSelector;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Misuse, bad configuration and bad data, table-driven, on both network types: each case asserts
 * the exception class, that the message names the offending value and layer, that parameters,
 * optimizer state, configuration JSON and the iteration count are exactly as before (refusals of a
 * policy come before the first training iteration changes anything), and that the network still
 * trains afterwards.
 */
class MisuseTest {

    /** One misuse: the network it needs, what the user does, and what must be said. */
    record Case(String name, Function<Boolean, Model> network, Function<Model, Executable> misuse,
                Class<? extends Throwable> type, List<String> fragments) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static Case of(String name, Function<Model, Executable> misuse, Class<? extends Throwable> type,
                           String... fragments) {
        return new Case(name, MisuseTest::tanhNet, misuse, type, List.of(fragments));
    }

    private static Case on(Function<Boolean, Model> network, String name, Function<Model, Executable> misuse,
                           Class<? extends Throwable> type, String... fragments) {
        return new Case(name, network, misuse, type, List.of(fragments));
    }

    /** d1(6, tanh) -> d2(5, tanh) -> out(3), trained one step so that Adam's state exists. */
    static Model tanhNet(boolean graph) {
        Model net = TestNets.build(TestNets.DENSE_DENSE, TestNets.base(3, new Adam(0.01), DataType.DOUBLE), graph);
        TestNets.fit(net, data(8, 1));
        return net;
    }

    /** The same with DL4J's plain ReLU in d1 (f'(0) = 0). */
    static Model reluNet(boolean graph) {
        NeuralNetConfiguration.Builder b = TestNets.base(3, new Adam(0.01), DataType.DOUBLE);
        TestNets.Arch relu = new TestNets.Arch("relu", () -> List.of(
                new DenseLayer.Builder().name("d1").nOut(6).activation(Activation.RELU).build(),
                new OutputLayer.Builder().name("out").nOut(3).activation(Activation.SOFTMAX)
                        .lossFunction(LossFunctions.LossFunction.MCXENT).build()),
                InputType.feedForward(4), new long[]{1, 4}, 3);
        Model net = TestNets.build(relu, b, graph);
        TestNets.fit(net, data(8, 1));
        return net;
    }

    static Model convFlattenNet(boolean graph) {
        Model net = TestNets.build(TestNets.CONV_POOL_DENSE, TestNets.base(3, new Adam(0.01), DataType.DOUBLE), graph);
        TestNets.fit(net, TestNets.CONV_POOL_DENSE.data(8, 1, DataType.DOUBLE));
        return net;
    }

    static Model uninitialised(boolean graph) {
        NeuralNetConfiguration.Builder b = TestNets.base(3, new Adam(0.01), DataType.DOUBLE);
        if (graph) {
            return new ComputationGraph(b.graphBuilder().addInputs("in")
                    .addLayer("d1", new DenseLayer.Builder().nIn(4).nOut(6).build(), "in")
                    .addLayer("out", new OutputLayer.Builder().nIn(6).nOut(3).activation(Activation.SOFTMAX).build(),
                            "d1")
                    .setOutputs("out").build());
        }
        return new MultiLayerNetwork(b.list()
                .layer(new DenseLayer.Builder().name("d1").nIn(4).nOut(6).build())
                .layer(new OutputLayer.Builder().name("out").nIn(6).nOut(3).activation(Activation.SOFTMAX).build())
                .build());
    }

    static DataSet data(int n, long seed) {
        return TestNets.DENSE_DENSE.data(n, seed, DataType.DOUBLE);
    }

    static DataSetIterator iterator(DataSet... batches) {
        return new org.deeplearning4j.datasets.iterator.ExistingDataSetIterator(List.of(batches));
    }

    static GrowthPolicy.Builder policy() {
        return GrowthPolicy.builder().when(GrowthTrigger.everyIterations(1)).where(SiteSelector.layers("d1"))
                .howMuch(GrowthAmount.add(2));
    }

    /** Trains {@code net} for one epoch of two minibatches with DL4J's listeners around {@code growth}. */
    static Executable fitWith(Model net, TrainingListener... growth) {
        return () -> {
            List<TrainingListener> all = new ArrayList<>();
            all.add(new ScoreIterationListener(100));
            all.addAll(List.of(growth));
            all.add(new ScoreIterationListener(100));
            net.setListeners(all.toArray(new TrainingListener[0]));
            DataSetIterator it = iterator(data(8, 2), data(8, 3));
            if (net instanceof MultiLayerNetwork) {
                ((MultiLayerNetwork) net).fit(it);
            } else {
                ((ComputationGraph) net).fit(it);
            }
        };
    }

    /** One epoch of six minibatches with DL4J's listeners around {@code listeners}. */
    static void fitWithData(Model net, TrainingListener... listeners) {
        List<TrainingListener> all = new ArrayList<>();
        all.add(new ScoreIterationListener(100));
        all.addAll(List.of(listeners));
        all.add(new org.deeplearning4j.optimize.listeners.EvaluativeListener(iterator(data(8, 20)), 2));
        net.setListeners(all.toArray(new TrainingListener[0]));
        DataSetIterator it = iterator(data(8, 2), data(8, 3), data(8, 4), data(8, 5), data(8, 6), data(8, 7));
        if (net instanceof MultiLayerNetwork) {
            ((MultiLayerNetwork) net).fit(it);
        } else {
            ((ComputationGraph) net).fit(it);
        }
    }

    static Executable fitWith(Model net, GrowthPolicy policy) {
        return fitWith(net, new GrowthListener(policy));
    }

    static DataSet withValue(DataSet d, boolean labels, double value) {
        DataSet c = d.copy();
        (labels ? c.getLabels() : c.getFeatures()).putScalar(0, 1, value);
        return c;
    }

    static Stream<Arguments> cases() {
        List<Case> c = new ArrayList<>();
        // --- layer names: typos and layers that cannot grow, refused at the first callback
        c.add(of("selector names an unknown layer", n -> fitWith(n, policy().where(SiteSelector.layers("nope"))
                .build()), IllegalArgumentException.class, "'nope'", "d1"));
        c.add(of("selector names the output layer", n -> fitWith(n, policy().where(SiteSelector.layers("out"))
                .build()), IllegalArgumentException.class, "'out'"));
        c.add(of("round robin names an unknown layer", n -> fitWith(n, policy()
                .where(SiteSelector.roundRobin("d1", "d3")).build()), IllegalArgumentException.class, "'d3'"));
        c.add(of("per-layer cap with a typo", n -> fitWith(n, policy().maxWidth("dl", 12).build()),
                IllegalArgumentException.class, "maxWidth(\"dl\", 12)", "names no layer", "d1"));
        c.add(of("per-layer cap on the output layer", n -> fitWith(n, policy().maxWidth("out", 12).build()),
                IllegalArgumentException.class, "maxWidth(\"out\", 12)", "cannot grow"));
        c.add(of("singularValueAbove names an unknown layer", n -> fitWith(n, policy()
                .when(GrowthTrigger.singularValueAbove(1.0, "nope")).build()), IllegalArgumentException.class,
                "'nope'"));
        // --- JSON written by hand
        c.add(of("the JSON literal null as a policy", n -> () -> GrowthPolicy.fromJson("null"),
                IllegalArgumentException.class, "policy JSON object was expected"));
        c.add(of("a policy JSON with add 0", n -> () -> GrowthPolicy.fromJson(policy().build().toJson()
                .replace("\"add\":2", "\"add\":0")), IllegalArgumentException.class, "add(n)", "(got: 0)"));
        // --- amounts and caps
        c.add(of("add(Integer.MAX_VALUE) without a cap", n -> fitWith(n, policy()
                .howMuch(GrowthAmount.add(Integer.MAX_VALUE)).build()), InfeasibleGrowthException.class,
                "'d1'", String.valueOf(UnitMap.MAX_WIDTH)));
        c.add(of("factor(1e12) without a cap", n -> fitWith(n, policy().howMuch(GrowthAmount.factor(1e12)).build()),
                InfeasibleGrowthException.class, "'d1'", "largest width"));
        // 2e9 units of 10 parameters each: 2e10 parameters, far beyond any machine's memory.
        c.add(of("add(2 000 000 000): more than memory", n -> fitWith(n, policy()
                .howMuch(GrowthAmount.add(2_000_000_000)).build()), InfeasibleGrowthException.class,
                "'d1'", "2000000006 units", "GiB", "maxWidth(\"d1\""));
        c.add(of("cap at the current width", n -> fitWith(n, policy().maxWidth(6).build()),
                IllegalArgumentException.class, "can never grow", "'d1' has 6 units and maxWidth 6"));
        c.add(of("per-layer cap below the current width", n -> fitWith(n, policy().maxWidth("d1", 4).build()),
                IllegalArgumentException.class, "can never grow", "maxWidth 4"));
        c.add(of("maxParams at or below the current count", n -> fitWith(n, policy().maxParams(20).build()),
                IllegalArgumentException.class, "maxParams 20", "can never grow"));
        // --- the initialiser against the layers it may grow
        c.add(of("GradMax on a layer and its consumer together", n -> fitWith(n, policy()
                .where(SiteSelector.allGrowable()).initializer(UnitInitializer.gradMax()).build()),
                IllegalArgumentException.class, "'d1' and its consumer 'd2'", "roundRobin"));
        c.add(of("GradMax-Opt on a layer and its consumer together", n -> fitWith(n, policy()
                .where(SiteSelector.layers("d1", "d2")).initializer(UnitInitializer.gradMaxOptimized()).build()),
                IllegalArgumentException.class, "'d1' and its consumer 'd2'"));
        c.add(on(MisuseTest::convFlattenNet, "GradMax on a conv layer that reaches a dense layer through a flatten",
                n -> fitWith(n, policy().where(SiteSelector.layers("c1")).initializer(UnitInitializer.gradMax())
                        .build()), IllegalArgumentException.class, "'c1'", "flatten", "'d1'"));
        c.add(on(MisuseTest::reluNet, "GradMax on DL4J's plain ReLU", n -> fitWith(n, policy()
                .initializer(UnitInitializer.gradMax()).build()), IllegalArgumentException.class,
                "'d1'", "relu", "f'(0)=0.0", "ActivationGrowthReLU"));
        c.add(on(MisuseTest::reluNet, "randomFanOut on DL4J's plain ReLU", n -> fitWith(n, policy()
                .initializer(UnitInitializer.randomFanOut()).build()), IllegalArgumentException.class,
                "randomFanOut", "'d1'", "f'(0)=0.0"));
        // --- growth data that does not fit the network
        c.add(of("growth data with 5 features for a 4-input network", n -> fitWith(n, GrowthListener.builder()
                        .policy(policy().initializer(UnitInitializer.gradMax()).build())
                        .growthData(iterator(new DataSet(Nd4j.rand(DataType.DOUBLE, 8, 5),
                                data(8, 1).getLabels())), 1).build()),
                IllegalArgumentException.class, "does not fit", "[8, 5]"));
        c.add(of("growth data that does not fit, found by validate(net) before fit()", n -> () -> policy()
                        .initializer(UnitInitializer.gradMax()).build().newController()
                        .growthData(iterator(new DataSet(Nd4j.rand(DataType.DOUBLE, 8, 5), data(8, 1).getLabels())), 1)
                        .validate(n),
                IllegalArgumentException.class, "does not fit", "[8, 5]"));
        c.add(of("validate(net) of a second network", n -> () -> policy().build().newController()
                .validate(tanhNet(false)).validate(n), IllegalStateException.class, "already grows another network"));
        c.add(of("empty growth data", n -> fitWith(n, GrowthListener.builder().policy(policy().build())
                .growthData(new org.deeplearning4j.datasets.iterator.ExistingDataSetIterator(List.<DataSet>of()), 1)
                .build()), IllegalArgumentException.class, "empty"));
        // --- attachment
        c.add(on(MisuseTest::uninitialised, "a network without init()", n -> () -> new GrowthListener(policy()
                .build()).controller().growNow(n), IllegalArgumentException.class, "not initialised", "init()"));
        c.add(on(MisuseTest::uninitialised, "NetworkRewrite of a network without init()",
                n -> () -> NetworkRewrite.of(n), IllegalArgumentException.class, "not initialised"));
        c.add(of("the same listener attached twice", n -> {
            GrowthListener g = new GrowthListener(policy().build());
            return fitWith(n, g, g);
        }, IllegalStateException.class, "attached 2 times"));
        c.add(of("two GrowthListeners on one network", n -> fitWith(n, new GrowthListener(policy().build()),
                new GrowthListener(policy().build())), IllegalStateException.class, "2 GrowthListeners"));
        c.add(of("one listener on a second network", n -> {
            GrowthListener g = new GrowthListener(policy().build());
            g.controller().growNow(tanhNet(false));
            return fitWith(n, g);
        }, IllegalStateException.class, "already grows another network"));
        c.add(of("history file in a missing directory", n -> () -> GrowthListener.builder().policy(policy().build())
                .historyFile(Path.of("/nonexistent-dir-dl4jgrowth/h.json")), IllegalArgumentException.class,
                "/nonexistent-dir-dl4jgrowth", "does not exist"));
        c.add(of("history file whose directory is a file", n -> () -> {
            Path f = Files.createTempFile("not-a-dir", ".txt");
            GrowthListener.builder().policy(policy().build()).historyFile(f.resolve("h.json"));
        }, IllegalArgumentException.class, "not-a-dir", "not a directory"));
        // --- the rewrite API called directly
        c.add(of("grow(d1, Integer.MAX_VALUE)", n -> () -> NetworkRewrite.of(n).grow("d1", Integer.MAX_VALUE),
                InfeasibleGrowthException.class, "'d1'", "2147483653", "largest width"));
        c.add(of("widen(d1, Integer.MAX_VALUE)", n -> () -> NetworkRewrite.of(n).widen("d1", Integer.MAX_VALUE),
                InfeasibleGrowthException.class, "'d1'", String.valueOf(Integer.MAX_VALUE)));
        c.add(of("grow(d1, 2 000 000 000)", n -> () -> NetworkRewrite.of(n).grow("d1", 2_000_000_000),
                InfeasibleGrowthException.class, "'d1'", "GiB", "can reach about"));
        c.add(of("a rewrite growing d1 with GradMax together with d2", n -> () -> NetworkRewrite.of(n)
                .initializer(UnitInitializer.gradMax()).grow("d1", 1).grow("d2", 1).plan(),
                IllegalArgumentException.class, "'d1' and its consumer 'd2'"));
        // --- bad data at growth time, with FAIL chosen
        c.add(of("NaN in the growth data's features", n -> () -> GrowthListener.builder()
                .policy(policy().initializer(UnitInitializer.gradMax()).build()).onBadGrowth(BadGrowthAction.FAIL)
                .build().controller().growNow(n, withValue(data(8, 4), false, Double.NaN)),
                GrowthDataException.class, "NaN", "features[0]", "'d1'"));
        c.add(of("infinity in the growth data's labels", n -> () -> GrowthListener.builder()
                .policy(policy().initializer(UnitInitializer.gradMaxOptimized()).build())
                .onBadGrowth(BadGrowthAction.FAIL).build().controller()
                .growNow(n, withValue(data(8, 4), true, Double.POSITIVE_INFINITY)),
                GrowthDataException.class, "infinite", "labels[0]", "'d1'"));
        c.add(of("NaN data under a singularValueAbove trigger", n -> () -> GrowthListener.builder()
                .policy(policy().when(GrowthTrigger.singularValueAbove(0.0, "d1")).build())
                .onBadGrowth(BadGrowthAction.FAIL).build().controller()
                .onIteration(n, 5, 0, withValue(data(8, 4), false, Double.NaN)),
                GrowthDataException.class, "NaN", "'d1'"));
        c.add(of("an all-zero statistic (every label masked)", n -> () -> {
            DataSet d = data(8, 4);
            d.setLabelsMaskArray(Nd4j.zeros(DataType.DOUBLE, 8, 1));
            GrowthListener.builder().policy(policy().initializer(UnitInitializer.gradMax()).build())
                    .onBadGrowth(BadGrowthAction.FAIL).build().controller().growNow(n, d);
        }, GrowthDataException.class, "zero everywhere", "'d1'"));
        c.add(of("a supplied statistic with NaN", n -> () -> new GrowthListener(policy().build()).controller()
                .supplyStatistic("d1", Nd4j.valueArrayOf(new long[]{6, 5}, Double.NaN), 8),
                IllegalArgumentException.class, "supplyStatistic(\"d1\"", "NaN"));
        c.add(of("growth data batches 0", n -> () -> new GrowthListener(policy().build()).controller()
                .growthData(iterator(data(8, 1)), 0), IllegalArgumentException.class, "batches", "(got: 0)"));
        c.add(of("an onEpochEnd with a negative epoch", n -> () -> new GrowthListener(policy().build()).controller()
                .onEpochEnd(n, -1), IllegalArgumentException.class, "epoch", "(got: -1)"));

        List<Arguments> out = new ArrayList<>();
        for (Case k : c) {
            out.add(Arguments.of(k, false));
            out.add(Arguments.of(k, true));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}, graph={1}")
    @MethodSource("cases")
    void refusedClearlyAndNothingChanges(Case c, boolean graph) throws Throwable {
        Model net = c.network().apply(graph);
        boolean initialised = org.dl4jgrowth.network.NetworkAdapter.of(net).initialised();
        NetState before = initialised ? NetState.of(net) : null;
        String confBefore = conf(net);
        Executable misuse = c.misuse().apply(net);
        Throwable e = assertThrows(c.type(), misuse, c.name());
        assertEquals(c.type(), e.getClass(), "exactly " + c.type().getSimpleName() + ": " + e);
        for (String f : c.fragments()) {
            assertTrue(e.getMessage().contains(f), "message should mention '" + f + "': " + e.getMessage());
        }
        assertEquals(confBefore, conf(net), "configuration unchanged");
        if (before == null) {
            return;
        }
        NetState after = NetState.of(net);
        assertEquals(before.iterations, after.iterations, "no training iteration ran before the refusal");
        assertArrayEquals(before.params, after.params, 0.0, "parameters bit-identical");
        assertArrayEquals(before.updaterState, after.updaterState, 0.0, "optimizer state bit-identical");
        // Still trains, without the listener that was refused.
        net.setListeners();
        boolean conv = confBefore.contains("ConvolutionLayer");
        TestNets.fit(net, conv ? TestNets.CONV_POOL_DENSE.data(8, 5, DataType.DOUBLE) : data(8, 5));
        assertEquals(before.iterations + 1, NetState.of(net).iterations);
        assertTrue(Double.isFinite(net.score()), "trains on: score " + net.score());
    }

    private static String conf(Model net) {
        return net instanceof MultiLayerNetwork ? ((MultiLayerNetwork) net).getLayerWiseConfigurations().toJson()
                : ((ComputationGraph) net).getConfiguration().toJson();
    }

    /** The history of a refusal survives JSON: a skip (the default) round-trips with the rest. */
    @ParameterizedTest(name = "graph={0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
    void badDataIsSkippedAndRecordedByDefault(boolean graph) {
        Model net = tanhNet(graph);
        NetState before = NetState.of(net);
        GrowthListener g = GrowthListener.builder().policy(policy().initializer(UnitInitializer.gradMax()).build())
                .build();
        assertFalse(GrowthHistory.fromJson(g.history().toJson()).toJson().contains("skips"),
                "no skips: the history's JSON is as before (old readers read it)");
        assertTrue(g.controller().growNow(net, withValue(data(8, 4), false, Double.NaN)).isEmpty());
        assertTrue(g.controller().growNow(net, withValue(data(8, 5), false, Double.NaN)).isEmpty());
        assertArrayEquals(before.params, NetState.of(net).params, 0.0);
        assertEquals(0, g.history().size());
        assertEquals(1, g.history().skips().size(), "the same refusal twice is one record");
        GrowthSkip skip = g.history().skips().get(0);
        assertEquals(2, skip.count());
        assertEquals("GrowthDataException", skip.kind());
        assertEquals(List.of("d1"), skip.layers());
        assertTrue(skip.reason().contains("NaN"), skip.reason());
        assertEquals(g.history(), GrowthHistory.fromJson(g.history().toJson()));
        // The next growth with good data happens as usual.
        GrowthEvent e = g.controller().growNow(net, data(8, 4)).orElseThrow();
        assertEquals(8, NetworkRewrite.width(net, "d1"));
        assertEquals(0, e.index());
        assertEquals(g.history(), GrowthHistory.fromJson(g.history().toJson()));
        assertEquals(g.controller().state(), GrowthState.fromJson(g.controller().state().toJson()));
    }

    /**
     * Good growth data is checked at the first onForwardPass too (fit(DataSet) calls no epoch
     * callbacks), inside the training pass whose workspaces are open on this thread.
     */
    @ParameterizedTest(name = "graph={0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
    void goodGrowthDataPassesTheCheckInsideTheTrainingPass(boolean graph) {
        Model net = tanhNet(graph);
        GrowthListener g = GrowthListener.builder().policy(policy().initializer(UnitInitializer.gradMax()).build())
                .growthData(iterator(data(8, 9)), 1).build();
        net.setListeners(new ScoreIterationListener(100), g);
        TestNets.fit(net, data(8, 10));
        assertEquals(1, g.history().size());
        assertEquals(8, NetworkRewrite.width(net, "d1"));
    }

    /** Inside fit(), by default, unusable growth data costs a growth, never the training run. */
    /**
     * Without growth data the training minibatch is the growth data, and a refusal names its
     * iteration (the description is made only when a message needs it, not at every iteration).
     */
    @ParameterizedTest(name = "graph={0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
    void aBadTrainingMinibatchIsNamedByItsIteration(boolean graph) {
        Model net = tanhNet(graph);
        long start = NetState.of(net).iterations;
        // The third minibatch of this fit() holds a NaN, and the trigger asks at every iteration.
        GrowthListener g = GrowthListener.builder().policy(policy().initializer(UnitInitializer.gradMax()).build())
                .build();
        net.setListeners(new ScoreIterationListener(100), g);
        DataSetIterator it = iterator(data(8, 2), data(8, 3), withValue(data(8, 4), false, Double.NaN));
        if (net instanceof MultiLayerNetwork) {
            ((MultiLayerNetwork) net).fit(it);
        } else {
            ((ComputationGraph) net).fit(it);
        }
        assertEquals(2, g.history().size(), "the first two minibatches grew the network");
        assertEquals(1, g.history().skips().size(), g.history().skips().toString());
        GrowthSkip skip = g.history().skips().get(0);
        assertEquals(start + 2, skip.iteration(), "the third iteration of this fit(): " + skip);
        assertTrue(skip.reason().contains("the training minibatch of iteration " + skip.iteration()), skip.reason());
    }

    @ParameterizedTest(name = "graph={0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
    void badGrowthDataInsideFitIsSkippedAndTrainingGoesOn(boolean graph) {
        Model net = tanhNet(graph);
        long before = NetState.of(net).iterations;
        // Fine when checked before training (the first minibatch), NaN from the second on.
        DataSetIterator data = iterator(data(8, 9), withValue(data(8, 10), false, Double.NaN));
        GrowthListener g = GrowthListener.builder().policy(policy().initializer(UnitInitializer.gradMax()).build())
                .growthData(data, 2).build();
        fitWithData(net, g);
        assertEquals(before + 6, NetState.of(net).iterations, "all six iterations trained");
        assertEquals(6, NetworkRewrite.width(net, "d1"), "nothing grew");
        assertEquals(0, g.history().size());
        assertEquals(1, g.history().skips().size());
        assertEquals(6, g.history().skips().get(0).count(), "one record for the six refusals");
        assertTrue(g.history().skips().get(0).reason().contains("Minibatch 2 of 2"), g.history().skips().toString());
        assertTrue(Double.isFinite(net.score()));
    }

    /** A selector by the statistic never picks layers without one: they are not held against the policy. */
    @ParameterizedTest(name = "graph={0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
    void bySingularValuePassesOverLayersWithoutAStatistic(boolean graph) {
        Model net = convFlattenNet(graph);
        GrowthListener g = new GrowthListener(policy().where(SiteSelector.bySingularValue(1))
                .initializer(UnitInitializer.gradMax()).build());
        GrowthEvent e = g.controller().growNow(net, TestNets.CONV_POOL_DENSE.data(8, 4, DataType.DOUBLE))
                .orElseThrow();
        assertEquals("d1", e.layers().get(0).layer(), "c1 reaches d1 through a flatten: no statistic, not picked");
    }

    /** randomFanOut needs only f'(0) > 0: sigmoid's new units learn, although they shift the output. */
    @ParameterizedTest(name = "graph={0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
    void randomFanOutAcceptsSigmoid(boolean graph) {
        TestNets.Arch sigmoid = new TestNets.Arch("sigmoid", () -> List.of(
                new DenseLayer.Builder().name("d1").nOut(6).activation(Activation.SIGMOID).build(),
                new OutputLayer.Builder().name("out").nOut(3).activation(Activation.SOFTMAX)
                        .lossFunction(LossFunctions.LossFunction.MCXENT).build()),
                InputType.feedForward(4), new long[]{1, 4}, 3);
        Model net = TestNets.build(sigmoid, TestNets.base(3, new Adam(0.01), DataType.DOUBLE), graph);
        GrowthListener g = new GrowthListener(policy().initializer(UnitInitializer.randomFanOut()).build());
        fitWithData(net, g);
        assertTrue(g.history().size() >= 4, g.history().toString());
        assertEquals(6 + 2 * g.history().size(), NetworkRewrite.width(net, "d1"));
    }

    /** Refusals of a misconfigured policy come before the first parameter update, also with growth data given. */
    @ParameterizedTest(name = "graph={0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
    void refusedAtTheFirstCallbackEvenWithGrowthData(boolean graph) {
        Model net = tanhNet(graph);
        NetState before = NetState.of(net);
        List<String> seen = new ArrayList<>();
        TrainingListener probe = new org.deeplearning4j.optimize.api.BaseTrainingListener() {
            @Override
            public void iterationDone(Model model, int iteration, int epoch) {
                seen.add("iteration " + iteration);
            }
        };
        GrowthListener g = GrowthListener.builder().policy(policy().where(SiteSelector.layers("nope")).build())
                .growthData(iterator(data(8, 9)), 1).build();
        assertThrows(IllegalArgumentException.class, fitWith(net, g, probe));
        assertEquals(List.of(), seen, "no iteration completed");
        assertArrayEquals(before.params, NetState.of(net).params, 0.0);
        assertEquals(before.iterations, NetState.of(net).iterations);
    }
}
