package org.dl4jgrowth.firefly;

import org.deeplearning4j.core.storage.StatsStorageEvent;
import org.deeplearning4j.core.storage.StatsStorageListener;
import org.deeplearning4j.datasets.iterator.ExistingDataSetIterator;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.gradient.Gradient;
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
import org.deeplearning4j.util.ModelSerializer;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.GrowthHistory;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.data.Digits;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.rewrite.UnitMap;
import org.dl4jgrowth.testing.NetState;
import org.dl4jgrowth.testing.TestNets;
import org.dl4jgrowth.when.GrowthTrigger;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Firefly growth inside {@code fit()}, on both network types: among DL4J's own listeners (score,
 * evaluation before the growth listener; checkpoint, stats and a probe after it), resumed from a
 * saved model file exactly, round-tripped through JSON, and with the optimizer state and the
 * trained candidate tensors where the planner's unit layout says they go (old units in place, one
 * copy per split unit in increasing order, then the new neurons).
 */
class FireflyInFitTest {
    private static final int BATCH = 32;
    private static final int PER_EPOCH = 6;
    private static final int EPOCHS = 2;
    private static final int ITERATIONS = PER_EPOCH * EPOCHS;
    private static final int K = 4;
    private static final int STEPS = 10;
    private static final List<String> DIGITS_LAYERS = List.of("h1", "h2");

    private static final Digits.Split DIGITS = Digits.split(DataType.DOUBLE, 0.8, 21);
    private static final List<DataSet> TRAIN = slices(DIGITS.train(), 0, PER_EPOCH);
    /** Growth data of its own: examples the network never trains on. */
    private static final List<DataSet> GROWTH = slices(DIGITS.train(), PER_EPOCH, 2);
    private static final List<DataSet> HELD_OUT = slices(DIGITS.test(), 0, 2);

    @TempDir
    Path tmp;

    private static List<DataSet> slices(DataSet all, int first, int count) {
        List<DataSet> out = new ArrayList<>();
        for (int i = first; i < first + count; i++) {
            out.add(new DataSet(
                    all.getFeatures().get(NDArrayIndex.interval(BATCH * i, BATCH * (i + 1)), NDArrayIndex.all()).dup(),
                    all.getLabels().get(NDArrayIndex.interval(BATCH * i, BATCH * (i + 1)), NDArrayIndex.all()).dup()));
        }
        return out;
    }

    private static void fit(Model net, DataSetIterator it, int epochs) {
        if (net instanceof MultiLayerNetwork) {
            ((MultiLayerNetwork) net).fit(it, epochs);
        } else {
            ((ComputationGraph) net).fit(it, epochs);
        }
    }

    private static Map<String, Integer> widths(Model net, List<String> layers) {
        Map<String, Integer> w = new LinkedHashMap<>();
        for (String layer : layers) {
            w.put(layer, NetworkRewrite.width(net, layer));
        }
        return w;
    }

    /** Every training callback, counted, and the models they were called with. */
    static final class Counting extends BaseTrainingListener {
        final List<Integer> iterations = new ArrayList<>();
        final List<Model> seen = new ArrayList<>();
        int forwardPasses;
        int gradients;
        int backwardPasses;
        int epochStarts;
        int epochEnds;

        @Override
        public void iterationDone(Model model, int iteration, int epoch) {
            iterations.add(iteration);
            seen.add(model);
        }

        @Override
        public void onForwardPass(Model model, List<INDArray> activations) {
            forwardPasses++;
            seen.add(model);
        }

        @Override
        public void onForwardPass(Model model, Map<String, INDArray> activations) {
            forwardPasses++;
            seen.add(model);
        }

        @Override
        public void onGradientCalculation(Model model) {
            gradients++;
            seen.add(model);
        }

        @Override
        public void onBackwardPass(Model model) {
            backwardPasses++;
            seen.add(model);
        }

        @Override
        public void onEpochStart(Model model) {
            epochStarts++;
        }

        @Override
        public void onEpochEnd(Model model) {
            epochEnds++;
        }
    }

    /**
     * After the growth listener: at every iteration, the gradient the network holds (its length
     * against numParams, each variable's shape against its parameter's) and the widths.
     */
    static final class Probe extends BaseTrainingListener {
        final List<String> layers;
        final Map<Integer, long[]> gradientAndParams = new LinkedHashMap<>();
        final Map<Integer, Map<String, Integer>> widths = new LinkedHashMap<>();
        final List<String> mismatches = new ArrayList<>();

        Probe(List<String> layers) {
            this.layers = layers;
        }

