package org.dl4jgrowth.tools;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.deeplearning4j.optimize.listeners.Checkpoint;
import org.deeplearning4j.optimize.listeners.CheckpointListener;
import org.deeplearning4j.util.ModelSerializer;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.testing.TestNets;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

import static org.dl4jgrowth.tools.BesideGrowth.Order;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DL4J's CheckpointListener beside a GrowthListener that grows the network three times inside fit(),
 * before and after it, on both network types. It saves every 3 iterations, at the growths' own
 * iterations too, so each file shows which side of the growth it was written on; every file loads
 * with ModelSerializer, updater state included, and the last one is the grown network as fit() left it.
 */
class CheckpointListenerBesideGrowthTest {
    private static final int EVERY = 3;

    @TempDir
    Path tmp;

    static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> runs() {
        return StatsListenerBesideGrowthTest.runs();
    }

    @ParameterizedTest(name = "graph={0} {1}")
    @MethodSource("runs")
    void checkpointsHoldTheNetworkAsItIsAtTheirPlaceInTheChain(boolean graph, Order order) throws IOException {
        Model net = BesideGrowth.net(graph);
        List<GrowthEvent> events = new ArrayList<>();
        GrowthListener growth = BesideGrowth.growth(events);
        BesideGrowth.Probe probe = new BesideGrowth.Probe(events);
        File dir = tmp.toFile();
        CheckpointListener checkpoints = new CheckpointListener.Builder(dir).saveEveryNIterations(EVERY)
                .keepAll().logSaving(false).build();
        TrainingListener[] listeners = BesideGrowth.ordered(order, checkpoints, growth, probe);
        BesideGrowth.setListeners(net, listeners);

        BesideGrowth.fit(net, BesideGrowth.trainIterator(), BesideGrowth.EPOCHS);

        BesideGrowth.assertThreeGrowths(growth.history().events(), events, net);
        probe.assertSawGrownNetworkWithGradient();
        assertEquals(Arrays.asList(listeners), new ArrayList<>(BesideGrowth.listeners(net)), "listeners changed");

        // Saved at iterations 3, 6, 9, 12, 15 (DL4J skips iteration 0); at 3, 6 and 9 the network grew.
        List<Checkpoint> all = CheckpointListener.availableCheckpoints(dir);
        assertEquals(List.of(3L, 6L, 9L, 12L, 15L), all.stream().map(c -> (long) c.getIteration())
                .collect(Collectors.toList()));
        for (Checkpoint c : all) {
            Model restored = restore(new File(dir, c.getFilename()), graph);
            int width = BesideGrowth.widthSeenAt(c.getIteration(), order);
            assertEquals(width, BesideGrowth.width(restored), "width in the checkpoint of " + c);
            assertEquals(BesideGrowth.numParams(width), restored.numParams(), c.toString());
            // Adam keeps two arrays per parameter: the saved updater state was remapped with them.
            assertEquals(2 * restored.numParams(), updaterState(restored).length(), "updater state of " + c);
        }

        // The last checkpoint, after the last growth, is the network fit() ended with, and trains on.
        Checkpoint last = CheckpointListener.lastCheckpoint(dir);
        assertNotNull(last);
        assertEquals(15, last.getIteration());
        Model restored = restore(new File(dir, last.getFilename()), graph);
        assertEquals(net.numParams(), restored.numParams());
        assertEquals(net.params(), restored.params());
        assertEquals(updaterState(net), updaterState(restored));
        DataSet batch = BesideGrowth.batches(100).get(0);
        assertEquals(TestNets.output(net, batch.getFeatures()), TestNets.output(restored, batch.getFeatures()));
        TestNets.fit(restored, batch);
        assertTrue(Double.isFinite(restored.score()), "score after a step of the restored net: " + restored.score());
    }

    private static Model restore(File file, boolean graph) throws IOException {
        return graph ? ModelSerializer.restoreComputationGraph(file, true)
                : ModelSerializer.restoreMultiLayerNetwork(file, true);
    }

    private static INDArray updaterState(Model net) {
        return net instanceof MultiLayerNetwork ? ((MultiLayerNetwork) net).getUpdater().getStateViewArray()
                : ((ComputationGraph) net).getUpdater().getStateViewArray();
    }
}
