package org.dl4jgrowth.bench;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Memory stays flat while a network grows in one long {@code fit()} ({@link GrowthSoak}; issue
 * "Performance I", goal 5). Asserted, between an early checkpoint and the last:
 * <ul>
 *   <li>every event happened, each inside the one {@code fit()} call;</li>
 *   <li>heap after GC at the last checkpoint within 10% of the early one plus the parameters' own
 *       growth (4 FLOAT arrays per parameter; lenient, since ND4J keeps parameters off-heap: the raw
 *       heap growth is printed);</li>
 *   <li>ND4J workspaces: the same workspaces (no new one per growth), and their total size per
 *       output unit of the trained layers (h1 + h2 + out) within 10% of the early one. Workspaces
 *       hold a minibatch's activations, pre-activations and their gradients, which are
 *       batch x width per layer: growing in proportion to the widths is what they must do, growing
 *       faster would be memory kept per growth.</li>
 * </ul>
 * RSS is printed, not asserted: it is what glibc's allocator keeps, not what is in use (see
 * docs/soak-and-overhead-notes.md).
 *
 * <p>All 1,000 events, compared from event 100: about 35 s on the idle 2-core machine used here, so
 * it runs in CI untagged. The time is the rewrites' (about 10-30 ms each here, the readings take
 * none of it) and depends on load: with another build on both cores it took 5 minutes.
 */
class GrowthSoakTest {

    @Test
    void thousandEventsKeepHeapAndWorkspacesFlat() {
        check(GrowthSoak.run(1000, 100), 1000, 100);
    }

    private static void check(GrowthSoak.Run run, int events, int early) {
        String report = GrowthSoak.table(run) + GrowthSoak.ratios(run, early, events);
        System.out.print(report);

        assertEquals(events, run.events, "growth events");
        assertEquals(events, run.eventsInsideFit, "events seen inside the one fit() call");
        GrowthSoak.Checkpoint a = run.at(early);
        GrowthSoak.Checkpoint b = run.at(events);
        assertTrue(b.params > a.params, "the network grew: " + a.params + " -> " + b.params);

        long allowance = (long) (0.10 * a.heapBytes) + (b.params - a.params) * GrowthSoak.BYTES_PER_PARAM;
        assertTrue(b.heapBytes - a.heapBytes <= allowance, "heap after GC grew by " + (b.heapBytes - a.heapBytes)
                + " bytes from event " + early + " to " + events + ", allowed " + allowance + "\n" + report);

        // The kept buffers the RSS comparison counts as the parameters': at least the live generation
        // (parameters, gradient, Adam's m and v), at most two generations of buffers up to twice the
        // size they serve, plus temporaries no larger than a parameter's share.
        assertTrue(b.keptBytes >= b.params * GrowthSoak.BYTES_PER_PARAM
                        && b.keptBytes <= 5 * b.params * GrowthSoak.BYTES_PER_PARAM,
                "kept buffers " + b.keptBytes + " bytes for " + b.params + " parameters\n" + report);

        assertEquals(a.workspaces.keySet(), b.workspaces.keySet(), "the same ND4J workspaces\n" + report);
        double perUnitA = (double) a.workspaceBytes() / (a.hiddenUnits + 10);
        double perUnitB = (double) b.workspaceBytes() / (b.hiddenUnits + 10);
        assertTrue(perUnitB <= 1.10 * perUnitA, "workspace bytes per output unit " + perUnitA + " at event " + early
                + ", " + perUnitB + " at event " + events + "\n" + report);
    }
}
