package org.dl4jgrowth.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.data.Digits;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.testing.TestNets;
import org.dl4jgrowth.when.GrowthTrigger;
import org.dl4jgrowth.where.GrowthAmount;
import org.dl4jgrowth.where.SiteSelector;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;

/**
 * A GradMax growth inside {@code fit()} on whatever backend is active: the digits MLP (FLOAT) grows its
 * hidden layer from 4 to 8 units at iteration 20, and the output on held-out digits just after the growth
 * must equal the output just before it.
 */
final class GrowthInFit {

    /** Float outputs of a softmax over a few hundred products: function preservation holds to this. */
    static final double TOLERANCE = 1e-5;

    private GrowthInFit() {
    }

    /**
     * Runs the growth and checks it; returns the single event.
     *
     * @param expectedBackend the start of the event's backend, e.g. "CPU" or "CUDA:"
     */
    static GrowthEvent growAndCheckPreserved(String expectedSvdEngine, String expectedBackend) {
        Digits.Split split = Digits.split(DataType.FLOAT, 0.8, 9);
        MultiLayerNetwork net = (MultiLayerNetwork) TestNets.build(TestNets.DIGITS_MLP,
                TestNets.base(9, new Adam(0.01), DataType.FLOAT), false);
        INDArray probe = split.test().getFeatures().get(NDArrayIndex.interval(0, 100), NDArrayIndex.all()).dup();
        AtomicReference<INDArray> before = new AtomicReference<>();
        List<Double> changes = new ArrayList<>();
        // Listeners run in order: this one sees the network just before the growth listener rewrites it.
        BaseTrainingListener snapshot = new BaseTrainingListener() {
            @Override
            public void iterationDone(Model model, int iteration, int epoch) {
                before.set(net.output(probe).dup());
            }
        };
        GrowthListener growth = GrowthListener.builder().policy(GrowthPolicy.builder()
                        .when(GrowthTrigger.atIterations(20)).where(SiteSelector.layers("h1"))
                        .howMuch(GrowthAmount.add(4)).initializer(UnitInitializer.gradMax()).seed(1).build())
                .growthData(Digits.iterator(split.train(), 128), 2)
                .onGrowth(e -> changes.add(net.output(probe).sub(before.get()).amaxNumber().doubleValue()))
                .build();
        net.setListeners(snapshot, growth);
        net.fit(Digits.iterator(split.train(), 64), 2);

        assertEquals(1, growth.history().size(), growth.history().toString());
        GrowthEvent e = growth.history().events().get(0);
        assertEquals(8, TestNets.layer(net, "h1").getParam("W").size(1), "h1 width");
        assertTrue(changes.get(0) <= TOLERANCE, "output changed by " + changes.get(0) + " in " + e);
        assertEquals(expectedSvdEngine, e.svdEngine(), e.toString());
        assertEquals(expectedSvdEngine, e.notes().get("h1").get("svdEngine"), e.toString());
        assertTrue(e.backend().startsWith(expectedBackend), e.toString());
        assertTrue(Double.isFinite(net.score()), "training went on after the growth: score " + net.score());
        return e;
    }
}
