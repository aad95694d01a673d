package org.dl4jgrowth;

import org.deeplearning4j.datasets.iterator.ExistingDataSetIterator;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.testing.NetState;
import org.dl4jgrowth.testing.TestNets;
import org.dl4jgrowth.when.GrowthTrigger;
import org.dl4jgrowth.where.GrowthAmount;
import org.dl4jgrowth.where.SiteSelector;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A run saved with its growth state at an epoch end and resumed into fresh objects ends exactly like
 * the uninterrupted run: the same events (equal but for wall times), bit-identical parameters and
 * optimizer state, on both network types and for random, function-preserving and GradMax units,
 * with maxGrowths, minIterationsBetween and roundRobin, whose memory lives in the growth state.
 */
class ResumeTest {
    @TempDir
    Path tmp;

    static Stream<Arguments> runs() {
        List<Arguments> a = new ArrayList<>();
        for (boolean graph : new boolean[]{false, true}) {
            for (String init : new String[]{"random", "functionPreserving", "gradMax"}) {
                a.add(Arguments.of(graph, init));
            }
        }
        return a.stream();
    }

    private static GrowthPolicy policy(String init) {
        UnitInitializer u = "random".equals(init) ? UnitInitializer.random()
                : "gradMax".equals(init) ? UnitInitializer.gradMax() : UnitInitializer.functionPreserving();
        return GrowthPolicy.builder()
                .when(GrowthTrigger.everyIterations(2).and(GrowthTrigger.minIterationsBetween(5))
                        .and(GrowthTrigger.maxGrowths(4)))
                .where(SiteSelector.roundRobin("h1", "h2")).howMuch(GrowthAmount.add(2))
                .initializer(u).seed(7).build();
    }

    private static List<DataSet> batches() {
        return TestNets.digitsBatches(0, 6);
    }

    private static void fit(Model net, int epochs) {
        if (net instanceof MultiLayerNetwork) {
            ((MultiLayerNetwork) net).fit(new ExistingDataSetIterator(batches()), epochs);
        } else {
            ((ComputationGraph) net).fit(new ExistingDataSetIterator(batches()), epochs);
        }
    }

    private static Model restore(File f, boolean graph) throws Exception {
        return graph ? ModelSerializer.restoreComputationGraph(f, true) : ModelSerializer.restoreMultiLayerNetwork(f, true);
    }

    private static List<String> eventsWithoutTimings(GrowthHistory h) {
        return h.events().stream().map(e -> GrowthJson.toJson(e.withoutTimings())).collect(Collectors.toList());
    }

