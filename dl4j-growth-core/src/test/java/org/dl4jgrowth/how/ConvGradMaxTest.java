package org.dl4jgrowth.how;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.activation.ActivationGrowthReLU;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.testing.TestNets;
import org.dl4jgrowth.when.GrowthTrigger;
import org.dl4jgrowth.where.GrowthAmount;
import org.dl4jgrowth.where.SiteSelector;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GradMax on convolution channels during fit() of conv -> BN -> act -> conv -> BN -> act -> pool ->
 * dense -> output: the output is unchanged at the growth, the new channels' fan-out kernels follow
 * the statistic, and training goes on.
 */
class ConvGradMaxTest {

    static final TestNets.Arch CNN = new TestNets.Arch("conv-bn-act-conv-bn-act-pool-dense", () -> List.of(
            new ConvolutionLayer.Builder(3, 3).name("c1").nOut(4).activation(Activation.IDENTITY).build(),
            new BatchNormalization.Builder().name("bn1").build(),
            new ActivationLayer.Builder().name("a1").activation(new ActivationGrowthReLU()).build(),
            new ConvolutionLayer.Builder(3, 3).name("c2").nOut(5).activation(Activation.IDENTITY).build(),
            new BatchNormalization.Builder().name("bn2").build(),
            new ActivationLayer.Builder().name("a2").activation(new ActivationGrowthReLU()).build(),
            new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).name("pool").build(),
            new DenseLayer.Builder().name("d").nOut(8).activation(Activation.TANH).build(),
            new OutputLayer.Builder().name("out").nOut(3).activation(Activation.SOFTMAX).build()),
            InputType.convolutional(8, 8, 2), new long[]{1, 2, 8, 8}, 3);

    /** Records the network's output on a fixed input at each iteration it is told to watch. */
    static final class Probe extends BaseTrainingListener {
        final INDArray x;
        final List<INDArray> outputs = new ArrayList<>();
        final int at;

        Probe(INDArray x, int at) {
            this.x = x;
            this.at = at;
        }

        @Override
        public void iterationDone(Model model, int iteration, int epoch) {
            if (iteration == at) {
                outputs.add(((MultiLayerNetwork) model).output(x, false).dup());
            }
        }
    }

    @ParameterizedTest(name = "initializer={0}")
    @ValueSource(strings = {"gradMax", "randomFanOut"})
    void convGrowthDuringFitPreservesOutputAndTrainsOn(String how) {
        MultiLayerNetwork net = (MultiLayerNetwork) TestNets.build(CNN, TestNets.base(8, new Adam(0.01),
                DataType.DOUBLE), false);
        List<DataSet> batches = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            batches.add(CNN.data(16, 100 + i, DataType.DOUBLE));
        }
        DataSetIterator train = new org.deeplearning4j.datasets.iterator.ExistingDataSetIterator(batches);
        INDArray x = CNN.input(8, 5, DataType.DOUBLE);
        UnitInitializer init = "gradMax".equals(how) ? UnitInitializer.gradMax() : UnitInitializer.randomFanOut();
        Probe before = new Probe(x, 7);
        Probe after = new Probe(x, 7);
        GrowthListener growth = GrowthListener.builder().policy(GrowthPolicy.builder()
                        .when(GrowthTrigger.atIterations(7)).where(SiteSelector.layers("c1"))
                        .howMuch(GrowthAmount.add(3)).initializer(init).seed(2).build())
                .growthData(new org.deeplearning4j.datasets.iterator.ExistingDataSetIterator(batches.subList(0, 2)), 2)
                .build();
        net.setListeners(before, growth, after);
        net.fit(train, 4);

        assertEquals(7, NetworkRewrite.width(net, "c1"));
        double diff = after.outputs.get(0).sub(before.outputs.get(0)).amaxNumber().doubleValue();
        assertTrue(diff < 1e-6, how + ": output changed at the growth by " + diff);
        GrowthEvent e = growth.history().events().get(0);
        assertEquals(7, e.iteration());
        // New channels: zero fan-in at the growth, fan-out kernels of the target norm, BN at identity.
        INDArray c2 = net.getLayer("c2").getParam("W");
        assertTrue(c2.get(NDArrayIndex.all(), NDArrayIndex.interval(4, 7), NDArrayIndex.all(), NDArrayIndex.all())
                .norm2Number().doubleValue() > 0);
        if ("gradMax".equals(how)) {
            assertTrue(e.notes().get("c1").containsKey("singularValues"), e.toString());
        }
        // Training went on after the growth and the new channels' fan-in learned something.
        INDArray newFanIn = net.getLayer("c1").getParam("W").get(NDArrayIndex.interval(4, 7), NDArrayIndex.all(),
                NDArrayIndex.all(), NDArrayIndex.all());
        assertTrue(newFanIn.norm2Number().doubleValue() > 1e-4, "new fan-in moved: " + newFanIn.norm2Number());
        assertTrue(Double.isFinite(net.score()));
    }
}
