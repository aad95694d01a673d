package org.dl4jgrowth.rewrite;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.dl4jgrowth.testing.NetState;
import org.dl4jgrowth.testing.TestNets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.AMSGrad;
import org.nd4j.linalg.learning.config.AdaDelta;
import org.nd4j.linalg.learning.config.AdaGrad;
import org.nd4j.linalg.learning.config.AdaMax;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.Nadam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.learning.config.RmsProp;

import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Optimizer state follows each parameter through a rewrite, on a network whose updater blocks span
 * layers: Adam or RMSProp on weights, Nesterovs on biases, NoOp on the batch-norm statistics.
 */
class UpdaterStateTest {

    static Stream<Arguments> cases() {
        return Stream.of(new Adam(0.01), new RmsProp(0.01)).flatMap(u -> Stream.of(
                Arguments.of(u, false), Arguments.of(u, true)));
    }

    /** Every stateful updater DL4J offers, on the direct per-parameter comparison. */
    static Stream<Arguments> allUpdaters() {
        return Stream.of(new Adam(0.01), new AdaMax(0.01), new Nadam(0.01), new AMSGrad(0.01),
                new Nesterovs(0.01, 0.9), new RmsProp(0.01), new AdaGrad(0.05), new AdaDelta())
                .flatMap(u -> Stream.of(Arguments.of(u, false), Arguments.of(u, true)));
    }

    private static Model trainedNet(IUpdater updater, boolean graph) {
        Model net = TestNets.build(TestNets.DENSE_BN_DENSE_NO_DROPOUT,
                TestNets.base(7, updater, DataType.DOUBLE).biasUpdater(new Nesterovs(0.02, 0.9)), graph);
        for (int i = 0; i < 4; i++) {
            TestNets.fit(net, TestNets.DENSE_BN_DENSE_NO_DROPOUT.data(16, i, DataType.DOUBLE));
        }
        return net;
    }

    /** What a fresh parameter's state starts at for this updater. */
    private static double freshValue(IUpdater u) {
        if (u instanceof RmsProp) {
            return ((RmsProp) u).getEpsilon();
        }
        return u instanceof AdaGrad ? ((AdaGrad) u).getEpsilon() : 0.0;
    }

    @ParameterizedTest(name = "{0} graph={1}")
    @MethodSource("allUpdaters")
    void keptUnitsKeepStateAndFreshUnitsStartFresh(IUpdater updater, boolean graph) {
        Model net = trainedNet(updater, graph);
        assertTrue(NetState.updater(net).getUpdaterBlocks().size() >= 3, "several updater blocks");
        Map<String, List<INDArray>> before = NetState.stateByParam(net);
        NetState counts = NetState.of(net);

        NetworkRewrite.of(net).grow("d1", 3).apply();   // 6 -> 9 units

        Map<String, List<INDArray>> after = NetState.stateByParam(net);
        assertEquals(before.keySet(), after.keySet());
        double fresh = freshValue(updater);
        for (String key : before.keySet()) {
            List<INDArray> old = before.get(key);
            List<INDArray> now = after.get(key);
            assertEquals(old.size(), now.size(), key);
            for (int c = 0; c < old.size(); c++) {
                INDArray o = old.get(c);
                INDArray n = now.get(c);
                String what = key + " component " + c;
                if (key.equals("d1/W") || key.equals("d2/W")) {
                    boolean columns = key.equals("d1/W");
                    INDArray kept = columns ? n.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 6))
                            : n.get(NDArrayIndex.interval(0, 6), NDArrayIndex.all());
                    INDArray added = columns ? n.get(NDArrayIndex.all(), NDArrayIndex.interval(6, 9))
                            : n.get(NDArrayIndex.interval(6, 9), NDArrayIndex.all());
                    assertExact(o, kept, what);
                    assertAll(added, fresh, what);
                } else if (key.startsWith("d1/") || key.startsWith("bn1/")) {
                    INDArray flatN = n.reshape(n.length());
                    assertExact(o.reshape(o.length()), flatN.get(NDArrayIndex.interval(0, 6)), what);
                    double expected = key.endsWith("/b") ? 0.0 : fresh; // biases use Nesterovs: zeros
                    assertAll(flatN.get(NDArrayIndex.interval(6, 9)), expected, what);
                } else {
                    assertExact(o, n, what);
                }
            }
        }
        NetState now = NetState.of(net);
        assertEquals(counts.iterations, now.iterations);
        assertEquals(counts.epochs, now.epochs);
    }

    /**
     * Behaviour, not bookkeeping: after a function-preserving growth, one more step changes the old
     * parameters exactly as it does in an untouched copy, which holds only if their state was kept.
     */
    @ParameterizedTest(name = "{0} graph={1}")
    @MethodSource("cases")
    void nextStepOfOldParametersMatchesUngrownCopy(IUpdater updater, boolean graph) {
        Model net = trainedNet(updater, graph);
        Model copy = TestNets.copy(net);
        assertExact(NetState.updater(net).getStateViewArray(), NetState.updater(copy).getStateViewArray(), "clone");
        long iterations = TestNets.iterationCount(net);

        NetworkRewrite.of(net).grow("d1", 3).apply();
        assertEquals(iterations, TestNets.iterationCount(net));
        DataSet ds = TestNets.DENSE_BN_DENSE_NO_DROPOUT.data(16, 100, DataType.DOUBLE);
        org.nd4j.linalg.factory.Nd4j.getRandom().setSeed(5);
        TestNets.fit(net, ds);
        org.nd4j.linalg.factory.Nd4j.getRandom().setSeed(5);
        TestNets.fit(copy, ds);

        for (String layer : new String[]{"d1", "bn1", "d2", "out"}) {
            for (Map.Entry<String, INDArray> e : TestNets.layer(copy, layer).paramTable(false).entrySet()) {
                INDArray grown = TestNets.layer(net, layer).getParam(e.getKey());
                INDArray ref = e.getValue();
                INDArray oldPart = ref.rank() == 2 && layer.equals("d2") && e.getKey().equals("W")
                        ? grown.get(NDArrayIndex.interval(0, 6), NDArrayIndex.all())
                        : layer.equals("d1") || layer.equals("bn1")
                        ? (e.getKey().equals("W") ? grown.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 6))
                        : grown.reshape(grown.length()).get(NDArrayIndex.interval(0, 6)))
                        : grown;
                double diff = oldPart.reshape(ref.shape()).sub(ref).amaxNumber().doubleValue();
                assertTrue(diff < 1e-10, layer + "/" + e.getKey() + " differs by " + diff);
            }
        }
    }

    static void assertExact(INDArray expected, INDArray actual, String what) {
        assertEquals(expected.length(), actual.length(), what + " length");
        double[] e = expected.dup().ravel().toDoubleVector();
        double[] a = actual.dup().ravel().toDoubleVector();
        for (int i = 0; i < e.length; i++) {
            if (Double.doubleToLongBits(e[i]) != Double.doubleToLongBits(a[i])) {
                throw new AssertionError(what + ": element " + i + " was " + e[i] + ", now " + a[i]);
            }
        }
    }

    static void assertAll(INDArray arr, double value, String what) {
        for (double v : arr.dup().ravel().toDoubleVector()) {
            assertEquals(value, v, 0.0, what + " fresh slot");
        }
    }
}
