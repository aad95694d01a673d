package org.dl4jgrowth.firefly;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.deeplearning4j.optimize.listeners.ScoreIterationListener;
import org.deeplearning4j.util.ModelSerializer;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.GrowthHistory;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.how.NewUnits;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.rewrite.UnitMap;
import org.dl4jgrowth.testing.DigitsImages;
import org.dl4jgrowth.testing.NetState;
import org.dl4jgrowth.testing.TestNets;
import org.dl4jgrowth.when.GrowthTrigger;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Firefly on a CNN with batch normalisation, inside {@code fit()}, on both network types: the
 * convolutions (whose consumers are reached through batch norm, activation and pooling layers) are
 * scored together with the dense layer and grown by channel; a channel split with a zero
 * perturbation keeps the inference output with a batch norm between the convolution and its
 * consumer; a run resumed from a saved model file after its first growth ends exactly like the
 * uninterrupted one.
 */
class FireflyCnnTest {
    private static final int BATCH = 32;
    private static final int PER_EPOCH = 4;
    private static final int K = 2;
    private static final int STEPS = 8;
    /** Firefly's sites in DIGITS_CNN, in layer order, and their initial widths. */
    private static final List<String> SITES = List.of("c1", "c2", "d");
    private static final Map<String, Integer> INITIAL = initial();
    /** The batch norm right after each convolution. */
    private static final Map<String, String> BN_AFTER = Map.of("c1", "bn1", "c2", "bn2");
    /** Each site's consumer, and the axis of its weights that follows the site's units. */
    private static final Map<String, String> CONSUMER = Map.of("c1", "c2", "c2", "d", "d", "out");

    private static final DigitsImages DIGITS = DigitsImages.split(DataType.DOUBLE, 21);
    private static final List<DataSet> TRAIN = DigitsImages.batches(DIGITS.train(0, BATCH * PER_EPOCH), BATCH);
    /** Growth data of its own: examples the network never trains on (two minibatches). */
    private static final List<DataSet> GROWTH =
            DigitsImages.batches(DIGITS.train(BATCH * PER_EPOCH, BATCH * (PER_EPOCH + 2)), BATCH);
    private static final INDArray PROBE = DIGITS.test(0, 20).getFeatures();

    @TempDir
    Path tmp;

    private static Map<String, Integer> initial() {
        Map<String, Integer> m = new LinkedHashMap<>();
        m.put("c1", 3);
        m.put("c2", 4);
        m.put("d", 6);
        return m;
    }

    private static Model cnn(boolean graph) {
        return TestNets.build(TestNets.DIGITS_CNN, TestNets.base(12, new Adam(0.01), DataType.DOUBLE), graph);
    }

    private static void fit(Model net, DataSetIterator it, int epochs) {
        if (net instanceof MultiLayerNetwork) {
            ((MultiLayerNetwork) net).fit(it, epochs);
        } else {
            ((ComputationGraph) net).fit(it, epochs);
        }
    }

    private static boolean isConv(Model net, String layer) {
        return TestNets.layer(net, layer).conf().getLayer() instanceof ConvolutionLayer;
    }

    /** Widths read from the weights: a convolution's W is [out, in, kH, kW], a dense layer's [in, out]. */
    private static Map<String, Integer> widths(Model net) {
        Map<String, Integer> w = new LinkedHashMap<>();
        for (String layer : SITES) {
            INDArray W = TestNets.layer(net, layer).getParam("W");
            w.put(layer, (int) (isConv(net, layer) ? W.size(0) : W.size(1)));
        }
        return w;
    }

    private static void assertFinite(INDArray a, String what) {
        for (double v : a.dup().ravel().toDoubleVector()) {
            assertTrue(Double.isFinite(v), what + " holds a non-finite value: " + a);
        }
    }

