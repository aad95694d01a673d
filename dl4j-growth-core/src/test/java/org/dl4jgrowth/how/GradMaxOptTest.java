package org.dl4jgrowth.how;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.dl4jgrowth.GrowthJson;
import org.dl4jgrowth.linalg.SvdEngines;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.rewrite.RewriteResult;
import org.dl4jgrowth.signal.GradientStatistic;
import org.dl4jgrowth.testing.TestNets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GradMax-Opt on the network of {@link GradMaxTest} (d1 of 5 units feeding d2 of 4, so G is [6, 4]):
 * output preserved, rows orthogonal at the target norm, objective at GradMax's optimum and above the
 * random start's.
 */
class GradMaxOptTest {
    private static final int OLD = 5;
    private static final int CONSUMER = 4;

    /** The grown network's new fan-out rows, the statistic it was grown with, and the rewrite's notes. */
    private static final class Grown {
        final Model net;
        final INDArray g;
        final INDArray rows;
        final Map<String, Object> notes;
        final double meanOldNorm;

        Grown(Model net, INDArray g, INDArray rows, Map<String, Object> notes, double meanOldNorm) {
            this.net = net;
            this.g = g;
            this.rows = rows;
            this.notes = notes;
            this.meanOldNorm = meanOldNorm;
        }

        double objective() {
            return squaredNorm(g.mmul(rows.transpose()));
        }
    }

    private static Model trained(boolean graph) {
        Model net = TestNets.build(GradMaxTest.NET, TestNets.base(5, new Adam(0.01), DataType.DOUBLE), graph);
        for (int i = 0; i < 3; i++) {
            TestNets.fit(net, GradMaxTest.NET.data(32, i, DataType.DOUBLE));
        }
        return net;
    }

    private static Grown grow(Model original, UnitInitializer init, int k, long seed) {
        Model net = TestNets.copy(original);
        DataSet data = GradMaxTest.NET.data(64, 77, DataType.DOUBLE);
        INDArray g = GradientStatistic.compute(net, "d1", List.of(data));
        double meanOldNorm = TestNets.layer(net, "d2").getParam("W").norm2(1).meanNumber().doubleValue();
        RewriteResult r = NetworkRewrite.of(net).grow("d1", k).initializer(init).seed(seed)
                .statistics(layer -> GradientStatistic.compute(net, layer, List.of(data))).apply();
        INDArray rows = TestNets.layer(net, "d2").getParam("W")
                .get(NDArrayIndex.interval(OLD, OLD + k), NDArrayIndex.all()).dup();
        return new Grown(net, g, rows, r.notes().get("d1"), meanOldNorm);
    }

    private static double squaredNorm(INDArray a) {
        double v = a.norm2Number().doubleValue();
        return v * v;
    }

