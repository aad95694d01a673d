package org.dl4jgrowth;

import org.deeplearning4j.core.storage.StatsStorageEvent;
import org.deeplearning4j.core.storage.StatsStorageListener;
import org.deeplearning4j.earlystopping.EarlyStoppingConfiguration;
import org.deeplearning4j.earlystopping.EarlyStoppingResult;
import org.deeplearning4j.earlystopping.saver.InMemoryModelSaver;
import org.deeplearning4j.earlystopping.scorecalc.DataSetLossCalculator;
import org.deeplearning4j.earlystopping.termination.MaxEpochsTerminationCondition;
import org.deeplearning4j.earlystopping.trainer.EarlyStoppingGraphTrainer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.deeplearning4j.optimize.api.InvocationType;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.deeplearning4j.optimize.listeners.Checkpoint;
import org.deeplearning4j.optimize.listeners.CheckpointListener;
import org.deeplearning4j.optimize.listeners.EvaluativeListener;
import org.deeplearning4j.optimize.listeners.ScoreIterationListener;
import org.deeplearning4j.ui.model.stats.StatsListener;
import org.deeplearning4j.ui.model.stats.api.StatsReport;
import org.deeplearning4j.ui.model.storage.InMemoryStatsStorage;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.linalg.SvdEngines;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.signal.GradientStatistic;
import org.dl4jgrowth.testing.DigitsImages;
import org.dl4jgrowth.testing.TestNets;
import org.dl4jgrowth.when.GrowthTrigger;
import org.dl4jgrowth.where.GrowthAmount;
import org.dl4jgrowth.where.SiteSelector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.learning.config.Adam;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GradMax growth inside {@code fit()} of a small CNN on real digits, on a ComputationGraph and the
 * equivalent MultiLayerNetwork, surrounded by DL4J's own listeners (score, evaluation, checkpoint,
 * stats) and counting listeners before and after the growth listener, and under DL4J's early-stopping
 * trainer. It proves that growing through the gradient statistic leaves the user's listener
 * collection (the same object, the same listeners in order) and every listener's callbacks intact,
 * that the statistic is taken on the minibatch just trained on even though listeners before it call
 * {@code output()} on other data, that each growth keeps the output, and that the widths, checkpoints
 * and events agree. These are the places where a private copy of a graph can leak into the user's
 * network: in DL4J 1.0.0-M2.1 {@code ComputationGraph.clone()} shares the listener collection, and
 * {@code output()} replaces the input a network holds.
 */
class GradMaxInFitTest {
    private static final int BATCH = 32;
    private static final int TRAIN = 240;       // 7 full minibatches and one of 16
    private static final int EPOCHS = 3;
    private static final int ADD = 2;
    private static final int C1 = 3;
    private static final int D = 6;
    private static final List<String> SITES = List.of("c1", "d");

    private static final DigitsImages DIGITS = DigitsImages.split(DataType.FLOAT, 11);
    private static final List<DataSet> TRAIN_BATCHES = DigitsImages.batches(DIGITS.train(0, TRAIN), BATCH);
    private static final int PER_EPOCH = TRAIN_BATCHES.size();
    private static final int ITERATIONS = EPOCHS * PER_EPOCH;
    // Sizes differ from every training minibatch (32, 16), so features and labels from different
    // batches cannot be paired without an error.
    private static final DataSet HELD_OUT = DIGITS.test(0, 100);
    private static final INDArray PROBE = DIGITS.test(100, 110).getFeatures();

    @TempDir
    Path tmp;

    /** Where a growth happens: after iteration {@code iteration}, or at the end of an epoch (iteration = count so far). */
    record Point(long iteration, int epoch, boolean atEpochEnd) {
        static Point afterIteration(long i) {
            return new Point(i, (int) (i / PER_EPOCH), false);
        }

        static Point epochEnd(int epoch) {
            return new Point((long) (epoch + 1) * PER_EPOCH, epoch, true);
        }