    /**
     * The network is consistent with {@code width}: the configuration's nOut, the batch norm after a
     * convolution (every parameter one per channel, its nOut), the consumer's fan-in axis.
     */
    private static void checkLayout(Model net, Map<String, Integer> width, String when) {
        assertEquals(width, widths(net), "widths from the weights " + when);
        for (String layer : SITES) {
            int n = width.get(layer);
            assertEquals(n, NetworkRewrite.width(net, layer), layer + " nOut " + when);
            String bn = BN_AFTER.get(layer);
            if (bn != null) {
                org.deeplearning4j.nn.api.Layer b = TestNets.layer(net, bn);
                assertEquals(n, b.getParam("gamma").length(), bn + " gamma follows " + layer + " " + when);
                assertEquals(n, b.getParam("beta").length(), bn + " beta follows " + layer + " " + when);
                for (Map.Entry<String, INDArray> p : b.paramTable().entrySet()) {
                    assertEquals(n, p.getValue().length(), bn + "/" + p.getKey() + " follows " + layer + " " + when);
                }
                assertEquals(n, ((BatchNormalization) b.conf().getLayer()).getNOut(), bn + " nOut " + when);
            }
            String consumer = CONSUMER.get(layer);
            INDArray cw = TestNets.layer(net, consumer).getParam("W");
            // A convolution's input channels are W's axis 1; a dense layer's inputs its axis 0 (global
            // pooling gives one input per channel).
            long inputs = isConv(net, consumer) ? cw.size(1) : cw.size(0);
            assertEquals(n, inputs, consumer + "'s inputs follow " + layer + " " + when);
        }
    }

    /** After the growth listener: the gradient the network holds against its parameters, at every iteration. */
    static final class Probe extends BaseTrainingListener {
        final Map<Integer, long[]> gradientAndParams = new LinkedHashMap<>();
        final Map<Integer, Map<String, Integer>> widths = new LinkedHashMap<>();
        final List<Double> scores = new ArrayList<>();
        final List<String> mismatches = new ArrayList<>();

        @Override
        public void iterationDone(Model model, int iteration, int epoch) {
            Gradient g = model.gradient();
            long length = g == null || g.gradient() == null ? -1 : g.gradient().length();
            gradientAndParams.put(iteration, new long[]{length, model.numParams()});
            if (g != null) {
                for (Map.Entry<String, INDArray> e : g.gradientForVariable().entrySet()) {
                    long[] param = model.getParam(e.getKey()).shape();
                    if (!Arrays.equals(param, e.getValue().shape())) {
                        mismatches.add("iteration " + iteration + ": gradient " + e.getKey() + " "
                                + Arrays.toString(e.getValue().shape()) + ", parameter " + Arrays.toString(param));
                    }
                }
            }
            widths.put(iteration, FireflyCnnTest.widths(model));
            scores.add(model.score());
        }
    }

