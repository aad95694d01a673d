package org.dl4jgrowth.firefly;

import org.deeplearning4j.nn.api.Model;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.testing.TestNets;
import org.dl4jgrowth.when.GrowthTrigger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FireflyTest {

    static Model net(boolean graph) {
        Model net = TestNets.build(TestNets.DENSE_DENSE, TestNets.base(3, new Adam(0.01), DataType.DOUBLE), graph);
        for (int i = 0; i < 5; i++) {
            TestNets.fit(net, TestNets.DENSE_DENSE.data(32, 1, DataType.DOUBLE));
        }
        return net;
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void growsWhereTheScoresSay(boolean graph) {
        Model net = net(graph);
        FireflyPlanner planner = FireflyPlanner.builder().when(GrowthTrigger.everyIterations(1)).newNeurons(4)
                .steps(20).build();
        GrowthListener g = new GrowthListener(GrowthPolicy.builder().planner(planner).seed(4).build());
        DataSet data = TestNets.DENSE_DENSE.data(32, 2, DataType.DOUBLE);
        GrowthEvent e = g.controller().growNow(net, data).orElseThrow();
        FireflyDetails d = (FireflyDetails) e.details();
        System.out.println(e);
        for (GrowthEvent.LayerGrowth lg : e.layers()) {
            FireflyDetails.Layer rec = d.layers().get(lg.layer());
            assertEquals(lg.before() + rec.splitUnits().size() + rec.newNeurons(), lg.after(), lg.toString());
            assertEquals(lg.after(), NetworkRewrite.width(net, lg.layer()));
        }
        TestNets.fit(net, data);
        assertTrue(Double.isFinite(net.score()));
    }
}
