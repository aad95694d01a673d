package org.dl4jgrowth;

import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.when.GrowthTrigger;
import org.dl4jgrowth.where.GrowthAmount;
import org.dl4jgrowth.where.SiteSelector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Builder validation, the where/how-much values, and JSON round trips of policies and histories. */
class GrowthPolicyTest {

    private static GrowthPolicy.Builder valid() {
        return GrowthPolicy.builder().when(GrowthTrigger.everyEpochs(1)).where(SiteSelector.layers("h1"))
                .howMuch(GrowthAmount.add(4));
    }

    private static void rejects(Class<? extends Throwable> type, Executable e, String... fragments) {
        Throwable t = assertThrows(type, e);
        for (String f : fragments) {
            assertTrue(t.getMessage().contains(f), "message should contain '" + f + "': " + t.getMessage());
        }
    }

    @Test
    void builderChecksEveryOption() {
        rejects(IllegalStateException.class, () -> GrowthPolicy.builder().where(SiteSelector.allGrowable())
                .howMuch(GrowthAmount.add(1)).build(), "when(...) is required");
        rejects(IllegalStateException.class, () -> GrowthPolicy.builder().when(GrowthTrigger.everyEpochs(1))
                .howMuch(GrowthAmount.add(1)).build(), "where(...) is required");
        rejects(IllegalStateException.class, () -> GrowthPolicy.builder().when(GrowthTrigger.everyEpochs(1))
                .where(SiteSelector.allGrowable()).build(), "howMuch(...) is required");
        rejects(IllegalArgumentException.class, () -> valid().maxWidth(-3), "(got: -3)");
        rejects(IllegalArgumentException.class, () -> valid().maxWidth("h1", 0), "\"h1\"", "(got: 0)");
        rejects(IllegalArgumentException.class, () -> valid().maxWidth("", 5), "layer name");
        rejects(IllegalArgumentException.class, () -> valid().maxParams(0), "(got: 0)");
        rejects(NullPointerException.class, () -> valid().when(null), "when(trigger)");
        rejects(NullPointerException.class, () -> valid().where(null), "where(selector)");
        rejects(NullPointerException.class, () -> valid().howMuch(null), "howMuch(amount)");
        rejects(NullPointerException.class, () -> valid().initializer(null), "initializer(init)");
        rejects(IllegalStateException.class, () -> GrowthListener.builder().build(), "policy(...) is required");
    }

    @Test
    void whereAndHowMuchCheckTheirArguments() {
        rejects(IllegalArgumentException.class, () -> GrowthAmount.add(0), "(got: 0)");
        rejects(IllegalArgumentException.class, () -> GrowthAmount.factor(1.0), "(got: 1.0)");
        rejects(IllegalArgumentException.class, () -> GrowthAmount.factor(Double.NaN), "(got: NaN)");
        rejects(IllegalArgumentException.class, () -> SiteSelector.layers(), "at least one layer");
        rejects(IllegalArgumentException.class, () -> SiteSelector.layers("a", "a"), "named twice");
        rejects(IllegalArgumentException.class, () -> SiteSelector.roundRobin("a", null), "non-empty");
    }

    @Test
    void howMuchAndWhereBehave() {
        assertEquals(12, GrowthAmount.add(4).grownWidth(8));
        assertEquals(12, GrowthAmount.factor(1.5).grownWidth(8));
        assertEquals(2, GrowthAmount.factor(1.1).grownWidth(1), "a factor always adds at least one unit");
        List<String> growable = List.of("a", "b", "c");
        assertEquals(List.of("b"), SiteSelector.roundRobin("a", "b").select(growable, 3));
        assertEquals(List.of("c"), SiteSelector.roundRobin().select(growable, 5), "cycles over all growable");
        assertEquals(growable, SiteSelector.allGrowable().select(growable, 0));
        assertEquals(List.of("c", "a"), SiteSelector.layers("c", "a").select(growable, 9));
    }

