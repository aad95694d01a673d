package org.dl4jgrowth.bench;

import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.plan.ReplayPlanner;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The comparison command on a small digits run: every baseline replays Firefly's schedule (same
 * layers, same final widths, same moments; GradMax's chains one iteration apart, consumer first),
 * and the table has a row per method.
 */
class FireflyComparisonTest {

    @Test
    void gradMaxGrowsAChainConsumerFirstInConsecutiveIterations() {
        FireflyComparison.Task task = FireflyComparison.digits(60, new long[]{19}, 4, 5, 5);
        GrowthEvent both = new GrowthEvent(0, 19, 0, false, List.of(new GrowthEvent.LayerGrowth("h1", 8, 10),
                new GrowthEvent.LayerGrowth("h2", 8, 10)), UnitInitializer.random(), 1, 2, 1.0, 1.0, "cpu", null,
                null);
        List<ReplayPlanner.Step> gradMax = FireflyComparison.replaySteps(task, 0, FireflyComparison.Method.GRADMAX,
                List.of(both));
        assertEquals(2, gradMax.size(), gradMax.toString());
        assertEquals(19, gradMax.get(0).iteration());
        assertEquals(Map.of("h2", 2), gradMax.get(0).added(), "the consumer first");
        assertEquals(20, gradMax.get(1).iteration());
        assertEquals(Map.of("h1", 2), gradMax.get(1).added());
        List<ReplayPlanner.Step> random = FireflyComparison.replaySteps(task, 0, FireflyComparison.Method.RANDOM,
                List.of(both));
        assertEquals(1, random.size(), "the others replay the event as it was");
        assertEquals(Map.of("h1", 2, "h2", 2), random.get(0).added());
    }

    @Test
    void everyBaselineReplaysFireflysScheduleInsideFit() {
        FireflyComparison.Task task = FireflyComparison.digits(70, new long[]{19, 39}, 6, 5, 5);
        List<FireflyComparison.Run> runs = FireflyComparison.run(task, 1);
        assertEquals(4, runs.size());
        FireflyComparison.Run firefly = runs.get(0);
        assertEquals(FireflyComparison.Method.FIREFLY, firefly.method);
        assertEquals(List.of(19L, 39L), firefly.events.stream().map(GrowthEvent::iteration)
                .collect(Collectors.toList()), "Firefly grew at both moments");
        for (FireflyComparison.Run r : runs.subList(1, 4)) {
            assertEquals(firefly.widths, r.widths, r.method + " ends at Firefly's widths");
            for (GrowthEvent e : r.events) {
                long t = e.iteration();
                assertTrue((t >= 19 && t <= 20) || (t >= 39 && t <= 40), r.method + " grew at " + t);
                if (r.method != FireflyComparison.Method.GRADMAX) {
                    assertTrue(t == 19 || t == 39, r.method + " grew at Firefly's moments");
                }
            }
            assertEquals(r.method.init, r.events.get(0).initializer());
            for (double loss : r.lossAfter) {
                assertTrue(Double.isFinite(loss) && loss > 0, r.method + " " + loss);
            }
            assertTrue(r.metric > 0.1 && r.metric <= 1, "test accuracy " + r.metric);
        }
        String table = FireflyComparison.table(task, runs);
        for (FireflyComparison.Method m : FireflyComparison.Method.values()) {
            assertTrue(table.contains("| " + m.label + " |"), table);
        }
    }
}