        static Point of(GrowthEvent e) {
            return new Point(e.iteration(), e.epoch(), e.atEpochEnd());
        }

        /** The minibatch the network trained on last: the default growth data at this point. */
        DataSet trainedOn() {
            return atEpochEnd ? TRAIN_BATCHES.get(PER_EPOCH - 1) : TRAIN_BATCHES.get((int) (iteration % PER_EPOCH));
        }
    }

    /** A growth policy and what it must do: growth points, and whether each growth grows both sites. */
    record Case(String name, Supplier<GrowthPolicy> policy, List<Point> planned, boolean bothSites) {
        @Override
        public String toString() {
            return name;
        }
    }

    static List<Case> cases() {
        return List.of(
                new Case("gradMax, layers(c1, d), at iteration 4 and end of epoch 1", () -> policy(
                        GrowthTrigger.atIterations(4).or(GrowthTrigger.atEpochs(1)).and(GrowthTrigger.maxGrowths(2)),
                        SiteSelector.layers("c1", "d"), UnitInitializer.gradMax()),
                        List.of(Point.afterIteration(4), Point.epochEnd(1)), true),
                // Its first statistic is taken inside DL4J's own loop over the listener collection
                // (onEpochEnd), where a change to that collection throws.
                new Case("gradMaxOptimized, layers(c1, d), end of epoch 0 and every 12 iterations", () -> policy(
                        GrowthTrigger.atEpochs(0).or(GrowthTrigger.everyIterations(12))
                                .and(GrowthTrigger.maxGrowths(2)),
                        SiteSelector.layers("c1", "d"), UnitInitializer.gradMaxOptimized()),
                        List.of(Point.epochEnd(0), Point.afterIteration(12)), true),
                new Case("gradMax, schedule and singularValueAbove(0, c1, d)", () -> policy(
                        GrowthTrigger.and(GrowthTrigger.everyIterations(5).or(GrowthTrigger.everyEpochs(1)),
                                GrowthTrigger.singularValueAbove(0.0, "c1", "d"), GrowthTrigger.maxGrowths(2)),
                        SiteSelector.layers("c1", "d"), UnitInitializer.gradMax()),
                        List.of(Point.afterIteration(5), Point.epochEnd(0)), true),
                new Case("gradMax, bySingularValue(1, c1, d)", () -> policy(
                        GrowthTrigger.atIterations(3).or(GrowthTrigger.everyEpochs(1)).and(GrowthTrigger.maxGrowths(2)),
                        SiteSelector.bySingularValue(1, "c1", "d"), UnitInitializer.gradMax()),
                        List.of(Point.afterIteration(3), Point.epochEnd(0)), false));
    }

    static Stream<Arguments> runs() {
        List<Arguments> a = new ArrayList<>();
        for (Case c : cases()) {
            for (boolean graph : new boolean[]{true, false}) {
                a.add(Arguments.of(c, graph));
            }
        }
        return a.stream();
    }

    private static GrowthPolicy policy(GrowthTrigger when, SiteSelector where, UnitInitializer how) {
        return GrowthPolicy.builder().when(when).where(where).howMuch(GrowthAmount.add(ADD)).initializer(how)
                .seed(5).build();
    }

    private static Model cnn(boolean graph) {
        return TestNets.build(TestNets.DIGITS_CNN, TestNets.base(12, new Adam(0.01), DataType.FLOAT), graph);
    }

    /** Records every callback, in order, so a lost or duplicated call shows. */
    static final class Counting extends BaseTrainingListener {
        final List<Integer> iterations = new ArrayList<>();
        final List<Model> seen = new ArrayList<>();
        int epochStarts;
        int epochEnds;

        @Override
        public void iterationDone(Model model, int iteration, int epoch) {
            iterations.add(iteration);
            seen.add(model);
        }

        @Override
        public void onEpochStart(Model model) {
            epochStarts++;
        }

        @Override
        public void onEpochEnd(Model model) {
            epochEnds++;
            seen.add(model);
        }
    }

