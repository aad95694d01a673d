package org.dl4jgrowth.testing;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.ZeroPaddingLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.List;
import java.util.function.Supplier;

/**
 * Small real networks, each available as a MultiLayerNetwork and as an equivalent ComputationGraph
 * (a chain with the same layer names), so every rewrite test runs on both network types.
 */
public final class TestNets {
    private TestNets() {
    }

    /** An architecture: its layers (fresh objects per call), input type and the layer to grow. */
    public static final class Arch {
        public final String name;
        public final Supplier<List<Layer>> layers;
        public final InputType inputType;
        public final long[] inputShape;
        public final int classes;

        public Arch(String name, Supplier<List<Layer>> layers, InputType inputType, long[] inputShape, int classes) {
            this.name = name;
            this.layers = layers;
            this.inputType = inputType;
            this.inputShape = inputShape;
            this.classes = classes;
        }

        @Override
        public String toString() {
            return name;
        }

        /** Inputs uniform in [-1, 1), reproducible from {@code seed} (reseeds ND4J's global generator). */
        public INDArray input(int batch, long seed, DataType type) {
            Nd4j.getRandom().setSeed(seed);
            long[] s = inputShape.clone();
            s[0] = batch;
            return Nd4j.rand(type, s).muli(2).subi(1);
        }

        public DataSet data(int batch, long seed, DataType type) {
            Nd4j.getRandom().setSeed(seed);
            INDArray x = input(batch, seed, type);
            INDArray y = Nd4j.zeros(type, batch, classes);
            for (int i = 0; i < batch; i++) {
                y.putScalar(i, i % classes, 1.0);
            }
            return new DataSet(x, y);
        }
    }

    public static final Arch DENSE_DENSE = new Arch("Dense->Dense->Output", () -> List.of(
            new DenseLayer.Builder().name("d1").nOut(6).activation(Activation.TANH).build(),
            new DenseLayer.Builder().name("d2").nOut(5).activation(Activation.TANH).build(),
            new OutputLayer.Builder().name("out").nOut(3).activation(Activation.SOFTMAX)
                    .lossFunction(LossFunctions.LossFunction.MCXENT).build()),
            InputType.feedForward(4), new long[]{1, 4}, 3);

    public static final Arch DENSE_BN_DENSE = new Arch("Dense->BN->Dense", () -> List.of(
            new DenseLayer.Builder().name("d1").nOut(6).activation(Activation.TANH).build(),
            new BatchNormalization.Builder().name("bn1").build(),
            new DropoutLayer.Builder(0.9).name("drop").build(),
            new DenseLayer.Builder().name("d2").nOut(5).activation(Activation.TANH).build(),
            new OutputLayer.Builder().name("out").nOut(3).activation(Activation.SOFTMAX)
                    .lossFunction(LossFunctions.LossFunction.MCXENT).build()),
            InputType.feedForward(4), new long[]{1, 4}, 3);

    /** Dense -> BN -> Dense without dropout, for tests that replay random draws on a grown copy. */
    public static final Arch DENSE_BN_DENSE_NO_DROPOUT = new Arch("Dense->BN->Dense (no dropout)", () -> List.of(
            new DenseLayer.Builder().name("d1").nOut(6).activation(Activation.TANH).build(),
            new BatchNormalization.Builder().name("bn1").build(),
            new DenseLayer.Builder().name("d2").nOut(5).activation(Activation.TANH).build(),
            new OutputLayer.Builder().name("out").nOut(3).activation(Activation.SOFTMAX)
                    .lossFunction(LossFunctions.LossFunction.MCXENT).build()),
            InputType.feedForward(4), new long[]{1, 4}, 3);

    /** 64 -> h1(4, growth ReLU) -> h2(4, tanh) -> 10 softmax: sized for the bundled digits data. */
    public static final Arch DIGITS_MLP = new Arch("digits MLP", () -> List.of(
            new DenseLayer.Builder().name("h1").nOut(4)
                    .activation(new org.dl4jgrowth.activation.ActivationGrowthReLU()).build(),
            new DenseLayer.Builder().name("h2").nOut(4).activation(Activation.TANH).build(),
            new OutputLayer.Builder().name("out").nOut(10).activation(Activation.SOFTMAX)
                    .lossFunction(LossFunctions.LossFunction.MCXENT).build()),
            InputType.feedForward(64), new long[]{1, 64}, 10);

