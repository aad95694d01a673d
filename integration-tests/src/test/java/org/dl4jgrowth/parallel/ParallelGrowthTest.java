package org.dl4jgrowth.parallel;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.deeplearning4j.optimize.listeners.ScoreIterationListener;
import org.deeplearning4j.parallelism.ParallelWrapper;
import org.dl4jgrowth.GrowthController;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.signal.GradientStatistic;
import org.dl4jgrowth.testing.DigitsImages;
import org.dl4jgrowth.testing.NetState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.dl4jgrowth.parallel.Rounds.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ParallelGrowth as a user runs it: DL4J's ParallelWrapper with 2 CPU workers, in both training
 * modes, on both network types, with DL4J's ScoreIterationListener and a listener of the test's own
 * on the model; GradMax grows the digits MLP's h1 (4 -> 6 -> 8) after rounds 1 and 3 of 5, from the
 * statistic summed over the workers. A hang (the deadlock the driver avoids) fails on the timeout.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ParallelGrowthTest {
    static final class Counting extends BaseTrainingListener {
        final AtomicInteger iterations = new AtomicInteger();

        @Override
        public void iterationDone(Model model, int iteration, int epoch) {
            iterations.incrementAndGet();
        }
    }

    @ParameterizedTest(name = "{0}, graph={1}")
    @CsvSource({"AVERAGING, false", "AVERAGING, true", "SHARED_GRADIENTS, false", "SHARED_GRADIENTS, true"})
    void growsAtThePlannedRoundsAndKeepsTraining(ParallelWrapper.TrainingMode mode, boolean graph) {
        Model net = net(graph, DataType.FLOAT);
        Counting counting = new Counting();
        ScoreIterationListener score = new ScoreIterationListener(4);
        net.setListeners(score, counting);
        Rounds.Record record = new Rounds.Record();
        ParallelGrowth driver = ParallelGrowth.builder(net, policy()).workers(2).trainingMode(mode)
                .prefetchBuffer(2).statisticOnWorkers(statisticData(), 4).roundListener(record).build();

        driver.fit(DigitsImages.iterator(trainBatches()), ROUNDS);

        assertGrewAsPlanned(record, driver.history(), net);
        // The user's listeners were on the workers every round, and are back on the model as given.
        assertTrue(counting.iterations.get() >= ROUNDS * trainBatches().size() / 2,
                "the model's listener saw the rounds: " + counting.iterations.get());
        List<TrainingListener> now = new ArrayList<>(graph ? ((ComputationGraph) net).getListeners()
                : ((MultiLayerNetwork) net).getListeners());
        assertEquals(2, now.size());
        assertSame(score, now.get(0));
        assertSame(counting, now.get(1));
    }

    /** DL4J's own route, a GrowthListener moved onto the workers by the wrapper's builder, fails clearly. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"AVERAGING", "SHARED_GRADIENTS"})
    void aGrowthListenerOnTheWorkersFailsNamingTheDriver(ParallelWrapper.TrainingMode mode) {
        MultiLayerNetwork net = (MultiLayerNetwork) net(false, DataType.FLOAT);
        net.setListeners(new GrowthListener(policy()));
        double[] before = NetState.of(net).params;
        ParallelWrapper pw = new ParallelWrapper.Builder<>(net).workers(2).trainingMode(mode).prefetchBuffer(0).build();
        RuntimeException e = assertThrows(RuntimeException.class,
                () -> pw.fit(DigitsImages.iterator(trainBatches())));
        pw.shutdown();
        String message = chain(e);
        assertTrue(message.contains("ParallelWrapper worker") && message.contains("org.dl4jgrowth.parallel.ParallelGrowth"),
                message);
        assertArrayEquals(before, NetState.of(net).params, "refused before anything trained");
    }

    @Test
    void aGrowthListenerOnTheModelIsRefusedBeforeAnyRound() {
        Model net = net(true, DataType.FLOAT);
        ((ComputationGraph) net).setListeners(new GrowthListener(policy()));
        double[] before = NetState.of(net).params;
        ParallelGrowth driver = ParallelGrowth.builder(net, policy()).build();
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> driver.fit(DigitsImages.iterator(trainBatches()), 1));
        assertTrue(e.getMessage().contains("remove the GrowthListener"), e.getMessage());
        assertArrayEquals(before, NetState.of(net).params);
        assertThrows(IllegalArgumentException.class,
                () -> ParallelGrowth.builder(net, policy()).trainingMode(ParallelWrapper.TrainingMode.CUSTOM));
        assertThrows(IllegalArgumentException.class, () -> ParallelGrowth.builder(net, policy()).workers(0));
    }

    /**
     * The statistic summed over 2 workers (each on its own replica, with its share of the minibatches)
     * equals the single-process statistic over the same minibatches: batch norm between the layers,
     * so the batch boundaries must match, DOUBLE, no dropout.
     */
    @ParameterizedTest(name = "graph={0}, label masks={1}")
    @CsvSource({"false, false", "true, false", "false, true", "true, true"})
    void theWorkersStatisticEqualsTheSingleProcessSum(boolean graph, boolean masked) {
        List<DataSet> batches = masked ? maskedBnBatches() : bnBatches();
        Model net = bnNet(graph, batches);
        double[] before = NetState.of(net).params;
        INDArray single = GradientStatistic.compute(net, "d1", batches);
        WorkerStatistics workers = new WorkerStatistics(DigitsImages.iterator(batches), 5, 2);
        org.dl4jgrowth.signal.StatisticProvider.GradientSum sum = workers.compute(net, "d1");
        assertSameStatistic(single, sum, masked ? 60 : 80);
        assertArrayEquals(before, NetState.of(net).params, "the master is only read");
    }

    /**
     * A run interrupted after its first growth (round 1) and resumed from the model file and growth
     * state saved at that round reaches the same widths, at the same rounds, as the run that was not.
     */
    @ParameterizedTest(name = "{0}, graph={1}")
    @CsvSource({"AVERAGING, true", "SHARED_GRADIENTS, false"})
    void anInterruptedRunResumesToTheSameWidths(ParallelWrapper.TrainingMode mode, boolean graph,
                                                @TempDir Path dir) throws Exception {
        Model whole = net(graph, DataType.FLOAT);
        ParallelGrowth full = ParallelGrowth.builder(whole, policy()).workers(2).trainingMode(mode)
                .statisticOnWorkers(statisticData(), 4).build();
        full.fit(DigitsImages.iterator(trainBatches()), ROUNDS);

        Model first = net(graph, DataType.FLOAT);
        GrowthController controller = policy().newController();
        File saved = dir.resolve("round-1.zip").toFile();
        ParallelGrowth interrupted = ParallelGrowth.builder(first, controller).workers(2).trainingMode(mode)
                .statisticOnWorkers(statisticData(), 4).roundListener(savingAndKilledAfterRound1(controller, saved)).build();
        assertThrows(IllegalStateException.class, () -> interrupted.fit(DigitsImages.iterator(trainBatches()), ROUNDS));

        Model resumed = restoredAtRound1(saved, graph);
        GrowthController again = policy().newController().restore(GrowthController.stateFrom(saved));
        ParallelGrowth rest = ParallelGrowth.builder(resumed, again).workers(2).trainingMode(mode)
                .statisticOnWorkers(statisticData(), 4).build();
        rest.fit(DigitsImages.iterator(trainBatches()), ROUNDS - 2);

        assertResumedLikeTheWhole(whole, full.history(), resumed, again.history());
    }

}