    /**
     * Right before the growth listener: the output on a fixed probe batch at every callback, and at
     * planned growth points GradMax's statistic computed independently on the minibatch just trained on,
     * from a copy of the network that shares nothing with it.
     */
    static final class BeforeGrowth extends BaseTrainingListener {
        final List<Point> planned;
        final Map<Point, Map<String, double[]>> expected = new LinkedHashMap<>();
        Point last;
        INDArray lastOutput;

        BeforeGrowth(List<Point> planned) {
            this.planned = planned;
        }

        @Override
        public void iterationDone(Model model, int iteration, int epoch) {
            record(model, Point.afterIteration(iteration));
        }

        @Override
        public void onEpochEnd(Model model) {
            record(model, new Point(TestNets.iterationCount(model), (int) TestNets.epochCount(model), true));
        }

        private void record(Model model, Point p) {
            last = p;
            lastOutput = TestNets.output(model, PROBE).dup();
            if (planned.contains(p)) {
                Map<String, double[]> sv = new LinkedHashMap<>();
                for (String layer : SITES) {
                    sv.put(layer, singularValues(model, layer, p.trainedOn()));
                }
                expected.put(p, sv);
            }
        }
    }

    /** What the growth callback saw right after a growth. */
    record AtGrowth(GrowthEvent event, Point before, INDArray outputBefore, INDArray outputAfter,
                    Map<String, Integer> widths) {
    }

