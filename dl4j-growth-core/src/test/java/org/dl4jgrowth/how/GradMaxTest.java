package org.dl4jgrowth.how;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.activation.ActivationGrowthReLU;
import org.dl4jgrowth.data.Digits;
import org.dl4jgrowth.linalg.SvdEngines;
import org.dl4jgrowth.linalg.TopSvd;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.rewrite.RewriteResult;
import org.dl4jgrowth.signal.GradientStatistic;
import org.dl4jgrowth.testing.TestNets;
import org.dl4jgrowth.when.GrowthTrigger;
import org.dl4jgrowth.where.GrowthAmount;
import org.dl4jgrowth.where.SiteSelector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** GradMax on real networks: output preserved, fan-out in G's top right singular subspace, norms as set. */
class GradMaxTest {

    /** x(6) -> d1(5, growth ReLU) -> d2(4, tanh) -> out(3 softmax). */
    static final TestNets.Arch NET = new TestNets.Arch("gradmax net", () -> List.of(
            new DenseLayer.Builder().name("d1").nOut(5).activation(new ActivationGrowthReLU()).build(),
            new DenseLayer.Builder().name("d2").nOut(4).activation(Activation.TANH).build(),
            new OutputLayer.Builder().name("out").nOut(3).activation(Activation.SOFTMAX).build()),
            InputType.feedForward(6), new long[]{1, 6}, 3);

    private static Model trained(boolean graph) {
        Model net = TestNets.build(NET, TestNets.base(5, new Adam(0.01), DataType.DOUBLE), graph);
        for (int i = 0; i < 3; i++) {
            TestNets.fit(net, NET.data(32, i, DataType.DOUBLE));
        }
        return net;
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void preservesOutputAndPutsFanOutInTheTopSingularSubspace(boolean graph) {
        Model net = trained(graph);
        DataSet data = NET.data(64, 77, DataType.DOUBLE);
        INDArray g = GradientStatistic.compute(net, "d1", List.of(data));
        INDArray oldConsumerW = TestNets.layer(net, "d2").getParam("W").dup();
        double meanOldNorm = oldConsumerW.norm2(1).meanNumber().doubleValue();
        INDArray x = NET.input(16, 3, DataType.DOUBLE);
        INDArray before = TestNets.output(net, x).dup();

        RewriteResult r = NetworkRewrite.of(net).grow("d1", 2).initializer(UnitInitializer.gradMax(0.5))
                .statistics(layer -> GradientStatistic.compute(net, layer, List.of(data))).apply();

        double diff = TestNets.output(net, x).sub(before).amaxNumber().doubleValue();
        assertTrue(diff < 1e-6, "output changed by " + diff);
        INDArray w1 = TestNets.layer(net, "d1").getParam("W");
        assertEquals(0.0, w1.get(NDArrayIndex.all(), NDArrayIndex.interval(5, 7)).amaxNumber().doubleValue(), 0.0,
                "zero fan-in");
        INDArray rows = TestNets.layer(net, "d2").getParam("W").get(NDArrayIndex.interval(5, 7), NDArrayIndex.all());

        TopSvd svd = SvdEngines.named("exact").top(g, 2);
        INDArray v = svd.right();                                  // [4, 2]
        for (int i = 0; i < 2; i++) {
            INDArray row = rows.getRow(i).reshape(1, 4);
            double norm = row.norm2Number().doubleValue();
            assertEquals(0.5 * meanOldNorm, norm, 1e-9, "scaled to 0.5 x mean existing fan-out norm");
            double inSubspace = row.mmul(v).norm2Number().doubleValue();
            assertEquals(norm, inSubspace, 1e-9, "row " + i + " lies in the top-2 right singular subspace");
            // ordered by singular value: row i is parallel to singular vector i
            double cos = Math.abs(row.mmul(v.getColumn(i).reshape(4, 1)).getDouble(0)) / norm;
            assertEquals(1.0, cos, 1e-9);
        }
        assertEquals(0, r.notes().get("d1").get("fallbackUnits"));
        assertEquals(2, ((List<?>) r.notes().get("d1").get("singularValues")).size());
    }

    @Test
    void fixedNormAndFallbackBeyondTheRank() {
        Model net = trained(false);
        DataSet data = NET.data(64, 78, DataType.DOUBLE);
        // d2 has 4 units, so G is [6, 4]: at most 4 directions; ask for 6.
        RewriteResult r = NetworkRewrite.of(net).grow("d1", 6).initializer(new GradMaxInit(1.0, 2.5, false))
                .statistics(layer -> GradientStatistic.compute(net, layer, List.of(data))).seed(3).apply();
        INDArray rows = TestNets.layer(net, "d2").getParam("W").get(NDArrayIndex.interval(5, 11), NDArrayIndex.all());
        INDArray norms = rows.norm2(1);
        for (int i = 0; i < 6; i++) {
            assertEquals(2.5, norms.getDouble(i), 1e-9, "fixed norm for every new unit, fallback ones too");
        }
        assertEquals(2, r.notes().get("d1").get("fallbackUnits"));
    }

    @Test
    void refusesActivationsThatBreakGradMaxUnlessAllowed() {
        TestNets.Arch relu = new TestNets.Arch("relu", () -> List.of(
                new DenseLayer.Builder().name("d1").nOut(5).activation(Activation.RELU).build(),
                new OutputLayer.Builder().name("out").nOut(3).activation(Activation.SOFTMAX).build()),
                InputType.feedForward(6), new long[]{1, 6}, 3);
        Model net = TestNets.build(relu, TestNets.base(5, new Adam(0.01), DataType.DOUBLE), false);
        DataSet data = relu.data(16, 1, DataType.DOUBLE);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NetworkRewrite.of(net)
                .grow("d1", 2).initializer(UnitInitializer.gradMax())
                .statistics(layer -> GradientStatistic.compute(net, layer, List.of(data))).apply());
        assertTrue(e.getMessage().contains("'d1'") && e.getMessage().contains("f'(0)=0")
                && e.getMessage().contains("ActivationGrowthReLU"), e.getMessage());
        assertEquals(5, NetworkRewrite.width(net, "d1"), "nothing changed");
        NetworkRewrite.of(net).grow("d1", 2).initializer(UnitInitializer.gradMax().allowingAnyActivation())
                .statistics(layer -> GradientStatistic.compute(net, layer, List.of(data))).apply();
        assertEquals(7, NetworkRewrite.width(net, "d1"));
    }

