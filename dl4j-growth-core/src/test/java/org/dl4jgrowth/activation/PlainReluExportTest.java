package org.dl4jgrowth.activation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.Bidirectional;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayerWithBackprop;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

class PlainReluExportTest {

    private static final String GROWTH_NAME = "ActivationGrowthReLU";

    @Test
    void multiLayerNetworkExportKeepsOutputsParamsStateAndCounts() {
        MultiLayerNetwork net = new MultiLayerNetwork(TestNets.mlnConf(new ActivationGrowthReLU()));
        net.init();
        for (int i = 0; i < 4; i++) {
            net.fit(TestNets.batch(i, 8, DataType.FLOAT));
        }
        net.getLayerWiseConfigurations().setEpochCount(2);
        String jsonBefore = net.getLayerWiseConfigurations().toJson();
        float[] paramsBefore = net.params().ravel().toFloatVector();
        float[] stateBefore = net.getUpdater().getStateViewArray().ravel().toFloatVector();
        INDArray x = TestNets.batch(50, 16, DataType.FLOAT).getFeatures();
        float[] outBefore = net.output(x).ravel().toFloatVector();

        MultiLayerNetwork exported = PlainReluExport.toPlainRelu(net);

        String exportedJson = exported.getLayerWiseConfigurations().toJson();
        assertFalse(exportedJson.contains(GROWTH_NAME), exportedJson);
        for (int i : new int[] {0, 1, 2}) {
            assertEquals(new ActivationReLU(), activationOf(exported.getLayerWiseConfigurations(), i));
            assertInstanceOf(ActivationGrowthReLU.class, activationOf(net.getLayerWiseConfigurations(), i));
        }
        assertEquals(Activation.IDENTITY.getActivationFunction(), activationOf(exported.getLayerWiseConfigurations(), 3));

        assertArrayEquals(outBefore, exported.output(x).ravel().toFloatVector(), 0f);
        assertArrayEquals(paramsBefore, exported.params().ravel().toFloatVector(), 0f);
        assertArrayEquals(stateBefore, exported.getUpdater().getStateViewArray().ravel().toFloatVector(), 0f);
        assertEquals(4, exported.getIterationCount());
        assertEquals(2, exported.getEpochCount());

        // Original untouched, and the copy shares no storage with it.
        assertEquals(jsonBefore, net.getLayerWiseConfigurations().toJson());
        exported.params().addi(1.0);
        exported.getUpdater().getStateViewArray().addi(1.0);
        assertArrayEquals(paramsBefore, net.params().ravel().toFloatVector(), 0f);
        assertArrayEquals(stateBefore, net.getUpdater().getStateViewArray().ravel().toFloatVector(), 0f);
        assertArrayEquals(outBefore, net.output(x).ravel().toFloatVector(), 0f);
    }

    @Test
    void exportedNetworkTrainsLikeTheOriginalAwayFromTheKink() {
        MultiLayerNetwork net = new MultiLayerNetwork(TestNets.mlnConf(new ActivationGrowthReLU()));
        net.init();
        net.fit(TestNets.batch(1, 8, DataType.FLOAT));
        MultiLayerNetwork exported = PlainReluExport.toPlainRelu(net);

        DataSet next = TestNets.batch(2, 8, DataType.FLOAT);
        net.fit(next);
        exported.fit(next);
        assertTrue(Double.isFinite(exported.score()));
        assertArrayEquals(net.params().ravel().toFloatVector(), exported.params().ravel().toFloatVector(), 0f);
    }

    @Test
    void computationGraphExport() {
        ComputationGraph net = new ComputationGraph(TestNets.graphConf(new ActivationGrowthReLU()));
        net.init();
        for (int i = 0; i < 3; i++) {
            net.fit(TestNets.batch(i, 8, DataType.FLOAT));
        }
        String jsonBefore = net.getConfiguration().toJson();
        float[] paramsBefore = net.params().ravel().toFloatVector();
        float[] stateBefore = net.getUpdater().getStateViewArray().ravel().toFloatVector();
        INDArray x = TestNets.batch(50, 16, DataType.FLOAT).getFeatures();
        float[] outBefore = net.outputSingle(x).ravel().toFloatVector();

        ComputationGraph exported = PlainReluExport.toPlainRelu(net);

        assertFalse(exported.getConfiguration().toJson().contains(GROWTH_NAME));
        assertEquals(new ActivationReLU(),
                ((DenseLayer) exported.getLayer("dense").conf().getLayer()).getActivationFn());
        assertEquals(new ActivationReLU(),
                ((ActivationLayer) exported.getLayer("act").conf().getLayer()).getActivationFn());
        assertInstanceOf(ActivationGrowthReLU.class,
                ((DenseLayer) net.getLayer("dense").conf().getLayer()).getActivationFn());
        assertEquals(jsonBefore, net.getConfiguration().toJson());

        assertArrayEquals(outBefore, exported.outputSingle(x).ravel().toFloatVector(), 0f);
        assertArrayEquals(paramsBefore, exported.params().ravel().toFloatVector(), 0f);
        assertArrayEquals(stateBefore, exported.getUpdater().getStateViewArray().ravel().toFloatVector(), 0f);
        assertEquals(3, exported.getIterationCount());

        exported.params().addi(1.0);
        assertArrayEquals(paramsBefore, net.params().ravel().toFloatVector(), 0f);
    }