    @ParameterizedTest(name = "{0}, graph={1}")
    @MethodSource("runs")
    void gradMaxGrowsInsideFitAmongDl4jListeners(Case c, boolean graph) throws Exception {
        Model net = cnn(graph);
        BeforeGrowth before = new BeforeGrowth(c.planned());
        List<AtGrowth> growths = new ArrayList<>();
        Path historyFile = tmp.resolve("history.json");
        GrowthListener growth = GrowthListener.builder().policy(c.policy().get()).historyFile(historyFile)
                .onGrowth(e -> growths.add(new AtGrowth(e, before.last, before.lastOutput,
                        TestNets.output(net, PROBE).dup(), widths(net))))
                .build();

        Counting first = new Counting();
        Counting lastCounting = new Counting();
        AtomicInteger evaluations = new AtomicInteger();
        List<Double> accuracies = new ArrayList<>();
        EvaluativeListener eval = new EvaluativeListener(DigitsImages.iterator(DigitsImages.batches(HELD_OUT, 50)), 4,
                InvocationType.ITERATION_END, new Evaluation());
        eval.setCallback((listener, model, invocations, evals) -> {
            evaluations.incrementAndGet();
            accuracies.add(((Evaluation) evals[0]).accuracy());
        });
        Path checkpoints = Files.createDirectory(tmp.resolve("checkpoints"));
        CheckpointListener checkpoint = new CheckpointListener.Builder(checkpoints.toFile())
                .saveEveryNIterations(5).keepLast(2).logSaving(false).build();
        InMemoryStatsStorage stats = new InMemoryStatsStorage();
        AtomicInteger statsUpdates = new AtomicInteger();
        stats.registerStatsStorageListener(new CountingStorageListener(statsUpdates));
        // The statistic's copies and the growth must not reach any of these, before or after it.
        List<TrainingListener> userListeners = List.of(first, new ScoreIterationListener(10), eval, before, growth,
                checkpoint, new StatsListener(stats, 1), new ScoreIterationListener(10), lastCounting);
        net.setListeners(userListeners.toArray(new TrainingListener[0]));
        Collection<TrainingListener> collection = listeners(net);
        assertEquals(userListeners, new ArrayList<>(collection));

        fit(net, DigitsImages.iterator(TRAIN_BATCHES), EPOCHS);

        assertSame(collection, listeners(net), "the network's listener collection was replaced");
        assertEquals(userListeners, new ArrayList<>(listeners(net)), "the user's listeners changed");
        List<Integer> all = IntStream.range(0, ITERATIONS).boxed().collect(Collectors.toList());
        for (Counting counting : List.of(first, lastCounting)) {
            assertEquals(all, counting.iterations, "iterationDone calls");
            assertEquals(EPOCHS, counting.epochEnds, "onEpochEnd calls");
            assertEquals(EPOCHS, counting.epochStarts, "onEpochStart calls");
            for (Model m : counting.seen) {
                assertSame(net, m, "a listener was called with another network");
            }
        }
        assertEquals(ITERATIONS, TestNets.iterationCount(net));

        List<GrowthEvent> events = growth.history().events();
        assertEquals(c.planned(), events.stream().map(Point::of).collect(Collectors.toList()), events.toString());
        assertEquals(events, growths.stream().map(AtGrowth::event).collect(Collectors.toList()),
                "onGrowth saw every event");
        Map<String, Integer> width = new LinkedHashMap<>(Map.of("c1", C1, "d", D));
        for (AtGrowth g : growths) {
            GrowthEvent e = g.event();
            assertEquals(Point.of(e), g.before(), "the output compared was taken at the growth's own callback");
            double diff = g.outputAfter().sub(g.outputBefore()).amaxNumber().doubleValue();
            assertTrue(diff < 1e-5, "output changed by " + diff + " at " + e);
            assertEquals(c.bothSites() ? 2 : 1, e.layers().size(), e.toString());
            for (GrowthEvent.LayerGrowth lg : e.layers()) {
                assertTrue(SITES.contains(lg.layer()), e.toString());
                assertEquals((int) width.get(lg.layer()), lg.before(), e.toString());
                assertEquals(lg.before() + ADD, lg.after(), e.toString());
                width.put(lg.layer(), lg.after());
            }
            assertEquals(width, g.widths(), "widths right after " + e);
            assertTrue(e.paramsAfter() > e.paramsBefore());
            checkStatistic(c, g.event(), before.expected.get(Point.of(e)));
        }
        if (c.bothSites()) {
            assertEquals(Map.of("c1", C1 + 2 * ADD, "d", D + 2 * ADD), width, "planned widths");
        } else {
            assertEquals(C1 + D + 2 * ADD, width.get("c1") + width.get("d"), "two growths of one layer each");
        }
        assertEquals(width, widths(net), "final widths");
        assertEquals(events.get(events.size() - 1).paramsAfter(), net.numParams());
        assertTrue(Double.isFinite(net.score()), "score " + net.score());
        assertTrue(TestNets.output(net, PROBE).isMatrix());
        assertEquals(growth.history(), GrowthHistory.fromJson(Files.readString(historyFile)));

        // Evaluations ran at every 4th iteration on held-out data, before the growth listener.
        assertEquals(ITERATIONS / 4, evaluations.get());
        for (double acc : accuracies) {
            assertTrue(Double.isFinite(acc) && acc >= 0 && acc <= 1, "accuracy " + acc);
        }

        // The last checkpoint came after the last growth, so it holds the grown network.
        Checkpoint lastCheckpoint = CheckpointListener.lastCheckpoint(checkpoints.toFile());
        assertNotNull(lastCheckpoint);
        assertEquals((ITERATIONS - 1) / 5 * 5, lastCheckpoint.getIteration(), "saved every 5 iterations");
        assertTrue(lastCheckpoint.getIteration() > events.get(events.size() - 1).iteration());
        Model restored = graph ? CheckpointListener.loadCheckpointCG(checkpoints.toFile(), lastCheckpoint)
                : CheckpointListener.loadCheckpointMLN(checkpoints.toFile(), lastCheckpoint);
        assertEquals(width, widths(restored), "checkpoint widths");
        assertEquals(net.numParams(), restored.numParams());
        assertTrue(TestNets.output(restored, PROBE).isMatrix());

        // StatsListener (after the growth listener) reported every iteration, the last one as well.
        assertEquals(ITERATIONS, statsUpdates.get(), "StatsListener reports");
        String session = stats.listSessionIDs().get(0);
        StatsReport latest = (StatsReport) stats.getLatestUpdate(session, StatsListener.TYPE_ID,
                stats.listWorkerIDsForSession(session).get(0));
        assertEquals(ITERATIONS - 1, latest.getIterationCount());
        assertTrue(Double.isFinite(latest.getScore()));
    }

