package org.dl4jgrowth;

import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.when.GrowthTrigger;
import org.dl4jgrowth.where.GrowthAmount;
import org.dl4jgrowth.where.SiteSelector;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Policy and history files written by dl4j-growth 0.1.0 (src/test/resources/compat, written by a
 * GradMax run through the GrowthListener before the pipeline of Foundation III) still read, and
 * mean what they meant. A failure here is a format break that users' files would meet.
 */
class FormatCompatibilityTest {

    static String resource(String name) throws IOException {
        try (InputStream in = FormatCompatibilityTest.class.getResourceAsStream("/compat/" + name)) {
            assertNotNull(in, name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void policyFrom010Reads() throws IOException {
        GrowthPolicy expected = GrowthPolicy.builder()
                .when(GrowthTrigger.everyIterations(5).and(GrowthTrigger.maxGrowths(3))
                        .and(GrowthTrigger.singularValueAbove(0.0, "h1", "h2")).or(GrowthTrigger.atEpochs(7)))
                .where(SiteSelector.roundRobin("h1", "h2")).howMuch(GrowthAmount.factor(1.5))
                .maxWidth(40).maxWidth("h2", 12).maxParams(100000)
                .initializer(UnitInitializer.gradMax()).seed(11).build();
        assertEquals(expected, GrowthPolicy.fromJson(resource("policy-0.1.0.json")));
    }

    @Test
    void historyFrom010Reads() throws IOException {
        GrowthHistory h = GrowthHistory.fromJson(resource("history-0.1.0.json"));
        assertEquals(3, h.size());
        GrowthEvent first = h.events().get(0);
        assertEquals(5, first.iteration());
        assertEquals(List.of(new GrowthEvent.LayerGrowth("h1", 4, 6)), first.layers());
        assertEquals(UnitInitializer.gradMax(), first.initializer());
        assertEquals(330, first.paramsBefore());
        assertEquals(468, first.paramsAfter());
        assertEquals("CPU", first.backend());
        assertEquals("exact", first.svdEngine());
        assertTrue(first.notes().get("h1").containsKey("singularValues"), first.toString());
        assertEquals(List.of(new GrowthEvent.LayerGrowth("h2", 4, 6)), h.events().get(1).layers());
        assertEquals(List.of(new GrowthEvent.LayerGrowth("h1", 6, 9)), h.events().get(2).layers());
        assertEquals(h, GrowthHistory.fromJson(h.toJson()), "and round-trips in the current format");
    }
}
