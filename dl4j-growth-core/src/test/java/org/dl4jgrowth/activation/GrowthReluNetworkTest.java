package org.dl4jgrowth.activation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Path;

import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

class GrowthReluNetworkTest {

    private DataType savedDefault;
    private DataType savedFloatDefault;

    @BeforeEach
    void saveTypes() {
        savedDefault = Nd4j.dataType();
        savedFloatDefault = Nd4j.defaultFloatingPointType();
    }

    @AfterEach
    void restoreTypes() {
        Nd4j.setDefaultDataTypes(savedDefault, savedFloatDefault);
    }

    @Test
    void multiLayerConfigurationJsonRoundTrip() {
        MultiLayerConfiguration conf = TestNets.mlnConf(new ActivationGrowthReLU());
        String json = conf.toJson();
        assertTrue(json.contains(ActivationGrowthReLU.class.getName()), json);

        MultiLayerConfiguration back = MultiLayerConfiguration.fromJson(json);
        assertEquals(conf, back);
        assertInstanceOf(ActivationGrowthReLU.class, ((BaseLayer) back.getConf(0).getLayer()).getActivationFn());
        assertInstanceOf(ActivationGrowthReLU.class, ((ActivationLayer) back.getConf(1).getLayer()).getActivationFn());
        // Guards against the equality above being vacuous (e.g. activations ignored by equals).
        assertTrue(!conf.equals(TestNets.mlnConf(new ActivationReLU())));
    }

    @Test
    void graphConfigurationJsonRoundTrip() {
        ComputationGraphConfiguration conf = TestNets.graphConf(new ActivationGrowthReLU());
        ComputationGraphConfiguration back = ComputationGraphConfiguration.fromJson(conf.toJson());
        assertEquals(conf, back);
        assertTrue(!conf.equals(TestNets.graphConf(new ActivationReLU())));
    }

    @Test
    void multiLayerNetworkModelSerializerRoundTripAndContinuedTraining(@TempDir Path dir) throws Exception {
        MultiLayerNetwork net = new MultiLayerNetwork(TestNets.mlnConf(new ActivationGrowthReLU()));
        net.init();
        for (int i = 0; i < 3; i++) {
            net.fit(TestNets.batch(i, 8, DataType.FLOAT));
        }
        INDArray updaterState = net.getUpdater().getStateViewArray();
        assertTrue(updaterState.norm2Number().doubleValue() > 0, "Adam state should be non-trivial");

        File file = dir.resolve("mln.zip").toFile();
        ModelSerializer.writeModel(net, file, true);
        MultiLayerNetwork restored = ModelSerializer.restoreMultiLayerNetwork(file, true);

        assertEquals(net.getLayerWiseConfigurations(), restored.getLayerWiseConfigurations());
        assertInstanceOf(ActivationGrowthReLU.class,
                ((BaseLayer) restored.getLayerWiseConfigurations().getConf(0).getLayer()).getActivationFn());
        assertArrayEquals(net.params().ravel().toFloatVector(), restored.params().ravel().toFloatVector(), 0f);
        assertArrayEquals(updaterState.ravel().toFloatVector(),
                restored.getUpdater().getStateViewArray().ravel().toFloatVector(), 0f);
        assertEquals(3, restored.getIterationCount());

        DataSet next = TestNets.batch(99, 8, DataType.FLOAT);
        restored.fit(next);
        assertTrue(Double.isFinite(restored.score()));
        // Same state + same batch must give the same step; a lost or reset Adam state would not.
        net.fit(next);
        assertArrayEquals(net.params().ravel().toFloatVector(), restored.params().ravel().toFloatVector(), 0f);
    }

    @Test
    void computationGraphModelSerializerRoundTripAndContinuedTraining(@TempDir Path dir) throws Exception {
        ComputationGraph net = new ComputationGraph(TestNets.graphConf(new ActivationGrowthReLU()));
        net.init();
        for (int i = 0; i < 3; i++) {
            net.fit(TestNets.batch(i, 8, DataType.FLOAT));
        }
        INDArray updaterState = net.getUpdater().getStateViewArray();

        File file = dir.resolve("cg.zip").toFile();
        ModelSerializer.writeModel(net, file, true);
        ComputationGraph restored = ModelSerializer.restoreComputationGraph(file, true);

        assertEquals(net.getConfiguration(), restored.getConfiguration());
        DenseLayer dense = (DenseLayer) restored.getLayer("dense").conf().getLayer();
        assertInstanceOf(ActivationGrowthReLU.class, dense.getActivationFn());
        assertArrayEquals(net.params().ravel().toFloatVector(), restored.params().ravel().toFloatVector(), 0f);
        assertArrayEquals(updaterState.ravel().toFloatVector(),
                restored.getUpdater().getStateViewArray().ravel().toFloatVector(), 0f);

        DataSet next = TestNets.batch(99, 8, DataType.FLOAT);
        restored.fit(next);
        assertTrue(Double.isFinite(restored.score()));
        net.fit(next);
        assertArrayEquals(net.params().ravel().toFloatVector(), restored.params().ravel().toFloatVector(), 0f);
    }

