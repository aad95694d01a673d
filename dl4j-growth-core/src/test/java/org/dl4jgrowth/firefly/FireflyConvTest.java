package org.dl4jgrowth.firefly;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.network.NetworkAdapter;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.testing.TestNets;
import org.dl4jgrowth.when.GrowthTrigger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Firefly on convolutions with batch norm (the start of Firefly II): the batch norms of the
 * candidates' copy folded into exact affine maps, gate derivatives on a CNN, growth of a CNN.
 */
class FireflyConvTest {

    static Model trained(TestNets.Arch arch, boolean graph) {
        Model net = TestNets.build(arch, TestNets.base(6, new Adam(0.01), DataType.DOUBLE), graph);
        for (int i = 0; i < 4; i++) {
            TestNets.fit(net, arch.data(16, 1 + i, DataType.DOUBLE));
        }
        return net;
    }

    /** The output in training mode: what a gradient pass sees (batch statistics, unless folded). */
    static INDArray trainingOutput(Model net, INDArray x) {
        return net instanceof MultiLayerNetwork ? ((MultiLayerNetwork) net).output(x, true)
                : ((ComputationGraph) net).outputSingle(true, x);
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void foldedBatchNormsComputeTheInferenceOutputInTrainingMode(boolean graph) {
        for (TestNets.Arch arch : List.of(TestNets.CONV_BN_CONV, TestNets.DIGITS_CNN)) {
            Model net = trained(arch, graph);
            INDArray x = arch.input(8, 3, DataType.DOUBLE);
            INDArray inference = TestNets.output(net, x);
            assertTrue(trainingOutput(net, x).sub(inference).amaxNumber().doubleValue() > 1e-6,
                    arch + ": batch statistics differ from the running ones (so the test can fail)");
            Map<String, INDArray> folds = new LinkedHashMap<>();
            NetworkAdapter folded = CandidateCopy.foldBatchNorms(NetworkAdapter.of(net), folds);
            assertTrue(!folds.isEmpty(), arch.toString());
            double diff = trainingOutput(folded.model(), x).sub(inference).amaxNumber().doubleValue();
            assertTrue(diff <= 1e-9, arch + ": folded copy vs inference output: " + diff);
        }
    }

    /** With zero split directions and zero new fan-out the over-grown, folded copy is the network at inference. */
    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void theOverGrownCopyWithZeroPerturbationsComputesTheInferenceOutput(boolean graph) {
        Model net = trained(TestNets.DIGITS_CNN, graph);
        INDArray x = TestNets.DIGITS_CNN.input(8, 3, DataType.DOUBLE);
        INDArray inference = TestNets.output(net, x);
        FireflyPlanner p = FireflyPlanner.builder().when(GrowthTrigger.everyIterations(1)).newNeurons(3)
                .initialScales(0.1, 0.0, 0.0).build();
        CandidateCopy c = CandidateCopy.build(p, NetworkAdapter.of(net), List.of("c1", "d"), List.of("c2", "out"),
                org.nd4j.linalg.factory.Nd4j.getRandomFactory().getNewRandomInstance(3));
        c.write(1.0);
        double diff = trainingOutput(c.model(), x).sub(inference).amaxNumber().doubleValue();
        assertTrue(diff <= 1e-9, "over-grown copy vs the network's inference output: " + diff);
    }

    private static double loss(CandidateCopy c, MultiDataSet batch) {
        c.write(1.0);
        NetworkAdapter a = NetworkAdapter.of(c.model());
        a.computeGradient(batch);
        return c.model().score();
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void convGateDerivativesAreTheLossDerivatives(boolean graph) {
        Model net = trained(TestNets.CONV_BN_CONV, graph);
        FireflyPlanner p = FireflyPlanner.builder().when(GrowthTrigger.everyIterations(1)).newNeurons(2).build();
        CandidateCopy c = CandidateCopy.build(p, NetworkAdapter.of(net), List.of("c1"), List.of("c2"),
                org.nd4j.linalg.factory.Nd4j.getRandomFactory().getNewRandomInstance(5));
        MultiDataSet batch = NetworkAdapter.toMulti(TestNets.CONV_BN_CONV.data(8, 9, DataType.DOUBLE));
        for (int step = 0; step < 10; step++) {
            c.train(batch);
        }
        double[][] split = new double[1][];
        double[][] fresh = new double[1][];
        c.gateDerivatives(List.of(batch), 1.0, split, fresh);
        CandidateCopy.Site s = c.sites().get(0);
        assertEquals(0, s.unitAxis);
        assertEquals(1, s.inputAxis);
        double h = 1e-5;
        for (int u = 0; u < s.n; u++) {
            INDArray v = s.v.dup();
            s.v = v.dup();
            s.v.get(NDArrayIndex.point(u), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all()).muli(1 + h);
            double up = loss(c, batch);
            s.v = v.dup();
            s.v.get(NDArrayIndex.point(u), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all()).muli(1 - h);
            double down = loss(c, batch);
            s.v = v;
            double fd = (up - down) / (2 * h);
            assertEquals(fd, split[0][u], 1e-4 * Math.max(Math.abs(fd), 1e-8), "channel split " + u);
        }
        for (int j = 0; j < s.k; j++) {
            INDArray out = s.out.dup();
            s.out = out.dup();
            s.out.get(NDArrayIndex.all(), NDArrayIndex.point(j), NDArrayIndex.all(), NDArrayIndex.all()).muli(1 + h);
            double up = loss(c, batch);
            s.out = out.dup();
            s.out.get(NDArrayIndex.all(), NDArrayIndex.point(j), NDArrayIndex.all(), NDArrayIndex.all()).muli(1 - h);
            double down = loss(c, batch);
            s.out = out;
            double fd = (up - down) / (2 * h);
            assertEquals(fd, fresh[0][j], 1e-4 * Math.max(Math.abs(fd), 1e-8), "new channel " + j);
        }
    }

    /** Conv and dense layers ranked together; the grown CNN keeps training. */
    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void convAndDenseLayersAreScoredTogetherAndGrow(boolean graph) {
        Model net = trained(TestNets.DIGITS_CNN, graph);
        FireflyPlanner p = FireflyPlanner.builder().when(GrowthTrigger.everyIterations(1)).newNeurons(3).steps(10)
                .count(6).build();
        GrowthEvent e = new GrowthListener(GrowthPolicy.builder().planner(p).seed(2).build()).controller()
                .growNow(net, TestNets.DIGITS_CNN.data(32, 5, DataType.DOUBLE)).orElseThrow();
        FireflyDetails d = (FireflyDetails) e.details();
        assertEquals(List.of("c1", "c2", "d"), List.copyOf(d.layers().keySet()), d.toString());
        for (GrowthEvent.LayerGrowth lg : e.layers()) {
            FireflyDetails.Layer r = d.layers().get(lg.layer());
            assertEquals(lg.before() + r.splitUnits().size() + r.newNeurons(), lg.after(), lg.toString());
            assertEquals(lg.after(), NetworkRewrite.width(net, lg.layer()));
        }
        INDArray x = TestNets.DIGITS_CNN.input(8, 3, DataType.DOUBLE);
        assertTrue(Double.isFinite(TestNets.output(net, x).sumNumber().doubleValue()));
        TestNets.fit(net, TestNets.DIGITS_CNN.data(16, 6, DataType.DOUBLE));
        assertTrue(Double.isFinite(net.score()));
    }

    /**
     * What lands in the network is what was trained: folding the grown network's batch norms again
     * gives, for c1's new channels, exactly the trained (folded) fan-in and, in c2 (itself followed by
     * a batch norm), exactly the trained fan-out; for c1's split halves w ± v.
     */
    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void theGrownCnnHoldsTheTrainedCandidatesThroughItsBatchNorms(boolean graph) {
        Model net = trained(TestNets.DIGITS_CNN, graph);
        Map<String, CandidateCopy.Site> sites = new java.util.HashMap<>();
        FireflyPlanner.released = c -> c.sites().forEach(x -> sites.put(x.layer, x));
        GrowthEvent e;
        try {
            FireflyPlanner p = FireflyPlanner.builder().when(GrowthTrigger.everyIterations(1)).layers("c1")
                    .newNeurons(3).steps(10).count(4).build();
            e = new GrowthListener(GrowthPolicy.builder().planner(p).seed(2).build()).controller()
                    .growNow(net, TestNets.DIGITS_CNN.data(32, 5, DataType.DOUBLE)).orElseThrow();
        } finally {
            FireflyPlanner.released = c -> { };
        }
        FireflyDetails.Layer r = ((FireflyDetails) e.details()).layers().get("c1");
        assertTrue(r.newNeurons() + r.splitUnits().size() > 0, r.toString());
        CandidateCopy.Site s = sites.get("c1");
        NetworkAdapter folded = CandidateCopy.foldBatchNorms(NetworkAdapter.of(net), new LinkedHashMap<>());
        INDArray w1 = folded.paramTable("c1").get("W");
        INDArray w2 = folded.paramTable("c2").get("W");
        int n = s.n;
        int firstNew = n + r.splitUnits().size();
        for (int q = 0; q < r.newNeurons(); q++) {
            int cand = r.newCandidates().get(q);
            INDArray trainedIn = s.in.get(NDArrayIndex.point(cand), NDArrayIndex.all(), NDArrayIndex.all(),
                    NDArrayIndex.all());
            INDArray placedIn = w1.get(NDArrayIndex.point(firstNew + q), NDArrayIndex.all(), NDArrayIndex.all(),
                    NDArrayIndex.all());
            assertTrue(placedIn.sub(trainedIn).amaxNumber().doubleValue() < 1e-9, "fan-in of new channel " + q);
            INDArray trainedOut = s.out.get(NDArrayIndex.all(), NDArrayIndex.point(cand), NDArrayIndex.all(),
                    NDArrayIndex.all());
            INDArray placedOut = w2.get(NDArrayIndex.all(), NDArrayIndex.point(firstNew + q), NDArrayIndex.all(),
                    NDArrayIndex.all());
            assertTrue(placedOut.sub(trainedOut).amaxNumber().doubleValue() < 1e-9, "fan-out of new channel " + q);
        }
        for (int i = 0; i < r.splitUnits().size(); i++) {
            int u = r.splitUnits().get(i);
            INDArray w0 = s.w0.get(NDArrayIndex.point(u), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all());
            INDArray v = s.v.get(NDArrayIndex.point(u), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all());
            INDArray plus = w1.get(NDArrayIndex.point(u), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all());
            INDArray minus = w1.get(NDArrayIndex.point(n + i), NDArrayIndex.all(), NDArrayIndex.all(),
                    NDArrayIndex.all());
            assertTrue(plus.sub(w0.add(v)).amaxNumber().doubleValue() < 1e-9, "split " + u + " +v");
            assertTrue(minus.sub(w0.sub(v)).amaxNumber().doubleValue() < 1e-9, "split " + u + " -v");
        }
    }
}
