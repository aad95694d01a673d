package org.dl4jgrowth.signal;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.dl4jgrowth.GrowthController;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.GrowthJson;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.data.Digits;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.testing.TestNets;
import org.dl4jgrowth.when.GrowthTrigger;
import org.dl4jgrowth.when.TrainingProgress;
import org.dl4jgrowth.where.GrowthAmount;
import org.dl4jgrowth.where.SiteSelector;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.dl4jgrowth.network.NetworkAdapter;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.learning.config.Adam;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Where and when by GradMax's signal: the largest top singular value picks the layer and fires the trigger. */
class SignalGrowthTest {

    private static MultiLayerNetwork trainedDigits() {
        MultiLayerNetwork net = (MultiLayerNetwork) TestNets.build(TestNets.DIGITS_MLP,
                TestNets.base(4, new Adam(0.01), DataType.FLOAT), false);
        net.fit(Digits.iterator(Digits.split(DataType.FLOAT, 0.8, 4).train(), 64));
        return net;
    }

    private static List<DataSet> data() {
        DataSet d = Digits.split(DataType.FLOAT, 0.8, 4).test();
        return List.of(d);
    }

    private static List<MultiDataSet> multiData() {
        return List.of(NetworkAdapter.toMulti(data().get(0)));
    }

    @Test
    void selectorPicksTheLayerWithTheLargestTopSingularValue() {
        MultiLayerNetwork net = trainedDigits();
        StatisticSignals s = new StatisticSignals(net, SignalGrowthTest::multiData, () -> NetworkRewrite.growableLayers(net));
        double h1 = s.topSingularValue("h1");
        double h2 = s.topSingularValue("h2");
        assertTrue(h1 > 0 && h2 > 0 && h1 != h2, h1 + " vs " + h2);
        String best = h1 > h2 ? "h1" : "h2";
        assertEquals(List.of(best), SiteSelector.bySingularValue(1).select(List.of("h1", "h2"), 0, s));
        assertEquals(List.of(best, h1 > h2 ? "h2" : "h1"), SiteSelector.bySingularValue(2).select(List.of("h1", "h2"), 0, s));
        assertEquals(List.of("h2"), SiteSelector.bySingularValue(1, "h2").select(List.of("h1", "h2"), 0, s));
        assertThrows(IllegalStateException.class, () -> SiteSelector.bySingularValue(1).select(List.of("h1"), 0));

        GrowthController c = GrowthPolicy.builder().when(GrowthTrigger.everyIterations(1))
                .where(SiteSelector.bySingularValue(1)).howMuch(GrowthAmount.add(3))
                .initializer(UnitInitializer.gradMax()).build().newController()
                .growthData(new org.deeplearning4j.datasets.iterator.ExistingDataSetIterator(data()), 1);
        GrowthEvent e = c.growNow(net).orElseThrow();
        assertEquals(best, e.layers().get(0).layer());
        assertTrue(e.notes().get(best).containsKey("singularValues"));
    }

    @Test
    void thresholdTriggerFiresOnlyAboveItAndAfterTheSchedule() {
        MultiLayerNetwork net = trainedDigits();
        AtomicInteger computed = new AtomicInteger();
        StatisticSignals s = new StatisticSignals(net, () -> {
            computed.incrementAndGet();
            return multiData();
        }, () -> NetworkRewrite.growableLayers(net));
        TrainingProgress p = TrainingProgress.duringEpoch(5, 0);
        assertFalse(GrowthTrigger.everyIterations(1000).and(GrowthTrigger.singularValueAbove(0.0)).shouldGrow(p, s));
        assertEquals(0, computed.get(), "the schedule said no first: no statistic computed");
        double top = Math.max(s.topSingularValue("h1"), s.topSingularValue("h2"));
        assertTrue(GrowthTrigger.singularValueAbove(top * 0.9).shouldGrow(p, s));
        assertFalse(GrowthTrigger.singularValueAbove(top * 1.1).shouldGrow(p, s));
        assertFalse(GrowthTrigger.singularValueAbove(top * 1.1).or(GrowthTrigger.everyIterations(1000)).shouldGrow(p, s));
        assertEquals(1, computed.get(), "data fetched once and shared");
        assertThrows(IllegalStateException.class, () -> GrowthTrigger.singularValueAbove(0).shouldGrow(p));
        assertThrows(IllegalArgumentException.class, () -> GrowthTrigger.singularValueAbove(-1));
    }

    @Test
    void signalPolicyRoundTripsAndRunsInFit() {
        GrowthPolicy policy = GrowthPolicy.builder()
                .when(GrowthTrigger.everyIterations(10).and(GrowthTrigger.singularValueAbove(0.0))
                        .and(GrowthTrigger.maxGrowths(2)))
                .where(SiteSelector.bySingularValue(1, "h1", "h2")).howMuch(GrowthAmount.add(2))
                .initializer(UnitInitializer.gradMax()).seed(3).build();
        assertEquals(policy, GrowthPolicy.fromJson(policy.toJson()));
        assertEquals(policy.where(), GrowthJson.fromJson(GrowthJson.toJson(policy.where()),
                org.dl4jgrowth.where.SiteSelector.class));

        Model net = TestNets.build(TestNets.DIGITS_MLP, TestNets.base(4, new Adam(0.01), DataType.FLOAT), false);
        GrowthListener growth = new GrowthListener(policy);
        net.setListeners(growth);
        ((MultiLayerNetwork) net).fit(Digits.iterator(Digits.split(DataType.FLOAT, 0.8, 4).train(), 64), 1);
        assertEquals(2, growth.history().size(), growth.history().toString());
        assertEquals(12, NetworkRewrite.width(net, "h1") + NetworkRewrite.width(net, "h2"));
    }
}
