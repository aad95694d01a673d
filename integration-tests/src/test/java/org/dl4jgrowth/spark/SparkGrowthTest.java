package org.dl4jgrowth.spark;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.deeplearning4j.optimize.listeners.ScoreIterationListener;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.dl4jgrowth.GrowthController;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.parallel.Rounds;
import org.dl4jgrowth.signal.GradientStatistic;
import org.dl4jgrowth.signal.StatisticProvider;
import org.dl4jgrowth.testing.NetState;
import org.dl4jgrowth.testing.TestNets;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
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
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.dl4jgrowth.parallel.Rounds.ROUNDS;
import static org.dl4jgrowth.parallel.Rounds.assertGrewAsPlanned;
import static org.dl4jgrowth.parallel.Rounds.chain;
import static org.dl4jgrowth.parallel.Rounds.assertSameStatistic;
import static org.dl4jgrowth.parallel.Rounds.bnNet;
import static org.dl4jgrowth.parallel.Rounds.bnBatches;
import static org.dl4jgrowth.parallel.Rounds.assertResumedLikeTheWhole;
import static org.dl4jgrowth.parallel.Rounds.restoredAtRound1;
import static org.dl4jgrowth.parallel.Rounds.savingAndKilledAfterRound1;
import static org.dl4jgrowth.parallel.Rounds.maskedBnBatches;
import static org.dl4jgrowth.parallel.Rounds.net;
import static org.dl4jgrowth.parallel.Rounds.policy;
import static org.dl4jgrowth.parallel.Rounds.trainBatches;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SparkGrowth as a user runs it, on Spark {@code local[2]}: DL4J's SparkDl4jMultiLayer and
 * SparkComputationGraph with a ParameterAveragingTrainingMaster (saveUpdater(true)), the training
 * RDD in 2 partitions, GradMax growing the digits MLP's h1 (4 -> 6 -> 8) after rounds 1 and 3 of 5
 * from the statistic computed on the executors over a 2-partition statistic RDD.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class SparkGrowthTest {
    private static JavaSparkContext sc;

    /** Counts iterations on the executors: each gets a deserialised copy, so the count is static. */
    static final class ExecutorCount extends BaseTrainingListener implements Serializable {
        private static final long serialVersionUID = 1L;
        static final AtomicInteger ITERATIONS = new AtomicInteger();

        @Override
        public void iterationDone(Model model, int iteration, int epoch) {
            ITERATIONS.incrementAndGet();
        }
    }

    @BeforeAll
    static void startSpark() {
        SparkConf conf = new SparkConf().setMaster("local[2]").setAppName("SparkGrowthTest")
                // No network but the loopback: the sandbox's hostname need not resolve.
                .set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1")
                .set("spark.ui.enabled", "false").set("spark.ui.showConsoleProgress", "false");
        sc = new JavaSparkContext(conf);
        sc.setLogLevel("WARN");
    }

    @AfterAll
    static void stopSpark() {
        if (sc != null) {
            sc.stop();
        }
    }

    /** One worker per partition, each averaging over 2 of its minibatches; the optimizer state comes back. */
    static ParameterAveragingTrainingMaster master(boolean saveUpdater) {
        return new ParameterAveragingTrainingMaster.Builder(32).batchSizePerWorker(32).averagingFrequency(2)
                .workerPrefetchNumBatches(0).rddTrainingApproach(RDDTrainingApproach.Direct)
                .saveUpdater(saveUpdater).build();
    }

    static JavaRDD<DataSet> train() {
        return sc.parallelize(trainBatches(), 2);
    }

    static JavaRDD<DataSet> statistic() {
        return sc.parallelize(TestNets.digitsBatches(8, 4), 2).cache();
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void growsAtThePlannedRoundsAndKeepsTraining(boolean graph) {
        Model net = net(graph, DataType.FLOAT);
        // DL4J's own listener on the driver's network: Spark never calls it, and it must stay there.
        ScoreIterationListener score = new ScoreIterationListener(4);
        net.setListeners(score);
        Rounds.Record record = new Rounds.Record();
        ExecutorCount.ITERATIONS.set(0);
        SparkGrowth driver = SparkGrowth.builder(sc, net, policy()).trainingMaster(() -> master(true))
                .statisticData(statistic()).listeners(new ScoreIterationListener(4), new ExecutorCount())
                .roundListener(record).build();

        driver.fit(train(), ROUNDS);

        assertGrewAsPlanned(record, driver.history(), net);
        List<?> listeners = new ArrayList<>(graph ? ((ComputationGraph) net).getListeners()
                : ((MultiLayerNetwork) net).getListeners());
        assertEquals(List.of(score), listeners, "the driver network's listeners are as the user set them");
        // The executors' listeners were on every wrapper, the ones made after each growth too: each
        // round's 8 minibatches are fitted by the 2 workers, each minibatch once.
        assertEquals(ROUNDS * trainBatches().size(), ExecutorCount.ITERATIONS.get(), "executor iterations");
    }

    /**
     * The statistic merged from 2 partitions on the executors equals the single-process statistic
     * over the same minibatches: batch norm between the layers, DOUBLE, no dropout.
     */
    @ParameterizedTest(name = "graph={0}, label masks={1}")
    @CsvSource({"false, false", "true, false", "false, true", "true, true"})
    void theExecutorsStatisticEqualsTheSingleProcessSum(boolean graph, boolean masked) {
        List<DataSet> batches = masked ? maskedBnBatches() : bnBatches();
        Model net = bnNet(graph, batches);
        double[] before = NetState.of(net).params;
        INDArray single = GradientStatistic.compute(net, "d1", batches);
        JavaRDD<DataSet> rdd = sc.parallelize(batches, 2);
        assertEquals(2, rdd.getNumPartitions());
        StatisticProvider.GradientSum sum = new SparkStatistics(sc, rdd, 2).compute(net, "d1");
        assertSameStatistic(single, sum, masked ? 60 : 80);
        assertArrayEquals(before, NetState.of(net).params, "the driver's network is only read");
    }

    /**
     * A job interrupted after its first growth (round 1), resumed from the model file and growth
     * state saved at that round, reaches the same widths at the same rounds as the job that was not.
     */
    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void anInterruptedJobResumesToTheSameWidths(boolean graph, @TempDir Path dir) throws Exception {
        Model whole = net(graph, DataType.FLOAT);
        SparkGrowth full = SparkGrowth.builder(sc, whole, policy()).trainingMaster(() -> master(true))
                .statisticData(statistic()).build();
        full.fit(train(), ROUNDS);

        Model first = net(graph, DataType.FLOAT);
        GrowthController controller = policy().newController();
        File saved = dir.resolve("round-1.zip").toFile();
        SparkGrowth interrupted = SparkGrowth.builder(sc, first, controller).trainingMaster(() -> master(true))
                .statisticData(statistic()).roundListener(savingAndKilledAfterRound1(controller, saved)).build();
        assertThrows(IllegalStateException.class, () -> interrupted.fit(train(), ROUNDS));

        Model resumed = restoredAtRound1(saved, graph);
        GrowthController again = policy().newController().restore(GrowthController.stateFrom(saved));
        SparkGrowth rest = SparkGrowth.builder(sc, resumed, again).trainingMaster(() -> master(true))
                .statisticData(statistic()).build();
        rest.fit(train(), ROUNDS - 2);

        assertResumedLikeTheWhole(whole, full.history(), resumed, again.history());
    }

    @Test
    void aGrowthListenerForTheExecutorsIsRefusedWhenGiven() {
        Model net = net(false, DataType.FLOAT);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SparkGrowth.builder(sc, net, policy()).listeners(new ScoreIterationListener(1),
                        new GrowthListener(policy())));
        assertTrue(e.getMessage().contains("listener 1 is a GrowthListener"), e.getMessage());
    }

    @Test
    void aMasterThatDropsTheOptimizerStateIsRefused() {
        Model net = net(false, DataType.FLOAT);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SparkGrowth.builder(sc, net, policy()).trainingMaster(() -> master(false)));
        assertTrue(e.getMessage().contains("saveUpdater(true)"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> SparkGrowth.builder(sc, net, policy()).build(),
                "a training master is required");
    }

    /** DL4J's own route, a GrowthListener on the Spark wrapper (sent to the executors), fails clearly. */
    @Test
    void aGrowthListenerOnTheSparkWrapperFailsNamingTheDriver() {
        MultiLayerNetwork net = (MultiLayerNetwork) net(false, DataType.FLOAT);
        double[] before = NetState.of(net).params;
        SparkDl4jMultiLayer spark = new SparkDl4jMultiLayer(sc, net, master(true));
        spark.setListeners(new GrowthListener(policy()));
        Exception e = assertThrows(Exception.class, () -> spark.fit(train()));
        String message = chain(e);
        assertTrue(message.contains("org.dl4jgrowth.spark.SparkGrowth"), message);
        assertArrayEquals(before, NetState.of(net).params, "refused before anything trained");
    }

    @Test
    void aGrowthListenerOnTheDriversNetworkIsRefusedBeforeAnyRound() {
        Model net = net(true, DataType.FLOAT);
        ((ComputationGraph) net).setListeners(new GrowthListener(policy()));
        double[] before = NetState.of(net).params;
        SparkGrowth driver = SparkGrowth.builder(sc, net, policy()).trainingMaster(() -> master(true)).build();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> driver.fit(train(), 1));
        assertTrue(e.getMessage().contains("remove the GrowthListener"), e.getMessage());
        assertArrayEquals(before, NetState.of(net).params);
    }

}
