package org.dl4jgrowth.plan;

import org.deeplearning4j.datasets.iterator.ExistingDataSetIterator;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.deeplearning4j.optimize.listeners.ScoreIterationListener;
import org.deeplearning4j.util.ModelSerializer;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.GrowthHistory;
import org.dl4jgrowth.GrowthJson;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.testing.NetState;
import org.dl4jgrowth.testing.TestNets;
import org.dl4jgrowth.when.GrowthTrigger;
import org.dl4jgrowth.where.GrowthAmount;
import org.dl4jgrowth.where.SiteSelector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A recorded schedule replayed inside {@code fit()} grows the same layers by the same amounts at the
 * same moments, with the replaying policy's initialiser; it survives JSON and a resume without
 * replaying a step twice, and refuses what it cannot replay.
 */
class ReplayPlannerTest {
    @TempDir
    Path tmp;

    private static final int BATCHES = 6;

    private static List<DataSet> batches() {
        return TestNets.digitsBatches(0, BATCHES);
    }

    private static void fit(Model net, int epochs) {
        if (net instanceof MultiLayerNetwork) {
            ((MultiLayerNetwork) net).fit(new ExistingDataSetIterator(batches()), epochs);
        } else {
            ((ComputationGraph) net).fit(new ExistingDataSetIterator(batches()), epochs);
        }
    }

    private static Model digits(boolean graph) {
        return TestNets.build(TestNets.DIGITS_MLP, TestNets.base(42, new Adam(0.01), DataType.FLOAT), graph);
    }

    /** The recorded run: random units, two layers in turn, and one event at an epoch end. */
    private static GrowthPolicy recorded() {
        return GrowthPolicy.builder()
                .when(GrowthTrigger.atIterations(2, 7, 9).or(GrowthTrigger.atEpochs(1)))
                .where(SiteSelector.roundRobin("h1", "h2")).howMuch(GrowthAmount.add(3))
                .initializer(UnitInitializer.random()).seed(5).build();
    }

    private static GrowthPolicy replay(ReplayPlanner planner) {
        return GrowthPolicy.builder().planner(planner).initializer(UnitInitializer.functionPreserving()).seed(11)
                .build();
    }

    private static List<String> moments(GrowthHistory h) {
        return h.events().stream().map(e -> e.iteration() + (e.atEpochEnd() ? "E" : "") + e.layers())
                .collect(Collectors.toList());
    }

