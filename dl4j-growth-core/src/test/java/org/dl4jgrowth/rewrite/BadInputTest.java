package org.dl4jgrowth.rewrite;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.api.OptimizationAlgorithm;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.dl4jgrowth.testing.NetState;
import org.dl4jgrowth.testing.TestNets;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.junit.jupiter.api.function.Executable;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every kind of bad request fails with a message naming the culprit, and the network is untouched. */
class BadInputTest {

    private static Model mlp() {
        return TestNets.build(TestNets.DENSE_DENSE, TestNets.base(1, new Adam(0.01), DataType.DOUBLE), false);
    }

    /** Runs {@code bad}, expects an IllegalArgumentException whose message has every fragment. */
    private static void refused(Model net, Executable bad, String... fragments) {
        NetState before = NetState.of(net);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, bad);
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "message should mention '" + f + "': " + e.getMessage());
        }
        NetState after = NetState.of(net);
        assertEquals(before.json, after.json);
        assertArrayEquals(before.params, after.params);
    }

    @Test
    void unknownLayerListsTheLayers() {
        Model net = mlp();
        refused(net, () -> NetworkRewrite.of(net).grow("nope", 2), "'nope'", "d1", "d2", "out");
    }

    @Test
    void nonPositiveWidthsGiveTheValue() {
        Model net = mlp();
        refused(net, () -> NetworkRewrite.of(net).grow("d1", 0), "(got: 0)");
        refused(net, () -> NetworkRewrite.of(net).grow("d1", -3), "(got: -3)");
        refused(net, () -> NetworkRewrite.of(net).widen("d1", 4), "(got: 4)", "current width 6");
        refused(net, () -> NetworkRewrite.of(net).unitMap("d1", UnitMap.keep(6)), "(got: 0)");
    }

    @Test
    void unitMapsMustReferToExistingUnits() {
        Model net = mlp();
        refused(net, () -> NetworkRewrite.of(net).unitMap("d1", UnitMap.keep(6, 0, 7)), "old unit 7", "0..5");
        refused(net, () -> NetworkRewrite.of(net).unitMap("d1", UnitMap.grow(4, 1)), "starts from 4", "nOut=6");
        refused(net, () -> NetworkRewrite.of(net).unitMap("d1", UnitMap.drop(6, 6)), "unit 6");
        refused(net, () -> NetworkRewrite.of(net).unitMap("d1", UnitMap.split(6, -1)), "unit -1");
        refused(net, () -> NetworkRewrite.of(net).unitMap("d1", UnitMap.drop(6, 0, 1, 2, 3, 4, 5)), "no unit");
    }

    @Test
    void outputLayerCannotBeGrown() {
        Model net = mlp();
        refused(net, () -> NetworkRewrite.of(net).grow("out", 2).apply(), "'out'", "OutputLayer", "DenseLayer");
    }

    @Test
    void recurrentLayerIsRefusedWithItsClass() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().list()
                .layer(new LSTM.Builder().name("lstm").nIn(3).nOut(4).build())
                .layer(new RnnOutputLayer.Builder().name("out").nOut(2).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(3)).build());
        net.init();
        refused(net, () -> NetworkRewrite.of(net).grow("lstm", 2), "'lstm'", "LSTM", "DenseLayer");
    }

    @Test
    void mergeVertexOnThePathIsRefusedByName() {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().graphBuilder().addInputs("in")
                .addLayer("a", new DenseLayer.Builder().nIn(4).nOut(5).build(), "in")
                .addLayer("b", new DenseLayer.Builder().nIn(4).nOut(5).build(), "in")
                .addVertex("merge", new MergeVertex(), "a", "b")
                .addLayer("out", new OutputLayer.Builder().nIn(10).nOut(3).activation(Activation.SOFTMAX).build(),
                        "merge")
                .setOutputs("out").build();
        ComputationGraph g = new ComputationGraph(conf);
        g.init();
        refused(g, () -> NetworkRewrite.of(g).grow("a", 2).apply(), "'a'", "'merge'", "MergeVertex");
    }

    @Test
    void lossLayerConsumerIsRefused() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().list()
                .layer(new DenseLayer.Builder().name("d").nIn(4).nOut(3).build())
                .layer(new LossLayer.Builder(LossFunctions.LossFunction.MSE).name("loss").build()).build());
        net.init();
        refused(net, () -> NetworkRewrite.of(net).grow("d", 2).apply(), "'loss'", "LossLayer");
    }

    @Test
    void nhwcConvolutionIsRefused() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().list()
                .layer(new ConvolutionLayer.Builder(2, 2).name("c").nOut(3).dataFormat(CNN2DFormat.NHWC).build())
                .layer(new OutputLayer.Builder().name("out").nOut(2).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(4, 4, 1, CNN2DFormat.NHWC)).build());
        net.init();
        refused(net, () -> NetworkRewrite.of(net).grow("c", 2).apply(), "'c'", "NHWC");
    }

    /**
     * Stands in for Keras import's TensorFlowCnnToFeedForwardPreProcessor (not on this classpath):
     * a subclass that flattens in another order must not pass for the NCHW flatten.
     */
    static final class SubclassedFlatten extends CnnToFeedForwardPreProcessor {
        SubclassedFlatten(long h, long w, long c) {
            super(h, w, c);
        }
    }

    @Test
    void subclassOfTheFlattenPreprocessorIsRefused() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().list()
                .layer(new ConvolutionLayer.Builder(2, 2).name("c").nIn(1).nOut(3).build())
                .layer(new OutputLayer.Builder().name("out").nIn(27).nOut(2).activation(Activation.SOFTMAX).build())
                .inputPreProcessor(1, new SubclassedFlatten(3, 3, 3)).build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        refused(net, () -> NetworkRewrite.of(net).grow("c", 2).apply(), "SubclassedFlatten", "'out'");
    }

    @Test
    void frozenConsumerIsRefused() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().list()
                .layer(new DenseLayer.Builder().name("d").nIn(4).nOut(3).build())
                .layer(new FrozenLayer(new DenseLayer.Builder().name("f").nIn(3).nOut(3).build()))
                .layer(new OutputLayer.Builder().name("out").nIn(3).nOut(2).activation(Activation.SOFTMAX).build())
                .build());
        net.init();
        refused(net, () -> NetworkRewrite.of(net).grow("d", 2).apply(), "FrozenLayer");
    }

    @Test
    void layerNormIsRefused() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().list()
                .layer(new DenseLayer.Builder().name("d").nIn(4).nOut(3).hasLayerNorm(true).build())
                .layer(new OutputLayer.Builder().name("out").nIn(3).nOut(2).activation(Activation.SOFTMAX).build())
                .build());
        net.init();
        refused(net, () -> NetworkRewrite.of(net).grow("d", 2).apply(), "'d'", "layer norm");
    }

    @Test
    void lineSearchOptimisersAreRefused() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder()
                .optimizationAlgo(OptimizationAlgorithm.LBFGS).list()
                .layer(new DenseLayer.Builder().name("d").nIn(4).nOut(3).build())
                .layer(new OutputLayer.Builder().name("out").nIn(3).nOut(2).activation(Activation.SOFTMAX).build())
                .build());
        net.init();
        refused(net, () -> NetworkRewrite.of(net).grow("d", 2).apply(), "LBFGS");
    }

    @Test
    void preparedRewriteRefusesAChangedNetwork() {
        Model net = mlp();
        PreparedRewrite p = NetworkRewrite.of(net).grow("d1", 2).prepare();
        TestNets.fit(net, TestNets.DENSE_DENSE.data(8, 1, DataType.DOUBLE));
        NetState before = NetState.of(net);
        assertThrows(IllegalStateException.class, p::apply);
        assertArrayEquals(before.params, NetState.of(net).params);
    }
}
