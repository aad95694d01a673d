package org.dl4jgrowth.when;

import org.dl4jgrowth.GrowthJson;
import org.dl4jgrowth.how.UnitInitializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.dl4jgrowth.when.GrowthTrigger.and;
import static org.dl4jgrowth.when.GrowthTrigger.atEpochs;
import static org.dl4jgrowth.when.GrowthTrigger.atIterations;
import static org.dl4jgrowth.when.GrowthTrigger.everyEpochs;
import static org.dl4jgrowth.when.GrowthTrigger.everyIterations;
import static org.dl4jgrowth.when.GrowthTrigger.maxGrowths;
import static org.dl4jgrowth.when.GrowthTrigger.minIterationsBetween;
import static org.dl4jgrowth.when.GrowthTrigger.or;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GrowthTriggerTest {

    private static final boolean MID = false;
    private static final boolean END = true;

    /** Never grown. */
    private static TrainingProgress p(long iteration, int epoch, boolean atEpochEnd) {
        return TrainingProgress.builder().iteration(iteration).epoch(epoch).atEpochEnd(atEpochEnd).build();
    }

    private static TrainingProgress p(long iteration, int epoch, boolean atEpochEnd,
                                      int growths, long lastIteration, int lastEpoch) {
        return TrainingProgress.builder().iteration(iteration).epoch(epoch).atEpochEnd(atEpochEnd)
                .growthHistory(growths, lastIteration, lastEpoch).build();
    }

    private static Arguments row(GrowthTrigger t, TrainingProgress p, boolean fires) {
        return Arguments.of(t, p, fires);
    }

    static Stream<Arguments> schedule() {
        GrowthTrigger every50 = everyIterations(50);
        GrowthTrigger every1 = everyIterations(1);
        GrowthTrigger epochs2 = everyEpochs(2);
        GrowthTrigger epochs1 = everyEpochs(1);
        GrowthTrigger atIts = atIterations(30, 10, 5, 30);
        GrowthTrigger atEps = atEpochs(2, 0);
        GrowthTrigger max3 = maxGrowths(3);
        GrowthTrigger gap100 = minIterationsBetween(100);
        GrowthTrigger capped = everyIterations(50).and(maxGrowths(3));
        GrowthTrigger either = everyEpochs(1).or(atIterations(7));
        GrowthTrigger nested = and(or(atIterations(10), everyIterations(100)), minIterationsBetween(20), maxGrowths(2));
        return Stream.of(
                row(every50, p(0, 0, MID), false),
                row(every50, p(49, 0, MID), false),
                row(every50, p(50, 0, MID), true),
                row(every50, p(51, 0, MID), false),
                row(every50, p(100, 1, MID), true),
                // epoch end reports the same iteration as the iterationDone before it: must not fire twice
                row(every50, p(50, 0, END), false),
                row(every1, p(0, 0, MID), false),
                row(every1, p(1, 0, MID), true),
                row(every1, p(2, 0, MID), true),

                row(epochs2, p(10, 0, END), false),
                row(epochs2, p(20, 1, END), true),
                row(epochs2, p(30, 2, END), false),
                row(epochs2, p(40, 3, END), true),
                row(epochs2, p(20, 1, MID), false),
                row(epochs1, p(10, 0, END), true),
                row(epochs1, p(10, 0, MID), false),

                row(atIts, p(0, 0, MID), false),
                row(atIts, p(5, 0, MID), true),
                row(atIts, p(10, 0, MID), true),
                row(atIts, p(20, 0, MID), false),
                row(atIts, p(30, 1, MID), true),
                row(atIts, p(30, 1, END), false),
                row(atIts, p(31, 1, MID), false),

                row(atEps, p(10, 0, END), true),
                row(atEps, p(20, 1, END), false),
                row(atEps, p(30, 2, END), true),
                row(atEps, p(30, 2, MID), false),
                row(atEps, p(40, 3, END), false),

                row(max3, p(10, 0, MID), true),
                row(max3, p(10, 0, END, 2, 5, 0), true),
                row(max3, p(10, 0, MID, 3, 5, 0), false),
                row(max3, p(10, 0, END, 4, 5, 0), false),

                row(gap100, p(5, 0, MID), true),
                row(gap100, p(149, 1, MID, 1, 50, 0), false),
                row(gap100, p(150, 1, MID, 1, 50, 0), true),
                row(gap100, p(151, 1, END, 1, 50, 0), true),
                row(gap100, p(50, 0, MID, 1, 50, 0), false),

                row(capped, p(50, 0, MID), true),
                row(capped, p(100, 1, MID, 2, 50, 0), true),
                row(capped, p(150, 1, MID, 3, 100, 1), false),
                row(capped, p(120, 1, MID), false),
                row(capped, p(100, 1, END), false),

                row(either, p(7, 0, MID), true),
                row(either, p(8, 0, MID), false),
                row(either, p(8, 0, END), true),
                row(either, p(7, 0, END), true),

                row(nested, p(10, 0, MID), true),
                row(nested, p(100, 1, MID, 1, 90, 1), false),
                row(nested, p(100, 1, MID, 1, 80, 1), true),
                row(nested, p(200, 2, MID, 2, 100, 1), false),
                row(nested, p(50, 0, MID), false)
        );
    }

    @ParameterizedTest(name = "{0} at {1} -> {2}")
    @MethodSource("schedule")
    void firesOnSchedule(GrowthTrigger trigger, TrainingProgress progress, boolean fires) {
        assertEquals(fires, trigger.shouldGrow(progress));
    }

    /** A stand-in for the listener: asks after every iteration and at every epoch end, records growth. */
    private static List<String> simulate(GrowthTrigger trigger, int epochs, int iterationsPerEpoch) {
        List<String> fired = new ArrayList<>();
        int growths = 0;
        long lastIteration = -1;
        int lastEpoch = -1;
        long iteration = 0;
        for (int epoch = 0; epoch < epochs; epoch++) {
            for (int k = 0; k < iterationsPerEpoch; k++) {
                iteration++;
                TrainingProgress mid = p(iteration, epoch, MID);
                if (trigger.shouldGrow(mid.toBuilder().growthHistory(growths, lastIteration, lastEpoch).build())) {
                    fired.add("i" + iteration);
                    growths++;
                    lastIteration = iteration;
                    lastEpoch = epoch;
                }
            }
            TrainingProgress end = p(iteration, epoch, END, growths, lastIteration, lastEpoch);
            if (trigger.shouldGrow(end)) {
                fired.add("e" + epoch);
                growths++;
                lastIteration = iteration;
                lastEpoch = epoch;
            }
        }
        return fired;
    }

    @Test
    void capCountsGrowthsFromEveryBranch() {
        GrowthTrigger t = or(everyIterations(30).and(maxGrowths(3)), everyEpochs(2));
        assertEquals(List.of("i30", "i60", "e1", "e3"), simulate(t, 4, 40));
    }

    @Test
    void iterationScheduleDoesNotFireAgainAtEpochEnd() {
        assertEquals(List.of("i40", "i80", "i120"), simulate(everyIterations(40), 3, 40));
    }

    @Test
    void coolDownSkipsIterationsTooCloseToTheLastGrowth() {
        GrowthTrigger t = atIterations(10, 15, 40, 45, 56).and(minIterationsBetween(10));
        assertEquals(List.of("i10", "i40", "i56"), simulate(t, 2, 30));
    }

    private static void assertRejected(Executable call, String... fragments) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), () -> "'" + e.getMessage() + "' should contain '" + f + "'");
        }
    }

    @Test
    void factoriesRejectBadArgumentsNamingFactoryAndValue() {
        assertRejected(() -> everyIterations(0), "everyIterations(n): n must be at least 1 (got: 0)");
        assertRejected(() -> everyIterations(-5), "everyIterations", "(got: -5)");
        assertRejected(() -> everyEpochs(0), "everyEpochs(n)", "(got: 0)");
        assertRejected(() -> maxGrowths(0), "maxGrowths(n)", "(got: 0)");
        assertRejected(() -> minIterationsBetween(-1), "minIterationsBetween(n)", "(got: -1)");
        assertRejected(() -> atIterations(), "atIterations", "(got: [])");
        assertRejected(() -> atIterations((long[]) null), "atIterations", "(got: null)");
        assertRejected(() -> atIterations(3, -1), "atIterations", "(got: -1 in [3, -1])");
        assertRejected(() -> atEpochs(), "atEpochs", "(got: [])");
        assertRejected(() -> atEpochs(0, -2), "atEpochs", "(got: -2 in [0, -2])");
        assertRejected(() -> and(), "and(triggers)", "(got: [])");
        assertRejected(() -> or(), "or(triggers)", "(got: [])");
        assertRejected(() -> and(maxGrowths(1), null), "and(triggers)", "null at index 1");
        assertRejected(() -> or((GrowthTrigger[]) null), "or(triggers)", "(got: null)");
        assertRejected(() -> everyIterations(5).and((GrowthTrigger) null), "and(triggers)", "null at index 1");
        assertRejected(() -> everyIterations(5).or((GrowthTrigger) null), "or(triggers)", "null at index 1");
    }

    @Test
    void progressRejectsBadValues() {
        assertRejected(() -> TrainingProgress.duringEpoch(-3, 0), "iteration", "(got: -3)");
        assertRejected(() -> TrainingProgress.endOfEpoch(0, -1), "epoch", "(got: -1)");
        assertRejected(() -> TrainingProgress.builder().growthsSoFar(-2).build(), "growthsSoFar", "(got: -2)");
        assertRejected(() -> TrainingProgress.builder().iteration(10).lastGrowthIteration(-4).build(),
                "lastGrowthIteration", "(got: -4)");
        assertRejected(() -> TrainingProgress.builder().iteration(10).lastGrowthEpoch(-7).build(),
                "lastGrowthEpoch", "(got: -7)");
        assertRejected(() -> TrainingProgress.builder().iteration(10).lastGrowthIteration(5).build(),
                "growthsSoFar 0", "(got: 5, -1)");
        assertRejected(() -> TrainingProgress.builder().iteration(10).growthHistory(1, -1, -1).build(),
                "growthsSoFar 1", "(got: -1, -1)");
        assertRejected(() -> TrainingProgress.builder().iteration(10).growthHistory(1, 11, 0).build(),
                "after iteration 10", "(got: 11)");
        assertRejected(() -> TrainingProgress.builder().iteration(10).epoch(1).growthHistory(1, 5, 2).build(),
                "after epoch 1", "(got: 2)");
    }

    @Test
    void progressIsAValue() {
        TrainingProgress a = p(100, 2, END, 1, 50, 1);
        assertEquals(a, a.toBuilder().build());
        assertEquals(a.hashCode(), p(100, 2, END, 1, 50, 1).hashCode());
        assertNotEquals(a, a.toBuilder().atEpochEnd(false).build());
        assertNotEquals(a, a.toBuilder().lastGrowthIteration(60).build());
        assertEquals(TrainingProgress.duringEpoch(7, 1), p(7, 1, MID));
        assertEquals(TrainingProgress.endOfEpoch(7, 1), p(7, 1, END));
        assertEquals(-1, TrainingProgress.duringEpoch(7, 1).lastGrowthIteration());
        assertEquals(-1, TrainingProgress.duringEpoch(7, 1).lastGrowthEpoch());
        assertEquals("TrainingProgress{iteration=100, epoch=2, atEpochEnd=true, growthsSoFar=1, "
                + "lastGrowthIteration=50, lastGrowthEpoch=1}", a.toString());
    }

    @Test
    void triggersAreValues() {
        assertEquals(everyIterations(5), everyIterations(5));
        assertEquals(everyIterations(5).hashCode(), everyIterations(5).hashCode());
        assertNotEquals(everyIterations(5), everyIterations(6));
        assertNotEquals(everyIterations(5), everyEpochs(5));
        assertNotEquals(maxGrowths(5), minIterationsBetween(5));
        // sets, not sequences: order and repeats do not matter
        assertEquals(atIterations(30, 10, 10), atIterations(10, 30));
        assertEquals(atIterations(30, 10, 10).hashCode(), atIterations(10, 30).hashCode());
        assertEquals(atEpochs(3, 1, 3), atEpochs(1, 3));
        assertNotEquals(atIterations(1, 2), atIterations(1, 3));
        GrowthTrigger a = everyIterations(50);
        GrowthTrigger b = maxGrowths(3);
        assertEquals(a.and(b), and(a, b));
        assertEquals(a.or(b), or(a, b));
        assertNotEquals(and(a, b), or(a, b));
        assertNotEquals(and(a, b), and(b, a));
        assertEquals("and(everyIterations(50), maxGrowths(3))", a.and(b).toString());
        assertEquals("or(atIterations(1, 5), and(everyEpochs(2), minIterationsBetween(10)), atEpochs(0, 4))",
                or(atIterations(5, 1), everyEpochs(2).and(minIterationsBetween(10)), atEpochs(4, 0)).toString());
    }

    @Test
    void compositeDoesNotSeeLaterChangesToTheArgumentArray() {
        GrowthTrigger[] parts = {everyIterations(10), maxGrowths(1)};
        GrowthTrigger t = and(parts);
        parts[1] = maxGrowths(100);
        assertEquals(and(everyIterations(10), maxGrowths(1)), t);
        assertThrows(UnsupportedOperationException.class, () -> ((AndTrigger) t).triggers().add(maxGrowths(2)));
    }

    static Stream<GrowthTrigger> allKinds() {
        return Stream.of(
                everyIterations(50),
                everyEpochs(3),
                atIterations(100, 5, 2000),
                atEpochs(0, 4),
                maxGrowths(3),
                minIterationsBetween(250),
                everyIterations(50).and(maxGrowths(3)),
                everyEpochs(1).or(atIterations(7)),
                or(and(atIterations(10), minIterationsBetween(20)),
                        and(everyEpochs(2), or(maxGrowths(1), atEpochs(5)), maxGrowths(4))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("allKinds")
    void jsonRoundTrip(GrowthTrigger trigger) {
        String json = GrowthJson.toJson(trigger);
        assertTrue(json.contains("\"@class\":\"" + trigger.getClass().getName() + "\""), json);
        GrowthTrigger back = GrowthJson.fromJson(json, GrowthTrigger.class);
        assertEquals(trigger, back);
        assertEquals(trigger.getClass(), back.getClass());
        assertEquals(json, GrowthJson.toJson(back));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("allKinds")
    void javaSerializationRoundTrip(GrowthTrigger trigger) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(trigger);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            assertEquals(trigger, in.readObject());
        }
    }

    @Test
    void namedLayersOfCombinationsAreTheirPartsInOrderEachOnce() {
        GrowthTrigger sv = GrowthTrigger.singularValueAbove(0.1, "h2", "h1");
        assertEquals(List.of("h2", "h1"), sv.namedLayers());
        assertEquals(List.of(), GrowthTrigger.singularValueAbove(0.1).namedLayers(), "none: any growable layer");
        assertEquals(List.of(), everyIterations(5).namedLayers());
        assertEquals(List.of("h2", "h1"), everyIterations(5).and(sv).namedLayers());
        GrowthTrigger nested = or(and(everyEpochs(1), sv), GrowthTrigger.singularValueAbove(0.5, "h3", "h2"),
                and(maxGrowths(2), or(GrowthTrigger.singularValueAbove(0.2, "h1", "h4"))));
        assertEquals(List.of("h2", "h1", "h3", "h4"), nested.namedLayers());
        assertEquals(nested.namedLayers(), GrowthJson.fromJson(GrowthJson.toJson(nested), GrowthTrigger.class)
                .namedLayers(), "computed, so it survives JSON");
        assertTrue(!GrowthJson.toJson(nested).contains("namedLayers"), "and is not written");
    }

    @Test
    void singularValueAboveChecksItsLayerNames() {
        assertRejected(() -> GrowthTrigger.singularValueAbove(0.1, "h1", ""), "singularValueAbove", "non-empty");
        assertRejected(() -> GrowthTrigger.singularValueAbove(0.1, "h1", null), "singularValueAbove", "non-empty");
        // A name given twice is harmless and was accepted by 0.1.0: files that hold one must still read.
        assertEquals(List.of("h1", "h1"), GrowthTrigger.singularValueAbove(0.1, "h1", "h1").namedLayers());
    }

    @Test
    void jsonFormIsReadable() {
        assertEquals("{\"@class\":\"org.dl4jgrowth.when.EveryIterations\",\"n\":50}",
                GrowthJson.toJson(everyIterations(50)));
        String handWritten = "{\"@class\":\"org.dl4jgrowth.when.AndTrigger\",\"triggers\":["
                + "{\"@class\":\"org.dl4jgrowth.when.AtEpochs\",\"epochs\":[4,1]},"
                + "{\"@class\":\"org.dl4jgrowth.when.MaxGrowths\",\"n\":2}]}";
        assertEquals(atEpochs(1, 4).and(maxGrowths(2)), GrowthJson.fromJson(handWritten, GrowthTrigger.class));
    }

    @Test
    void badJsonIsRejectedWithTheReason() {
        assertRejected(() -> GrowthJson.fromJson(
                        "{\"@class\":\"org.dl4jgrowth.when.EveryIterations\",\"n\":0}", GrowthTrigger.class),
                "fromJson", "everyIterations(n): n must be at least 1 (got: 0)");
        assertRejected(() -> GrowthJson.fromJson(
                        "{\"@class\":\"org.dl4jgrowth.when.AndTrigger\",\"triggers\":[]}", GrowthTrigger.class),
                "and(triggers)", "(got: [])");
        assertRejected(() -> GrowthJson.fromJson(
                        "{\"@class\":\"org.dl4jgrowth.when.MaxGrowths\",\"n\":2,\"m\":3}", GrowthTrigger.class),
                "fromJson", "\"m\"");
        assertRejected(() -> GrowthJson.fromJson(
                        "{\"@class\":\"org.dl4jgrowth.when.NoSuchTrigger\"}", GrowthTrigger.class),
                "fromJson", "NoSuchTrigger");
        assertRejected(() -> GrowthJson.fromJson("{\"@class\":", GrowthTrigger.class), "fromJson");
        // a valid object of the wrong type must not come back as a trigger
        assertRejected(() -> GrowthJson.fromJson(GrowthJson.toJson(UnitInitializer.zeros()), GrowthTrigger.class),
                "fromJson");
    }

    static Stream<UnitInitializer> initializers() {
        return Stream.of(UnitInitializer.functionPreserving(), UnitInitializer.random(), UnitInitializer.zeros());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("initializers")
    void unitInitializerJsonRoundTrip(UnitInitializer init) {
        String json = GrowthJson.toJson(init);
        assertEquals("{\"@class\":\"" + init.getClass().getName() + "\"}", json);
        UnitInitializer back = GrowthJson.fromJson(json, UnitInitializer.class);
        assertEquals(init, back);
        initializers().filter(other -> !other.equals(init))
                .forEach(other -> assertNotEquals(other, back));
    }
}
