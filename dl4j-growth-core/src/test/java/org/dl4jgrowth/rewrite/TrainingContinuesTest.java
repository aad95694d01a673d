package org.dl4jgrowth.rewrite;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.dl4jgrowth.activation.ActivationGrowthReLU;
import org.dl4jgrowth.data.Digits;
import org.dl4jgrowth.testing.TestNets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Growth inside one {@code fit(iterator, epochs)} call on the bundled digits data: a listener
 * rewrites the network from {@code iterationDone}, fit carries on with the same object, and the
 * epoch-mean loss keeps falling.
 */
class TrainingContinuesTest {

    static final TestNets.Arch MLP = TestNets.DIGITS_MLP;

    /** Records the loss of every minibatch and grows h1 and h2 at two chosen iterations. */
    static final class GrowAt extends BaseTrainingListener {
        final List<Double> losses = new ArrayList<>();
        final List<Integer> epochs = new ArrayList<>();
        final List<Model> seen = new ArrayList<>();

        @Override
        public void iterationDone(Model model, int iteration, int epoch) {
            losses.add(model.score());
            epochs.add(epoch);
            seen.add(model);
            if (iteration == 40) {
                NetworkRewrite.of(model).grow("h1", 12).grow("h2", 12).apply();
            } else if (iteration == 90) {
                NetworkRewrite.of(model).unitMap("h2", UnitMap.split(16, 0, 1, 2, 3)).apply();
            }
        }
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void epochMeanLossKeepsFallingAcrossGrowth(boolean graph) {
        Digits.Split split = Digits.split(DataType.FLOAT, 0.8, 42);
        Model net = TestNets.build(MLP, TestNets.base(42, new Adam(0.01), DataType.FLOAT), graph);
        GrowAt listener = new GrowAt();
        net.setListeners(listener);
        DataSetIterator it = Digits.iterator(split.train(), 64);   // 23 minibatches an epoch
        int epochs = 8;
        if (graph) {
            ((ComputationGraph) net).fit(it, epochs);
        } else {
            ((MultiLayerNetwork) net).fit(it, epochs);
        }

        for (Model m : listener.seen) {
            assertSame(net, m, "the listener always sees the same network object");
        }
        assertEquals(16, TestNets.layer(net, "h1").getParam("W").size(1));
        assertEquals(20, TestNets.layer(net, "h2").getParam("W").size(1));
        double[] mean = new double[epochs];
        int[] n = new int[epochs];
        for (int i = 0; i < listener.losses.size(); i++) {
            mean[listener.epochs.get(i)] += listener.losses.get(i);
            n[listener.epochs.get(i)]++;
        }
        for (int e = 0; e < epochs; e++) {
            mean[e] /= n[e];
        }
        for (int e = 1; e < epochs; e++) {
            assertTrue(mean[e] < mean[e - 1], "epoch-mean loss rose from epoch " + (e - 1) + " to " + e + ": "
                    + java.util.Arrays.toString(mean));
        }
        double accuracy = graph ? ((ComputationGraph) net).evaluate(Digits.iterator(split.test(), 128)).accuracy()
                : ((MultiLayerNetwork) net).evaluate(Digits.iterator(split.test(), 128)).accuracy();
        assertTrue(accuracy > 0.85, "test accuracy " + accuracy);
    }
}