    // ---------------------------------------------------------------- 1. conv and dense together inside fit()

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void fireflyScoresConvAndDenseLayersTogetherInsideFit(boolean graph) {
        int epochs = 2;
        int iterations = PER_EPOCH * epochs;
        Model net = cnn(graph);
        assertEquals(INITIAL, widths(net));
        FireflyPlanner planner = FireflyPlanner.builder()
                .when(GrowthTrigger.everyEpochs(1).and(GrowthTrigger.maxGrowths(2))).newNeurons(K).steps(STEPS)
                .count(8).build();
        GrowthPolicy policy = GrowthPolicy.builder().planner(planner).seed(7).build();
        List<GrowthEvent> called = new ArrayList<>();
        List<INDArray> outputsAtGrowth = new ArrayList<>();
        List<Map<String, Integer>> widthsAtGrowth = new ArrayList<>();
        GrowthListener growth = GrowthListener.builder().policy(policy)
                .growthData(DigitsImages.iterator(GROWTH), GROWTH.size()).onGrowth(e -> {
                    called.add(e);
                    widthsAtGrowth.add(widths(net));
                    outputsAtGrowth.add(TestNets.output(net, PROBE).dup());
                }).build();
        Probe probe = new Probe();
        net.setListeners(new ScoreIterationListener(4), growth, probe);

        fit(net, DigitsImages.iterator(TRAIN), epochs);

        // Training went on: every iteration ran, with a finite score.
        assertEquals(iterations, TestNets.iterationCount(net));
        assertEquals(epochs, TestNets.epochCount(net));
        assertTrue(Double.isFinite(net.score()), "score " + net.score());
        List<Integer> all = IntStream.range(0, iterations).boxed().collect(Collectors.toList());
        assertEquals(all, new ArrayList<>(probe.gradientAndParams.keySet()), "iterations the probe saw");
        for (double s : probe.scores) {
            assertTrue(Double.isFinite(s), "score " + probe.scores);
        }
        // The probe after the growth listener sees a gradient laid out like the (grown) parameters.
        assertEquals(List.of(), probe.mismatches);
        for (Map.Entry<Integer, long[]> e : probe.gradientAndParams.entrySet()) {
            assertEquals(e.getValue()[1], e.getValue()[0], "gradient length against numParams at " + e.getKey());
        }

        List<GrowthEvent> events = growth.history().events();
        assertFalse(events.isEmpty(), "Firefly grew the CNN: " + growth.history());
        assertTrue(events.size() <= 2, "maxGrowths(2): " + growth.history());
        assertEquals(events, called, "onGrowth saw every event");

        Map<String, Integer> width = new LinkedHashMap<>(INITIAL);
        long examples = GROWTH.stream().mapToLong(DataSet::numExamples).sum();
        assertTrue(examples > 0);
        boolean convGrew = false;
        for (int i = 0; i < events.size(); i++) {
            GrowthEvent e = events.get(i);
            assertTrue(e.atEpochEnd(), "everyEpochs(1): " + e);
            assertEquals(i, e.epoch(), "everyEpochs(1): " + e);
            assertTrue(e.details() instanceof FireflyDetails, "details " + e.details());
            FireflyDetails d = (FireflyDetails) e.details();
            assertEquals(STEPS, d.steps());
            assertEquals("gate", d.score());
            // The convolutions (reaching their consumers through batch norm, activation and pooling)
            // and the dense layer are scored together, in layer order.
            assertTrue(d.layers().keySet().containsAll(SITES), "c1, c2 and d scored together: " + d);
            assertEquals(SITES, new ArrayList<>(d.layers().keySet()), "every scored layer, in layer order: " + d);

            Map<String, GrowthEvent.LayerGrowth> grown = new LinkedHashMap<>();
            for (GrowthEvent.LayerGrowth lg : e.layers()) {
                assertNull(grown.put(lg.layer(), lg), "one growth per layer: " + e);
            }
            assertFalse(grown.isEmpty(), e.toString());
            assertTrue(SITES.containsAll(grown.keySet()), e.toString());
            List<Double> chosen = new ArrayList<>();
            Map<String, Integer> widthBefore = new LinkedHashMap<>(width);
            for (String layer : SITES) {
                FireflyDetails.Layer rec = d.layers().get(layer);
                int n = widthBefore.get(layer);
                assertEquals(n + K, rec.candidates(), layer + ": one split per unit (channel) and K new: " + d);
                // Each candidate costs at least its fan-in and its fan-out.
                long fanIn;
                long fanOut;
                switch (layer) {
                    case "c1":
                        fanIn = 9;                                    // 1 channel, 3x3
                        fanOut = 9L * widthBefore.get("c2");          // c2's 3x3 kernels of this channel
                        break;
                    case "c2":
                        fanIn = 9L * widthBefore.get("c1");
                        fanOut = widthBefore.get("d");                // one input of d per channel
                        break;
                    default:
                        fanIn = widthBefore.get("c2");
                        fanOut = 10;
                }
                assertTrue(rec.candidateParams() >= (fanIn + fanOut) * (n + K),
                        layer + " candidate parameters " + rec.candidateParams() + " against at least "
                                + (fanIn + fanOut) * (n + K));
                GrowthEvent.LayerGrowth lg = grown.get(layer);
                if (lg == null) {
                    assertEquals(List.of(), rec.splitUnits(), layer + " did not grow: " + d);
                    assertEquals(0, rec.newNeurons(), layer + " did not grow: " + d);
                    assertEquals(List.of(), rec.chosenScores(), layer + " did not grow: " + d);
                    continue;
                }
                convGrew |= !"d".equals(layer);
                assertEquals(n, lg.before(), e.toString());
                assertEquals(lg.before() + rec.splitUnits().size() + rec.newNeurons(), lg.after(),
                        layer + ": before + splits + new = after: " + e);
                assertTrue(lg.after() > lg.before(), e.toString());
                assertEquals(n, lg.kept(), e.toString());
                assertEquals(rec.splitUnits().size(), lg.copied(), e.toString());
                assertEquals(rec.newNeurons(), lg.fresh(), e.toString());
                assertEquals(0, lg.dropped(), e.toString());
                assertEquals(new FireflyInit(), lg.initializer() != null ? lg.initializer() : e.initializer());
                assertTrue(rec.newNeurons() <= K, e.toString());
                for (int j = 0; j < rec.splitUnits().size(); j++) {
                    int u = rec.splitUnits().get(j);
                    assertTrue(u >= 0 && u < n, layer + " split unit " + u);
                    assertTrue(j == 0 || rec.splitUnits().get(j - 1) < u, "increasing: " + rec.splitUnits());
                }
                assertEquals(rec.splitUnits().size() + rec.newNeurons(), rec.chosenScores().size());
                for (int j = 0; j < rec.chosenScores().size(); j++) {
                    double s = rec.chosenScores().get(j);
                    assertTrue(Double.isFinite(s) && s < 0, layer + " chosen score " + s);
                    assertTrue(j == 0 || rec.chosenScores().get(j - 1) <= s, "best first: " + rec.chosenScores());
                }
                chosen.addAll(rec.chosenScores());
                width.put(layer, lg.after());
            }
            assertFalse(chosen.isEmpty());
            assertTrue(chosen.size() <= planner.count(), chosen.size() + " chosen, at most " + planner.count());
            if (d.bestRejectedScore() != null) {
                double worstChosen = chosen.stream().mapToDouble(Double::doubleValue).max().getAsDouble();
                assertTrue(d.bestRejectedScore() >= worstChosen,
                        "best rejected " + d.bestRejectedScore() + " against the last chosen " + worstChosen);
            }
            assertTrue(e.paramsAfter() > e.paramsBefore(), e.toString());
            assertEquals(width, widthsAtGrowth.get(i), "the network's widths right after " + e);
            assertFinite(outputsAtGrowth.get(i), "the output right after " + e);
            assertTrue(e.signalPasses() >= STEPS, "candidate training passes: " + e);
            assertTrue(e.signalExamples() >= examples, "candidate training examples: " + e);
            // The next iteration (if any) trains the grown network: its gradient is the grown one's.
            long[] next = probe.gradientAndParams.get((int) e.iteration());
            if (next != null) {
                assertEquals(e.paramsAfter(), next[1], "numParams right after " + e);
                assertEquals(e.paramsAfter(), next[0], "gradient length right after " + e);
                assertEquals(width, probe.widths.get((int) e.iteration()), "widths right after " + e);
            }
        }
        assertTrue(convGrew, "a convolution grew (count(" + planner.count() + ")): " + events);
        assertNotEquals(INITIAL, width);

        // The network is the last event's: widths, batch norms with the grown channel counts, consumers.
        checkLayout(net, width, "at the end");
        assertEquals(events.get(events.size() - 1).paramsAfter(), net.numParams());
        INDArray out = TestNets.output(net, PROBE);
        assertArrayEquals(new long[]{PROBE.size(0), 10}, out.shape());
        assertFinite(out, "the output after growth");
        INDArray rowSums = out.sum(1);
        assertTrue(rowSums.sub(1.0).amaxNumber().doubleValue() < 1e-9, "softmax rows: " + rowSums);
    }

