package org.dl4jgrowth.bench.jmh;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.dl4jgrowth.activation.ActivationGrowthReLU;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.rng.Random;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * Inputs shared by the JMH benchmarks: the MLPs, a random minibatch, and matrices with a known,
 * decaying spectrum. Everything is FLOAT and built from fixed seeds, outside the measured code.
 */
public final class BenchData {
    /** Number of singular triplets the SVD benchmarks ask for (a growth by 16 units). */
    static final int TOP_K = 16;
    /** Ratio of consecutive singular values of {@link #decayingSpectrum}. */
    static final double DECAY = 0.9;
    /** Floor of the constructed singular values: keeps float denormals (slow on x86) out of the set-up. */
    static final double FLOOR = 1e-30;

    private BenchData() {
    }

    /**
     * An MLP {@code in -> h1 -> h2 -> out} with {@link ActivationGrowthReLU} hidden layers, softmax
     * output with cross-entropy, Adam (lr 1e-3), FLOAT, initialised.
     */
    public static MultiLayerNetwork mlp(int in, int hidden1, int hidden2, int out, long seed) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder()
                .seed(seed)
                .dataType(DataType.FLOAT)
                .updater(new Adam(1e-3))
                .list()
                .layer(new DenseLayer.Builder().name("h1").nIn(in).nOut(hidden1)
                        .activation(new ActivationGrowthReLU()).build())
                .layer(new DenseLayer.Builder().name("h2").nIn(hidden1).nOut(hidden2)
                        .activation(new ActivationGrowthReLU()).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name("out").nIn(hidden2).nOut(out)
                        .activation(Activation.SOFTMAX).build())
                .build());
        net.init();
        return net;
    }

    /** {@code n} inputs uniform in [0, 1) (like scaled pixels) with random one-hot labels. */
    public static DataSet randomBatch(int n, int features, int classes, long seed) {
        Random rng = Nd4j.getRandomFactory().getNewRandomInstance(seed);
        INDArray x = Nd4j.rand(Nd4j.create(DataType.FLOAT, n, features), rng);
        INDArray y = Nd4j.zeros(DataType.FLOAT, n, classes);
        java.util.Random labels = new java.util.Random(seed);
        for (int i = 0; i < n; i++) {
            y.putScalar(i, labels.nextInt(classes), 1.0);
        }
        return new DataSet(x, y);
    }

    /** The singular values {@link #decayingSpectrum} is built with: {@code max(0.9^i, 1e-30)}, i < min(rows, cols). */
    static double[] constructedSpectrum(int rows, int cols) {
        double[] s = new double[Math.min(rows, cols)];
        for (int i = 0; i < s.length; i++) {
            s[i] = Math.max(Math.pow(DECAY, i), FLOOR);
        }
        return s;
    }

    /**
     * A FLOAT {@code rows x cols} matrix {@code U diag(s) V^T} with s from {@link #constructedSpectrum}
     * and U, V random orthonormal (Householder QR of Gaussian matrices, LAPACK geqrf). In float only
     * the first ~150 values (0.9^150 ~ 1.4e-7) are above the rounding of the largest one, so the
     * matrix is numerically of low rank whatever its size.
     */
    static INDArray decayingSpectrum(int rows, int cols, long seed) {
        int p = Math.min(rows, cols);
        INDArray u = orthonormal(rows, p, seed);
        INDArray v = orthonormal(cols, p, seed + 1);
        INDArray s = Nd4j.createFromArray(constructedSpectrum(rows, cols)).castTo(DataType.FLOAT).reshape(1, p);
        return u.mulRowVector(s).mmul(v.transpose()).dup('c');
    }

    /** {@code rows x cols} (rows >= cols) with orthonormal columns. */
    private static INDArray orthonormal(int rows, int cols, long seed) {
        Random rng = Nd4j.getRandomFactory().getNewRandomInstance(seed);
        INDArray q = Nd4j.create(DataType.FLOAT, new long[] {rows, cols}, 'f');
        Nd4j.randn(q, rng);
        INDArray r = Nd4j.create(DataType.FLOAT, new long[] {cols, cols}, 'f');
        Nd4j.getBlasWrapper().lapack().geqrf(q, r);   // q now holds Q
        return q;
    }

    /** "rows x cols" from a JMH parameter such as {@code "512x1024"}. */
    static int[] parseSize(String size) {
        String[] parts = size.split("x");
        return new int[] {Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim())};
    }
}
