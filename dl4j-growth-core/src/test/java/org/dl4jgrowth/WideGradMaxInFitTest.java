package org.dl4jgrowth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.deeplearning4j.optimize.listeners.ScoreIterationListener;
import org.dl4jgrowth.activation.ActivationGrowthReLU;
import org.dl4jgrowth.data.Digits;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.linalg.SvdEngines;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.signal.GradientStatistic;
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
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * The default SVD engine's randomized route inside {@code fit()}: h1's GradMax statistic is 600 x 600,
 * above the size-aware engine's exact limit (512 on the CPU), so the event must say "randomized" and its noted
 * top singular values must be the exact ones of the statistic of the network just before the growth,
 * on both network types, with DL4J's ScoreIterationListener before and after the GrowthListener.
 */
class WideGradMaxInFitTest {
    private static final int WIDE = 600;
    private static final int ADD = 4;

    private static NeuralNetConfiguration.Builder base() {
        return new NeuralNetConfiguration.Builder().seed(5).dataType(DataType.DOUBLE).updater(new Adam(1e-3));
    }

    private static Model network(boolean graph) {
        DenseLayer h1 = new DenseLayer.Builder().nIn(WIDE).nOut(4).activation(new ActivationGrowthReLU()).build();
        DenseLayer h2 = new DenseLayer.Builder().nIn(4).nOut(WIDE).activation(new ActivationGrowthReLU()).build();
        OutputLayer out = new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(WIDE).nOut(3)
                .activation(Activation.SOFTMAX).build();
        if (graph) {
            ComputationGraph g = new ComputationGraph(base().graphBuilder().addInputs("in")
                    .addLayer("h1", h1, "in").addLayer("h2", h2, "h1").addLayer("out", out, "h2")
                    .setOutputs("out").build());
            g.init();
            return g;
        }
        h1.setLayerName("h1");
        h2.setLayerName("h2");
        out.setLayerName("out");
        MultiLayerNetwork m = new MultiLayerNetwork(base().list().layer(h1).layer(h2).layer(out).build());
        m.init();
        return m;
    }

    private static DataSet batch(int n, long seed) {
        INDArray x = Nd4j.rand(Nd4j.create(DataType.DOUBLE, n, WIDE), Nd4j.getRandomFactory().getNewRandomInstance(seed));
        INDArray y = Nd4j.zeros(DataType.DOUBLE, n, 3);
        java.util.Random labels = new java.util.Random(seed);
        for (int i = 0; i < n; i++) {
            y.putScalar(i, labels.nextInt(3), 1.0);
        }
        return new DataSet(x, y);
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void aWideGradMaxStatisticTakesTheConvergedRandomizedRouteInsideFit(boolean graph) {
        String saved = System.getProperty(SvdEngines.ENGINE_PROPERTY);
        System.clearProperty(SvdEngines.ENGINE_PROPERTY);
        try {
            Model net = network(graph);
            DataSet growthData = batch(64, 2);
            Model[] latest = new Model[1];
            Model[] beforeGrowth = new Model[1];
            List<GrowthEvent> events = new ArrayList<>();
            GrowthListener growth = GrowthListener.builder()
                    .policy(GrowthPolicy.builder()
                            .when(GrowthTrigger.atIterations(3))
                            .where(SiteSelector.layers("h1"))
                            .howMuch(GrowthAmount.add(ADD))
                            .initializer(UnitInitializer.gradMax(1.0))
                            .seed(3)
                            .build())
                    .growthData(Digits.iterator(growthData, 64), 1)
                    .onGrowth(e -> {
                        events.add(e);
                        beforeGrowth[0] = latest[0];
                    })
                    .build();
            // Before the GrowthListener: a copy of the network as it is at every iteration's end, so
            // the one taken at the growth's iteration is the network GradMax saw.
            BaseTrainingListener snapshot = new BaseTrainingListener() {
                @Override
                public void iterationDone(Model model, int iteration, int epoch) {
                    latest[0] = GradMaxInFitTest.detachedCopy(model);
                }
            };
            DataSet train = batch(32 * 6, 7);
            if (graph) {
                ComputationGraph g = (ComputationGraph) net;
                g.setListeners(new ScoreIterationListener(1), snapshot, growth, new ScoreIterationListener(1));
                g.fit(Digits.iterator(train, 32), 1);
            } else {
                MultiLayerNetwork m = (MultiLayerNetwork) net;
                m.setListeners(new ScoreIterationListener(1), snapshot, growth, new ScoreIterationListener(1));
                m.fit(Digits.iterator(train, 32), 1);
            }

            assertEquals(1, events.size(), events.toString());
            GrowthEvent e = events.get(0);
            assertEquals(4 + ADD, NetworkRewrite.width(net, "h1"));
            assertEquals("randomized", e.svdEngine(), e.toString());
            assertNotNull(beforeGrowth[0]);
            // The snapshot at the growth's iteration has the old width: it was taken before the rewrite.
            assertEquals(4, NetworkRewrite.width(beforeGrowth[0], "h1"));
            INDArray g = GradientStatistic.compute(beforeGrowth[0], "h1", List.of(growthData));
            assertEquals(WIDE, g.size(0));
            assertEquals(WIDE, g.size(1));
            double[] exact = SvdEngines.named("exact").top(g, ADD).singularValues().toDoubleVector();
            List<?> noted = (List<?>) e.notes().get("h1").get("singularValues");
            assertEquals(ADD, noted.size());
            for (int i = 0; i < ADD; i++) {
                double s = ((Number) noted.get(i)).doubleValue();
                assertTrue(Math.abs(s - exact[i]) <= 1e-4 * exact[i],
                        "singular value " + i + ": noted " + s + ", exact " + exact[i]);
            }
        } finally {
            if (saved == null) {
                System.clearProperty(SvdEngines.ENGINE_PROPERTY);
            } else {
                System.setProperty(SvdEngines.ENGINE_PROPERTY, saved);
            }
        }
    }
}
