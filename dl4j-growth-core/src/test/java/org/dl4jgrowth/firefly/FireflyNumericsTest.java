package org.dl4jgrowth.firefly;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.how.NewUnits;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.network.NetworkAdapter;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.rewrite.UnitMap;
import org.dl4jgrowth.testing.TestNets;
import org.dl4jgrowth.when.GrowthTrigger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Firefly's numerics: what a split does to the function, that the gate scores are the loss's
 * derivatives, why they are taken at the trained size, and that growth goes where the network
 * needs it.
 */
class FireflyNumericsTest {

    /** Gaussian values from a generator of their own (never ND4J's global one). */
    static INDArray gaussian(long seed, long... shape) {
        return Nd4j.getRandomFactory().getNewRandomInstance(seed).nextGaussian('c', shape).castTo(DataType.DOUBLE);
    }

    static Model trained(boolean graph) {
        Model net = TestNets.build(TestNets.DENSE_DENSE, TestNets.base(3, new Adam(0.01), DataType.DOUBLE), graph);
        for (int i = 0; i < 5; i++) {
            TestNets.fit(net, TestNets.DENSE_DENSE.data(32, 1, DataType.DOUBLE));
        }
        return net;
    }

    /** Splits with δ = ε·d for a fixed direction d (drawn once from a seeded generator). */
    static final class FixedDirection implements UnitInitializer {
        private final double eps;

        FixedDirection(double eps) {
            this.eps = eps;
        }

        @Override
        public void initialize(NewUnits units) {
        }

        @Override
        public void perturb(NewUnits units) {
            INDArray d = units.perturbation().weights();
            d.assign(gaussian(11, d.shape()).muli(eps));
        }
    }

    private static double splitChange(boolean graph, double eps) {
        Model net = trained(graph);
        INDArray x = TestNets.DENSE_DENSE.input(16, 5, DataType.DOUBLE);
        INDArray before = TestNets.output(net, x);
        NetworkRewrite.of(net).unitMap("d1", UnitMap.splitPerturbed(6, 0, 2, 5))
                .initializer("d1", new FixedDirection(eps)).apply();
        assertEquals(9, NetworkRewrite.width(net, "d1"));
        return Transforms.maxAbs(TestNets.output(net, x).sub(before));
    }

    /** Shorthand kept local: the largest absolute entry. */
    static final class Transforms {
        static double maxAbs(INDArray a) {
            return a.amaxNumber().doubleValue();
        }
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void aSplitWithZeroDirectionKeepsTheFunctionAndOneWithVChangesItAsVSquared(boolean graph) {
        assertTrue(splitChange(graph, 0.0) <= 1e-9, "v = 0: the two halves are the unit");
        double[] eps = {1e-1, 3e-2, 1e-2};
        double[] change = new double[eps.length];
        for (int i = 0; i < eps.length; i++) {
            change[i] = splitChange(graph, eps[i]);
            assertTrue(change[i] > 0, "a split with v != 0 changes the output a little");
        }
        // Least-squares slope of log(change) against log(eps): the odd terms cancel between w+v and w-v.
        double mx = 0;
        double my = 0;
        for (int i = 0; i < eps.length; i++) {
            mx += Math.log(eps[i]) / eps.length;
            my += Math.log(change[i]) / eps.length;
        }
        double num = 0;
        double den = 0;
        for (int i = 0; i < eps.length; i++) {
            num += (Math.log(eps[i]) - mx) * (Math.log(change[i]) - my);
            den += (Math.log(eps[i]) - mx) * (Math.log(eps[i]) - mx);
        }
        double slope = num / den;
        assertEquals(2.0, slope, 0.2, "output change ~ |v|^2: " + java.util.Arrays.toString(change));
    }

    private static CandidateCopy copy(Model net, FireflyPlanner p) {
        return CandidateCopy.build(p, NetworkAdapter.of(net), List.of("d1"), List.of("d2"),
                Nd4j.getRandomFactory().getNewRandomInstance(5));
    }

