package org.dl4jgrowth.rewrite;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.testing.TestNets;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A layer read by two branches of a graph: both consumers get the new units' fan-out. */
class BranchingGraphTest {

    @Test
    void growingASharedLayerPreservesBothOutputs() {
        ComputationGraphConfiguration conf = TestNets.base(5, new Adam(0.01), DataType.DOUBLE).graphBuilder()
                .addInputs("in")
                .addLayer("shared", new DenseLayer.Builder().nIn(4).nOut(6).activation(Activation.TANH).build(), "in")
                .addLayer("a", new DenseLayer.Builder().nIn(6).nOut(5).activation(Activation.TANH).build(), "shared")
                .addLayer("b", new DenseLayer.Builder().nIn(6).nOut(3).activation(Activation.TANH).build(), "shared")
                .addLayer("outA", new OutputLayer.Builder().nIn(5).nOut(2).activation(Activation.SOFTMAX).build(), "a")
                .addLayer("outB", new OutputLayer.Builder().nIn(3).nOut(2).activation(Activation.SOFTMAX).build(), "b")
                .setOutputs("outA", "outB").build();
        ComputationGraph g = new ComputationGraph(conf);
        g.init();
        INDArray x = Nd4j.rand(DataType.DOUBLE, 5, 4);
        INDArray[] before = g.output(x);

        NetworkRewrite.of(g).grow("shared", 3).initializer(UnitInitializer.functionPreserving()).apply();

        assertEquals(9, g.getLayer("a").getParam("W").size(0));
        assertEquals(9, g.getLayer("b").getParam("W").size(0));
        INDArray[] after = g.output(x);
        for (int i = 0; i < 2; i++) {
            double diff = after[i].sub(before[i]).amaxNumber().doubleValue();
            assertTrue(diff < 1e-6, "output " + i + " changed by " + diff);
        }
        // The fresh units do reach both branches once their fan-out is non-zero.
        NetworkRewrite.of(g).grow("shared", 2).initializer(UnitInitializer.random()).seed(1).apply();
        INDArray[] changed = g.output(x);
        assertTrue(changed[0].sub(after[0]).amaxNumber().doubleValue() > 1e-6);
        assertTrue(changed[1].sub(after[1]).amaxNumber().doubleValue() > 1e-6);
    }
}
