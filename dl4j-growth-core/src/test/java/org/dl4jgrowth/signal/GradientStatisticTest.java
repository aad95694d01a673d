package org.dl4jgrowth.signal;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.dl4jgrowth.how.NewUnits;
import org.dl4jgrowth.how.UnitInitializer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.dl4jgrowth.activation.ActivationGrowthReLU;
import org.dl4jgrowth.testing.NetState;
import org.dl4jgrowth.testing.TestNets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * G from the probe units equals a finite-difference estimate computed by hand, outside DL4J: the
 * change of the batch-summed loss when consumer unit j's pre-activation is shifted by ε·h_i.
 */
@org.junit.jupiter.api.extension.ExtendWith(org.dl4jgrowth.testing.DoublePrecision.class)
class GradientStatisticTest {
    /** x(3) -> d1(4, identity) -> d2(3, tanh) -> out(2, softmax, MCXENT); G for growing d1 is [3, 3]. */
    static final TestNets.Arch TINY = new TestNets.Arch("tiny", () -> List.of(
            new DenseLayer.Builder().name("d1").nOut(4).activation(Activation.IDENTITY).build(),
            new DenseLayer.Builder().name("d2").nOut(3).activation(Activation.TANH).build(),
            new OutputLayer.Builder().name("out").nOut(2).activation(Activation.SOFTMAX)
                    .lossFunction(LossFunctions.LossFunction.MCXENT).build()),
            InputType.feedForward(3), new long[]{1, 3}, 2);

    /** Σ_b loss_b with consumer d2's pre-activation z2[:, j] shifted by eps * h[:, i] (h = d1's input = x). */
    private static double shiftedLoss(Model net, DataSet ds, int i, int j, double eps) {
        INDArray x = ds.getFeatures();
        INDArray z1 = x.mmul(w(net, "d1", "W")).addRowVector(w(net, "d1", "b"));
        INDArray z2 = z1.mmul(w(net, "d2", "W")).addRowVector(w(net, "d2", "b"));
        z2.getColumn(j).addi(x.getColumn(i).mul(eps));
        INDArray a2 = Transforms.tanh(z2, true);
        INDArray z3 = a2.mmul(w(net, "out", "W")).addRowVector(w(net, "out", "b"));
        INDArray p = Transforms.softmax(z3, true);
        return -Transforms.log(p, true).mul(ds.getLabels()).sumNumber().doubleValue();
    }

