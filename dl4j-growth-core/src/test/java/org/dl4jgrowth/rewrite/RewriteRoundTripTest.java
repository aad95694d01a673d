package org.dl4jgrowth.rewrite;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.conf.constraint.MaxNormConstraint;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.weightnoise.DropConnect;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.dl4jgrowth.activation.ActivationGrowthReLU;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.testing.NetState;
import org.dl4jgrowth.testing.TestNets;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.schedule.ExponentialSchedule;
import org.nd4j.linalg.schedule.ScheduleType;

import java.io.File;
import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A grown network keeps its layers' settings, saves and restores through ModelSerializer with its
 * optimizer state, counts and the growth-friendly activation, and trains on after restoring.
 */
class RewriteRoundTripTest {
    @TempDir
    File tmp;

    /** d1 uses the growth-friendly ReLU; every layer has regularisation, noise, constraints, a schedule. */
    static final TestNets.Arch ARCH = new TestNets.Arch("growth-relu MLP", () -> java.util.List.of(
            new DenseLayer.Builder().name("d1").nOut(6).activation(new ActivationGrowthReLU()).build(),
            new DenseLayer.Builder().name("d2").nOut(5).activation(org.nd4j.linalg.activations.Activation.TANH).build(),
            new org.deeplearning4j.nn.conf.layers.OutputLayer.Builder().name("out").nOut(3)
                    .activation(org.nd4j.linalg.activations.Activation.SOFTMAX).build()),
            org.deeplearning4j.nn.conf.inputs.InputType.feedForward(4), new long[]{1, 4}, 3);

    private static Model configuredNet(boolean graph) {
        Model net = TestNets.build(ARCH, TestNets.base(11,
                new Adam(new ExponentialSchedule(ScheduleType.ITERATION, 0.01, 0.99)), DataType.DOUBLE)
                .l2(1e-3).weightNoise(new DropConnect(0.95)).constrainWeights(new MaxNormConstraint(2.0, 0))
                .gradientNormalization(GradientNormalization.ClipElementWiseAbsoluteValue)
                .gradientNormalizationThreshold(5.0), graph);
        for (int i = 0; i < 3; i++) {
            TestNets.fit(net, ARCH.data(16, i, DataType.DOUBLE));
        }
        return net;
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void grownLayerKeepsItsSettings(boolean graph) {
        Model net = configuredNet(graph);
        BaseLayer before = (BaseLayer) TestNets.layer(net, "d1").conf().getLayer();
        NetworkRewrite.of(net).grow("d1", 4).initializer(UnitInitializer.random()).apply();
        BaseLayer after = (BaseLayer) TestNets.layer(net, "d1").conf().getLayer();

        assertEquals(10, ((DenseLayer) after).getNOut());
        assertEquals(before.getRegularization(), after.getRegularization());
        assertEquals(before.getConstraints(), after.getConstraints());
        assertEquals(before.getWeightNoise(), after.getWeightNoise());
        assertEquals(before.getGradientNormalization(), after.getGradientNormalization());
        assertEquals(before.getIUpdater(), after.getIUpdater());
        assertInstanceOf(ActivationGrowthReLU.class, after.getActivationFn());

        // The max-norm constraint is applied to the new units' fan-in too.
        for (int i = 0; i < 3; i++) {
            TestNets.fit(net, ARCH.data(16, 20 + i, DataType.DOUBLE));
        }
        INDArray norms = TestNets.layer(net, "d1").getParam("W").norm2(0);
        assertTrue(norms.maxNumber().doubleValue() <= 2.0 + 1e-9, "column norms " + norms);
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void modelSerializerRoundTripOfGrownNetwork(boolean graph) throws IOException {
        Model net = configuredNet(graph);
        NetworkRewrite.of(net).grow("d1", 4).unitMap("d2", UnitMap.split(5, 2)).apply();
        TestNets.fit(net, ARCH.data(16, 40, DataType.DOUBLE));

        File f = new File(tmp, "grown.zip");
        ModelSerializer.writeModel(net, f, true);
        Model restored = graph ? ModelSerializer.restoreComputationGraph(f, true)
                : ModelSerializer.restoreMultiLayerNetwork(f, true);

        NetState a = NetState.of(net);
        NetState b = NetState.of(restored);
        assertEquals(a.json, b.json);
        assertArrayEquals(a.params, b.params);
        assertArrayEquals(a.updaterState, b.updaterState);
        assertEquals(a.iterations, b.iterations);
        assertEquals(a.epochs, b.epochs);
        assertInstanceOf(ActivationGrowthReLU.class,
                ((BaseLayer) TestNets.layer(restored, "d1").conf().getLayer()).getActivationFn());
        assertEquals(10, TestNets.layer(restored, "d1").getParam("W").size(1));

        // Both train on identically (weight noise draws from the global RNG: reseed for both).
        org.nd4j.linalg.factory.Nd4j.getRandom().setSeed(77);
        TestNets.fit(net, ARCH.data(16, 41, DataType.DOUBLE));
        org.nd4j.linalg.factory.Nd4j.getRandom().setSeed(77);
        TestNets.fit(restored, ARCH.data(16, 41, DataType.DOUBLE));
        assertArrayEquals(NetState.of(net).params, NetState.of(restored).params, 1e-9);
        assertTrue(graph ? restored instanceof ComputationGraph : restored instanceof MultiLayerNetwork);
    }
}