    @Test
    void settingsAreCheckedAndSurviveJson() {
        assertThrows(IllegalArgumentException.class, () -> UnitInitializer.gradMax(0));
        assertThrows(IllegalArgumentException.class, () -> new GradMaxInit(1, -1, false));
        GradMaxInit g = new GradMaxInit(0.3, 0.0, true);
        assertEquals(g, org.dl4jgrowth.GrowthJson.fromJson(org.dl4jgrowth.GrowthJson.toJson(g), UnitInitializer.class));
        UnitInitializer rf = UnitInitializer.randomFanOut(2.0);
        assertEquals(rf, org.dl4jgrowth.GrowthJson.fromJson(org.dl4jgrowth.GrowthJson.toJson(rf), UnitInitializer.class));
    }

    @Test
    void growsThroughTheListenerDuringFitAndNewFanInLearns() {
        Digits.Split split = Digits.split(DataType.FLOAT, 0.8, 9);
        Model net = TestNets.build(TestNets.DIGITS_MLP, TestNets.base(9, new Adam(0.01), DataType.FLOAT), false);
        GrowthListener growth = GrowthListener.builder().policy(GrowthPolicy.builder()
                        .when(GrowthTrigger.atIterations(20)).where(SiteSelector.layers("h1"))
                        .howMuch(GrowthAmount.add(4)).initializer(UnitInitializer.gradMax()).seed(1).build())
                .growthData(Digits.iterator(split.train(), 128), 2).build();
        net.setListeners(growth);
        ((MultiLayerNetwork) net).fit(Digits.iterator(split.train(), 64), 3);

        GrowthEvent e = growth.history().events().get(0);
        assertEquals(UnitInitializer.gradMax(), e.initializer());
        assertTrue(e.notes().get("h1").containsKey("singularValues"), e.toString());
        assertEquals("CPU", e.backend(), "the tests run on ND4J's CPU backend");
        assertEquals("exact", e.svdEngine(), "the default engine: " + e);
        INDArray newFanIn = TestNets.layer(net, "h1").getParam("W").get(NDArrayIndex.all(), NDArrayIndex.interval(4, 8));
        assertTrue(newFanIn.norm2Number().doubleValue() > 1e-3, "the new units' fan-in moved away from zero");
    }
}