        @Override
        public void iterationDone(Model model, int iteration, int epoch) {
            Gradient g = model.gradient();
            long length = g == null || g.gradient() == null ? -1 : g.gradient().length();
            gradientAndParams.put(iteration, new long[]{length, model.numParams()});
            if (g != null) {
                for (Map.Entry<String, INDArray> e : g.gradientForVariable().entrySet()) {
                    long[] param = model.getParam(e.getKey()).shape();
                    if (!java.util.Arrays.equals(param, e.getValue().shape())) {
                        mismatches.add("iteration " + iteration + ": gradient " + e.getKey() + " "
                                + java.util.Arrays.toString(e.getValue().shape()) + ", parameter "
                                + java.util.Arrays.toString(param));
                    }
                }
            }
            widths.put(iteration, FireflyInFitTest.widths(model, layers));
        }
    }

    /** Counts the reports put into the storage. */
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

    // ---------------------------------------------------------------- 1. inside fit() among DL4J listeners

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void fireflyGrowsInsideFitAmongDl4jListeners(boolean graph) throws Exception {
        Model net = TestNets.build(TestNets.DIGITS_MLP, TestNets.base(12, new Adam(0.01), DataType.DOUBLE), graph);
        Map<String, Integer> initial = widths(net, DIGITS_LAYERS);
        FireflyPlanner planner = FireflyPlanner.builder()
                .when(GrowthTrigger.everyIterations(3).and(GrowthTrigger.maxGrowths(2))).newNeurons(K).steps(STEPS)
                .build();
        GrowthPolicy policy = GrowthPolicy.builder().planner(planner).seed(7).build();
        List<GrowthEvent> called = new ArrayList<>();
        GrowthListener growth = GrowthListener.builder().policy(policy)
                .growthData(new ExistingDataSetIterator(GROWTH), GROWTH.size()).onGrowth(called::add).build();

        Counting first = new Counting();
        Counting last = new Counting();
        AtomicInteger evaluations = new AtomicInteger();
        List<Double> accuracies = new ArrayList<>();
        EvaluativeListener eval = new EvaluativeListener(new ExistingDataSetIterator(HELD_OUT), 4,
                InvocationType.ITERATION_END, new Evaluation());
        eval.setCallback((listener, model, invocations, evals) -> {
            evaluations.incrementAndGet();
            accuracies.add(((Evaluation) evals[0]).accuracy());
        });
        Path checkpoints = Files.createDirectory(tmp.resolve("checkpoints"));
        CheckpointListener checkpoint = new CheckpointListener.Builder(checkpoints.toFile())
                .saveEveryNIterations(5).keepAll().logSaving(false).build();
        InMemoryStatsStorage stats = new InMemoryStatsStorage();
        AtomicInteger statsUpdates = new AtomicInteger();
        stats.registerStatsStorageListener(new CountingStorageListener(statsUpdates));
        Probe probe = new Probe(DIGITS_LAYERS);
        List<TrainingListener> listeners = List.of(first, new ScoreIterationListener(5), eval, growth, checkpoint,
                new StatsListener(stats, 1), probe, last);
        net.setListeners(listeners.toArray(new TrainingListener[0]));

        fit(net, new ExistingDataSetIterator(TRAIN), EPOCHS);

        // Training went on: every iteration, every callback, on this network only (the over-grown
        // copies' passes reach no listener).
        assertEquals(ITERATIONS, TestNets.iterationCount(net));
        assertTrue(Double.isFinite(net.score()), "score " + net.score());
        List<Integer> all = IntStream.range(0, ITERATIONS).boxed().collect(Collectors.toList());
        for (Counting c : List.of(first, last)) {
            assertEquals(all, c.iterations, "iterationDone calls");
            assertEquals(ITERATIONS, c.forwardPasses, "onForwardPass calls");
            assertEquals(ITERATIONS, c.gradients, "onGradientCalculation calls");
            assertEquals(ITERATIONS, c.backwardPasses, "onBackwardPass calls");
            assertEquals(EPOCHS, c.epochStarts);
            assertEquals(EPOCHS, c.epochEnds);
            for (Model m : c.seen) {
                assertTrue(m == net, "a listener was called with another network");
            }
        }
        assertEquals(listeners, new ArrayList<>(net instanceof MultiLayerNetwork
                ? ((MultiLayerNetwork) net).getListeners() : ((ComputationGraph) net).getListeners()));

        List<GrowthEvent> events = growth.history().events();
        assertEquals(2, events.size(), "two growths (maxGrowths(2)): " + growth.history());
        assertEquals(events, called, "onGrowth saw every event");
        Map<String, Integer> width = checkEvents(events, initial, planner, net, GROWTH);
        for (GrowthEvent e : events) {
            assertFalse(e.atEpochEnd());
            assertEquals(0, e.iteration() % 3, "everyIterations(3): " + e);
        }
        assertEquals(width, widths(net, DIGITS_LAYERS), "the network's widths are the last event's");
        assertNotEquals(initial, width);
        assertEquals(events.get(1).paramsAfter(), net.numParams());

        // The probe after the growth listener sees, at the growth iterations and everywhere else, a
        // gradient laid out like the (grown) parameters.
        assertEquals(all, new ArrayList<>(probe.gradientAndParams.keySet()));
        assertEquals(List.of(), probe.mismatches);
        for (Map.Entry<Integer, long[]> e : probe.gradientAndParams.entrySet()) {
            assertEquals(e.getValue()[1], e.getValue()[0], "gradient length against numParams at " + e.getKey());
        }
        for (GrowthEvent e : events) {
            long[] at = probe.gradientAndParams.get((int) e.iteration());
            assertEquals(e.paramsAfter(), at[1], "numParams right after " + e);
            assertEquals(e.paramsAfter(), at[0], "gradient length right after " + e);
            assertTrue(e.paramsAfter() > e.paramsBefore());
            Map<String, Integer> after = new LinkedHashMap<>(probe.widths.get((int) e.iteration() - 1));
            e.layers().forEach(lg -> after.put(lg.layer(), lg.after()));
            assertEquals(after, probe.widths.get((int) e.iteration()), "widths right after " + e);
        }

        // Evaluations ran before the growth listener at every 4th iteration.
        assertEquals(ITERATIONS / 4, evaluations.get());
        for (double acc : accuracies) {
            assertTrue(Double.isFinite(acc) && acc >= 0 && acc <= 1, "accuracy " + acc);
        }

        // Checkpoints after the growth listener hold the network as the probe saw it at their iteration.
        List<Checkpoint> saved = checkpoint.availableCheckpoints();
        assertFalse(saved.isEmpty());
        boolean betweenGrowths = false;
        boolean afterBoth = false;
        for (Checkpoint c : saved) {
            Model restored = graph ? CheckpointListener.loadCheckpointCG(checkpoints.toFile(), c)
                    : CheckpointListener.loadCheckpointMLN(checkpoints.toFile(), c);
            Map<String, Integer> expected = probe.widths.get(c.getIteration());
            assertNotNull(expected, "checkpoint at iteration " + c.getIteration());
            assertEquals(expected, widths(restored, DIGITS_LAYERS), "checkpoint at iteration " + c.getIteration());
            assertEquals(probe.gradientAndParams.get(c.getIteration())[1], restored.numParams());
            betweenGrowths |= c.getIteration() >= events.get(0).iteration() && c.getIteration() < events.get(1).iteration();
            afterBoth |= c.getIteration() >= events.get(1).iteration();
            assertTrue(TestNets.output(restored, HELD_OUT.get(0).getFeatures()).isMatrix());
        }
        assertTrue(betweenGrowths && afterBoth, "checkpoints " + saved);

        // StatsListener (after the growth listener) reported every iteration, the last one as well.
        assertEquals(ITERATIONS, statsUpdates.get(), "StatsListener reports");
        String session = stats.listSessionIDs().get(0);
        StatsReport latest = (StatsReport) stats.getLatestUpdate(session, StatsListener.TYPE_ID,
                stats.listWorkerIDsForSession(session).get(0));
        assertEquals(ITERATIONS - 1, latest.getIterationCount());
        assertTrue(Double.isFinite(latest.getScore()));
    }

