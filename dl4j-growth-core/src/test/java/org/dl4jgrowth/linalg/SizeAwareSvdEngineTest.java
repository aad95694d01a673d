package org.dl4jgrowth.linalg;

import static org.dl4jgrowth.linalg.SvdAssertions.assertDescendingNonNegative;
import static org.dl4jgrowth.linalg.SvdAssertions.assertOrthonormalColumns;
import static org.dl4jgrowth.linalg.SvdAssertions.assertShapes;
import static org.dl4jgrowth.linalg.SvdAssertions.maxAbsDiff;
import static org.dl4jgrowth.linalg.SvdAssertions.reconstruct;
import static org.dl4jgrowth.linalg.SvdAssertions.withSpectrum;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The size-aware default engine and the converging randomized engine it uses above its limit: the
 * accuracy GradMax needs on a spectrum with a slow tail (where a fixed two power iterations are
 * measurably off), the switch by size, and the arguments they refuse.
 */
class SizeAwareSvdEngineTest {
    private static final ExactSvdEngine EXACT = new ExactSvdEngine();
    private static final int K = 16;
    /** 300 x 520, short side above the default limit of 256. */
    private static INDArray slowTail;
    private static double[] exactTop;

    /**
     * Values 1 / (1 + 0.02 i): s_24 / s_16 = 0.88, the kind of slowly decaying tail the GradMax
     * statistic of a 2048-4096-4096 MLP had after its ninth value.
     */
    private static double[] slowSpectrum(int n) {
        double[] s = new double[n];
        for (int i = 0; i < n; i++) {
            s[i] = 1.0 / (1.0 + 0.02 * i);
        }
        return s;
    }

    @BeforeAll
    static void setUp() {
        slowTail = withSpectrum(300, 520, slowSpectrum(300), 5).castTo(DataType.DOUBLE);
        exactTop = EXACT.top(slowTail, K).singularValues().toDoubleVector();
    }

    private static double maxRelativeError(TopSvd svd) {
        double[] s = svd.singularValues().castTo(DataType.DOUBLE).toDoubleVector();
        double worst = 0;
        for (int i = 0; i < K; i++) {
            worst = Math.max(worst, Math.abs(s[i] - exactTop[i]) / exactTop[i]);
        }
        return worst;
    }

    @Test
    void twoFixedPowerIterationsMissOnePermilleOnASlowTailButTheConvergingEngineDoesNot() {
        double fixed = maxRelativeError(new RandomizedSvdEngine().top(slowTail, K));
        RandomizedSvdEngine converging = RandomizedSvdEngine.converging(8, 40, 1e-5, RandomizedSvdEngine.DEFAULT_SEED);
        TopSvd svd = converging.top(slowTail, K);
        double conv = maxRelativeError(svd);

        // The premise: the matrix is hard enough that the fixed count is off by more than GradMax allows.
        assertTrue(fixed > 1e-3, "two power iterations were already within 1e-3 (" + fixed + "): matrix too easy");
        assertTrue(conv < 1e-4, "converged top-16 singular values off by " + conv + " (fixed: " + fixed + ")");
        assertEquals("randomized", svd.engine());
        assertShapes(svd, 300, 520, K);
        assertDescendingNonNegative(svd);
        assertOrthonormalColumns(svd.left(), 1e-10, "U");
        assertOrthonormalColumns(svd.right(), 1e-10, "V");
    }

    @Test
    void convergingEngineStopsAtItsCapWithTheFixedEnginesResult() {
        // Capped at 0 power iterations it must return the plain range-finder result (and warn).
        TopSvd capped = RandomizedSvdEngine.converging(8, 0, 1e-12, 7).top(slowTail, K);
        TopSvd plain = new RandomizedSvdEngine(8, 0, 7).top(slowTail, K);
        assertArrayEquals(plain.singularValues().toDoubleVector(), capped.singularValues().toDoubleVector(), 0.0);
        assertEquals(0.0, maxAbsDiff(plain.left(), capped.left()));
    }

