package org.dl4jgrowth.signal;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.optimize.listeners.ScoreIterationListener;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.activation.ActivationGrowthReLU;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.linalg.ExactSvdEngine;
import org.dl4jgrowth.linalg.SizeAwareSvdEngine;
import org.dl4jgrowth.network.NetworkAdapter;
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
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * singularValueAbove inside fit() on a site whose statistic (300 x 300) is above the size where the
 * size-aware engine takes the top value from Lanczos ({@code SizeAwareSvdEngine.LANCZOS_ABOVE}): with the threshold just below
 * the exact top value (from a twin network trained on the same minibatches, and the exact SVD) the
 * layer grows at the watched iteration, just above it it does not. Both network types, with DL4J's
 * score listener before and after the growth listener.
 */
class TopValueInFitTest {
    private static final int AT = 2;

    /** x(300) -> h1(8, growth ReLU) -> h2(300, tanh) -> out(5): h1's statistic is [300, 300]. */
    private static final TestNets.Arch WIDE_CONSUMER = new TestNets.Arch("300-8-300-5", () -> List.of(
            new DenseLayer.Builder().name("h1").nOut(8).activation(new ActivationGrowthReLU()).build(),
            new DenseLayer.Builder().name("h2").nOut(300).activation(Activation.TANH).build(),
            new OutputLayer.Builder().name("out").nOut(5).activation(Activation.SOFTMAX)
                    .lossFunction(LossFunctions.LossFunction.MCXENT).build()),
            InputType.feedForward(300), new long[]{1, 300}, 5);

    private static Model network(boolean graph) {
        return TestNets.build(WIDE_CONSUMER, TestNets.base(21, new Adam(0.01), DataType.FLOAT), graph);
    }

    private static List<DataSet> batches() {
        List<DataSet> out = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            out.add(WIDE_CONSUMER.data(32, 40 + i, DataType.FLOAT));
        }
        return out;
    }

    /** The exact top value the trigger reads at iteration AT: the mean statistic on that minibatch, after its update. */
    private static double exactTopValue(boolean graph, List<DataSet> data) {
        Model twin = network(graph);
        for (int i = 0; i <= AT; i++) {
            TestNets.fit(twin, data.get(i));
        }
        INDArray g = GradientStatistic.computeMulti(twin, "h1", List.of(NetworkAdapter.toMulti(data.get(AT))))
                .div(data.get(AT).numExamples());
        assertTrue(Math.min(g.rows(), g.columns()) > SizeAwareSvdEngine.LANCZOS_ABOVE, "above the size where the top value is Lanczos's");
        return new ExactSvdEngine().top(g, 1).singularValues().getDouble(0);
    }

    private static int grownWidth(boolean graph, double threshold, List<DataSet> data) {
        Model net = network(graph);
        GrowthListener growth = new GrowthListener(GrowthPolicy.builder()
                .when(GrowthTrigger.atIterations(AT).and(GrowthTrigger.singularValueAbove(threshold, "h1")))
                .where(SiteSelector.layers("h1")).howMuch(GrowthAmount.add(2))
                .initializer(UnitInitializer.gradMax()).build());
        TestNets.fitEpoch(net, data, new ScoreIterationListener(1000), growth, new ScoreIterationListener(1000));
        growth.history().events().forEach(e -> assertEquals(AT, e.iteration(), "the watched iteration"));
        return NetworkRewrite.width(net, "h1");
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void theTriggerComparesTheTopValueToWithinItsBound(boolean graph) {
        List<DataSet> data = batches();
        double exact = exactTopValue(graph, data);
        assertTrue(exact > 0, "a non-trivial statistic");
        assertEquals(10, grownWidth(graph, exact * (1 - 1e-4), data), "just below the top value: grows");
        assertEquals(8, grownWidth(graph, exact * (1 + 1e-4), data), "just above the top value: does not");
    }
}
