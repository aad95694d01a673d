package org.dl4jgrowth.demo;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.dl4jgrowth.DeviceReport;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.firefly.FireflyPlanner;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.activation.ActivationGrowthReLU;
import org.dl4jgrowth.data.Digits;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.when.GrowthTrigger;
import org.dl4jgrowth.where.GrowthAmount;
import org.dl4jgrowth.where.SiteSelector;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.nio.file.Path;

/**
 * The project's main job: trains a small MLP on the bundled scikit-learn digits data with a
 * {@link GrowthListener} attached, so its hidden layer grows in place during {@code fit()}; prints
 * where it runs ({@link DeviceReport}: backend, device, free memory), each growth event as it
 * happens, then compares test accuracy with fixed-width baselines trained for the same number of
 * epochs.
 */
public final class DigitsGrowthDemo {
    static final int EPOCHS = 12;
    static final int START_WIDTH = 4;
    static final int STEP = 8;
    static final int MAX_WIDTH = 28;
    private static final long SEED = 42;

    private DigitsGrowthDemo() {
    }

    public static void main(String[] args) {
        Digits.Split split = Digits.split(DataType.FLOAT, 0.8, SEED);
        System.out.printf("dl4j-growth demo: scikit-learn digits, %d train / %d test examples%n",
                split.train().numExamples(), split.test().numExamples());
        System.out.println(DeviceReport.current());

        GrowthPolicy policy = GrowthPolicy.builder()
                .when(GrowthTrigger.everyEpochs(2))
                .where(SiteSelector.layers("h1"))
                .howMuch(GrowthAmount.add(STEP))
                .maxWidth(MAX_WIDTH)
                .initializer(UnitInitializer.functionPreserving())
                .seed(SEED)
                .build();
        Path historyFile = Path.of(System.getProperty("java.io.tmpdir"), "dl4j-growth-demo-history.json");
        GrowthListener growth = GrowthListener.builder().policy(policy).historyFile(historyFile)
                .onGrowth(e -> System.out.println("  " + e)).build();
        System.out.println("Policy: " + policy);

        MultiLayerNetwork grown = mlp(START_WIDTH);
        grown.addListeners(growth);
        grown.fit(Digits.iterator(split.train(), 64), EPOCHS);
        int finalWidth = (int) grown.getLayer("h1").getParam("W").size(1);
        System.out.printf("%d growth events; history written to %s%n", growth.history().size(), historyFile);

        MultiLayerNetwork small = mlp(START_WIDTH);
        small.fit(Digits.iterator(split.train(), 64), EPOCHS);
        MultiLayerNetwork large = mlp(finalWidth);
        large.fit(Digits.iterator(split.train(), 64), EPOCHS);

        // Firefly decides how much by the candidates' scores (here at most 8 per growth, like the
        // layer-wise policy): its candidates train on four minibatches of the training data.
        GrowthPolicy firefly = GrowthPolicy.builder()
                .planner(FireflyPlanner.builder()
                        .when(GrowthTrigger.everyEpochs(2).and(GrowthTrigger.maxGrowths(3)))
                        .count(STEP)
                        .build())
                .maxWidth(MAX_WIDTH)
                .seed(SEED)
                .build();
        System.out.println();
        System.out.println("Policy: " + firefly);
        GrowthListener fireflyGrowth = GrowthListener.builder().policy(firefly)
                .growthData(Digits.iterator((DataSet) split.train().getRange(0, 256), 64), 4)
                .onGrowth(e -> System.out.println("  " + e)).build();
        MultiLayerNetwork byFirefly = mlp(START_WIDTH);
        byFirefly.addListeners(fireflyGrowth);
        byFirefly.fit(Digits.iterator(split.train(), 64), EPOCHS);
        System.out.printf("Firefly: %d growth events%n", fireflyGrowth.history().size());

        DataSetIterator test = Digits.iterator(split.test(), 256);
        System.out.println();
        System.out.printf("%-28s %8s %12s %14s%n", "network (" + EPOCHS + " epochs)", "h1 width", "parameters",
                "test accuracy");
        report("grown during fit()", grown, test);
        report("grown by Firefly", byFirefly, test);
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
}
