package org.dl4jgrowth.signal;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.optimize.listeners.ScoreIterationListener;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.testing.TestNets;
import org.dl4jgrowth.when.GrowthTrigger;
import org.dl4jgrowth.where.GrowthAmount;
import org.dl4jgrowth.where.SiteSelector;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GradMax inside fit() on a network with dropout (Dense -> BN -> Dropout -> Dense): a signal trigger
 * watching both sites has their statistics from one direct pass with dropout off, the growth of d1
 * uses it, the event says so, and the network keeps training with its dropout; both network types,
 * score listeners before and after.
 */
class DropoutStatisticInFitTest {

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void gradMaxOnADropoutNetworkTakesTheDirectRouteWithDropoutOff(boolean graph) {
        Model net = TestNets.build(TestNets.DENSE_BN_DENSE, TestNets.base(4, new Adam(0.01), DataType.FLOAT), graph);
        List<DataSet> data = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            data.add(TestNets.DENSE_BN_DENSE.data(16, 60 + i, DataType.FLOAT));
        }
        // The trigger watches both sites (one shared pass); the event grows d1 from the statistic it cached.
        GrowthListener growth = new GrowthListener(GrowthPolicy.builder().when(GrowthTrigger.atIterations(1)
                        .and(GrowthTrigger.singularValueAbove(0, "d1", "d2")))
                .where(SiteSelector.layers("d1")).howMuch(GrowthAmount.add(2))
                .initializer(UnitInitializer.gradMax()).build());
        TestNets.fitEpoch(net, data, new ScoreIterationListener(1000), growth, new ScoreIterationListener(1000));
        assertEquals(1, growth.history().size());
        GrowthEvent e = growth.history().events().get(0);
        Map<String, Object> notes = e.notes().get("d1");
        assertEquals("direct (dropout off)", notes.get("statisticRoute"));
        assertEquals(1, e.signalPasses(), "both watched sites from one pass over the one minibatch");
        assertEquals(8, NetworkRewrite.width(net, "d1"));
        assertEquals(5, NetworkRewrite.width(net, "d2"));
        assertTrue(DirectStatistic.hasDropout(net), "the network keeps its dropout");
        assertEquals(4, TestNets.iterationCount(net), "training went on after the growth");
    }
}
