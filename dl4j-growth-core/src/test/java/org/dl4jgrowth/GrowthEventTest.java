package org.dl4jgrowth;

import org.dl4jgrowth.how.UnitInitializer;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Growth events record where they ran and which SVD engine they used, and read histories written without both. */
class GrowthEventTest {

    private static GrowthEvent event(String backend, String svdEngine) {
        Map<String, Object> h1 = new LinkedHashMap<>();
        h1.put("singularValues", List.of(2.0, 1.0));
        h1.put("svdEngine", "exact");
        return new GrowthEvent(0, 20, 0, false, List.of(new GrowthEvent.LayerGrowth("h1", 4, 8)),
                UnitInitializer.gradMax(), 700, 1000, 2.25, 4.5, backend, svdEngine, Map.of("h1", h1));
    }

    @Test
    void backendAndSvdEngineSurviveJsonAndTakePartInEquality() {
        GrowthEvent e = event("CUDA:1", "exact");
        String json = GrowthJson.toJson(e);
        assertTrue(json.contains("\"rewriteMillis\":4.5,\"backend\":\"CUDA:1\",\"svdEngine\":\"exact\",\"notes\""),
                json);
        GrowthEvent back = GrowthJson.fromJson(json, GrowthEvent.class);
        assertEquals(e, back);
        assertEquals(e.hashCode(), back.hashCode());
        assertEquals("CUDA:1", back.backend());
        assertEquals("exact", back.svdEngine());
        assertNotEquals(e, event("CPU", "exact"));
        assertNotEquals(e, event("CUDA:1", "randomized"));
        assertNotEquals(e, event("CUDA:1", null));

        GrowthEvent noSvd = event("CPU", null);
        assertEquals(noSvd, GrowthJson.fromJson(GrowthJson.toJson(noSvd), GrowthEvent.class));
    }

    /** A history in the form written before events recorded backend and SVD engine (up to commit a5e7b89). */
    private static final String OLD_HISTORY = "{\"events\":[{\"index\":0,\"iteration\":30,\"epoch\":1,"
            + "\"atEpochEnd\":false,\"layers\":[{\"layer\":\"h1\",\"before\":4,\"after\":10}],"
            + "\"initializer\":{\"@class\":\"org.dl4jgrowth.how.GradMaxInit\",\"allowAnyActivation\":false,"
            + "\"fixedNorm\":0.0,\"scale\":1.0},\"paramsBefore\":310,\"paramsAfter\":730,\"scoreBefore\":1.25,"
            + "\"rewriteMillis\":3.5,\"notes\":{\"h1\":{\"svdEngine\":\"exact\",\"fallbackUnits\":0}}}]}";

    @Test
    void historiesWrittenWithoutBackendAndSvdEngineStillRead() {
        GrowthHistory h = GrowthHistory.fromJson(OLD_HISTORY);
        GrowthEvent e = h.events().get(0);
        assertEquals(List.of(new GrowthEvent.LayerGrowth("h1", 4, 10)), e.layers());
        assertEquals(UnitInitializer.gradMax(), e.initializer());
        assertNull(e.backend(), "not recorded then");
        assertNull(e.svdEngine(), "not recorded then, though the notes name it");
        assertEquals("exact", e.notes().get("h1").get("svdEngine"));
        assertEquals(h, GrowthHistory.fromJson(h.toJson()));
        assertEquals(OLD_HISTORY, h.toJson().replace(",\"backend\":null,\"svdEngine\":null", "")
                        .replace(",\"kept\":4,\"copied\":0,\"fresh\":6,\"dropped\":0", "")
                        .replace(",\"signalMillis\":0.0,\"signalPasses\":0,\"signalExamples\":0", ""),
                "the old form is today's without the fields added since (a widening's unit counts read as such)");
        assertTrue(e.toString().endsWith("rewrite 3.5 ms, {h1={svdEngine=exact, fallbackUnits=0}}"), e.toString());
    }

    @Test
    void toStringSaysWhereItRanAndWhichSvd() {
        String withSvd = event("CUDA:1", "exact").toString();
        assertTrue(withSvd.endsWith("score before 2.25000, rewrite 4.5 ms, on CUDA:1, SVD exact, "
                + "{h1={singularValues=[2.0, 1.0], svdEngine=exact}}"), withSvd);
        String withoutSvd = event("CPU", null).toString();
        assertTrue(withoutSvd.endsWith("rewrite 4.5 ms, on CPU, {h1={singularValues=[2.0, 1.0], svdEngine=exact}}"),
                withoutSvd);
    }

    @Test
    void svdEngineIsJoinedFromTheLayersEngines() {
        Map<String, String> engines = new LinkedHashMap<>();
        assertNull(GrowthController.svdEngines(engines), "nothing grown with an SVD");
        engines.put("h2", "randomized");
        assertEquals("randomized", GrowthController.svdEngines(engines));
        engines.put("h3", "exact");
        engines.put("h4", "randomized");
        assertEquals("randomized,exact", GrowthController.svdEngines(engines), "distinct, in layer order");
    }
}
