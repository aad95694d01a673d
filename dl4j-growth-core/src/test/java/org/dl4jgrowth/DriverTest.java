package org.dl4jgrowth;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.linalg.SvdEngines;
import org.dl4jgrowth.network.NetworkAdapter;
import org.dl4jgrowth.signal.GradientStatistic;
import org.dl4jgrowth.testing.NetState;
import org.dl4jgrowth.testing.TestNets;
import org.dl4jgrowth.when.GrowthTrigger;
import org.dl4jgrowth.where.GrowthAmount;
import org.dl4jgrowth.where.SiteSelector;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a training driver (ParallelWrapper, Spark, a loop of its own) gives the controller: a
 * statistic computed elsewhere, as the sum over workers' minibatches, grows the network exactly as
 * the statistic of the whole minibatch would; and a multi-input, multi-output graph grows on
 * growth data handed in with the call.
 */
class DriverTest {

    private static GrowthPolicy gradMax(String layer) {
        return GrowthPolicy.builder().when(GrowthTrigger.everyIterations(1)).where(SiteSelector.layers(layer))
                .howMuch(GrowthAmount.add(3)).initializer(UnitInitializer.gradMax()).seed(4).build();
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void aStatisticSummedOverWorkersGrowsLikeTheWholeBatchsStatistic(boolean graph) {
        {
            Model local = TestNets.build(TestNets.DENSE_DENSE, TestNets.base(3, new Adam(0.01), DataType.DOUBLE), graph);
            DataSet whole = TestNets.DENSE_DENSE.data(24, 5, DataType.DOUBLE);
            TestNets.fit(local, whole);
            Model driven = TestNets.copy(local);
            DataSet[] halves = {new DataSet(whole.getFeatures().get(NDArrayIndex.interval(0, 12), NDArrayIndex.all()),
                    whole.getLabels().get(NDArrayIndex.interval(0, 12), NDArrayIndex.all())),
                    new DataSet(whole.getFeatures().get(NDArrayIndex.interval(12, 24), NDArrayIndex.all()),
                            whole.getLabels().get(NDArrayIndex.interval(12, 24), NDArrayIndex.all()))};

            GrowthEvent a = gradMax("d1").newController().growNow(local, whole).orElseThrow();
            // Two "workers" on replicas of the master, each with half of the minibatch; the master sums.
            INDArray sum = GradientStatistic.compute(TestNets.copy(driven), "d1", List.of(halves[0]))
                    .add(GradientStatistic.compute(TestNets.copy(driven), "d1", List.of(halves[1])));
            GrowthController master = gradMax("d1").newController().supplyStatistic("d1", sum, 24);
            GrowthEvent b = master.growNow(driven).orElseThrow();

            assertEquals(0, b.signalPasses(), "no growth data was read: the supplied statistic was used");
            double[] pa = NetState.of(local).params;
            double[] pb = NetState.of(driven).params;
            double scale = 0;
            double diff = 0;
            for (int i = 0; i < pa.length; i++) {
                scale = Math.max(scale, Math.abs(pa[i]));
                diff = Math.max(diff, Math.abs(pa[i] - pb[i]));
            }
            assertTrue(diff <= 1e-9 * scale, "same growth: max difference " + diff + " of " + scale);
            @SuppressWarnings("unchecked")
            List<Number> sa = (List<Number>) a.notes().get("d1").get("singularValues");
            @SuppressWarnings("unchecked")
            List<Number> sb = (List<Number>) b.notes().get("d1").get("singularValues");
            for (int i = 0; i < sa.size(); i++) {
                assertEquals(sa.get(i).doubleValue(), sb.get(i).doubleValue(), 1e-9 * sa.get(0).doubleValue());
            }
        }
    }

    /** in1 -> d1 -> d2 -> out1 and in2 -> e -> out2: two inputs, two outputs. */
    private static ComputationGraph twoInputs() {
        ComputationGraphConfiguration conf = TestNets.base(6, new Adam(0.01), DataType.FLOAT).graphBuilder()
                .addInputs("in1", "in2")
                .addLayer("d1", new DenseLayer.Builder().nOut(5).activation(Activation.TANH).build(), "in1")
                .addLayer("d2", new DenseLayer.Builder().nOut(4).activation(Activation.TANH).build(), "d1")
                .addLayer("out1", new OutputLayer.Builder().nOut(3).activation(Activation.SOFTMAX)
                        .lossFunction(LossFunctions.LossFunction.MCXENT).build(), "d2")
                .addLayer("e", new DenseLayer.Builder().nOut(3).activation(Activation.TANH).build(), "in2")
                .addLayer("out2", new OutputLayer.Builder().nOut(2).activation(Activation.IDENTITY)
                        .lossFunction(LossFunctions.LossFunction.MSE).build(), "e")
                .setOutputs("out1", "out2").setInputTypes(InputType.feedForward(4), InputType.feedForward(6)).build();
        ComputationGraph g = new ComputationGraph(conf);
        g.init();
        return g;
    }

    @Test
    void aTwoInputGraphGrowsOnMultiDataSetGrowthData() {
        ComputationGraph g = twoInputs();
        Nd4j.getRandom().setSeed(8);
        INDArray x1 = Nd4j.rand(DataType.FLOAT, 16, 4);
        INDArray x2 = Nd4j.rand(DataType.FLOAT, 16, 6);
        INDArray y1 = Nd4j.zeros(DataType.FLOAT, 16, 3);
        for (int i = 0; i < 16; i++) {
            y1.putScalar(i, i % 3, 1.0);
        }
        INDArray y2 = Nd4j.rand(DataType.FLOAT, 16, 2);
        MultiDataSet data = new MultiDataSet(new INDArray[]{x1, x2}, new INDArray[]{y1, y2});
        g.fit(data);
        INDArray[] before = g.output(false, x1, x2);
        double[] expected = SvdEngines.best().top(GradientStatistic.computeMulti(g, "d1", List.of(data)), 3)
                .singularValues().castTo(DataType.DOUBLE).toDoubleVector();

        GrowthEvent e = gradMax("d1").newController().growNow(g, data).orElseThrow();
        assertEquals(8, g.getLayer("d1").getParam("W").size(1));
        INDArray[] after = g.output(false, x1, x2);
        for (int k = 0; k < 2; k++) {
            assertTrue(after[k].sub(before[k]).amaxNumber().doubleValue() < 1e-5, "output " + k + " preserved");
        }
        @SuppressWarnings("unchecked")
        List<Number> noted = (List<Number>) e.notes().get("d1").get("singularValues");
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], noted.get(i).doubleValue(), 1e-4 * expected[0], "singular value " + i);
        }
        assertTrue(expected[0] > 0);
        g.fit(data);   // and trains on
        assertTrue(Double.isFinite(g.score()));
    }
}