    @ParameterizedTest(name = "graph={0}, {1}")
    @MethodSource("runs")
    void aResumedRunEndsExactlyLikeTheUninterruptedOne(boolean graph, String init) throws Exception {
        Model whole = TestNets.build(TestNets.DIGITS_MLP, TestNets.base(42, new Adam(0.01), DataType.FLOAT), graph);
        GrowthListener wholeGrowth = new GrowthListener(policy(init));
        whole.setListeners(wholeGrowth);
        fit(whole, 4);

        Model first = TestNets.build(TestNets.DIGITS_MLP, TestNets.base(42, new Adam(0.01), DataType.FLOAT), graph);
        GrowthListener firstGrowth = new GrowthListener(policy(init));
        first.setListeners(firstGrowth);
        fit(first, 2);
        int before = firstGrowth.history().size();
        assertTrue(before >= 2, "at least two growths before the save: " + firstGrowth.history());
        File file = tmp.resolve("run-" + graph + "-" + init + ".zip").toFile();
        firstGrowth.writeModel(first, file, true);

        Model resumed = restore(file, graph);
        GrowthListener resumedGrowth = GrowthListener.builder().policy(policy(init)).build().restoreState(file);
        resumed.setListeners(resumedGrowth);
        fit(resumed, 2);

        assertTrue(wholeGrowth.history().size() > before, "growth went on after the save point");
        assertEquals(eventsWithoutTimings(wholeGrowth.history()), eventsWithoutTimings(resumedGrowth.history()),
                "the same events");
        assertEquals(wholeGrowth.history().provenance(), resumedGrowth.history().provenance());
        NetState a = NetState.of(whole);
        NetState b = NetState.of(resumed);
        assertArrayEquals(a.params, b.params, "bit-identical parameters");
        assertArrayEquals(a.updaterState, b.updaterState, "bit-identical optimizer state");
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void aModelFileWithGrowthStateLoadsWithPlainDl4jAndBadRestoresAreRefused(boolean graph) throws Exception {
        Model net = TestNets.build(TestNets.DIGITS_MLP, TestNets.base(42, new Adam(0.01), DataType.FLOAT), graph);
        GrowthListener growth = new GrowthListener(policy("random"));
        net.setListeners(growth);
        fit(net, 1);
        INDArray mask = Nd4j.rand(DataType.FLOAT, TestNets.layer(net, "h1").getParam("W").shape());
        growth.controller().companions().register("mask", "h1", "W", mask, 1.0);
        File file = tmp.resolve("state-" + graph + ".zip").toFile();
        growth.writeModel(net, file, true);
        GrowthListener back = new GrowthListener(policy("random")).restoreState(file);
        assertEquals(mask, back.controller().companions().get("mask"), "companion arrays restore, type and all");
        assertEquals(List.of(GrowthController.MODEL_FILE_KEY), ModelSerializer.listObjectsInFile(file));
        Object raw = ModelSerializer.getObjectFromFile(file, GrowthController.MODEL_FILE_KEY);
        assertTrue(raw instanceof String, "stored as a JSON string: plain DL4J needs no class of ours to load it");
        assertEquals(growth.controller().state(), GrowthState.fromJson((String) raw));
        assertArrayEquals(NetState.of(net).params, NetState.of(restore(file, graph)).params);

        IllegalArgumentException other = assertThrows(IllegalArgumentException.class,
                () -> new GrowthListener(policy("gradMax")).restoreState(file));
        assertTrue(other.getMessage().contains("same policy"), other.getMessage());
        File plain = tmp.resolve("plain-" + graph + ".zip").toFile();
        ModelSerializer.writeModel(net, plain, true);
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
                () -> new GrowthListener(policy("random")).restoreState(plain));
        assertTrue(none.getMessage().contains("no growth state"), none.getMessage());
        GrowthListener used = new GrowthListener(policy("random"));
        Model fresh = TestNets.build(TestNets.DIGITS_MLP, TestNets.base(42, new Adam(0.01), DataType.FLOAT), graph);
        used.controller().growNow(fresh);
        assertThrows(IllegalStateException.class, () -> used.restoreState(file), "a controller that grew already");
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void aRunResumedFromCheckpointListenersLastCheckpointEndsExactlyLikeTheUninterruptedOne(boolean graph)
            throws Exception {
        Model whole = TestNets.build(TestNets.DIGITS_MLP, TestNets.base(42, new Adam(0.01), DataType.FLOAT), graph);
        GrowthListener wholeGrowth = new GrowthListener(policy("random"));
        whole.setListeners(wholeGrowth);
        fit(whole, 4);

        File dir = tmp.resolve("checkpoints-" + graph).toFile();
        dir.mkdirs();
        org.deeplearning4j.optimize.listeners.CheckpointListener checkpoints =
                new org.deeplearning4j.optimize.listeners.CheckpointListener.Builder(dir).saveEveryEpoch()
                        .keepAll().build();
        Model first = TestNets.build(TestNets.DIGITS_MLP, TestNets.base(42, new Adam(0.01), DataType.FLOAT), graph);
        GrowthListener firstGrowth = GrowthListener.builder().policy(policy("random")).checkpoints(checkpoints).build();
        first.setListeners(checkpoints, firstGrowth);
        fit(first, 2);
        firstGrowth.stampCheckpoints();   // the last epoch's end: no callback of ours came after it
        List<org.deeplearning4j.optimize.listeners.Checkpoint> all = checkpoints.availableCheckpoints();
        assertEquals(2, all.size());
        for (org.deeplearning4j.optimize.listeners.Checkpoint c : all) {
            assertTrue(ModelSerializer.listObjectsInFile(checkpoints.getFileForCheckpoint(c))
                    .contains(GrowthController.MODEL_FILE_KEY), "every checkpoint carries the growth state: " + c);
        }

        org.deeplearning4j.optimize.listeners.Checkpoint last =
                org.deeplearning4j.optimize.listeners.CheckpointListener.lastCheckpoint(dir);
        File file = org.deeplearning4j.optimize.listeners.CheckpointListener.getFileForCheckpoint(dir,
                last.getCheckpointNum());
        Model resumed = restore(file, graph);
        // CheckpointListener saves at an epoch's end before DL4J counts the epoch: count it here.
        if (resumed instanceof MultiLayerNetwork) {
            ((MultiLayerNetwork) resumed).incrementEpochCount();
        } else {
            ((ComputationGraph) resumed).incrementEpochCount();
        }
        GrowthListener resumedGrowth = new GrowthListener(policy("random")).restoreState(file);
        resumed.setListeners(resumedGrowth);
        fit(resumed, 2);

        assertEquals(eventsWithoutTimings(wholeGrowth.history()), eventsWithoutTimings(resumedGrowth.history()));
        assertArrayEquals(NetState.of(whole).params, NetState.of(resumed).params);
        assertArrayEquals(NetState.of(whole).updaterState, NetState.of(resumed).updaterState);
    }
}