    /**
     * Each event's Firefly record against its widths, settings and costs; returns the widths after
     * the last event.
     */
    private static Map<String, Integer> checkEvents(List<GrowthEvent> events, Map<String, Integer> initial,
                                                    FireflyPlanner planner, Model net, List<DataSet> growthData) {
        Map<String, Integer> width = new LinkedHashMap<>(initial);
        long examples = growthData.stream().mapToLong(DataSet::numExamples).sum();
        int evaluations = planner.score() == FireflyPlanner.Score.INTEGRATED ? 3 : 1;
        for (GrowthEvent e : events) {
            assertTrue(e.details() instanceof FireflyDetails, "details " + e.details());
            FireflyDetails d = (FireflyDetails) e.details();
            assertEquals(planner.steps(), d.steps());
            assertEquals(planner.score() == FireflyPlanner.Score.GATE ? "gate" : "integrated", d.score());
            assertEquals(new ArrayList<>(initial.keySet()), new ArrayList<>(d.layers().keySet()),
                    "every scored layer, in layer order: " + d);
            Map<String, GrowthEvent.LayerGrowth> grown = new LinkedHashMap<>();
            for (GrowthEvent.LayerGrowth lg : e.layers()) {
                grown.put(lg.layer(), lg);
            }
            assertTrue(d.layers().keySet().containsAll(grown.keySet()), e.toString());
            List<Double> chosen = new ArrayList<>();
            Map<String, Integer> widthBefore = new LinkedHashMap<>(width);
            long totalWidth = 0;
            for (Map.Entry<String, FireflyDetails.Layer> entry : d.layers().entrySet()) {
                String layer = entry.getKey();
                FireflyDetails.Layer rec = entry.getValue();
                int n = width.get(layer);
                totalWidth += n;
                assertEquals(n + planner.newNeurons(), rec.candidates(), layer + ": one split per unit and K new");
                assertEquals(perUnit(net, layer, widthBefore) * (n + planner.newNeurons()), rec.candidateParams(),
                        layer + " candidate parameters");
                GrowthEvent.LayerGrowth lg = grown.get(layer);
                if (lg == null) {
                    assertEquals(List.of(), rec.splitUnits(), layer + " did not grow: " + d);
                    assertEquals(0, rec.newNeurons(), layer + " did not grow: " + d);
                    assertEquals(List.of(), rec.chosenScores(), layer + " did not grow: " + d);
                    continue;
                }
                assertEquals(n, lg.before(), e.toString());
                assertEquals(lg.before() + rec.splitUnits().size() + rec.newNeurons(), lg.after(), e.toString());
                assertEquals(n, lg.kept(), e.toString());
                assertEquals(rec.splitUnits().size(), lg.copied(), e.toString());
                assertEquals(rec.newNeurons(), lg.fresh(), e.toString());
                assertEquals(0, lg.dropped());
                assertEquals(new FireflyInit(), lg.initializer() != null ? lg.initializer() : e.initializer());
                assertTrue(rec.newNeurons() <= planner.newNeurons());
                for (int i = 0; i < rec.splitUnits().size(); i++) {
                    int u = rec.splitUnits().get(i);
                    assertTrue(u >= 0 && u < n, layer + " split unit " + u);
                    assertTrue(i == 0 || rec.splitUnits().get(i - 1) < u, "increasing: " + rec.splitUnits());
                }
                assertEquals(rec.splitUnits().size() + rec.newNeurons(), rec.chosenScores().size());
                for (int i = 0; i < rec.chosenScores().size(); i++) {
                    double s = rec.chosenScores().get(i);
                    assertTrue(s < 0, layer + " chosen score " + s);
                    assertTrue(i == 0 || rec.chosenScores().get(i - 1) <= s, "best first: " + rec.chosenScores());
                }
                chosen.addAll(rec.chosenScores());
                width.put(layer, lg.after());
            }
            assertFalse(chosen.isEmpty());
            long wanted = planner.count() > 0 ? planner.count()
                    : Math.max(1, (long) Math.floor(planner.growRatio() * totalWidth));
            assertTrue(chosen.size() <= wanted, chosen.size() + " chosen, at most " + wanted);
            double worstChosen = chosen.stream().mapToDouble(Double::doubleValue).max().getAsDouble();
            if (d.bestRejectedScore() != null) {
                assertTrue(d.bestRejectedScore() >= worstChosen,
                        "best rejected " + d.bestRejectedScore() + " against the last chosen " + worstChosen);
            } else {
                int candidates = d.layers().values().stream().mapToInt(FireflyDetails.Layer::candidates).sum();
                assertEquals(candidates, chosen.size(), "no rejected score: every candidate chosen");
            }
            // One over-grown copy per layer here (each layer feeds the next): steps + scoring passes each.
            int groups = d.layers().size();
            assertEquals(groups * (planner.steps() + (long) evaluations * growthData.size()), e.signalPasses());
            assertEquals(groups * (planner.steps() * (examples / growthData.size()) + evaluations * examples),
                    e.signalExamples());
        }
        return width;
    }

