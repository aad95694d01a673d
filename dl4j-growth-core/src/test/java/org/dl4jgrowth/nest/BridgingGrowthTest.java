package org.dl4jgrowth.nest;

import org.deeplearning4j.datasets.iterator.ExistingDataSetIterator;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.deeplearning4j.optimize.listeners.CollectScoresListener;
import org.deeplearning4j.optimize.listeners.ScoreIterationListener;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.activation.ActivationGrowthReLU;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.testing.TestNets;
import org.dl4jgrowth.when.GrowthTrigger;
import org.dl4jgrowth.where.GrowthAmount;
import org.dl4jgrowth.where.SiteSelector;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * NeST's neuron growth by the bridging gradient: on a tiny DOUBLE network the new neurons' single
 * fan-in and fan-out weights match a hand computation of B = xᵀ(ŷ − y) (MSE, identity output; the
 * loss's positive factor cancels in the birth-strength rescaling) to 1e-12; inside {@code fit()} on
 * both network types, with DL4J listeners, each new neuron bridges one pair and training goes on.
 */
class BridgingGrowthTest {
    private static final double ALPHA = 0.7;

    private static Model tiny(boolean graph) {
        NeuralNetConfiguration.Builder base = new NeuralNetConfiguration.Builder().seed(5).dataType(DataType.DOUBLE)
                .updater(new Sgd(0.1));
        DenseLayer h = new DenseLayer.Builder().name("h").nIn(3).nOut(2).activation(new ActivationGrowthReLU()).build();
        OutputLayer out = new OutputLayer.Builder(LossFunctions.LossFunction.MSE).name("out").nIn(2).nOut(2)
                .activation(Activation.IDENTITY).build();
        if (graph) {
            ComputationGraph g = new ComputationGraph(base.graphBuilder().addInputs("in").addLayer("h", h, "in")
                    .addLayer("out", out, "h").setOutputs("out").setInputTypes(InputType.feedForward(3)).build());
            g.init();
            return g;
        }
        MultiLayerNetwork n = new MultiLayerNetwork(base.list().layer(h).layer(out)
                .setInputType(InputType.feedForward(3)).build());
        n.init();
        return n;
    }

    private static double meanAbsNonZero(INDArray w) {
        double s = 0;
        int n = 0;
        for (double v : w.dup('c').reshape(w.length()).toDoubleVector()) {
            if (v != 0) {
                s += Math.abs(v);
                n++;
            }
        }
        return s / n;
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void newNeuronsMatchAHandComputationOfTheBridgingGradient(boolean graph) {
        Model net = tiny(graph);
        Nd4j.getRandom().setSeed(12);
        INDArray x = Nd4j.randn(DataType.DOUBLE, 5, 3);
        INDArray y = Nd4j.randn(DataType.DOUBLE, 5, 2);
        INDArray wh = TestNets.layer(net, "h").getParam("W").dup();
        INDArray wout = TestNets.layer(net, "out").getParam("W").dup();
        INDArray yHat = TestNets.output(net, x);
        // B = Σ_n x_n δ_nᵀ with δ ∝ ŷ − y for MSE on an identity output.
        double[][] b = x.transpose().mmul(yHat.sub(y)).toDoubleMatrix();
        List<int[]> pairs = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 2; j++) {
                pairs.add(new int[]{i, j});
            }
        }
        pairs.sort((p, q) -> Double.compare(Math.abs(b[q[0]][q[1]]), Math.abs(b[p[0]][p[1]])));
        int k = 2;
        double meanRoot = 0;
        for (int m = 0; m < k; m++) {
            meanRoot += Math.sqrt(Math.abs(b[pairs.get(m)[0]][pairs.get(m)[1]])) / k;
        }

        GrowthListener growth = new GrowthListener(GrowthPolicy.builder().when(GrowthTrigger.everyIterations(1000))
                .where(SiteSelector.layers("h")).howMuch(GrowthAmount.add(k))
                .initializer(UnitInitializer.bridging(ALPHA)).seed(4).build());
        growth.controller().growNow(net, new DataSet(x, y)).orElseThrow();
        assertEquals(2 + k, NetworkRewrite.width(net, "h"));

        INDArray newIn = TestNets.layer(net, "h").getParam("W").get(NDArrayIndex.all(), NDArrayIndex.interval(2, 2 + k));
        INDArray newOut = TestNets.layer(net, "out").getParam("W").get(NDArrayIndex.interval(2, 2 + k),
                NDArrayIndex.all());
        for (int m = 0; m < k; m++) {
            int i = pairs.get(m)[0];
            int j = pairs.get(m)[1];
            double root = Math.sqrt(Math.abs(b[i][j]));
            double psi = ALPHA * meanAbsNonZero(wh) * root / meanRoot;
            double omega = ALPHA * meanAbsNonZero(wout) * root / meanRoot;
            for (int r = 0; r < 3; r++) {
                assertEquals(r == i ? psi : 0.0, Math.abs(newIn.getDouble(r, m)), 1e-12, "fan-in " + r + " of " + m);
            }
            for (int c = 0; c < 2; c++) {
                assertEquals(c == j ? omega : 0.0, Math.abs(newOut.getDouble(m, c)), 1e-12, "fan-out " + c + " of " + m);
            }
            assertEquals(-Math.signum(b[i][j]), Math.signum(newIn.getDouble(i, m) * newOut.getDouble(m, j)), 0.0,
                    "the bridge's linear effect points down the gradient");
            assertEquals(0.0, TestNets.layer(net, "h").getParam("b").getDouble(2 + m), 0.0, "bias 0");
        }
    }

    private static List<DataSet> batches() {
        return TestNets.digitsBatches(0, 5);
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void bridgingGrowthInsideFitAddsOnePairPerNeuronAndTrainingGoesOn(boolean graph) {
        Model net = TestNets.build(TestNets.DIGITS_MLP, TestNets.base(42, new Adam(0.01), DataType.FLOAT), graph);
        List<int[]> nonZeros = new ArrayList<>();
        GrowthListener growth = GrowthListener.builder().policy(GrowthPolicy.builder()
                        .when(GrowthTrigger.atIterations(3, 8)).where(SiteSelector.layers("h1"))
                        .howMuch(GrowthAmount.add(3)).initializer(UnitInitializer.bridging()).seed(2).build())
                .onGrowth(e -> {
                    int w = e.layers().get(0).after();
                    INDArray in = TestNets.layer(net, "h1").getParam("W").get(NDArrayIndex.all(),
                            NDArrayIndex.interval(w - 3, w));
                    INDArray out = TestNets.layer(net, "h2").getParam("W").get(NDArrayIndex.interval(w - 3, w),
                            NDArrayIndex.all());
                    nonZeros.add(new int[]{in.neq(0.0).castTo(DataType.INT32).sumNumber().intValue(),
                            out.neq(0.0).castTo(DataType.INT32).sumNumber().intValue()});
                }).build();
        CollectScoresListener scores = new CollectScoresListener(1);
        TrainingListener[] ls = {new ScoreIterationListener(5), growth, scores};
        if (net instanceof MultiLayerNetwork) {
            ((MultiLayerNetwork) net).setListeners(ls);
            ((MultiLayerNetwork) net).fit(new ExistingDataSetIterator(batches()), 3);
        } else {
            ((ComputationGraph) net).setListeners(ls);
            ((ComputationGraph) net).fit(new ExistingDataSetIterator(batches()), 3);
        }
        assertEquals(2, growth.history().size(), growth.history().toString());
        assertEquals(10, NetworkRewrite.width(net, "h1"));
        for (int[] nz : nonZeros) {
            assertEquals(3, nz[0], "one fan-in weight per new neuron: " + Arrays.toString(nz));
            assertEquals(3, nz[1], "one fan-out weight per new neuron");
        }
        assertEquals(List.of("pairs", "alpha"), new ArrayList<>(growth.history().events().get(0).notes().get("h1")
                .keySet()).subList(0, 2));
        for (double s : scores.getListScore().toDoubleArray()) {
            assertTrue(Double.isFinite(s));
        }
        assertEquals(15, scores.getListScore().size(), "training went on");
    }
}