    /** The constrained optimum: c² times the sum of the top-k squared singular values of G. */
    private static double svdObjective(INDArray g, int k, double c) {
        INDArray s = SvdEngines.named("exact").top(g, k).singularValues();
        return c * c * squaredNorm(s);
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void preservesOutputKeepsNormsAndReachesTheSvdOptimumFromRandom(boolean graph) {
        Model net = trained(graph);
        INDArray x = GradMaxTest.NET.input(16, 3, DataType.DOUBLE);
        INDArray before = TestNets.output(net, x).dup();
        int k = 3;
        Grown opt = grow(net, UnitInitializer.gradMaxOptimized(0.5), k, 11);

        double diff = TestNets.output(opt.net, x).sub(before).amaxNumber().doubleValue();
        assertTrue(diff < 1e-6, "output changed by " + diff);
        INDArray w1 = TestNets.layer(opt.net, "d1").getParam("W");
        assertEquals(0.0, w1.get(NDArrayIndex.all(), NDArrayIndex.interval(OLD, OLD + k)).amaxNumber().doubleValue(),
                0.0, "zero fan-in");

        double c = 0.5 * opt.meanOldNorm;
        INDArray gram = opt.rows.mmul(opt.rows.transpose());
        INDArray expected = Nd4j.eye(k).castTo(DataType.DOUBLE).muli(c * c);
        double off = gram.sub(expected).amaxNumber().doubleValue();
        assertTrue(off < 1e-9 * c * c, "rows must be orthogonal with norm " + c + ": W Wᵀ =\n" + gram);

        double best = svdObjective(opt.g, k, c);
        double reached = opt.objective();
        // Ky Fan: no orthogonal rows of norm c do better than the top-k singular subspace, so a value
        // above it means the orthogonality constraint was not kept (rows collapsing onto one direction).
        assertTrue(reached <= best * (1 + 1e-9), "objective " + reached + " above the constrained optimum " + best);
        assertTrue(reached >= best * (1 - 1e-6), "objective " + reached + " short of GradMax's " + best);
        assertEquals(reached, (double) opt.notes.get("objectiveEnd"), 1e-9 * best);
        assertEquals(GradMaxOptInit.DEFAULT_STEPS, opt.notes.get("steps"));
        assertEquals(0, opt.notes.get("fallbackUnits"));
        assertEquals(c, (double) opt.notes.get("fanOutNorm"), 1e-12);

        // The same seed with no steps: the (projected) random start the ascent began from.
        Grown start = grow(net, UnitInitializer.gradMaxOptimized(0.5).withSteps(0), k, 11);
        double random = start.objective();
        assertEquals(random, (double) opt.notes.get("objectiveStart"), 1e-9 * best, "same seed, same start");
        assertTrue(reached > random * 1.01, "optimised " + reached + " vs random start " + random);
    }

    @Test
    void fromTheSvdStartItStaysAtTheOptimum() {
        Model net = trained(false);
        int k = 2;
        Grown gradMax = grow(net, UnitInitializer.gradMax(0.5), k, 5);
        Grown opt = grow(net, UnitInitializer.gradMaxOptimized(0.5).fromSvd().withSteps(50), k, 5);
        double moved = opt.rows.sub(gradMax.rows).amaxNumber().doubleValue();
        assertTrue(moved < 1e-9, "rows moved by " + moved + " from GradMax's\n" + opt.rows + "\n" + gradMax.rows);
        double start = (double) opt.notes.get("objectiveStart");
        double end = (double) opt.notes.get("objectiveEnd");
        assertEquals(start, end, 1e-9 * start);
        assertEquals(svdObjective(opt.g, k, 0.5 * opt.meanOldNorm), end, 1e-9 * end);
        assertEquals("svd", opt.notes.get("init"));
        assertEquals(2, ((List<?>) opt.notes.get("singularValues")).size());
    }

    @Test
    void moreUnitsThanConsumerDirectionsKeepTheRestRandomAtTheFixedNorm() {
        Model net = trained(false);
        int k = 6;
        Grown opt = grow(net, UnitInitializer.gradMaxOptimized().withFixedNorm(2.5), k, 3);
        INDArray norms = opt.rows.norm2(1);
        for (int i = 0; i < k; i++) {
            assertEquals(2.5, norms.getDouble(i), 1e-9, "row " + i);
        }
        INDArray optimised = opt.rows.get(NDArrayIndex.interval(0, CONSUMER), NDArrayIndex.all());
        INDArray gram = optimised.mmul(optimised.transpose());
        double off = gram.sub(Nd4j.eye(CONSUMER).castTo(DataType.DOUBLE).muli(6.25)).amaxNumber().doubleValue();
        assertTrue(off < 1e-9, "the first " + CONSUMER + " rows are an orthogonal basis:\n" + gram);
        assertEquals(k - CONSUMER, opt.notes.get("fallbackUnits"));
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
                .grow("d1", 2).initializer(UnitInitializer.gradMaxOptimized())
                .statistics(layer -> GradientStatistic.compute(net, layer, List.of(data))).apply());
        assertTrue(e.getMessage().startsWith("gradMaxOptimized: layer 'd1'") && e.getMessage().contains("f'(0)=0")
                && e.getMessage().contains("ActivationGrowthReLU")
                && e.getMessage().contains("gradMaxOptimized().allowingAnyActivation()"), e.getMessage());
        NetworkRewrite.of(net).grow("d1", 2).initializer(UnitInitializer.gradMaxOptimized().allowingAnyActivation())
                .statistics(layer -> GradientStatistic.compute(net, layer, List.of(data))).apply();
        assertEquals(7, NetworkRewrite.width(net, "d1"));
    }

    @Test
    void settingsAreCheckedWithTheValueAndSurviveJson() {
        assertMessage("init must be \"random\" or \"svd\" (got: qr)",
                () -> new GradMaxOptInit("qr", 10, 1, 1, 0, false));
        assertMessage("steps must be 0 or more (got: -3)", () -> UnitInitializer.gradMaxOptimized().withSteps(-3));
        assertMessage("stepSize must be a finite number above 0 (got: -3.0)",
                () -> UnitInitializer.gradMaxOptimized().withStepSize(-3));
        assertMessage("stepSize must be a finite number above 0 (got: NaN)",
                () -> UnitInitializer.gradMaxOptimized().withStepSize(Double.NaN));
        assertMessage("scale must be a finite number above 0 (got: -3.0)", () -> UnitInitializer.gradMaxOptimized(-3));
        assertMessage("fixedNorm must be 0 (unused) or a finite positive number (got: -3.0)",
                () -> UnitInitializer.gradMaxOptimized().withFixedNorm(-3));

        GradMaxOptInit custom = new GradMaxOptInit("svd", 7, 0.25, 0.3, 1.5, true);
        for (GradMaxOptInit init : List.of(UnitInitializer.gradMaxOptimized(), custom)) {
            UnitInitializer back = GrowthJson.fromJson(GrowthJson.toJson(init), UnitInitializer.class);
            assertEquals(init, back);
            assertEquals(init.hashCode(), back.hashCode());
        }
        assertNotEquals(UnitInitializer.gradMaxOptimized(), UnitInitializer.gradMaxOptimized().fromSvd());
        assertNotEquals(UnitInitializer.gradMaxOptimized(), UnitInitializer.gradMaxOptimized().withStepSize(2));
        assertEquals("gradMaxOptimized(init=svd, steps=7, stepSize=0.25, scale=0.3, fixedNorm=1.5, anyActivation)",
                custom.toString());
        assertThrows(IllegalArgumentException.class, () -> GrowthJson.fromJson(
                GrowthJson.toJson(custom).replace("\"svd\"", "\"qr\""), UnitInitializer.class),
                "JSON read back is validated like the constructor");
    }

    private static void assertMessage(String expected, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertEquals("gradMaxOptimized: " + expected, e.getMessage());
    }
}