    private static double loss(CandidateCopy c, MultiDataSet batch) {
        c.write(1.0);
        NetworkAdapter a = NetworkAdapter.of(c.model());
        a.computeGradient(batch);
        return c.model().score();
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void gateDerivativesAreTheLossDerivatives(boolean graph) {
        Model net = trained(graph);
        FireflyPlanner p = FireflyPlanner.builder().when(GrowthTrigger.everyIterations(1)).newNeurons(3).build();
        CandidateCopy c = copy(net, p);
        MultiDataSet batch = NetworkAdapter.toMulti(TestNets.DENSE_DENSE.data(16, 7, DataType.DOUBLE));
        for (int step = 0; step < 10; step++) {
            c.train(batch);
        }
        double[][] split = new double[1][];
        double[][] fresh = new double[1][];
        c.gateDerivatives(List.of(batch), 1.0, split, fresh);
        CandidateCopy.Site s = c.sites().get(0);
        double h = 1e-5;
        for (int u = 0; u < s.n; u++) {
            INDArray v = s.v.dup();
            s.v = v.dup();
            s.v.getColumn(u).muli(1 + h);
            double up = loss(c, batch);
            s.v = v.dup();
            s.v.getColumn(u).muli(1 - h);
            double down = loss(c, batch);
            s.v = v;
            double fd = (up - down) / (2 * h);
            assertEquals(fd, split[0][u], 1e-4 * Math.max(Math.abs(fd), 1e-8), "split " + u);
        }
        for (int j = 0; j < s.k; j++) {
            INDArray out = s.out.dup();
            s.out = out.dup();
            s.out.getRow(j).muli(1 + h);
            double up = loss(c, batch);
            s.out = out.dup();
            s.out.getRow(j).muli(1 - h);
            double down = loss(c, batch);
            s.out = out;
            double fd = (up - down) / (2 * h);
            assertEquals(fd, fresh[0][j], 1e-4 * Math.max(Math.abs(fd), 1e-8), "new neuron " + j);
        }
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void atGateZeroASplitScoresNothingAtItsTrainedSizeItDoes(boolean graph) {
        Model net = trained(graph);
        FireflyPlanner p = FireflyPlanner.builder().when(GrowthTrigger.everyIterations(1)).newNeurons(2).build();
        MultiDataSet batch = NetworkAdapter.toMulti(TestNets.DENSE_DENSE.data(16, 7, DataType.DOUBLE));
        CandidateCopy untrained = copy(net, p);
        double[][] atZero = new double[1][];
        double[][] unused = new double[1][];
        untrained.gateDerivatives(List.of(batch), 0.0, atZero, unused);
        // The scale of a first-order effect: |∂L/∂W| times |v| for the layer's weights.
        untrained.write(1.0);
        NetworkAdapter a = NetworkAdapter.of(untrained.model());
        a.computeGradient(batch);
        double scale = a.gradient("d1", "W").norm2Number().doubleValue()
                * untrained.sites().get(0).v.norm2Number().doubleValue();
        for (double s : atZero[0]) {
            assertTrue(Math.abs(s) <= 1e-12 * scale, "at g = 0 the halves are identical: " + s + " vs " + scale);
        }
        CandidateCopy trainedCopy = copy(net, p);
        for (int step = 0; step < 30; step++) {
            trainedCopy.train(batch);
        }
        double[][] atOne = new double[1][];
        trainedCopy.gateDerivatives(List.of(batch), 1.0, atOne, unused);
        double largest = 0;
        for (double s : atOne[0]) {
            largest = Math.max(largest, Math.abs(s));
        }
        assertTrue(largest > 1e-6 * scale, "at the trained size splits have scores: " + largest + " vs " + scale);
    }

    /** The over-grown copy's extra parameters are what n + K units cost, and the copy is released. */
    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void candidateParametersAreCountedAndTheCopyIsReleased(boolean graph) {
        Model net = trained(graph);
        List<long[]> seen = new ArrayList<>();
        FireflyPlanner.released = c -> {
            org.deeplearning4j.nn.updater.BaseMultiLayerUpdater<?> u = NetworkAdapter.of(c.model()).updater(false);
            boolean closed = c.model().params().wasClosed() && (u == null || u.getStateViewArray() == null
                    || u.getStateViewArray().wasClosed());
            seen.add(new long[]{closed ? 1 : 0});
        };
        try {
            FireflyPlanner p = FireflyPlanner.builder().when(GrowthTrigger.everyIterations(1)).newNeurons(4).steps(3)
                    .build();
            GrowthEvent e = new GrowthListener(GrowthPolicy.builder().planner(p).build()).controller()
                    .growNow(net, TestNets.DENSE_DENSE.data(16, 7, DataType.DOUBLE)).orElseThrow();
            FireflyDetails d = (FireflyDetails) e.details();
            // d1: 4 inputs, bias, 5 outputs into d2; d2: 6 inputs, bias, 3 outputs; n + K units each.
            assertEquals((6 + 4) * (4 + 1 + 5), d.layers().get("d1").candidateParams());
            assertEquals((5 + 4) * (6 + 1 + 3), d.layers().get("d2").candidateParams());
            // DOUBLE: 8 bytes, six arrays' worth per candidate parameter (see FireflyDetails.Layer.candidateBytes).
            assertEquals(6L * 8 * (6 + 4) * (4 + 1 + 5), d.layers().get("d1").candidateBytes());
            assertEquals(2, seen.size(), "d1 and d2 feed each other: two copies");
            for (long[] s : seen) {
                assertEquals(1, s[0], "the copy's parameters and optimizer state were freed before the rewrite");
            }
        } finally {
            FireflyPlanner.released = c -> { };
        }
    }

    /** 8 inputs -> h1 (2 units) -> h2 (16) -> 4 classes that need more than 2 dimensions to pass h1. */
    static Model bottleneck(boolean graph) {
        TestNets.Arch arch = new TestNets.Arch("bottleneck", () -> List.of(
                new DenseLayer.Builder().name("h1").nOut(2).activation(Activation.TANH).build(),
                new DenseLayer.Builder().name("h2").nOut(16).activation(Activation.TANH).build(),
                new OutputLayer.Builder().name("out").nOut(4).activation(Activation.SOFTMAX)
                        .lossFunction(LossFunctions.LossFunction.MCXENT).build()),
                InputType.feedForward(8), new long[]{1, 8}, 4);
        return TestNets.build(arch, TestNets.base(2, new Adam(0.02), DataType.DOUBLE), graph);
    }

    /** Four classes by the largest of four fixed projections of the input: rank-4 information. */
    static DataSet teacher(int n, long seed) {
        INDArray x = gaussian(seed, n, 8);
        INDArray proj = gaussian(99, 8, 4);
        INDArray scores = x.mmul(proj);
        INDArray y = Nd4j.zeros(DataType.DOUBLE, n, 4);
        for (int i = 0; i < n; i++) {
            y.putScalar(i, scores.getRow(i).argMax().getInt(0), 1.0);
        }
        return new DataSet(x, y);
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void theBottleneckGetsMostOfTheGrowth(boolean graph) {
        Model net = bottleneck(graph);
        DataSet data = teacher(256, 1);
        for (int i = 0; i < 150; i++) {
            TestNets.fit(net, data);
        }
        FireflyPlanner p = FireflyPlanner.builder().when(GrowthTrigger.everyIterations(1)).newNeurons(8).steps(60)
                .count(6).build();
        GrowthEvent e = new GrowthListener(GrowthPolicy.builder().planner(p).seed(3).build()).controller()
                .growNow(net, data).orElseThrow();
        FireflyDetails d = (FireflyDetails) e.details();
        int h1 = d.layers().get("h1").splitUnits().size() + d.layers().get("h1").newNeurons();
        int h2 = d.layers().get("h2").splitUnits().size() + d.layers().get("h2").newNeurons();
        assertTrue(h1 > h2 && h1 >= 4, "the width-2 layer is where capacity is missing: " + d);
    }

    @Test
    void groupsNeverHoldALayerAndItsConsumer() {
        java.util.Map<String, String> consumerOf = new java.util.LinkedHashMap<>();
        consumerOf.put("a", "b");
        consumerOf.put("b", "c");
        consumerOf.put("c", "out");
        consumerOf.put("x", "out");
        assertEquals(List.of(List.of("a", "c", "x"), List.of("b")), FireflyPlanner.groups(consumerOf));
        assertEquals(List.of(List.of("a", "c"), List.of("b", "x")), FireflyPlanner.groups(consumerOf, 2));
        assertEquals(List.of(List.of("a"), List.of("b"), List.of("c"), List.of("x")),
                FireflyPlanner.groups(consumerOf, 1));
    }

    /**
     * When a layer and the layer it feeds grow together, trained rows follow the producer's new
     * units (a split half gets half its source's row, as the rewrite halves its outgoing weights; a
     * new unit of the producer 0) and fan-out columns the consumer's (both halves the source's
     * value, new units 0).
     */
    @Test
    void trainedTensorsAreLaidOutForTheGrownNeighbours() {
        // Producer of 3 units: unit 1 split (copy appended), one new unit. New layout: 0, 1, 2, 1', fresh.
        UnitMap producer = UnitMap.of(3, new int[]{0, 1, 2, 1, UnitMap.FRESH}, new double[]{1, 0.5, 1, 0.5, 1},
                new int[]{0, 1, 0, -1, 0});
        INDArray rows = Nd4j.create(new double[][]{{1, 10}, {2, 20}, {3, 30}});
        INDArray laid = FireflyPlanner.relayout(rows, producer, 0, true);
        assertEquals(Nd4j.create(new double[][]{{1, 10}, {1, 10}, {3, 30}, {1, 10}, {0, 0}}), laid);
        // Consumer of 2 units: unit 0 split, one new unit. New layout: 0, 1, 0', fresh.
        UnitMap consumer = UnitMap.of(2, new int[]{0, 1, 0, UnitMap.FRESH}, new double[]{0.5, 1, 0.5, 1},
                new int[]{1, 0, -1, 0});
        INDArray cols = Nd4j.create(new double[][]{{5, 6}, {7, 8}});
        assertEquals(Nd4j.create(new double[][]{{5, 6, 5, 0}, {7, 8, 7, 0}}), FireflyPlanner.relayout(cols, consumer, 1, false));
        assertEquals(rows, FireflyPlanner.relayout(rows, null, 0, true), "no producer growing: as trained");
    }

    /** K = 0: splits only, inside fit(), on both network types. */
    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void splitsOnlyWithoutNewNeurons(boolean graph) {
        Model net = trained(graph);
        FireflyPlanner p = FireflyPlanner.builder().when(GrowthTrigger.everyIterations(1)).newNeurons(0).steps(5)
                .build();
        GrowthEvent e = new GrowthListener(GrowthPolicy.builder().planner(p).build()).controller()
                .growNow(net, TestNets.DENSE_DENSE.data(16, 7, DataType.DOUBLE)).orElseThrow();
        FireflyDetails d = (FireflyDetails) e.details();
        int splits = 0;
        for (FireflyDetails.Layer l : d.layers().values()) {
            assertEquals(0, l.newNeurons());
            splits += l.splitUnits().size();
        }
        assertTrue(splits >= 1, d.toString());
        TestNets.fit(net, TestNets.DENSE_DENSE.data(16, 8, DataType.DOUBLE));
        assertTrue(Double.isFinite(net.score()));
    }

    /**
     * d1 and the layer it feeds, d2, grow in one event: every weight of d2 after the growth is what
     * the trained candidates and the unit maps say (old weights halved for d1's split halves, d2's
     * trained v added with the halves' signs, d1's new neurons' trained fan-out into both halves of
     * a d2 split, d2's new neurons' trained fan-in halved for d1's split halves, new-to-new 0).
     */
    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void aLayerAndItsConsumerGrowTogetherAsTheirCandidatesWereTrained(boolean graph) {
        Model net = trained(graph);
        INDArray w2old = NetworkAdapter.of(net).paramTable("d2").get("W").dup();
        java.util.Map<String, CandidateCopy.Site> sites = new java.util.HashMap<>();
        FireflyPlanner.released = c -> c.sites().forEach(x -> sites.put(x.layer, x));
        GrowthEvent e;
        try {
            FireflyPlanner p = FireflyPlanner.builder().when(GrowthTrigger.everyIterations(1)).newNeurons(2)
                    .steps(30).count(30).build();
            e = new GrowthListener(GrowthPolicy.builder().planner(p).seed(5).build()).controller()
                    .growNow(net, TestNets.DENSE_DENSE.data(32, 7, DataType.DOUBLE)).orElseThrow();
        } finally {
            FireflyPlanner.released = c -> { };
        }
        FireflyDetails d = (FireflyDetails) e.details();
        FireflyDetails.Layer r1 = d.layers().get("d1");
        FireflyDetails.Layer r2 = d.layers().get("d2");
        assertTrue(r1.splitUnits().size() + r1.newNeurons() > 0 && r2.splitUnits().size() + r2.newNeurons() > 0,
                "both layers grew: " + d);
        assertTrue(r1.splitUnits().size() + r2.splitUnits().size() > 0 && r1.newNeurons() + r2.newNeurons() > 0,
                "splits and new neurons both: " + d);
        UnitMap m1 = FireflyPlanner.unitMap(6, candidates(r1));
        UnitMap m2 = FireflyPlanner.unitMap(5, candidates(r2));
        INDArray w2 = NetworkAdapter.of(net).paramTable("d2").get("W");
        assertEquals(m1.newWidth(), w2.size(0));
        assertEquals(m2.newWidth(), w2.size(1));
        CandidateCopy.Site s1 = sites.get("d1");
        CandidateCopy.Site s2 = sites.get("d2");
        int fresh1 = 6 + r1.splitUnits().size();
        int fresh2 = 5 + r2.splitUnits().size();
        for (int r = 0; r < m1.newWidth(); r++) {
            for (int j = 0; j < m2.newWidth(); j++) {
                int a = m1.source(r);
                int b = m2.source(j);
                double expected;
                if (a != UnitMap.FRESH && b != UnitMap.FRESH) {
                    expected = m1.fanOutScale(r) * (w2old.getDouble(a, b) + m2.perturbation(j) * s2.v.getDouble(a, b));
                } else if (a == UnitMap.FRESH && b != UnitMap.FRESH) {
                    expected = s1.out.getDouble(r1.newCandidates().get(r - fresh1), b);
                } else if (a != UnitMap.FRESH) {
                    expected = m1.fanOutScale(r) * s2.in.getDouble(a, r2.newCandidates().get(j - fresh2));
                } else {
                    expected = 0;
                }
                assertEquals(expected, w2.getDouble(r, j), 1e-12, "d2 W[" + r + ", " + j + "]");
            }
        }
    }

    /** The chosen candidates of a layer as the planner's unit map takes them. */
    private static List<FireflyPlanner.Candidate> candidates(FireflyDetails.Layer layer) {
        List<FireflyPlanner.Candidate> out = new ArrayList<>();
        layer.splitUnits().forEach(u -> out.add(new FireflyPlanner.Candidate("", true, u, 0)));
        layer.newCandidates().forEach(k -> out.add(new FireflyPlanner.Candidate("", false, k, 0)));
        return out;
    }

    /** A batch norm between a layer and its consumer keeps the layer out (Firefly I cannot freeze it). */
    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void aLayerWithBatchNormOnTheWayIsNotACandidate(boolean graph) {
        Model net = TestNets.build(TestNets.DENSE_BN_DENSE, TestNets.base(3, new Adam(0.01), DataType.DOUBLE), graph);
        TestNets.fit(net, TestNets.DENSE_BN_DENSE.data(32, 1, DataType.DOUBLE));
        FireflyPlanner p = FireflyPlanner.builder().when(GrowthTrigger.everyIterations(1)).newNeurons(2).steps(3)
                .build();
        GrowthEvent e = new GrowthListener(GrowthPolicy.builder().planner(p).build()).controller()
                .growNow(net, TestNets.DENSE_BN_DENSE.data(32, 2, DataType.DOUBLE)).orElseThrow();
        assertEquals(List.of("d2"), new ArrayList<>(((FireflyDetails) e.details()).layers().keySet()),
                "d1 -> bn1 -> drop -> d2: only d2 is scored");
    }

    /** in 4 -> h1 (6) -> h2 (5) -> h3 (6) -> out 3: h1 and h3 share a copy unless the copies are bounded. */
    static Model threeHidden(boolean graph) {
        TestNets.Arch arch = new TestNets.Arch("three hidden", () -> List.of(
                new DenseLayer.Builder().name("h1").nOut(6).activation(Activation.TANH).build(),
                new DenseLayer.Builder().name("h2").nOut(5).activation(Activation.TANH).build(),
                new DenseLayer.Builder().name("h3").nOut(6).activation(Activation.TANH).build(),
                new OutputLayer.Builder().name("out").nOut(3).activation(Activation.SOFTMAX)
                        .lossFunction(LossFunctions.LossFunction.MCXENT).build()),
                InputType.feedForward(4), new long[]{1, 4}, 3);
        Model net = TestNets.build(arch, TestNets.base(4, new Adam(0.01), DataType.DOUBLE), graph);
        for (int i = 0; i < 5; i++) {
            TestNets.fit(net, TestNets.DENSE_DENSE.data(32, 1, DataType.DOUBLE));
        }
        return net;
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void groupedScoringChoosesWhatUngroupedScoringChooses(boolean graph) {
        DataSet data = TestNets.DENSE_DENSE.data(32, 9, DataType.DOUBLE);
        FireflyDetails[] d = new FireflyDetails[2];
        List<Integer> copies = new ArrayList<>();
        for (int run = 0; run < 2; run++) {
            Model net = threeHidden(graph);
            FireflyPlanner.Builder b = FireflyPlanner.builder().when(GrowthTrigger.everyIterations(1)).newNeurons(3)
                    .steps(20).count(4);
            if (run == 1) {
                b.maxLayersPerCopy(1);
            }
            int[] n = {0};
            FireflyPlanner.released = c -> n[0]++;
            try {
                GrowthEvent e = new GrowthListener(GrowthPolicy.builder().planner(b.build()).seed(8).build())
                        .controller().growNow(net, data).orElseThrow();
                d[run] = (FireflyDetails) e.details();
            } finally {
                FireflyPlanner.released = c -> { };
            }
            copies.add(n[0]);
        }
        assertEquals(List.of(2, 3), copies, "{h1, h3} and {h2}; then one layer per copy");
        for (String layer : List.of("h1", "h2", "h3")) {
            FireflyDetails.Layer a = d[0].layers().get(layer);
            FireflyDetails.Layer g = d[1].layers().get(layer);
            assertEquals(a.splitUnits(), g.splitUnits(), layer);
            assertEquals(a.newCandidates(), g.newCandidates(), layer);
            // The same candidates (seeded per layer) but not quite the same scores: sharing a copy, h1's
            // candidates change what h3 sees while both train (measured here: about 1%).
            for (int i = 0; i < a.chosenScores().size(); i++) {
                assertEquals(a.chosenScores().get(i), g.chosenScores().get(i),
                        0.05 * Math.abs(a.chosenScores().get(i)), layer + " score " + i);
            }
        }
    }

    /**
     * The integrated scores follow the path on which every candidate's gate goes from 0 to 1
     * together, so they add up to the loss change along it: Σ scores = L(1) - L(0), up to Simpson's
     * error, which is small for a loss this smooth in the gates.
     */
    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void integratedScoresAddUpToTheLossChange(boolean graph) {
        Model net = trained(graph);
        FireflyPlanner p = FireflyPlanner.builder().when(GrowthTrigger.everyIterations(1)).newNeurons(3)
                .score(FireflyPlanner.Score.INTEGRATED).build();
        CandidateCopy c = copy(net, p);
        MultiDataSet batch = NetworkAdapter.toMulti(TestNets.DENSE_DENSE.data(16, 7, DataType.DOUBLE));
        for (int step = 0; step < 20; step++) {
            c.train(batch);
        }
        List<FireflyPlanner.Candidate> all = new ArrayList<>();
        p.score(c, List.of(batch), all);
        double sum = 0;
        for (FireflyPlanner.Candidate k : all) {
            sum += k.score;
        }
        double l1 = loss(c, batch);
        c.write(0.0);
        NetworkAdapter a = NetworkAdapter.of(c.model());
        a.computeGradient(batch);
        double l0 = c.model().score();
        assertTrue(Math.abs(l1 - l0) > 1e-6, "the candidates change the loss: " + (l1 - l0));
        assertEquals(l1 - l0, sum, 1e-3 * Math.abs(l1 - l0), "integrated scores vs the loss change");
    }
}
