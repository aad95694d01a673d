package org.dl4jgrowth.activation;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/** Small networks shared by the activation tests. */
final class TestNets {

    static final int N_IN = 4;
    static final int HIDDEN = 6;
    static final int N_OUT = 3;

    private TestNets() {
    }

    /** dense(act) -> activationLayer(act) -> dense(act) -> output(identity, MSE). */
    static MultiLayerConfiguration mlnConf(IActivation act, IUpdater updater, DataType type) {
        return new NeuralNetConfiguration.Builder()
                .seed(12345)
                .dataType(type)
                .updater(updater)
                .weightInit(WeightInit.XAVIER)
                .list()
                .layer(new DenseLayer.Builder().nIn(N_IN).nOut(HIDDEN).activation(act).build())
                .layer(new ActivationLayer.Builder().activation(act).build())
                .layer(new DenseLayer.Builder().nIn(HIDDEN).nOut(HIDDEN).activation(act).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE)
                        .nIn(HIDDEN).nOut(N_OUT).activation(Activation.IDENTITY).build())
                .build();
    }

    static MultiLayerConfiguration mlnConf(IActivation act) {
        return mlnConf(act, new Adam(1e-2), DataType.FLOAT);
    }

    /** in -> dense(act) -> activation(act) -> output(identity, MSE), as a graph. */
    static ComputationGraphConfiguration graphConf(IActivation act) {
        return new NeuralNetConfiguration.Builder()
                .seed(12345)
                .dataType(DataType.FLOAT)
                .updater(new Adam(1e-2))
                .weightInit(WeightInit.XAVIER)
                .graphBuilder()
                .addInputs("in")
                .addLayer("dense", new DenseLayer.Builder().nIn(N_IN).nOut(HIDDEN).activation(act).build(), "in")
                .addLayer("act", new ActivationLayer.Builder().activation(act).build(), "dense")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MSE)
                        .nIn(HIDDEN).nOut(N_OUT).activation(Activation.IDENTITY).build(), "act")
                .setOutputs("out")
                .build();
    }

    static DataSet batch(long seed, int examples, DataType type) {
        Nd4j.getRandom().setSeed(seed);
        INDArray x = Nd4j.randn(type, examples, N_IN);
        INDArray y = Nd4j.randn(type, examples, N_OUT);
        return new DataSet(x, y);
    }
}