    private static void attach(Model net, TrainingListener... ls) {
        if (net instanceof MultiLayerNetwork) {
            ((MultiLayerNetwork) net).setListeners(ls);
        } else {
            ((ComputationGraph) net).setListeners(ls);
        }
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void aReplayInsideFitGrowsTheRecordedLayersAtTheRecordedMomentsWithItsOwnInitialiser(boolean graph) {
        Model first = digits(graph);
        GrowthListener rec = new GrowthListener(recorded());
        attach(first, new ScoreIterationListener(1), rec, new ScoreIterationListener(5));
        fit(first, 3);
        assertEquals(4, rec.history().size(), "three iteration growths and one at the end of epoch 1: "
                + rec.history());
        assertTrue(rec.history().events().stream().anyMatch(GrowthEvent::atEpochEnd), rec.history().toString());

        Model second = digits(graph);
        GrowthListener replay = new GrowthListener(replay(ReplayPlanner.of(rec.history())));
        attach(second, new ScoreIterationListener(1), replay, new ScoreIterationListener(5));
        fit(second, 3);

        assertEquals(moments(rec.history()), moments(replay.history()), "same moments, layers and widths");
        for (String layer : List.of("h1", "h2")) {
            assertEquals(NetworkRewrite.width(first, layer), NetworkRewrite.width(second, layer), layer);
        }
        for (GrowthEvent e : replay.history().events()) {
            assertEquals(UnitInitializer.functionPreserving(), e.initializer(), "the replaying policy's initialiser");
        }
        for (GrowthEvent e : replay.history().events()) {
            for (GrowthEvent.LayerGrowth g : e.layers()) {
                assertEquals(g.after() - g.before(), g.fresh(), "every replayed unit is fresh: " + e);
            }
        }
    }

    @Test
    void theReplaysNewFanOutIsZeroRightAfterTheEvent() {
        Model net = digits(false);
        ReplayPlanner p = new ReplayPlanner(List.of(new ReplayPlanner.Step(0, false, Map.of("h1", 3))));
        GrowthListener replay = GrowthListener.builder().policy(replay(p)).build();
        List<INDArray> rowsAfterGrowth = new ArrayList<>();
        TrainingListener probe = new org.deeplearning4j.optimize.api.BaseTrainingListener() {
            @Override
            public void iterationDone(Model model, int iteration, int epoch) {
                if (rowsAfterGrowth.isEmpty() && NetworkRewrite.width(model, "h1") == 7) {
                    rowsAfterGrowth.add(TestNets.layer(model, "h2").getParam("W")
                            .get(NDArrayIndex.interval(4, 7), NDArrayIndex.all()).dup());
                }
            }
        };
        attach(net, replay, probe);
        fit(net, 1);
        assertEquals(1, rowsAfterGrowth.size());
        assertEquals(0.0, rowsAfterGrowth.get(0).amaxNumber().doubleValue(), 0.0,
                "functionPreserving: the three new units' fan-out rows are zero");
        assertEquals(7, NetworkRewrite.width(net, "h1"));
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void aResumedReplayGoesOnWithTheNextStepAndEndsLikeTheUninterruptedOne(boolean graph) throws Exception {
        Model recording = digits(graph);
        GrowthListener rec = new GrowthListener(recorded());
        attach(recording, rec);
        fit(recording, 3);
        ReplayPlanner planner = ReplayPlanner.of(rec.history());

        Model whole = digits(graph);
        GrowthListener wholeGrowth = new GrowthListener(replay(planner));
        attach(whole, wholeGrowth);
        fit(whole, 3);

        Model first = digits(graph);
        GrowthListener firstGrowth = new GrowthListener(replay(planner));
        attach(first, firstGrowth);
        fit(first, 1);
        int before = firstGrowth.history().size();
        assertTrue(before >= 1 && before < planner.steps().size(), firstGrowth.history().toString());
        File file = tmp.resolve("replay-" + graph + ".zip").toFile();
        firstGrowth.writeModel(first, file, true);

        Model resumed = graph ? ModelSerializer.restoreComputationGraph(file, true)
                : ModelSerializer.restoreMultiLayerNetwork(file, true);
        GrowthListener resumedGrowth = GrowthListener.builder().policy(replay(planner)).build().restoreState(file);
        attach(resumed, resumedGrowth);
        fit(resumed, 2);

        assertEquals(moments(wholeGrowth.history()), moments(resumedGrowth.history()), "no step twice, none lost");
        assertEquals(wholeGrowth.history().events().stream().map(e -> GrowthJson.toJson(e.withoutTimings()))
                        .collect(Collectors.toList()),
                resumedGrowth.history().events().stream().map(e -> GrowthJson.toJson(e.withoutTimings()))
                        .collect(Collectors.toList()));
        assertArrayEquals(NetState.of(whole).params, NetState.of(resumed).params, "bit-identical parameters");
    }

    @Test
    void splitsAreReplayedAsFreshUnitsAndTheScheduleSurvivesJson() {
        GrowthEvent firefly = new GrowthEvent(0, 41, 2, false, List.of(
                new GrowthEvent.LayerGrowth("h1", 4, 9, 4, 3, 2, 0),
                new GrowthEvent.LayerGrowth("h2", 4, 4, 4, 0, 0, 0)),
                UnitInitializer.random(), 10, 20, 1.0, 1.0, "cpu", null, null);
        ReplayPlanner.Step step = ReplayPlanner.stepOf(firefly);
        assertEquals(41, step.iteration());
        assertEquals(Map.of("h1", 5), step.added(), "three splits and two new units are five units; h2 unchanged");

        Map<String, Integer> two = new LinkedHashMap<>();
        two.put("h2", 1);
        two.put("h1", 2);
        ReplayPlanner p = new ReplayPlanner(List.of(new ReplayPlanner.Step(30, true, two), step,
                new ReplayPlanner.Step(30, false, Map.of("h1", 1))));
        assertEquals(List.of(30L, 30L, 41L), p.steps().stream().map(ReplayPlanner.Step::iteration)
                .collect(Collectors.toList()), "in training order: during an epoch before its end");
        assertTrue(p.steps().get(1).atEpochEnd());
        assertEquals(List.of("h1", "h2"), p.namedLayers());
        GrowthPolicy policy = replay(p);
        GrowthPolicy back = GrowthPolicy.fromJson(policy.toJson());
        assertEquals(policy, back);
        assertEquals(List.of("h2", "h1"), new ArrayList<>(((ReplayPlanner) back.planner()).steps().get(1).added()
                .keySet()), "the recorded layer order survives JSON");
        assertNotEquals(p, new ReplayPlanner(List.of(step)));
    }

    @Test
    void whatCannotBeReplayedIsRefusedNamingIt() {
        GrowthEvent narrowing = new GrowthEvent(3, 12, 0, false, List.of(
                new GrowthEvent.LayerGrowth("h1", 6, 4, 4, 0, 0, 2)),
                UnitInitializer.random(), 10, 8, 1.0, 1.0, "cpu", null, null);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ReplayPlanner.of(List.of(narrowing)));
        assertTrue(e.getMessage().contains("drops 2 units of layer 'h1' (6 -> 4)"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> new ReplayPlanner(List.of(
                new ReplayPlanner.Step(5, false, Map.of("h1", 1)), new ReplayPlanner.Step(5, false, Map.of("h2", 1)))));
        assertTrue(e.getMessage().contains("two steps at the same moment"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new ReplayPlanner.Step(5, false, Map.of("h1", 0)));
        assertTrue(e.getMessage().contains("layer 'h1' must gain at least 1 unit (got: 0)"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new ReplayPlanner(List.of()));
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void aReplayNamingAMissingLayerOrAboveTheCapIsRefusedBeforeTraining(boolean graph) {
        Model net = digits(graph);
        NetState before = NetState.of(net);
        GrowthListener typo = new GrowthListener(replay(new ReplayPlanner(List.of(
                new ReplayPlanner.Step(3, false, Map.of("h9", 1))))));
        attach(net, typo);
        Exception e = assertThrows(IllegalArgumentException.class, () -> fit(net, 1));
        assertTrue(e.getMessage().contains("h9"), e.getMessage());
        assertArrayEquals(before.params, NetState.of(net).params, "nothing trained or grew");

        GrowthPolicy capped = GrowthPolicy.builder().planner(new ReplayPlanner(List.of(
                        new ReplayPlanner.Step(0, false, Map.of("h1", 4)))))
                .initializer(UnitInitializer.functionPreserving()).maxWidth(6).build();
        Model other = digits(graph);
        attach(other, new GrowthListener(capped));
        Exception c = assertThrows(RuntimeException.class, () -> fit(other, 1));
        assertTrue(c.getMessage().contains("'h1'") && c.getMessage().contains("maxWidth 6"), c.getMessage());
        assertEquals(4, NetworkRewrite.width(other, "h1"), "nothing grew");
    }
}