    @Test
    void defaultLimitIs512WhereTheExactEngineTakesTheTopTripletsAlone() {
        assertTrue(HostLapack.enabled(), "tests run on the CPU backend with ND4J's OpenBLAS");
        SizeAwareSvdEngine auto = new SizeAwareSvdEngine();
        assertEquals(SizeAwareSvdEngine.GESVDX_EXACT_LIMIT, auto.exactLimit());
        assertEquals(512, auto.exactLimit());
        assertSame(ExactSvdEngine.class, auto.engineFor(512, 4096).getClass());
        assertSame(auto.randomized(), auto.engineFor(513, 4096));
        // Without gesvdx the exact engine pays for the whole spectrum, and the limit is the old one.
        System.setProperty(HostLapack.PROPERTY, "false");
        try {
            assertEquals(SizeAwareSvdEngine.DEFAULT_EXACT_LIMIT, new SizeAwareSvdEngine().exactLimit());
        } finally {
            System.clearProperty(HostLapack.PROPERTY);
        }
        // 300 x 520 is exact now: the same triplets as the exact engine's, bit for bit.
        TopSvd mid = auto.top(slowTail, K);
        assertEquals("exact", mid.engine());
        assertArrayEquals(exactTop, mid.singularValues().toDoubleVector(), 0.0);
    }

    @Test
    void engineIsExactUpToItsLimitAndConvergedRandomizedAbove() {
        // The limit the engine had before gesvdx, given explicitly, so that 300 x 520 lies above it.
        SizeAwareSvdEngine auto = new SizeAwareSvdEngine(SizeAwareSvdEngine.DEFAULT_EXACT_LIMIT,
                new SizeAwareSvdEngine().randomized());
        assertEquals(256, auto.exactLimit());
        assertSame(ExactSvdEngine.class, auto.engineFor(256, 4096).getClass());
        assertSame(ExactSvdEngine.class, auto.engineFor(4096, 256).getClass());
        assertSame(auto.randomized(), auto.engineFor(257, 4096));
        assertTrue(auto.randomized().tolerance() > 0);

        INDArray small = withSpectrum(120, 256, slowSpectrum(120), 9).castTo(DataType.DOUBLE);
        TopSvd viaAuto = auto.top(small, K);
        assertEquals("exact", viaAuto.engine());
        assertArrayEquals(EXACT.top(small, K).singularValues().toDoubleVector(),
                viaAuto.singularValues().toDoubleVector(), 0.0);

        TopSvd large = auto.top(slowTail, K);
        assertEquals("randomized", large.engine());
        assertTrue(maxRelativeError(large) < 1e-4, "top-16 off by " + maxRelativeError(large));
        // Transposed input takes the same route, by its short side.
        assertEquals("randomized", auto.top(slowTail.transpose(), K).engine());
    }

    @Test
    void topSingularValueAloneIsWithinTheTolerance() {
        // s_2 / s_1 = 0.98: the hardest case for the top value alone, yet it still settles.
        TopSvd one = new SizeAwareSvdEngine(SizeAwareSvdEngine.DEFAULT_EXACT_LIMIT,
                new SizeAwareSvdEngine().randomized()).top(slowTail, 1);
        assertEquals(1, one.rank());
        assertEquals(exactTop[0], one.singularValues().getDouble(0), 1e-5 * exactTop[0]);
        // The rank-one reconstruction is the best one: residual norm = sqrt(sum of the rest squared).
        double residual = slowTail.sub(reconstruct(one)).norm2Number().doubleValue();
        double[] s = slowSpectrum(300);
        double rest = 0;
        for (int i = 1; i < s.length; i++) {
            rest += s[i] * s[i];
        }
        assertEquals(Math.sqrt(rest), residual, 1e-4 * Math.sqrt(rest));
    }

    @Test
    void badArgumentsAreRefusedWithTheValue() {
        IllegalArgumentException tol = assertThrows(IllegalArgumentException.class,
                () -> RandomizedSvdEngine.converging(8, 10, 0.0, 1));
        assertTrue(tol.getMessage().contains("tolerance must be > 0") && tol.getMessage().contains("0.0"),
                tol.getMessage());
        IllegalArgumentException nan = assertThrows(IllegalArgumentException.class,
                () -> RandomizedSvdEngine.converging(8, 10, Double.NaN, 1));
        assertTrue(nan.getMessage().contains("NaN"), nan.getMessage());
        IllegalArgumentException limit = assertThrows(IllegalArgumentException.class,
                () -> new SizeAwareSvdEngine(0, RandomizedSvdEngine.converging(8, 10, 1e-5, 1)));
        assertTrue(limit.getMessage().contains("exactLimit must be at least 1 (got: 0)"), limit.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new SizeAwareSvdEngine(10, null));
        assertThrows(IllegalArgumentException.class, () -> new SizeAwareSvdEngine().top(slowTail, 0));
    }
}