    /** Past int, an amount saturates: the caps and the controller's checks decide what is allowed. */
    @Test
    void amountsSaturateInsteadOfOverflowing() {
        assertEquals(Integer.MAX_VALUE, GrowthAmount.add(Integer.MAX_VALUE).grownWidth(10));
        assertEquals(Integer.MAX_VALUE, GrowthAmount.add(Integer.MAX_VALUE).grownWidth(Integer.MAX_VALUE));
        assertEquals(Integer.MAX_VALUE, GrowthAmount.add(10).grownWidth(Integer.MAX_VALUE - 3));
        assertEquals(Integer.MAX_VALUE - 3, GrowthAmount.add(10).grownWidth(Integer.MAX_VALUE - 13), "exact below");
        assertEquals(Integer.MAX_VALUE, GrowthAmount.factor(1e12).grownWidth(10));
        assertEquals(Integer.MAX_VALUE, GrowthAmount.factor(1e300).grownWidth(1));
        assertEquals(Integer.MAX_VALUE, GrowthAmount.factor(1.0001).grownWidth(Integer.MAX_VALUE));
        assertEquals(Integer.MAX_VALUE, GrowthAmount.factor(2).grownWidth(Integer.MAX_VALUE / 2 + 1));
        assertEquals(Integer.MAX_VALUE - 1, GrowthAmount.factor(2).grownWidth(Integer.MAX_VALUE / 2), "exact below");
        assertEquals(1_000_000_001, GrowthAmount.factor(1.0000000001).grownWidth(1_000_000_000),
                "still at least one more unit");
    }

    @Test
    void policyRoundTripsThroughJson() {
        GrowthPolicy p = GrowthPolicy.builder()
                .when(GrowthTrigger.everyIterations(50).and(GrowthTrigger.maxGrowths(3))
                        .or(GrowthTrigger.atEpochs(4, 9)))
                .where(SiteSelector.roundRobin("h1", "h2"))
                .howMuch(GrowthAmount.factor(1.5))
                .initializer(UnitInitializer.random())
                .maxWidth(64).maxWidth("h2", 32).maxParams(100_000).seed(99)
                .build();
        String json = p.toJson();
        GrowthPolicy back = GrowthPolicy.fromJson(json);
        assertEquals(p, back);
        assertEquals(json, back.toJson());
        assertEquals(32, back.maxWidth("h2"));
        assertEquals(64, back.maxWidth("h1"));
        assertNotEquals(p, p.toBuilder().seed(100).build());

        for (GrowthPolicy q : new GrowthPolicy[]{valid().build(),
                valid().where(SiteSelector.allGrowable()).howMuch(GrowthAmount.add(2)).build()}) {
            assertEquals(q, GrowthPolicy.fromJson(q.toJson()));
        }
    }

    @Test
    void handWrittenJsonIsValidatedLikeTheBuilder() {
        String json = valid().maxWidth(8).build().toJson().replace("\"maxWidth\":8", "\"maxWidth\":-2");
        assertTrue(json.contains("-2"), json);
        rejects(IllegalArgumentException.class, () -> GrowthPolicy.fromJson(json), "(got: -2)");
    }

    @Test
    void historyRoundTripsThroughJson() {
        GrowthHistory h = new GrowthHistory();
        h.add(new GrowthEvent(0, 30, 1, false, List.of(new GrowthEvent.LayerGrowth("h1", 4, 10)),
                UnitInitializer.functionPreserving(), 310, 730, 1.25, 3.5, "CUDA:1", "exact",
                java.util.Map.of("h1", java.util.Map.of("singularValues", List.of(3.5, 1.25), "fallbackUnits", 2))));
        h.add(new GrowthEvent(1, 46, 1, true, List.of(new GrowthEvent.LayerGrowth("h1", 10, 16),
                new GrowthEvent.LayerGrowth("h2", 4, 6)), UnitInitializer.random(), 730, 1300, Double.NaN, 2.0,
                "CPU", null, null));
        GrowthHistory back = GrowthHistory.fromJson(h.toJson());
        assertEquals(h, back);
        assertTrue(Double.isNaN(back.events().get(1).scoreBefore()));
        rejects(IllegalArgumentException.class, () -> h.add(new GrowthEvent(5, 1, 1, false, List.of(),
                UnitInitializer.zeros(), 1, 1, 0, 0, "CPU", null, null)), "out of order");
    }
}