    public static final Arch CONV_BN_CONV = new Arch("Conv->BN->Act->Conv->GlobalPool->Output", () -> List.of(
            new ConvolutionLayer.Builder(3, 3).name("c1").nOut(4).activation(Activation.IDENTITY).build(),
            new BatchNormalization.Builder().name("bn1").build(),
            new ActivationLayer.Builder().name("act1").activation(Activation.TANH).build(),
            new ZeroPaddingLayer.Builder(1, 1).name("pad").build(),
            new ConvolutionLayer.Builder(3, 3).name("c2").nOut(5).activation(Activation.TANH).build(),
            new GlobalPoolingLayer.Builder(PoolingType.AVG).name("gp").build(),
            new OutputLayer.Builder().name("out").nOut(3).activation(Activation.SOFTMAX)
                    .lossFunction(LossFunctions.LossFunction.MCXENT).build()),
            InputType.convolutional(7, 7, 2), new long[]{1, 2, 7, 7}, 3);

    public static final Arch CONV_CONV = new Arch("Conv->Conv->GlobalPool->Output", () -> List.of(
            new ConvolutionLayer.Builder(2, 2).name("c1").nOut(3).activation(Activation.TANH).build(),
            new ConvolutionLayer.Builder(2, 2).name("c2").nOut(4).stride(2, 2).activation(Activation.TANH).build(),
            new GlobalPoolingLayer.Builder(PoolingType.MAX).name("gp").build(),
            new OutputLayer.Builder().name("out").nOut(3).activation(Activation.SOFTMAX)
                    .lossFunction(LossFunctions.LossFunction.MCXENT).build()),
            InputType.convolutional(7, 7, 2), new long[]{1, 2, 7, 7}, 3);

