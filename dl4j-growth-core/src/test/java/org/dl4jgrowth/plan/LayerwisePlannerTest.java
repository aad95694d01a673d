package org.dl4jgrowth.plan;

import org.deeplearning4j.nn.api.Model;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.testing.TestNets;
import org.dl4jgrowth.when.GrowthTrigger;
import org.dl4jgrowth.where.GrowthAmount;
import org.dl4jgrowth.where.SiteSelector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Sgd;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The default planner's amounts at the edge of int (the cap decides, nothing overflows) and the
 * layer names it hands the controller to check up front (the selector's and the trigger's).
 */
class LayerwisePlannerTest {

    private static Model denseDense(boolean graph) {
        return TestNets.build(TestNets.DENSE_DENSE, TestNets.base(3, new Sgd(0.1), DataType.FLOAT), graph);
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void anAmountBeyondIntGrowsToTheCap(boolean graph) {
        for (GrowthAmount amount : new GrowthAmount[]{GrowthAmount.add(Integer.MAX_VALUE),
                GrowthAmount.factor(1e12)}) {
            Model net = denseDense(graph);
            assertEquals(6, NetworkRewrite.width(net, "d1"));
            GrowthPolicy policy = GrowthPolicy.builder().when(GrowthTrigger.everyIterations(1))
                    .where(SiteSelector.layers("d1")).howMuch(amount).maxWidth(16).build();
            GrowthEvent e = new GrowthListener(policy).controller().growNow(net).orElseThrow();
            assertEquals(List.of(new GrowthEvent.LayerGrowth("d1", 6, 16)), e.layers(), amount.toString());
            assertEquals(16, NetworkRewrite.width(net, "d1"), amount.toString());
        }
    }

    /**
     * Without a width cap "as wide as possible" is refused in words, not by an OutOfMemoryError, and
     * before anything else (the controller checks the first growth when it binds to the network).
     */
    @Test
    void anUncappedAmountBeyondIntIsRefusedNamingTheLimit() {
        Model net = denseDense(false);
        GrowthPolicy policy = GrowthPolicy.builder().when(GrowthTrigger.everyIterations(1))
                .where(SiteSelector.layers("d1")).howMuch(GrowthAmount.add(Integer.MAX_VALUE)).maxParams(1000)
                .build();
        org.dl4jgrowth.rewrite.InfeasibleGrowthException e = assertThrows(
                org.dl4jgrowth.rewrite.InfeasibleGrowthException.class,
                () -> new GrowthListener(policy).controller().growNow(net));
        assertTrue(e.getMessage().contains("Layer 'd1' cannot grow from 6 to 2147483647 units"), e.getMessage());
        assertEquals(org.dl4jgrowth.rewrite.UnitMap.MAX_WIDTH, e.limit());
        assertEquals(6, NetworkRewrite.width(net, "d1"), "nothing grew");
    }

    @Test
    void namedLayersAreTheSelectorsThenTheTriggers() {
        LayerwisePlanner p = new LayerwisePlanner(GrowthTrigger.everyIterations(5)
                .and(GrowthTrigger.singularValueAbove(0.1, "h3", "h1")).or(GrowthTrigger.singularValueAbove(0.2, "h4")),
                SiteSelector.layers("h1", "h2"), GrowthAmount.add(1));
        assertEquals(List.of("h1", "h2", "h3", "h4"), p.namedLayers());
        assertEquals(List.of("h3", "h4"), new LayerwisePlanner(GrowthTrigger.singularValueAbove(0.1, "h3")
                .or(GrowthTrigger.singularValueAbove(0.1, "h4")), SiteSelector.allGrowable(), GrowthAmount.add(1))
                .namedLayers());
        assertEquals(List.of("h1"), new LayerwisePlanner(GrowthTrigger.everyEpochs(1), SiteSelector.layers("h1"),
                GrowthAmount.add(1)).namedLayers());
        assertEquals(List.of(), new LayerwisePlanner(GrowthTrigger.singularValueAbove(0.1),
                SiteSelector.allGrowable(), GrowthAmount.add(1)).namedLayers(), "no names: any growable layer");
    }

    /** A trigger's misspelt layer fails when the controller binds, before anything changes. */
    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void aTriggersUnknownLayerIsRefusedUpFront(boolean graph) {
        Model net = denseDense(graph);
        GrowthPolicy policy = GrowthPolicy.builder()
                .when(GrowthTrigger.everyIterations(1).and(GrowthTrigger.singularValueAbove(0.0, "nope")))
                .where(SiteSelector.layers("d1")).howMuch(GrowthAmount.add(1)).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new GrowthListener(policy).controller().growNow(net));
        assertTrue(e.getMessage().contains("No layer named 'nope'"), e.getMessage());
        assertEquals(6, NetworkRewrite.width(net, "d1"), "nothing grew");
    }
}