    /** Activations hidden in gate functions and wrapper layers must be found too. */
    @Test
    void nestedAndGateActivationsAreReplaced() {
        IActivation g = new ActivationGrowthReLU();
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
                .seed(7)
                .dataType(DataType.FLOAT)
                .updater(new Adam(1e-3))
                .list()
                .layer(new LSTM.Builder().nIn(3).nOut(4).activation(g).gateActivationFunction(g).build())
                .layer(new Bidirectional(new LSTM.Builder().nIn(4).nOut(4).activation(g).build()))
                .layer(new FrozenLayerWithBackprop(new LSTM.Builder().nIn(8).nOut(4).activation(g).build()))
                .layer(new RnnOutputLayer.Builder(LossFunctions.LossFunction.MSE)
                        .nIn(4).nOut(2).activation(Activation.IDENTITY).build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        assertTrue(net.getLayerWiseConfigurations().toJson().split(GROWTH_NAME, -1).length - 1 >= 4);

        MultiLayerNetwork exported = PlainReluExport.toPlainRelu(net);

        assertFalse(exported.getLayerWiseConfigurations().toJson().contains(GROWTH_NAME));
        LSTM lstm = (LSTM) exported.getLayerWiseConfigurations().getConf(0).getLayer();
        assertEquals(new ActivationReLU(), lstm.getActivationFn());
        assertEquals(new ActivationReLU(), lstm.getGateActivationFn());
        Bidirectional bidi = (Bidirectional) exported.getLayerWiseConfigurations().getConf(1).getLayer();
        assertEquals(new ActivationReLU(), ((BaseLayer) bidi.getFwd()).getActivationFn());
        assertEquals(new ActivationReLU(), ((BaseLayer) bidi.getBwd()).getActivationFn());
        FrozenLayerWithBackprop frozen =
                (FrozenLayerWithBackprop) exported.getLayerWiseConfigurations().getConf(2).getLayer();
        assertEquals(new ActivationReLU(), ((BaseLayer) frozen.getUnderlying()).getActivationFn());

        Nd4j.getRandom().setSeed(3);
        INDArray x = Nd4j.randn(DataType.FLOAT, 2, 3, 5);
        assertArrayEquals(net.output(x).ravel().toFloatVector(), exported.output(x).ravel().toFloatVector(), 0f);
    }

    @Test
    void uninitialisedNetworkStaysUninitialised() {
        MultiLayerNetwork net = new MultiLayerNetwork(TestNets.mlnConf(new ActivationGrowthReLU()));
        MultiLayerNetwork exported = PlainReluExport.toPlainRelu(net);
        assertNull(net.getLayers());
        assertNull(exported.getLayers());
        assertFalse(exported.getLayerWiseConfigurations().toJson().contains(GROWTH_NAME));
    }

    @Test
    void jsonWithoutGrowthReluIsSemanticallyUnchanged() {
        MultiLayerConfiguration conf = TestNets.mlnConf(new ActivationReLU());
        String rewritten = PlainReluExport.replaceInJson(conf.toJson());
        assertEquals(conf, MultiLayerConfiguration.fromJson(rewritten));
    }

    /**
     * A deployment JVM has DL4J but not this library: the exported model must load there and give
     * the same output, while the original must not load (proving the harness really lacks the class).
     */
    @Test
    void exportedModelLoadsInAJvmWithoutThisLibrary(@TempDir Path dir) throws Exception {
        Nd4j.getRandom().setSeed(11);
        MultiLayerNetwork net = new MultiLayerNetwork(TestNets.mlnConf(new ActivationGrowthReLU()));
        net.init();
        net.fit(TestNets.batch(5, 8, DataType.FLOAT));
        INDArray x = TestNets.batch(6, 10, DataType.FLOAT).getFeatures();

        File exportedZip = dir.resolve("exported.zip").toFile();
        File originalZip = dir.resolve("original.zip").toFile();
        File in = dir.resolve("in.bin").toFile();
        File out = dir.resolve("out.bin").toFile();
        ModelSerializer.writeModel(PlainReluExport.toPlainRelu(net), exportedZip, true);
        ModelSerializer.writeModel(net, originalZip, true);
        Nd4j.saveBinary(x, in);

        List<String> cmd = new ArrayList<>();
        cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-cp");
        cmd.add(classpathWithoutLibrary());
        cmd.add(LoadWithoutLibraryMain.class.getName());
        cmd.add(exportedZip.getPath());
        cmd.add(originalZip.getPath());
        cmd.add(in.getPath());
        cmd.add(out.getPath());
        Path log = dir.resolve("child.log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), "child JVM timed out");
        String childLog = Files.readString(log, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), childLog);

        assertArrayEquals(net.output(x).ravel().toFloatVector(),
                Nd4j.readBinary(out).ravel().toFloatVector(), 0f);
    }

    private static String classpathWithoutLibrary() throws URISyntaxException {
        return org.dl4jgrowth.testing.ChildJvm.classpathWithout(ActivationGrowthReLU.class);
    }

    private static IActivation activationOf(MultiLayerConfiguration conf, int layer) {
        Object l = conf.getConf(layer).getLayer();
        return l instanceof ActivationLayer ? ((ActivationLayer) l).getActivationFn() : ((BaseLayer) l).getActivationFn();
    }
}