    private static INDArray w(Model net, String layer, String key) {
        INDArray a = TestNets.layer(net, layer).getParam(key);
        return "b".equals(key) ? a.reshape(a.length()) : a;
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void matchesFiniteDifferencesOfTheBatchSummedLoss(boolean graph) {
        Model net = TestNets.build(TINY, TestNets.base(3, new Sgd(0.1), DataType.DOUBLE), graph);
        DataSet a = TINY.data(5, 11, DataType.DOUBLE);
        DataSet b = TINY.data(4, 12, DataType.DOUBLE);
        // The hand-written forward pass is the network's: same summed loss.
        double score = net instanceof org.deeplearning4j.nn.multilayer.MultiLayerNetwork
                ? ((org.deeplearning4j.nn.multilayer.MultiLayerNetwork) net).score(a)
                : ((org.deeplearning4j.nn.graph.ComputationGraph) net).score(a);
        assertEquals(shiftedLoss(net, a, 0, 0, 0), score * 5, 1e-9);

        NetState before = NetState.of(net);
        INDArray g = GradientStatistic.compute(net, "d1", List.of(a, b));
        assertArrayEquals(new long[]{3, 3}, g.shape());
        assertArrayEquals(before.params, NetState.of(net).params, "the user's network is untouched");
        assertEquals(before.json, NetState.of(net).json);

        double eps = 1e-6;
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                double fd = 0;
                for (DataSet ds : List.of(a, b)) {
                    fd += (shiftedLoss(net, ds, i, j, eps) - shiftedLoss(net, ds, i, j, -eps)) / (2 * eps);
                }
                assertEquals(fd, g.getDouble(i, j), 1e-6 * Math.max(1, Math.abs(fd)), "G[" + i + "," + j + "]");
            }
        }
        assertTrue(g.norm2Number().doubleValue() > 1e-3, "a non-trivial statistic");
    }

    @Test
    void plainReluAndGrowthReluGiveTheSameStatistic() {
        TestNets.Arch relu = new TestNets.Arch("relu", () -> List.of(
                new DenseLayer.Builder().name("d1").nOut(4).activation(Activation.RELU).build(),
                new OutputLayer.Builder().name("out").nOut(2).activation(Activation.SOFTMAX).build()),
                InputType.feedForward(3), new long[]{1, 3}, 2);
        TestNets.Arch growth = new TestNets.Arch("growth relu", () -> List.of(
                new DenseLayer.Builder().name("d1").nOut(4).activation(new ActivationGrowthReLU()).build(),
                new OutputLayer.Builder().name("out").nOut(2).activation(Activation.SOFTMAX).build()),
                InputType.feedForward(3), new long[]{1, 3}, 2);
        Model r = TestNets.build(relu, TestNets.base(3, new Sgd(0.1), DataType.DOUBLE), false);
        Model gr = TestNets.build(growth, TestNets.base(3, new Sgd(0.1), DataType.DOUBLE), false);
        gr.setParams(r.params().dup());
        DataSet ds = relu.data(6, 1, DataType.DOUBLE);
        INDArray a = GradientStatistic.compute(r, "d1", List.of(ds));
        INDArray b = GradientStatistic.compute(gr, "d1", List.of(ds));
        assertEquals(b, a);
        assertTrue(a.norm2Number().doubleValue() > 0);
    }

    @Test
    void unsupportedSitesAreRefused() {
        Model flat = TestNets.build(TestNets.CONV_POOL_DENSE, TestNets.base(3, new Sgd(0.1), DataType.DOUBLE), false);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GradientStatistic.compute(flat,
                "c1", List.of(TestNets.CONV_POOL_DENSE.data(4, 1, DataType.DOUBLE))));
        assertTrue(e.getMessage().contains("'c1'") && e.getMessage().contains("flatten"), e.getMessage());
        Model sig = TestNets.build(new TestNets.Arch("sigmoid", () -> List.of(
                new DenseLayer.Builder().name("d1").nOut(4).activation(Activation.SIGMOID).build(),
                new OutputLayer.Builder().name("out").nOut(2).activation(Activation.SOFTMAX).build()),
                InputType.feedForward(3), new long[]{1, 3}, 2), TestNets.base(3, new Sgd(0.1), DataType.DOUBLE), false);
        e = assertThrows(IllegalArgumentException.class, () -> GradientStatistic.compute(sig, "d1",
                List.of(TINY.data(4, 1, DataType.DOUBLE))));
        assertTrue(e.getMessage().contains("f(0)=0.5"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> GradientStatistic.compute(sig, "d1", List.of()));
    }

    /** in(2, 5x5) -> c1(3, 2x2, identity) -> c2(2, 2x2, tanh) -> global average -> out(2 softmax). */
    static final TestNets.Arch TINY_CONV = new TestNets.Arch("tiny conv", () -> List.of(
            new ConvolutionLayer.Builder(2, 2).name("c1").nOut(3).activation(Activation.IDENTITY).build(),
            new ConvolutionLayer.Builder(2, 2).name("c2").nOut(2).activation(Activation.TANH).build(),
            new GlobalPoolingLayer.Builder(PoolingType.AVG).name("gp").build(),
            new OutputLayer.Builder().name("out").nOut(2).activation(Activation.SOFTMAX)
                    .lossFunction(LossFunctions.LossFunction.MCXENT).build()),
            InputType.convolutional(5, 5, 2), new long[]{1, 2, 5, 5}, 2);

    /** Sets the one new channel's fan-out kernel to basis element p (c-order over [nOut, kH, kW]). */
    static final class Basis implements UnitInitializer {
        final int p;

        Basis(int p) {
            this.p = p;
        }

        @Override
        public void initialize(NewUnits units) {
            INDArray out = units.fanOut().get(0).weights();            // [2, 1, 2, 2]
            INDArray flat = Nd4j.zeros(out.dataType(), out.size(0) * out.size(2) * out.size(3));
            flat.putScalar(p, 1.0);
            out.assign(flat.reshape('c', out.size(0), 1, out.size(2), out.size(3)));
        }
    }

    /**
     * Column p of the conv statistic by finite differences of forward passes alone: add a channel
     * whose fan-out kernel is basis element p, then perturb each entry of its fan-in kernel.
     */
    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void convolutionStatisticMatchesFiniteDifferences(boolean graph) {
        Model net = TestNets.build(TINY_CONV, TestNets.base(3, new Sgd(0.1), DataType.DOUBLE), graph);
        DataSet ds = TINY_CONV.data(6, 21, DataType.DOUBLE);
        INDArray g = GradientStatistic.compute(net, "c1", List.of(ds));
        assertArrayEquals(new long[]{2 * 2 * 2, 2 * 2 * 2}, g.shape(), "[nIn*kH*kW, nOut'*kH'*kW']");
        double eps = 1e-6;
        int n = ds.numExamples();
        for (int p = 0; p < 8; p++) {
            Model grown = org.dl4jgrowth.testing.TestNets.copy(net);
            org.dl4jgrowth.rewrite.NetworkRewrite.of(grown).grow("c1", 1).initializer(new Basis(p)).apply();
            INDArray w = TestNets.layer(grown, "c1").getParam("W");          // [4, 2, 2, 2]; channel 3 is new
            for (int q = 0; q < 8; q++) {
                int i = q / 4;
                int a = (q / 2) % 2;
                int b = q % 2;
                w.putScalar(new long[]{3, i, a, b}, eps);
                double plus = score(grown, ds) * n;
                w.putScalar(new long[]{3, i, a, b}, -eps);
                double minus = score(grown, ds) * n;
                w.putScalar(new long[]{3, i, a, b}, 0.0);
                double fd = (plus - minus) / (2 * eps);
                assertEquals(fd, g.getDouble(q, p), 1e-6 * Math.max(1, Math.abs(fd)), "M[" + q + "," + p + "]");
            }
        }
        assertTrue(g.norm2Number().doubleValue() > 1e-3, "a non-trivial statistic");
    }

    private static double score(Model net, DataSet ds) {
        return net instanceof org.deeplearning4j.nn.multilayer.MultiLayerNetwork
                ? ((org.deeplearning4j.nn.multilayer.MultiLayerNetwork) net).score(ds)
                : ((org.deeplearning4j.nn.graph.ComputationGraph) net).score(ds);
    }
}
