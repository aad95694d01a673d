package org.dl4jgrowth.bench.jmh;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.dl4jgrowth.activation.ActivationGrowthReLU;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * One whole GradMax growth event on a small CNN: conv(1->16, 3x3) -> BN -> act -> conv(16->32, 3x3)
 * -> BN -> act -> max-pool -> dense(64) -> output(10), 28x28 single-channel inputs, FLOAT, Adam.
 * The event grows c1 by 4 channels: the statistic over 64 examples (by default the direct route,
 * one unwidened forward and backward pass; with {@code -Ddl4jgrowth.statistic.route=probes}, 32*3*3
 * = 288 probe channels on a widened copy), the top-4 SVD of the 9x288 map, and the in-place rewrite
 * of c1, bn1 and c2's input channels with Adam state. See {@link GrowthEventBench}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx4g")
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class CnnGrowthBench extends GrowthEventBench {
    static final int BATCH = 64;
    static final int ADDED = 4;

    static MultiLayerNetwork cnn(long seed) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder()
                .seed(seed).updater(new Adam(1e-3)).weightInit(WeightInit.RELU).dataType(DataType.FLOAT).list()
                .layer(new ConvolutionLayer.Builder(3, 3).name("c1").nOut(16).activation(Activation.IDENTITY).build())
                .layer(new BatchNormalization.Builder().name("bn1").build())
                .layer(new ActivationLayer.Builder().name("a1").activation(new ActivationGrowthReLU()).build())
                .layer(new ConvolutionLayer.Builder(3, 3).name("c2").nOut(32).activation(Activation.IDENTITY).build())
                .layer(new BatchNormalization.Builder().name("bn2").build())
                .layer(new ActivationLayer.Builder().name("a2").activation(new ActivationGrowthReLU()).build())
                .layer(new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).name("pool").build())
                .layer(new DenseLayer.Builder().name("d").nOut(64).activation(new ActivationGrowthReLU()).build())
                .layer(new OutputLayer.Builder().name("out").nOut(10).activation(Activation.SOFTMAX)
                        .lossFunction(LossFunctions.LossFunction.MCXENT).build())
                .setInputType(InputType.convolutional(28, 28, 1)).build());
        net.init();
        return net;
    }

    static DataSet randomImages(int n, long seed) {
        DataSet flat = BenchData.randomBatch(n, 28 * 28, 10, seed);
        return new DataSet(flat.getFeatures().reshape('c', n, 1, 28, 28), flat.getLabels());
    }

    @Override
    public MultiLayerNetwork trainedNetwork() {
        MultiLayerNetwork net = cnn(7);
        net.fit(randomImages(BATCH, 1));
        return net;
    }

    @Override
    public DataSet growthData() {
        return randomImages(BATCH, 2);
    }

    @Override
    public String layer() {
        return "c1";
    }

    @Override
    public int added() {
        return ADDED;
    }
}