    /** Parameters one more unit of {@code layer} costs in a dense chain: its fan-in, bias and fan-out. */
    private static long perUnit(Model net, String layer, Map<String, Integer> width) {
        org.deeplearning4j.nn.conf.layers.FeedForwardLayer conf =
                (org.deeplearning4j.nn.conf.layers.FeedForwardLayer) TestNets.layer(net, layer).conf().getLayer();
        List<String> names = new ArrayList<>(width.keySet());
        int at = names.indexOf(layer);
        long nIn = at == 0 ? conf.getNIn() : width.get(names.get(at - 1));
        long nOut = at + 1 < names.size() ? width.get(names.get(at + 1))
                : ((org.deeplearning4j.nn.conf.layers.FeedForwardLayer) TestNets.layer(net, "out").conf().getLayer())
                .getNOut();
        return nIn + 1 + nOut;
    }

    // ---------------------------------------------------------------- 2. resume

    private static GrowthPolicy resumePolicy() {
        return GrowthPolicy.builder().planner(FireflyPlanner.builder()
                        .when(GrowthTrigger.everyEpochs(1).and(GrowthTrigger.maxGrowths(2))).newNeurons(3).steps(10)
                        .build())
                .seed(7).build();
    }

    private static List<DataSet> denseBatches(long seed, int count) {
        List<DataSet> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            out.add(TestNets.DENSE_DENSE.data(16, seed + i, DataType.DOUBLE));
        }
        return out;
    }

    private static GrowthListener resumeListener(List<DataSet> growthData) {
        return GrowthListener.builder().policy(resumePolicy())
                .growthData(new ExistingDataSetIterator(growthData), growthData.size()).build();
    }

    private static Model denseNet(boolean graph) {
        return TestNets.build(TestNets.DENSE_DENSE, TestNets.base(5, new Adam(0.01), DataType.DOUBLE), graph);
    }

    private static List<GrowthEvent> withoutTimings(GrowthHistory h) {
        return h.events().stream().map(GrowthEvent::withoutTimings).collect(Collectors.toList());
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void aRunResumedAfterItsFirstFireflyGrowthEndsExactlyLikeTheUninterruptedOne(boolean graph) throws Exception {
        List<DataSet> train = denseBatches(100, 4);
        List<DataSet> growthData = denseBatches(200, 2);

        Model whole = denseNet(graph);
        GrowthListener wholeGrowth = resumeListener(growthData);
        whole.setListeners(wholeGrowth);
        fit(whole, new ExistingDataSetIterator(train), 3);
        assertEquals(2, wholeGrowth.history().size(), "growths at the ends of epochs 0 and 1: " + wholeGrowth.history());

        Model first = denseNet(graph);
        GrowthListener firstGrowth = resumeListener(growthData);
        first.setListeners(firstGrowth);
        fit(first, new ExistingDataSetIterator(train), 1);
        assertEquals(1, firstGrowth.history().size(), "interrupted after its first growth");
        File file = tmp.resolve("firefly-" + graph + ".zip").toFile();
        firstGrowth.writeModel(first, file, true);

        Model resumed = graph ? ModelSerializer.restoreComputationGraph(file, true)
                : ModelSerializer.restoreMultiLayerNetwork(file, true);
        GrowthListener resumedGrowth = resumeListener(growthData).restoreState(file);
        resumed.setListeners(resumedGrowth);
        fit(resumed, new ExistingDataSetIterator(train), 2);

        List<GrowthEvent> a = withoutTimings(wholeGrowth.history());
        List<GrowthEvent> b = withoutTimings(resumedGrowth.history());
        assertEquals(a, b, "the same events");
        for (int i = 0; i < a.size(); i++) {
            assertEquals(a.get(i).details(), b.get(i).details(), "the same Firefly record of event " + i);
            assertTrue(a.get(i).atEpochEnd());
            assertEquals(i, a.get(i).epoch());
        }
        assertEquals(wholeGrowth.history().provenance(), resumedGrowth.history().provenance());
        NetState x = NetState.of(whole);
        NetState y = NetState.of(resumed);
        assertEquals(x.json, y.json, "the same configuration");
        assertEquals(x.iterations, y.iterations);
        assertEquals(x.epochs, y.epochs);
        assertArrayEquals(x.params, y.params, "bit-identical parameters");
        assertArrayEquals(x.updaterState, y.updaterState, "bit-identical optimizer state");
        Map<String, Integer> last = widths("d1", 6, "d2", 5);
        for (GrowthEvent e : a) {
            e.layers().forEach(lg -> last.put(lg.layer(), lg.after()));
        }
        assertEquals(last, widths(resumed, List.of("d1", "d2")));
    }

    // ---------------------------------------------------------------- 3. JSON

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void policiesAndHistoriesWithFireflyRoundTripThroughJson(boolean graph) throws Exception {
        GrowthPolicy defaults = GrowthPolicy.builder().planner(FireflyPlanner.builder()
                .when(GrowthTrigger.everyIterations(3).and(GrowthTrigger.maxGrowths(2))).newNeurons(4).steps(10)
                .build()).seed(7).build();
        FireflyPlanner custom = FireflyPlanner.builder()
                .when(GrowthTrigger.everyIterations(2).and(GrowthTrigger.maxGrowths(2))).layers("d1", "d2")
                .newNeurons(3).initialScales(0.2, 0.02, 0.05).steps(6).rmsProp(2e-3, 0.2, 0.8).penalty(0.03, 0.05)
                .count(4).score(FireflyPlanner.Score.INTEGRATED).build();
        GrowthPolicy policy = GrowthPolicy.builder().planner(custom).maxWidth("d1", 40).seed(11).build();
        for (GrowthPolicy p : List.of(defaults, policy)) {
            GrowthPolicy back = GrowthPolicy.fromJson(p.toJson());
            assertEquals(p, back, p.toJson());
            assertEquals(p.hashCode(), back.hashCode());
            assertEquals(p.toJson(), back.toJson());
            assertEquals(p.planner(), back.planner());
        }
        // Equality looks at the settings: a policy differing in one Firefly setting is another policy.
        GrowthPolicy otherSteps = GrowthPolicy.builder().planner(FireflyPlanner.builder()
                .when(GrowthTrigger.everyIterations(3).and(GrowthTrigger.maxGrowths(2))).newNeurons(4).steps(11)
                .build()).seed(7).build();
        assertNotEquals(defaults, otherSteps);
        assertNotEquals(defaults, GrowthPolicy.fromJson(otherSteps.toJson()));
        FireflyPlanner customBack = (FireflyPlanner) GrowthPolicy.fromJson(policy.toJson()).planner();
        assertEquals(List.of("d1", "d2"), customBack.layers());
        assertEquals(FireflyPlanner.Score.INTEGRATED, customBack.score());
        assertEquals(4, customBack.count());
        assertEquals(0.05, customBack.splitRange());
        assertEquals(0.8, customBack.alpha());
        assertEquals(0.05, customBack.fanInPenaltyFactor());

        // A history with Firefly events (integrated scores), from a run inside fit().
        Model net = denseNet(graph);
        List<DataSet> growthData = denseBatches(300, 2);
        Path historyFile = tmp.resolve("history-" + graph + ".json");
        GrowthListener growth = GrowthListener.builder().policy(policy).historyFile(historyFile)
                .growthData(new ExistingDataSetIterator(growthData), 2).build();
        net.setListeners(growth);
        fit(net, new ExistingDataSetIterator(denseBatches(400, 3)), 2);
        GrowthHistory history = growth.history();
        assertEquals(2, history.size(), history.toString());
        checkEvents(history.events(), widths("d1", 6, "d2", 5), custom, net, growthData);
        for (GrowthEvent e : history.events()) {
            assertEquals("integrated", ((FireflyDetails) e.details()).score());
        }
        GrowthHistory back = GrowthHistory.fromJson(history.toJson());
        assertEquals(history, back);
        assertEquals(history.toJson(), back.toJson());
        for (int i = 0; i < history.size(); i++) {
            assertEquals(history.events().get(i).details(), back.events().get(i).details());
            assertTrue(back.events().get(i).details() instanceof FireflyDetails);
        }
        assertEquals(history, GrowthHistory.fromJson(Files.readString(historyFile)), "the history file");

        // A record with no rejected candidate (null) and a layer not grown round-trips too.
        FireflyDetails none = new FireflyDetails(new LinkedHashMap<>(Map.of(
                "d1", new FireflyDetails.Layer(List.of(0, 4), 1, List.of(-0.3, -0.2, -0.1), 66, 9),
                "d2", new FireflyDetails.Layer(List.of(), 0, List.of(), 30, 3))), null, 0, "gate");
        GrowthEvent e0 = history.events().get(0);
        GrowthEvent synthetic = new GrowthEvent(e0.index(), e0.iteration(), e0.epoch(), e0.atEpochEnd(), e0.layers(),
                e0.initializer(), e0.paramsBefore(), e0.paramsAfter(), e0.scoreBefore(), e0.rewriteMillis(),
                e0.backend(), e0.svdEngine(), e0.notes(), e0.signalMillis(), e0.signalPasses(), e0.signalExamples(),
                none);
        GrowthEvent syntheticBack = org.dl4jgrowth.GrowthJson.fromJson(org.dl4jgrowth.GrowthJson.toJson(synthetic),
                GrowthEvent.class);
        assertEquals(synthetic, syntheticBack);
        assertNull(((FireflyDetails) syntheticBack.details()).bestRejectedScore());
    }

    // ---------------------------------------------------------------- 4. optimizer state and placed tensors

    static Stream<Arguments> stateCases() {
        List<Arguments> a = new ArrayList<>();
        for (boolean graph : new boolean[]{false, true}) {
            a.add(Arguments.of(graph, 0));   // splits only
            a.add(Arguments.of(graph, 3));   // new neurons as well
        }
        return a.stream();
    }

    /** Before the growth listener: the network's state at the growth iteration, before it grows. */
    static final class Snapshot extends BaseTrainingListener {
        final int at;
        Map<String, List<INDArray>> state;
        Map<String, INDArray> params;

        Snapshot(int at) {
            this.at = at;
        }

        @Override
        public void iterationDone(Model model, int iteration, int epoch) {
            if (iteration == at) {
                state = NetState.stateByParam(model);
                params = paramsOf(model);
            }
        }
    }

    private static Map<String, INDArray> paramsOf(Model net) {
        Map<String, INDArray> p = new LinkedHashMap<>();
        for (String layer : List.of("d1", "d2", "out")) {
            for (Map.Entry<String, INDArray> e : TestNets.layer(net, layer).paramTable().entrySet()) {
                p.put(layer + "/" + e.getKey(), e.getValue().dup('c'));
            }
        }
        return p;
    }

    @ParameterizedTest(name = "graph={0}, newNeurons={1}")
    @MethodSource("stateCases")
    void splitHalvesCarryTheirSourcesOptimizerStateAndNewNeuronsStartFresh(boolean graph, int k) {
        int growAt = 4;
        FireflyPlanner.Builder b = FireflyPlanner.builder().when(GrowthTrigger.atIterations(growAt)).layers("d1")
                .newNeurons(k).steps(10);
        if (k > 0) {
            b.count(6 + k);
        }
        FireflyPlanner planner = b.build();
        List<DataSet> growthData = denseBatches(500, 2);
        Snapshot before = new Snapshot(growAt);
        Map<String, Object> after = new LinkedHashMap<>();
        Model net = denseNet(graph);
        GrowthListener growth = GrowthListener.builder().policy(GrowthPolicy.builder().planner(planner).seed(3).build())
                .growthData(new ExistingDataSetIterator(growthData), 2).onGrowth(e -> {
                    after.put("state", NetState.stateByParam(net));
                    after.put("params", paramsOf(net));
                }).build();
        Map<String, CandidateCopy.Site> sites = new LinkedHashMap<>();
        java.util.function.Consumer<CandidateCopy> previous = FireflyPlanner.released;
        FireflyPlanner.released = c -> c.sites().forEach(s -> sites.put(s.layer, s));
        try {
            net.setListeners(new ScoreIterationListener(50), before, growth);
            fit(net, new ExistingDataSetIterator(denseBatches(600, 6)), 1);
        } finally {
            FireflyPlanner.released = previous;
        }
        assertEquals(1, growth.history().size(), growth.history().toString());
        GrowthEvent e = growth.history().events().get(0);
        assertEquals(growAt, e.iteration());
        FireflyDetails.Layer rec = ((FireflyDetails) e.details()).layers().get("d1");
        assertEquals(List.of("d1"), new ArrayList<>(((FireflyDetails) e.details()).layers().keySet()));
        List<Integer> splits = rec.splitUnits();
        int fresh = rec.newNeurons();
        int n = 6;
        assertFalse(splits.isEmpty(), "a split: " + e);
        if (k == 0) {
            assertEquals(0, fresh);
        } else {
            assertTrue(fresh > 0, "a new neuron: " + e);
        }
        int width = n + splits.size() + fresh;
        assertEquals(width, NetworkRewrite.width(net, "d1"));
        assertEquals(List.of(new GrowthEvent.LayerGrowth("d1", n, width, n, splits.size(), fresh, 0)
                .withInitializer(new FireflyInit())), e.layers());

        // Where each unit comes from (FireflyPlanner.unitMap's layout): old units in place, then one
        // copy per split unit in increasing order, then the new neurons.
        int[] source = new int[width];
        for (int u = 0; u < width; u++) {
            source[u] = u < n ? u : u < n + splits.size() ? splits.get(u - n) : UnitMap.FRESH;
        }

        @SuppressWarnings("unchecked")
        Map<String, List<INDArray>> stateAfter = (Map<String, List<INDArray>>) after.get("state");
        @SuppressWarnings("unchecked")
        Map<String, INDArray> paramsAfter = (Map<String, INDArray>) after.get("params");
        assertNotNull(stateAfter, "onGrowth ran");
        Map<String, List<INDArray>> stateBefore = before.state;
        assertEquals(stateBefore.keySet(), stateAfter.keySet());
        for (String key : List.of("d2/b", "out/W", "out/b")) {
            for (int c = 0; c < stateBefore.get(key).size(); c++) {
                assertEquals(stateBefore.get(key).get(c), stateAfter.get(key).get(c), key + " untouched");
            }
            assertEquals(before.params.get(key), paramsAfter.get(key), key + " untouched");
        }
        assertEquals(2, stateBefore.get("d1/W").size(), "Adam: m and v");
        boolean someNonZero = false;
        for (int c = 0; c < 2; c++) {
            INDArray w0 = stateBefore.get("d1/W").get(c);
            INDArray w1 = stateAfter.get("d1/W").get(c);
            INDArray b0 = stateBefore.get("d1/b").get(c).reshape(n);
            INDArray b1 = stateAfter.get("d1/b").get(c).reshape(width);
            INDArray o0 = stateBefore.get("d2/W").get(c);
            INDArray o1 = stateAfter.get("d2/W").get(c);
            assertArrayEquals(new long[]{4, width}, w1.shape());
            assertArrayEquals(new long[]{width, 5}, o1.shape());
            for (int u = 0; u < width; u++) {
                String what = "component " + c + ", unit " + u + " (source " + source[u] + ")";
                if (source[u] == UnitMap.FRESH) {
                    assertEquals(0.0, w1.getColumn(u).amaxNumber().doubleValue(), "fresh fan-in state, " + what);
                    assertEquals(0.0, b1.getDouble(u), "fresh bias state, " + what);
                    assertEquals(0.0, o1.getRow(u).amaxNumber().doubleValue(), "fresh fan-out state, " + what);
                } else {
                    assertEquals(w0.getColumn(source[u]), w1.getColumn(u), "fan-in state, " + what);
                    assertEquals(b0.getDouble(source[u]), b1.getDouble(u), "bias state, " + what);
                    assertEquals(o0.getRow(source[u]), o1.getRow(u), "fan-out state, " + what);
                    someNonZero |= w0.getColumn(source[u]).amaxNumber().doubleValue() > 0;
                }
            }
        }
        assertTrue(someNonZero, "the state compared is not all zero");

        // The parameters: kept units as they were; split halves w ± v (the trained v) with half the
        // fan-out each and their source's bias; new neurons their trained fan-in and fan-out, bias 0.
        CandidateCopy.Site site = sites.get("d1");
        assertNotNull(site, "the planner's over-grown copy of d1 was released");
        INDArray w = paramsAfter.get("d1/W");
        INDArray bias = paramsAfter.get("d1/b").reshape(width);
        INDArray out = paramsAfter.get("d2/W");
        INDArray w0 = before.params.get("d1/W");
        INDArray bias0 = before.params.get("d1/b").reshape(n);
        INDArray out0 = before.params.get("d2/W");
        assertEquals(w0, site.w0, "the candidates were built on the network as it was at the growth");
        List<Integer> freshUsed = new ArrayList<>();
        for (int u = 0; u < width; u++) {
            int src = source[u];
            if (src == UnitMap.FRESH) {
                int j = matchingColumn(site.in, w.getColumn(u));
                assertTrue(j >= 0, "new neuron " + u + "'s fan-in is one trained candidate's: " + w.getColumn(u));
                assertFalse(freshUsed.contains(j), "candidate " + j + " placed twice");
                freshUsed.add(j);
                assertEquals(0.0, bias.getDouble(u), "new neuron bias");
                assertClose(site.out.getRow(j), out.getRow(u), "new neuron " + u + "'s trained fan-out");
            } else if (splits.contains(src)) {
                int sign = u < n ? 1 : -1;
                assertClose(w0.getColumn(src).add(site.v.getColumn(src).mul(sign)), w.getColumn(u),
                        "split half " + u + " of unit " + src + ": w " + (sign > 0 ? "+" : "-") + " v");
                assertEquals(bias0.getDouble(src), bias.getDouble(u), "split half bias");
                assertClose(out0.getRow(src).mul(0.5), out.getRow(u), "split half fan-out");
            } else {
                assertEquals(w0.getColumn(src), w.getColumn(u), "kept unit " + u);
                assertEquals(bias0.getDouble(src), bias.getDouble(u));
                assertEquals(out0.getRow(src), out.getRow(u));
            }
        }
        assertEquals(fresh, freshUsed.size());
        // Training went on after the growth.
        assertEquals(6, TestNets.iterationCount(net));
        assertTrue(Double.isFinite(net.score()));
    }

    private static int matchingColumn(INDArray candidates, INDArray column) {
        for (int j = 0; j < candidates.size(1); j++) {
            if (candidates.getColumn(j).equalsWithEps(column, 1e-12)) {
                return j;
            }
        }
        return -1;
    }

    private static void assertClose(INDArray expected, INDArray actual, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what);
        double diff = expected.sub(actual).amaxNumber().doubleValue();
        assertTrue(diff <= 1e-12, what + ": differs by " + diff + "\nexpected " + expected + "\nactual   " + actual);
    }

    /** Layer widths in the order given (Map.of has none). */
    private static Map<String, Integer> widths(String a, int wa, String b, int wb) {
        Map<String, Integer> m = new LinkedHashMap<>();
        m.put(a, wa);
        m.put(b, wb);
        return m;
    }
}
