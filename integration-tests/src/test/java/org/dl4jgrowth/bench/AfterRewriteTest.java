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

    @Test
    void badOptionsAreRefusedWithWhatIsAllowed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AfterRewrite.main(new String[]{"--steady", "1"}));
        assertTrue(e.getMessage().contains("--steady at least 2"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> AfterRewrite.main(new String[]{"--fast", "1"}));
        assertTrue(e.getMessage().contains("--rounds N, --steady N"), e.getMessage());
    }
}