    public static final Arch CONV_POOL_DENSE = new Arch("Conv->Pool->Dense (flatten)", () -> List.of(
            new ConvolutionLayer.Builder(2, 2).name("c1").nOut(3).activation(Activation.TANH).build(),
            new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).name("pool").build(),
            new DenseLayer.Builder().name("d1").nOut(6).activation(Activation.TANH).build(),
            new OutputLayer.Builder().name("out").nOut(3).activation(Activation.SOFTMAX)
                    .lossFunction(LossFunctions.LossFunction.MCXENT).build()),
            InputType.convolutional(5, 5, 2), new long[]{1, 2, 5, 5}, 3);

    /**
     * conv(3) -> BN -> growth ReLU -> max-pool -> conv(4) -> BN -> growth ReLU -> global average pool ->
     * dense(6, tanh) -> 10 softmax, sized for the bundled digits as [n, 1, 8, 8] images
     * ({@link DigitsImages}). c1 and d are GradMax sites (conv -> conv through BN, activation and
     * pooling; dense -> output).
     */
    public static final Arch DIGITS_CNN = new Arch("digits CNN", () -> List.of(
            new ConvolutionLayer.Builder(3, 3).name("c1").nOut(3).activation(Activation.IDENTITY).build(),
            new BatchNormalization.Builder().name("bn1").build(),
            new ActivationLayer.Builder().name("a1").activation(new org.dl4jgrowth.activation.ActivationGrowthReLU())
                    .build(),
            new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).name("pool").build(),
            new ConvolutionLayer.Builder(3, 3).name("c2").nOut(4).padding(1, 1).activation(Activation.IDENTITY)
                    .build(),
            new BatchNormalization.Builder().name("bn2").build(),
            new ActivationLayer.Builder().name("a2").activation(new org.dl4jgrowth.activation.ActivationGrowthReLU())
                    .build(),
            new GlobalPoolingLayer.Builder(PoolingType.AVG).name("gp").build(),
            new DenseLayer.Builder().name("d").nOut(6).activation(Activation.TANH).build(),
            new OutputLayer.Builder().name("out").nOut(10).activation(Activation.SOFTMAX)
                    .lossFunction(LossFunctions.LossFunction.MCXENT).build()),
            InputType.convolutional(8, 8, 1), new long[]{1, 1, 8, 8}, 10);

    /**
     * Minibatches {@code from} to {@code from + count - 1} of 32 flat examples of the bundled digits'
     * training split (Digits.split(FLOAT, 0.8, 4)), in order: the fixed data of the DIGITS_MLP tests.
     */
    public static List<DataSet> digitsBatches(int from, int count) {
        DataSet all = org.dl4jgrowth.data.Digits.split(DataType.FLOAT, 0.8, 4).train();
        List<DataSet> out = new java.util.ArrayList<>();
        for (int i = from; i < from + count; i++) {
            out.add(new DataSet(all.getFeatures().get(org.nd4j.linalg.indexing.NDArrayIndex.interval(32 * i, 32 * i + 32),
                    org.nd4j.linalg.indexing.NDArrayIndex.all()).dup(), all.getLabels().get(
                    org.nd4j.linalg.indexing.NDArrayIndex.interval(32 * i, 32 * i + 32),
                    org.nd4j.linalg.indexing.NDArrayIndex.all()).dup()));
        }
        return out;
    }

    /** Builds the architecture as a MultiLayerNetwork ({@code graph == false}) or a ComputationGraph. */
    public static Model build(Arch arch, NeuralNetConfiguration.Builder base, boolean graph) {
        return graph ? graph(arch, base) : mln(arch, base);
    }

    public static INDArray output(Model net, INDArray x) {
        if (net instanceof MultiLayerNetwork) {
            return ((MultiLayerNetwork) net).output(x, false);
        }
        return ((ComputationGraph) net).outputSingle(false, x);
    }

    /** Sets {@code listeners} on either network type and fits one epoch of {@code data} through an iterator. */
    public static void fitEpoch(Model net, List<DataSet> data, org.deeplearning4j.optimize.api.TrainingListener... listeners) {
        org.deeplearning4j.datasets.iterator.ExistingDataSetIterator it =
                new org.deeplearning4j.datasets.iterator.ExistingDataSetIterator(data);
        if (net instanceof ComputationGraph) {
            ((ComputationGraph) net).setListeners(listeners);
            ((ComputationGraph) net).fit(it);
        } else {
            ((MultiLayerNetwork) net).setListeners(listeners);
            ((MultiLayerNetwork) net).fit(it);
        }
    }

    public static void fit(Model net, DataSet ds) {
        if (net instanceof MultiLayerNetwork) {
            ((MultiLayerNetwork) net).fit(ds);
        } else {
            ((ComputationGraph) net).fit(ds);
        }
    }

    /**
     * An independent copy with parameters, optimizer state and counts (ComputationGraph.clone() in
     * M2.1 restarts the counts, which Adam's bias correction reads).
     */
    public static Model copy(Model net) {
        if (net instanceof MultiLayerNetwork) {
            return ((MultiLayerNetwork) net).clone();
        }
        ComputationGraph g = ((ComputationGraph) net).clone();
        g.getConfiguration().setIterationCount((int) iterationCount(net));
        g.getConfiguration().setEpochCount((int) epochCount(net));
        return g;
    }

    public static long iterationCount(Model net) {
        return net instanceof MultiLayerNetwork ? ((MultiLayerNetwork) net).getLayerWiseConfigurations().getIterationCount()
                : ((ComputationGraph) net).getConfiguration().getIterationCount();
    }

    public static long epochCount(Model net) {
        return net instanceof MultiLayerNetwork ? ((MultiLayerNetwork) net).getLayerWiseConfigurations().getEpochCount()
                : ((ComputationGraph) net).getConfiguration().getEpochCount();
    }

    public static org.deeplearning4j.nn.api.Layer layer(Model net, String name) {
        return net instanceof MultiLayerNetwork ? ((MultiLayerNetwork) net).getLayer(name)
                : ((ComputationGraph) net).getLayer(name);
    }

    public static NeuralNetConfiguration.Builder base(long seed, IUpdater updater, DataType type) {
        return new NeuralNetConfiguration.Builder().seed(seed).updater(updater).dataType(type)
                .weightInit(WeightInit.XAVIER);
    }

    public static MultiLayerNetwork mln(Arch arch, NeuralNetConfiguration.Builder base) {
        NeuralNetConfiguration.ListBuilder lb = base.list();
        List<Layer> layers = arch.layers.get();
        for (int i = 0; i < layers.size(); i++) {
            lb.layer(i, layers.get(i));
        }
        MultiLayerConfiguration conf = lb.setInputType(arch.inputType).build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    public static ComputationGraph graph(Arch arch, NeuralNetConfiguration.Builder base) {
        ComputationGraphConfiguration.GraphBuilder gb = base.graphBuilder().addInputs("in");
        String prev = "in";
        for (Layer l : arch.layers.get()) {
            gb.addLayer(l.getLayerName(), l, prev);
            prev = l.getLayerName();
        }
        ComputationGraphConfiguration conf = gb.setOutputs(prev).setInputTypes(arch.inputType).build();
        ComputationGraph g = new ComputationGraph(conf);
        g.init();
        return g;
    }
}