    /**
     * GradMax's event notes its top singular values: they must be those of the statistic on the
     * minibatch just trained on (not on a batch a listener passed to output()); bySingularValue must
     * pick the layer with the larger one; GradMax-Opt's objective ||G W^T||^2 must reach its optimum,
     * fanOutNorm^2 times the sum of the squared top singular values (it converges in its 100 steps here).
     */
    private static void checkStatistic(Case c, GrowthEvent e, Map<String, double[]> expected) {
        assertNotNull(expected, "no statistic recorded at " + Point.of(e));
        for (GrowthEvent.LayerGrowth lg : e.layers()) {
            Map<String, Object> notes = e.notes().get(lg.layer());
            // Both sites' statistics from one ordinary pass: the convolution through batch norm,
            // activation and max pooling, the dense layer through nothing.
            assertEquals("direct", notes.get("statisticRoute"), lg.layer() + "'s statistic route");
            double[] sv = expected.get(lg.layer());
            if (notes.containsKey("singularValues")) {
                double noted = ((Number) ((List<?>) notes.get("singularValues")).get(0)).doubleValue();
                assertEquals(sv[0], noted, 1e-5 * sv[0], lg.layer() + " top singular value at " + Point.of(e));
            } else {
                double norm = ((Number) notes.get("fanOutNorm")).doubleValue();
                double bound = 0;
                for (int i = 0; i < Math.min(ADD, sv.length); i++) {
                    bound += sv[i] * sv[i];
                }
                bound *= norm * norm;
                double end = ((Number) notes.get("objectiveEnd")).doubleValue();
                assertEquals(1.0, end / bound, 1e-4,
                        lg.layer() + ": GradMax-Opt objective " + end + ", optimum " + bound + " at " + Point.of(e));
            }
        }
        if (!c.bothSites()) {
            double c1 = expected.get("c1")[0];
            double d = expected.get("d")[0];
            if (Math.abs(c1 - d) > 0.02 * Math.max(c1, d)) {
                assertEquals(c1 > d ? "c1" : "d", e.layers().get(0).layer(), "c1 " + c1 + ", d " + d);
            }
        }
    }