    // ---------------------------------------------------------------- 2. channel split with zero perturbation

    /** Leaves the split direction δ zero: the halves of a split get w + 0 and w - 0. */
    static final class ZeroPerturbation implements UnitInitializer {
        private static final long serialVersionUID = 1L;

        @Override
        public void initialize(NewUnits units) {
            throw new AssertionError("a split has no fresh units to initialise");
        }

        @Override
        public void perturb(NewUnits units) {
            units.perturbation().weights().assign(0);
        }
    }

    /** δ of a fixed pattern and size: the control that shows the comparison can fail. */
    static final class SmallPerturbation implements UnitInitializer {
        private static final long serialVersionUID = 1L;

        @Override
        public void initialize(NewUnits units) {
            throw new AssertionError("a split has no fresh units to initialise");
        }

        @Override
        public void perturb(NewUnits units) {
            INDArray d = units.perturbation().weights();
            d.assign(Nd4j.getRandomFactory().getNewRandomInstance(17).nextGaussian('c', d.shape())
                    .castTo(d.dataType()).muli(0.3));
        }
    }

    private static Model trainedConvBnConv(boolean graph) {
        Model net = TestNets.build(TestNets.CONV_BN_CONV, TestNets.base(6, new Adam(0.01), DataType.DOUBLE), graph);
        for (int i = 0; i < 5; i++) {
            TestNets.fit(net, TestNets.CONV_BN_CONV.data(16, 30 + i, DataType.DOUBLE));
        }
        return net;
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void aConvSplitWithZeroPerturbationKeepsTheInferenceOutput(boolean graph) {
        int[] split = {0, 2};
        Model net = trainedConvBnConv(graph);
        int n = NetworkRewrite.width(net, "c1");
        assertEquals(4, n);
        INDArray x = TestNets.CONV_BN_CONV.input(8, 3, DataType.DOUBLE);
        INDArray before = TestNets.output(net, x).dup();
        INDArray w0 = TestNets.layer(net, "c1").getParam("W").dup();
        INDArray b0 = TestNets.layer(net, "c1").getParam("b").dup().reshape(n);
        INDArray c2w0 = TestNets.layer(net, "c2").getParam("W").dup();
        Map<String, INDArray> bn0 = new LinkedHashMap<>();
        TestNets.layer(net, "bn1").paramTable().forEach((k, v) -> bn0.put(k, v.dup().reshape(n)));
        // The running statistics moved away from their initial values, so a split that lost or
        // misplaced them would show in the inference output.
        Model untrained = TestNets.build(TestNets.CONV_BN_CONV, TestNets.base(6, new Adam(0.01), DataType.DOUBLE),
                graph);
        int statistics = 0;
        for (Map.Entry<String, INDArray> p : TestNets.layer(untrained, "bn1").paramTable().entrySet()) {
            if (p.getKey().equals("gamma") || p.getKey().equals("beta")) {
                continue;
            }
            statistics++;
            double moved = bn0.get(p.getKey()).sub(p.getValue().reshape(n)).amaxNumber().doubleValue();
            assertTrue(moved > 1e-3, "bn1 running statistic " + p.getKey() + " moved in training: " + moved);
        }
        assertTrue(statistics >= 2, "bn1 holds a running mean and a running variance: " + bn0.keySet());

        NetworkRewrite.of(net).unitMap("c1", UnitMap.splitPerturbed(n, split))
                .initializer("c1", new ZeroPerturbation()).apply();

        int width = n + split.length;
        assertEquals(width, NetworkRewrite.width(net, "c1"));
        INDArray w = TestNets.layer(net, "c1").getParam("W");
        INDArray b = TestNets.layer(net, "c1").getParam("b").reshape(width);
        INDArray c2w = TestNets.layer(net, "c2").getParam("W");
        assertArrayEquals(new long[]{width, w0.size(1), w0.size(2), w0.size(3)}, w.shape());
        assertArrayEquals(new long[]{c2w0.size(0), width, c2w0.size(2), c2w0.size(3)}, c2w.shape());
        int[] source = {0, 1, 2, 3, 0, 2};
        for (int u = 0; u < width; u++) {
            int s = source[u];
            boolean isSplit = s == 0 || s == 2;
            assertEquals(w0.get(NDArrayIndex.point(s)), w.get(NDArrayIndex.point(u)), "c1 channel " + u + " fan-in");
            assertEquals(b0.getDouble(s), b.getDouble(u), "c1 channel " + u + " bias");
            INDArray expected = c2w0.get(NDArrayIndex.all(), NDArrayIndex.point(s)).mul(isSplit ? 0.5 : 1.0);
            INDArray actual = c2w.get(NDArrayIndex.all(), NDArrayIndex.point(u));
            assertTrue(expected.sub(actual).amaxNumber().doubleValue() <= 1e-15,
                    "c2's kernels of channel " + u + ": its source's" + (isSplit ? ", halved" : ""));
            for (Map.Entry<String, INDArray> p : TestNets.layer(net, "bn1").paramTable().entrySet()) {
                assertEquals(width, p.getValue().length(), "bn1/" + p.getKey());
                assertEquals(bn0.get(p.getKey()).getDouble(s), p.getValue().reshape(width).getDouble(u),
                        "bn1/" + p.getKey() + " of channel " + u + " is its source's");
            }
        }

        INDArray after = TestNets.output(net, x);
        double diff = after.sub(before).amaxNumber().doubleValue();
        assertTrue(diff <= 1e-9, "a split with δ = 0 keeps the inference output: differs by " + diff);

        // Control: the same split with δ != 0 moves the output, so the comparison above can fail.
        Model control = trainedConvBnConv(graph);
        assertEquals(0.0, TestNets.output(control, x).sub(before).amaxNumber().doubleValue(), 1e-12,
                "the control starts from the same network");
        NetworkRewrite.of(control).unitMap("c1", UnitMap.splitPerturbed(n, split))
                .initializer("c1", new SmallPerturbation()).apply();
        double moved = TestNets.output(control, x).sub(before).amaxNumber().doubleValue();
        assertTrue(moved > 1e-7, "a split with δ != 0 changes the output (second order): " + moved);
    }

    // ---------------------------------------------------------------- 3. resume

    private static GrowthPolicy resumePolicy() {
        return GrowthPolicy.builder().planner(FireflyPlanner.builder()
                        .when(GrowthTrigger.everyEpochs(1).and(GrowthTrigger.maxGrowths(2))).newNeurons(K).steps(STEPS)
                        .count(6).build())
                .seed(7).build();
    }

    private static GrowthListener resumeListener() {
        return GrowthListener.builder().policy(resumePolicy())
                .growthData(DigitsImages.iterator(GROWTH), GROWTH.size()).build();
    }

    private static List<GrowthEvent> withoutTimings(GrowthHistory h) {
        return h.events().stream().map(GrowthEvent::withoutTimings).collect(Collectors.toList());
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void aResumedRunReproducesTheCnnGrowth(boolean graph) throws Exception {
        assertEquals(resumePolicy(), resumePolicy(), "equal policies for the two runs");

        Model whole = cnn(graph);
        GrowthListener wholeGrowth = resumeListener();
        whole.setListeners(wholeGrowth);
        fit(whole, DigitsImages.iterator(TRAIN), 3);
        assertEquals(2, wholeGrowth.history().size(),
                "growths at the ends of epochs 0 and 1: " + wholeGrowth.history());

        Model first = cnn(graph);
        GrowthListener firstGrowth = resumeListener();
        first.setListeners(firstGrowth);
        fit(first, DigitsImages.iterator(TRAIN), 1);
        assertEquals(1, firstGrowth.history().size(), "interrupted after its first growth: " + firstGrowth.history());
        assertEquals(withoutTimings(wholeGrowth.history()).get(0), withoutTimings(firstGrowth.history()).get(0),
                "the first growth is the uninterrupted run's");
        File file = tmp.resolve("firefly-cnn-" + graph + ".zip").toFile();
        firstGrowth.writeModel(first, file, true);

        Model resumed = graph ? ModelSerializer.restoreComputationGraph(file, true)
                : ModelSerializer.restoreMultiLayerNetwork(file, true);
        Map<String, Integer> grownOnce = new LinkedHashMap<>(INITIAL);
        firstGrowth.history().events().get(0).layers().forEach(lg -> grownOnce.put(lg.layer(), lg.after()));
        checkLayout(resumed, grownOnce, "restored after the first growth");
        assertArrayEquals(NetState.of(first).params, NetState.of(resumed).params, "the file holds the grown network");
        GrowthListener resumedGrowth = resumeListener().restoreState(file);
        assertEquals(1, resumedGrowth.history().size(), "the restored history: " + resumedGrowth.history());
        resumed.setListeners(resumedGrowth);
        fit(resumed, DigitsImages.iterator(TRAIN), 2);

        List<GrowthEvent> a = withoutTimings(wholeGrowth.history());
        List<GrowthEvent> b = withoutTimings(resumedGrowth.history());
        assertEquals(a, b, "the same events");
        for (int i = 0; i < a.size(); i++) {
            assertEquals(a.get(i).details(), b.get(i).details(), "the same Firefly record of event " + i);
            assertTrue(a.get(i).atEpochEnd());
            assertEquals(i, a.get(i).epoch());
            assertTrue(a.get(i).details() instanceof FireflyDetails, a.get(i).toString());
            assertEquals(SITES, new ArrayList<>(((FireflyDetails) a.get(i).details()).layers().keySet()),
                    "c1, c2 and d scored together: " + a.get(i));
        }
        assertEquals(wholeGrowth.history().provenance(), resumedGrowth.history().provenance());
        NetState x = NetState.of(whole);
        NetState y = NetState.of(resumed);
        assertEquals(x.json, y.json, "the same configuration");
        assertEquals(x.iterations, y.iterations);
        assertEquals(x.epochs, y.epochs);
        assertArrayEquals(x.params, y.params, "bit-identical parameters");
        assertNotNull(x.updaterState);
        assertArrayEquals(x.updaterState, y.updaterState, "bit-identical optimizer state");
        Map<String, Integer> last = new LinkedHashMap<>(INITIAL);
        for (GrowthEvent e : a) {
            e.layers().forEach(lg -> last.put(lg.layer(), lg.after()));
        }
        assertNotEquals(INITIAL, last);
        checkLayout(resumed, last, "after the resumed run");
        checkLayout(whole, last, "after the uninterrupted run");
        assertEquals(TestNets.output(whole, PROBE), TestNets.output(resumed, PROBE), "the same outputs");
    }
}
