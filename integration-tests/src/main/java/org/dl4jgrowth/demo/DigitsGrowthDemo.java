package org.dl4jgrowth.demo;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.dl4jgrowth.activation.ActivationGrowthReLU;
import org.dl4jgrowth.data.Digits;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.rewrite.RewriteResult;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * The project's main job: trains a small MLP on the bundled scikit-learn digits data, widens its
 * hidden layer in place at the end of some epochs while {@code fit()} runs, prints each growth, and
 * compares test accuracy with fixed-width baselines trained for the same number of epochs.
 */
public final class DigitsGrowthDemo {
    private static final int EPOCHS = 12;
    private static final int START_WIDTH = 4;
    private static final int STEP = 8;
    private static final int MAX_WIDTH = 28;
    private static final long SEED = 42;

    private DigitsGrowthDemo() {
    }

    public static void main(String[] args) {
        Digits.Split split = Digits.split(DataType.FLOAT, 0.8, SEED);
        System.out.printf("dl4j-growth demo: scikit-learn digits, %d train / %d test examples, backend %s%n",
                split.train().numExamples(), split.test().numExamples(), Nd4j.getBackend().getClass().getSimpleName());

        MultiLayerNetwork grown = mlp(START_WIDTH);
        grown.setListeners(new GrowEveryOtherEpoch());
        System.out.printf("Growing: hidden layer 'h1' starts with %d units, +%d function-preserving units every "
                + "2 epochs up to %d; %d epochs of Adam.%n", START_WIDTH, STEP, MAX_WIDTH, EPOCHS);
        grown.fit(Digits.iterator(split.train(), 64), EPOCHS);
        int finalWidth = (int) grown.getLayer("h1").getParam("W").size(1);

        MultiLayerNetwork small = mlp(START_WIDTH);
        small.fit(Digits.iterator(split.train(), 64), EPOCHS);
        MultiLayerNetwork large = mlp(finalWidth);
        large.fit(Digits.iterator(split.train(), 64), EPOCHS);

        DataSetIterator test = Digits.iterator(split.test(), 256);
        System.out.println();
        System.out.printf("%-28s %8s %12s %14s%n", "network", "h1 width", "parameters", "test accuracy");
        report("grown during fit()", grown, test);
        report("fixed small", small, test);
        report("fixed large", large, test);
    }

    private static void report(String name, MultiLayerNetwork net, DataSetIterator test) {
        test.reset();
        double acc = net.evaluate(test).accuracy();
        System.out.printf("%-28s %8d %12d %14.4f%n", name, net.getLayer("h1").getParam("W").size(1), net.numParams(),
                acc);
    }

    static MultiLayerNetwork mlp(int width) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder()
                .seed(SEED).updater(new Adam(5e-3)).weightInit(WeightInit.RELU).dataType(DataType.FLOAT).list()
                .layer(new DenseLayer.Builder().name("h1").nOut(width).activation(new ActivationGrowthReLU()).build())
                .layer(new OutputLayer.Builder().name("out").nOut(10).activation(Activation.SOFTMAX)
                        .lossFunction(LossFunctions.LossFunction.MCXENT).build())
                .setInputType(InputType.feedForward(Digits.NUM_FEATURES)).build());
        net.init();
        return net;
    }

    /** Widens 'h1' at the end of every second epoch, in place, while fit() is running. */
    private static final class GrowEveryOtherEpoch extends BaseTrainingListener {
        @Override
        public void onEpochEnd(Model model) {
            MultiLayerNetwork net = (MultiLayerNetwork) model;
            int epoch = net.getEpochCount();
            long width = net.getLayer("h1").getParam("W").size(1);
            if (epoch % 2 != 1 || width + STEP > MAX_WIDTH) {
                return;
            }
            double score = net.score();
            RewriteResult r = NetworkRewrite.of(net).grow("h1", STEP)
                    .initializer(UnitInitializer.functionPreserving()).apply();
            System.out.printf("  epoch %2d, iteration %4d: h1 %s, parameters %d -> %d, last minibatch loss %.4f, "
                            + "rewrite %.1f ms%n", epoch, net.getIterationCount(), r.layers().get("h1"),
                    r.paramsBefore(), r.paramsAfter(), score, r.nanos() / 1e6);
        }
    }
}