    /** The reason the class exists: a neuron with zero fan-in must still get a fan-in gradient. */
    @Test
    void zeroFanInUnitReceivesFanInGradientOnlyWithGrowthRelu() {
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
        int newUnit = 2;
        MultiLayerNetwork growth = twoLayerNet(new ActivationGrowthReLU(), new Sgd(0.1));
        // Simulate a freshly grown neuron: no incoming weights, no bias, but non-zero outgoing weights.
        growth.getLayer(0).getParam("W").getColumn(newUnit).assign(0.0);
        growth.getLayer(0).getParam("b").putScalar(newUnit, 0.0);
        assertTrue(growth.getLayer(1).getParam("W").getRow(newUnit).norm2Number().doubleValue() > 0);

        MultiLayerNetwork relu = twoLayerNet(new ActivationReLU(), new Sgd(0.1));
        relu.setParams(growth.params().dup());

        DataSet data = TestNets.batch(7, 5, DataType.DOUBLE);
        INDArray growthW = fanInGradient(growth, data);
        INDArray reluW = fanInGradient(relu, data);

        // Both networks compute the same function.
        assertArrayEquals(relu.output(data.getFeatures()).ravel().toDoubleVector(),
                growth.output(data.getFeatures()).ravel().toDoubleVector(), 0.0);

        INDArray growthCol = growthW.getColumn(newUnit);
        INDArray reluCol = reluW.getColumn(newUnit);
        assertTrue(growthCol.norm2Number().doubleValue() > 1e-3,
                "growth ReLU must pass gradient to the zero fan-in unit: " + growthCol);
        assertEquals(0.0, reluCol.norm2Number().doubleValue(), 0.0,
                "plain ReLU blocks the gradient at z = 0: " + reluCol);

        // Every other unit has z != 0 and so sees the same gradient under both activations.
        for (int j = 0; j < TestNets.HIDDEN; j++) {
            if (j != newUnit) {
                assertArrayEquals(reluW.getColumn(j).ravel().toDoubleVector(), growthW.getColumn(j).ravel().toDoubleVector(), 0.0);
            }
        }
        // As in GradMax, the new unit's output is 0, so its fan-out gradient is 0 on the first step.
        INDArray fanOut = growth.gradient().getGradientFor("1_W").getRow(newUnit);
        assertEquals(0.0, fanOut.norm2Number().doubleValue(), 0.0);
    }

    @Test
    void gradientCheckPassesAwayFromTheKink() {
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
        MultiLayerNetwork net = twoLayerNet(new ActivationGrowthReLU(), new NoOp());
        DataSet data = TestNets.batch(3, 10, DataType.DOUBLE);
        INDArray x = data.getFeatures();

        // Finite differences with step 1e-6 are only meaningful if no pre-activation is within reach
        // of the kink; both sides of the kink must be exercised for the check to mean anything.
        INDArray z = x.mmul(net.getLayer(0).getParam("W")).addiRowVector(net.getLayer(0).getParam("b"));
        double minAbs = Double.MAX_VALUE;
        int negatives = 0;
        for (double v : z.ravel().toDoubleVector()) {
            minAbs = Math.min(minAbs, Math.abs(v));
            if (v < 0) {
                negatives++;
            }
        }
        assertTrue(minAbs > 1e-3, "pre-activation too close to 0: " + minAbs);
        assertTrue(negatives > 0 && negatives < z.length(), "need both signs, got negatives=" + negatives);

        boolean ok = GradientCheckUtil.checkGradients(new GradientCheckUtil.MLNConfig()
                .net(net)
                .input(x)
                .labels(data.getLabels())
                .epsilon(1e-6)
                .maxRelError(1e-5)
                .minAbsoluteError(1e-9)
                .print(GradientCheckUtil.PrintMode.FAILURES_ONLY)
                .exitOnFirstError(false));
        assertTrue(ok, "gradient check failed");
    }

    private static MultiLayerNetwork twoLayerNet(IActivation act, org.nd4j.linalg.learning.config.IUpdater updater) {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
                .seed(42)
                .dataType(DataType.DOUBLE)
                .updater(updater)
                .weightInit(WeightInit.XAVIER)
                .list()
                .layer(new DenseLayer.Builder().nIn(TestNets.N_IN).nOut(TestNets.HIDDEN).activation(act).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE)
                        .nIn(TestNets.HIDDEN).nOut(TestNets.N_OUT).activation(Activation.IDENTITY).build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    private static INDArray fanInGradient(MultiLayerNetwork net, DataSet data) {
        net.setInput(data.getFeatures());
        net.setLabels(data.getLabels());
        net.computeGradientAndScore();
        INDArray g = net.gradient().getGradientFor("0_W");
        assertNotNull(g);
        assertEquals(DataType.DOUBLE, g.dataType());
        return g.dup();
    }
}
