package org.dl4jgrowth.bench;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The mechanics of {@link AfterRewrite}, not its numbers (no timing is asserted): every round grows
 * the one network being trained, and each reading is a real, positive duration.
 */
class AfterRewriteTest {

    @Test
    void everyRoundGrowsTheNetworkItTrains() {
        AfterRewrite.Result r = AfterRewrite.run(20, 8, 16, 3, 4, 2);
        assertArrayEquals(new int[]{10, 12, 14}, r.width);
        for (long[] times : new long[][]{r.steady, r.first, r.second, r.rewrite}) {
            assertEquals(3, times.length);
            for (long t : times) {
                assertTrue(t > 0, "a duration: " + t);
            }
        }
        String report = AfterRewrite.report(r);
        assertTrue(report.contains("first iteration after a rewrite / steady of its round: median"), report);
    }

    /** The workspace column reads ND4J's sizes: a layer grown 500-fold no longer fits its workspaces. */
    @Test
    void aGrowthTooLargeForTheWorkspacesIsSeenGrowingThem() {
        AfterRewrite.Result r = AfterRewrite.run(20, 8, 16, 1, 4, 4000);
        assertEquals(4008, r.width[0]);
        assertTrue(r.workspaceGrowth[0] >= 16L * 4000 * 4, "at least by the grown activations: "
                + r.workspaceGrowth[0] + " bytes");
        assertTrue(AfterRewrite.report(r).contains("WS grew KB"));
    }

    @Test
    void badOptionsAreRefusedWithWhatIsAllowed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AfterRewrite.main(new String[]{"--steady", "1"}));
        assertTrue(e.getMessage().contains("--steady at least 2"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> AfterRewrite.main(new String[]{"--fast", "1"}));
        assertTrue(e.getMessage().contains("--rounds N, --steady N"), e.getMessage());
    }
}
