package org.dl4jgrowth.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The paired runner runs its events for real (each grows the layer, or it throws) and reports what it timed; no timing is asserted. */
class EventCostTest {

    @Test
    void timesRealEventsAndIterationsInPairs() {
        EventCost.Result r = EventCost.run("mlp", 3, 1);
        assertEquals(3, r.eventMs.length);
        for (int i = 0; i < 3; i++) {
            assertTrue(r.eventMs[i] > 0 && r.iterationMs[i] > 0, "pair " + i + " timed both");
            assertTrue(r.signalMs[i] > 0 && r.signalMs[i] <= r.eventMs[i], "the event's own signal time is part of it");
        }
        assertEquals("direct", r.route, "the MLP's statistic takes the direct route");
        assertTrue(EventCost.row(r).startsWith("mlp"));
    }

    @Test
    void timesRealSignalEvaluationsOnBothNetworkTypes() {
        for (String type : new String[]{"mln", "cg"}) {
            EventCost.Result r = EventCost.signal(type, 2, 1);
            assertEquals(2, r.eventMs.length);
            assertEquals("evaluations 3", r.route, type + ": one evaluation per pair, warm-up included");
            assertTrue(r.eventMs[0] > 0 && r.iterationMs[1] > 0);
        }
    }

    @Test
    void quantilesInterpolate() {
        double[] x = {4, 1, 3, 2};
        assertEquals(1.0, EventCost.quantile(x, 0), 0.0);
        assertEquals(2.5, EventCost.quantile(x, 0.5), 1e-12);
        assertEquals(4.0, EventCost.quantile(x, 1), 0.0);
    }

    @Test
    void unknownNetworksAndOptionsAreRefusedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EventCost.run("rnn", 1, 0));
        assertTrue(e.getMessage().contains("rnn") && e.getMessage().contains("mlp"), e.getMessage());
        IllegalArgumentException o = assertThrows(IllegalArgumentException.class,
                () -> EventCost.main(new String[]{"--pair", "3"}));
        assertTrue(o.getMessage().contains("--pair") && o.getMessage().contains("--pairs"), o.getMessage());
    }
}
