package org.dl4jgrowth.rewrite;

import org.deeplearning4j.nn.api.Model;
import org.dl4jgrowth.how.NewUnits;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.testing.TestNets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Everything shaped like a parameter follows a unit map: a registered companion array through a
 * widening, a split, a narrowing and a re-ordering, element by element, on both network types; and
 * a split whose halves carry a fan-in perturbation gets w + δ and w - δ, which changes a tanh
 * network's output only to second order in δ.
 */
class CompanionAndPerturbationTest {
    private static final double FRESH = -7.0;

    static Stream<Arguments> maps() {
        List<Arguments> a = new ArrayList<>();
        for (boolean graph : new boolean[]{false, true}) {
            a.add(Arguments.of("widen", UnitMap.widen(6, 9), graph));
            a.add(Arguments.of("split", UnitMap.split(6, 1, 4), graph));
            a.add(Arguments.of("narrow", UnitMap.drop(6, 0, 3), graph));
            a.add(Arguments.of("reorder", UnitMap.builder(6).copy(5).fresh(1).copy(2).copy(0).copy(0, 0.5).build(),
                    graph));
        }
        return a.stream();
    }

    @ParameterizedTest(name = "{0}, graph={2}")
    @MethodSource("maps")
    void aRegisteredArrayFollowsTheUnitMapElementByElement(String name, UnitMap map, boolean graph) {
        Model net = TestNets.build(TestNets.DENSE_DENSE, TestNets.base(1, new Adam(0.01), DataType.DOUBLE), graph);
        // Distinct values per cell, so any misplaced element shows.
        INDArray own = Nd4j.linspace(1, 24, 24, DataType.DOUBLE).reshape('f', 4, 6);     // d1.W [4, 6]
        INDArray bias = Nd4j.linspace(101, 106, 6, DataType.DOUBLE);                      // d1.b [6]
        INDArray next = Nd4j.linspace(201, 230, 30, DataType.DOUBLE).reshape('f', 6, 5);  // d2.W [6, 5]
        INDArray untouched = Nd4j.linspace(301, 315, 15, DataType.DOUBLE).reshape('f', 5, 3); // out.W [5, 3]
        CompanionArrays reg = new CompanionArrays()
                .register("own", "d1", "W", own.dup('f'), FRESH)
                .register("bias", "d1", "b", bias.dup(), FRESH)
                .register("next", "d2", "W", next.dup('f'), FRESH)
                .register("untouched", "out", "W", untouched.dup('f'), FRESH);
        NetworkRewrite.of(net).unitMap("d1", map).companions(reg).seed(3).apply();

        INDArray o = reg.get("own");
        INDArray b = reg.get("bias");
        INDArray n = reg.get("next");
        assertArrayEquals(new long[]{4, map.newWidth()}, o.shape());
        assertArrayEquals(new long[]{map.newWidth(), 5}, n.shape());
        for (int j = 0; j < map.newWidth(); j++) {
            int src = map.source(j);
            for (int i = 0; i < 4; i++) {
                assertEquals(src == UnitMap.FRESH ? FRESH : own.getDouble(i, src), o.getDouble(i, j), name + " own");
            }
            assertEquals(src == UnitMap.FRESH ? FRESH : bias.getDouble(src), b.getDouble(j), name + " bias");
            for (int c = 0; c < 5; c++) {
                assertEquals(src == UnitMap.FRESH ? FRESH : next.getDouble(src, c), n.getDouble(j, c), name + " next");
            }
        }
        assertEquals(untouched, reg.get("untouched"), "a layer the map does not touch keeps its array");
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void aMisshapenCompanionIsRefusedAndTheNetworkIsUnchanged(boolean graph) {
        Model net = TestNets.build(TestNets.DENSE_DENSE, TestNets.base(1, new Adam(0.01), DataType.DOUBLE), graph);
        INDArray before = net.params().dup();
        CompanionArrays reg = new CompanionArrays().register("mask", "d1", "W", Nd4j.ones(DataType.DOUBLE, 6, 4), 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NetworkRewrite.of(net).grow("d1", 1).companions(reg).apply());
        assertTrue(e.getMessage().contains("'mask'") && e.getMessage().contains("[6, 4]")
                && e.getMessage().contains("[4, 6]"), e.getMessage());
        assertEquals(before, net.params());
    }

    /** δ = eps times a fixed pattern, so the output change can be measured against eps. */
    static final class FixedPerturbation implements UnitInitializer {
        private static final long serialVersionUID = 1L;
        final double eps;

        FixedPerturbation(double eps) {
            this.eps = eps;
        }

        @Override
        public void initialize(NewUnits units) {
            units.fanIn().zero();
        }

        @Override
        public void perturb(NewUnits units) {
            INDArray d = units.perturbation().weights();
            d.assign(Nd4j.linspace(1, d.length(), d.length(), d.dataType()).reshape(d.ordering(), d.shape())
                    .subi(d.length() / 2.0).muli(eps / d.length()));
        }
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void aPerturbedSplitGivesHalvesWPlusAndMinusDeltaAndChangesTheOutputToSecondOrder(boolean graph) {
        INDArray x = TestNets.DENSE_DENSE.input(16, 9, DataType.DOUBLE);
        double[] change = new double[2];
        for (int k = 0; k < 2; k++) {
            double eps = k == 0 ? 0.2 : 0.1;
            Model net = TestNets.build(TestNets.DENSE_DENSE, TestNets.base(1, new Adam(0.01), DataType.DOUBLE), graph);
            INDArray w = TestNets.layer(net, "d1").getParam("W").dup();
            INDArray out = TestNets.output(net, x).dup();
            UnitMap map = UnitMap.splitPerturbed(6, 1, 4);
            assertEquals(1, map.perturbation(1));
            assertEquals(-1, map.perturbation(7));
            NetworkRewrite.of(net).unitMap("d1", map).initializer(new FixedPerturbation(eps)).apply();
            INDArray grown = TestNets.layer(net, "d1").getParam("W");
            for (int[] pair : new int[][]{{1, 6}, {4, 7}}) {
                INDArray plus = grown.get(NDArrayIndex.all(), NDArrayIndex.point(pair[0]));
                INDArray minus = grown.get(NDArrayIndex.all(), NDArrayIndex.point(pair[1]));
                INDArray orig = w.get(NDArrayIndex.all(), NDArrayIndex.point(pair[0]));
                INDArray delta = plus.sub(orig);
                assertTrue(delta.norm2Number().doubleValue() > 0, "a perturbation was applied");
                assertTrue(minus.sub(orig.sub(delta)).amaxNumber().doubleValue() < 1e-12, "halves are w + d and w - d");
            }
            for (int u : new int[]{0, 2, 3, 5}) {
                assertEquals(w.getColumn(u), grown.getColumn(u), "unsplit units are unchanged");
            }
            change[k] = TestNets.output(net, x).sub(out).norm2Number().doubleValue();
        }
        assertTrue(change[0] > 0, "the output changes a little");
        double ratio = change[0] / change[1];
        assertTrue(ratio > 3.2 && ratio < 4.8, "halving delta quarters the change (second order): " + ratio
                + " from " + change[0] + " and " + change[1]);
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void theDefaultPerturbationIsSmallAndOfOppositeSignsInTheHalves(boolean graph) {
        Model net = TestNets.build(TestNets.DENSE_DENSE, TestNets.base(1, new Adam(0.01), DataType.DOUBLE), graph);
        INDArray w = TestNets.layer(net, "d1").getParam("W").dup();
        INDArray x = TestNets.DENSE_DENSE.input(16, 9, DataType.DOUBLE);
        INDArray out = TestNets.output(net, x).dup();
        NetworkRewrite.of(net).unitMap("d1", UnitMap.splitPerturbed(6, 2)).seed(5).apply();
        INDArray grown = TestNets.layer(net, "d1").getParam("W");
        INDArray delta = grown.getColumn(2).sub(w.getColumn(2));
        double ratio = delta.norm2Number().doubleValue() / w.getColumn(2).norm2Number().doubleValue();
        assertTrue(ratio > 1e-4 && ratio < 0.1, "the layer's weight init times 1e-2: |d|/|w| = " + ratio);
        assertTrue(grown.getColumn(6).sub(w.getColumn(2).sub(delta)).amaxNumber().doubleValue() < 1e-12,
                "the appended half is w - d");
        double change = TestNets.output(net, x).sub(out).amaxNumber().doubleValue();
        assertTrue(change < 1e-3, "the output barely moves: " + change);
    }
}
