package org.dl4jgrowth.bench;

import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.nest.NestDetails;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The compression report on a small budget (the digits, 2 + 3 epochs, one seed): the three
 * methods run their schedules, both pruned ones end at the target densities, the counts add up and
 * the table reports them.
 */
class NestCompressionTest {
    @Test
    void theReportPrunesToTheTargetsAndCountsWhatIsLeft() {
        NestCompression.Task task = NestCompression.task("digits").withBudget(2, 3);
        int ipe = task.iterationsPerEpoch();
        List<NestCompression.Run> runs = new ArrayList<>();
        for (NestCompression.Method m : NestCompression.Method.values()) {
            runs.add(NestCompression.run(task, m, 1));
        }
        NestCompression.Run dense = runs.get(0);
        assertEquals(NestCompression.denseParams(64), dense.params());
        assertEquals(2 * (64 * 300 + 300 * 100 + 100 * 10) + 410, dense.flops());
        assertTrue(dense.events.isEmpty());
        assertTrue(dense.accuracy > 0.8, "dense digits accuracy " + dense.accuracy);
        for (NestCompression.Run r : runs.subList(1, 3)) {
            // The last prune event lands each layer on its target density of the weights it had then.
            Map<String, NestDetails.Layer> lastPrune = null;
            long lastPruneAt = -1;
            for (GrowthEvent e : r.events) {
                NestDetails d = (NestDetails) e.details();
                if (d.operation().equals("prune")) {
                    lastPrune = d.layers();
                    lastPruneAt = e.iteration();
                }
            }
            assertTrue(lastPrune != null, r.method + ": " + r.events);
            // Prune events twice an epoch from epoch 2 until one epoch before the end.
            long half = ipe / 2;
            long until = 4L * ipe;
            assertEquals(2L * ipe + (until - 1 - 2L * ipe) / half * half, lastPruneAt, r.method.label);
            long active = 0;
            for (Map.Entry<String, NestDetails.Layer> e : lastPrune.entrySet()) {
                double target = NestCompression.DENSITIES.get(e.getKey());
                assertEquals((long) Math.ceil(e.getValue().total() * target - 1e-9), e.getValue().active(),
                        r.method + " " + e.getKey());
                active += e.getValue().active();
            }
            assertTrue(r.nonZeroWeights <= active, r.method + ": what is left is at most what the masks keep");
            assertTrue(r.params() < dense.params() / 8, r.method + " " + r.params());
            assertEquals(r.nonZeroWeights + r.biases, r.params());
        }
        NestCompression.Run nest = runs.get(2);
        GrowthEvent first = nest.events.get(0);
        assertEquals("seed", ((NestDetails) first.details()).operation());
        assertEquals(0, first.iteration());
        assertTrue(nest.events.stream().anyMatch(e -> "connections".equals(((NestDetails) e.details()).operation())),
                "NeST grows connections before it prunes");
        String table = NestCompression.table(task, runs);
        for (String row : List.of("| dense | 50610 ± 0 | 1.0 ± 0.0× |", "| magnitude pruning |", "| NeST |")) {
            assertTrue(table.contains(row), row + " in\n" + table);
        }
    }
}