    @Test
    void earlyStoppingGraphTrainerWithGradMaxGrowth() throws Exception {
        ComputationGraph net = (ComputationGraph) cnn(true);
        Counting first = new Counting();
        Counting lastCounting = new Counting();
        GrowthListener growth = GrowthListener.builder().policy(policy(
                GrowthTrigger.atIterations(3).or(GrowthTrigger.atEpochs(0)).and(GrowthTrigger.maxGrowths(2)),
                SiteSelector.layers("c1", "d"), UnitInitializer.gradMax())).build();
        List<TrainingListener> userListeners = List.of(first, new ScoreIterationListener(10), growth, lastCounting);
        net.setListeners(userListeners.toArray(new TrainingListener[0]));
        Collection<TrainingListener> collection = net.getListeners();

        // InMemoryModelSaver keeps clone()s of the graph, which share its listener collection in M2.1.
        EarlyStoppingConfiguration<ComputationGraph> es = new EarlyStoppingConfiguration.Builder<ComputationGraph>()
                .epochTerminationConditions(new MaxEpochsTerminationCondition(EPOCHS))
                .scoreCalculator(new DataSetLossCalculator(DigitsImages.iterator(DigitsImages.batches(HELD_OUT, 50)),
                        true))
                .modelSaver(new InMemoryModelSaver<>()).evaluateEveryNEpochs(1).build();
        EarlyStoppingResult<ComputationGraph> result = new EarlyStoppingGraphTrainer(es, net,
                DigitsImages.iterator(TRAIN_BATCHES)).fit();

        assertEquals(EarlyStoppingResult.TerminationReason.EpochTerminationCondition, result.getTerminationReason(),
                result.getTerminationDetails());
        assertEquals(EPOCHS, result.getTotalEpochs());
        ComputationGraph best = result.getBestModel();
        assertNotNull(best);
        INDArray out = best.outputSingle(false, HELD_OUT.getFeatures());
        assertArrayEquals(new long[]{HELD_OUT.numExamples(), 10}, out.shape());
        Evaluation evaluation = best.evaluate(DigitsImages.iterator(DigitsImages.batches(HELD_OUT, 50)));
        assertTrue(Double.isFinite(evaluation.accuracy()) && evaluation.accuracy() > 0, evaluation.stats());

        assertEquals(List.of(Point.afterIteration(3), Point.epochEnd(0)),
                growth.history().events().stream().map(Point::of).collect(Collectors.toList()));
        Map<String, Integer> grown = Map.of("c1", C1 + 2 * ADD, "d", D + 2 * ADD);
        assertEquals(grown, widths(net));
        // Both growths happened before the first score, so every saved best model is grown.
        assertEquals(grown, widths(best));

        assertSame(collection, net.getListeners(), "the graph's listener collection was replaced");
        assertEquals(userListeners, new ArrayList<>(net.getListeners()), "the user's listeners changed");
        List<Integer> all = IntStream.range(0, ITERATIONS).boxed().collect(Collectors.toList());
        for (Counting counting : List.of(first, lastCounting)) {
            assertEquals(all, counting.iterations, "iterationDone calls");
            assertEquals(EPOCHS, counting.epochEnds, "onEpochEnd calls");
            assertEquals(EPOCHS, counting.epochStarts, "onEpochStart calls");
        }
        assertTrue(Double.isFinite(net.score()));
    }

    /** Counts the reports put into the storage (it keys them by millisecond, so it may keep fewer). */
    private static final class CountingStorageListener implements StatsStorageListener {
        private final AtomicInteger updates;

        CountingStorageListener(AtomicInteger updates) {
            this.updates = updates;
        }

        @Override
        public void notify(StatsStorageEvent event) {
            if (event.getEventType() == EventType.PostUpdate) {
                updates.incrementAndGet();
            }
        }
    }

    /** Top singular values of GradMax's statistic for {@code layer} on {@code batch}, from a detached copy. */
    static double[] singularValues(Model net, String layer, DataSet batch) {
        Model copy = detachedCopy(net);
        INDArray g = GradientStatistic.compute(copy, layer, List.of(batch));
        int k = (int) Math.min(g.size(0), g.size(1));
        return SvdEngines.best().top(g, Math.min(k, ADD + 1)).singularValues().castTo(DataType.DOUBLE).toDoubleVector();
    }

    /**
     * Configuration and parameters only: a new network with a listener collection of its own
     * (clone() on a graph would share the original's).
     */
    static Model detachedCopy(Model net) {
        if (net instanceof MultiLayerNetwork) {
            MultiLayerNetwork m = new MultiLayerNetwork(((MultiLayerNetwork) net).getLayerWiseConfigurations().clone());
            m.init(net.params().dup(), false);
            return m;
        }
        ComputationGraph g = new ComputationGraph(((ComputationGraph) net).getConfiguration().clone());
        g.init(net.params().dup(), false);
        return g;
    }

    private static Map<String, Integer> widths(Model net) {
        Map<String, Integer> w = new LinkedHashMap<>();
        for (String layer : SITES) {
            w.put(layer, NetworkRewrite.width(net, layer));
        }
        return w;
    }

    private static Collection<TrainingListener> listeners(Model net) {
        return net instanceof MultiLayerNetwork ? ((MultiLayerNetwork) net).getListeners()
                : ((ComputationGraph) net).getListeners();
    }

    private static void fit(Model net, DataSetIterator it, int epochs) {
        if (net instanceof MultiLayerNetwork) {
            ((MultiLayerNetwork) net).fit(it, epochs);
        } else {
            ((ComputationGraph) net).fit(it, epochs);
        }
    }
}
