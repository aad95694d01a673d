package org.dl4jgrowth.linalg;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import static org.dl4jgrowth.linalg.SvdAssertions.withSpectrum;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The top singular value by Lanczos bidiagonalisation against the exact SVD: within its relative
 * bound on the hard spectrum (s_2/s_1 = 0.98), on a Gaussian matrix, tall and wide, in FLOAT and
 * DOUBLE; exact on rank one and zero; the input untouched; what the size-aware engine takes for one
 * value above its exact limit.
 */
class LanczosTopValueTest {
    private static final ExactSvdEngine EXACT = new ExactSvdEngine();

    private static INDArray gaussian(DataType type, long rows, long cols, long seed) {
        return Nd4j.randn(Nd4j.create(type, rows, cols), Nd4j.getRandomFactory().getNewRandomInstance(seed));
    }

    private static void assertTop(INDArray a, double tolerance, String what) {
        INDArray before = a.dup();
        double exact = EXACT.top(a, 1).singularValues().getDouble(0);
        double lanczos = LanczosTopValue.topValue(a, 7);
        assertEquals(exact, lanczos, tolerance * exact, what + ": exact " + exact + ", Lanczos " + lanczos);
        assertEquals(before, a, what + ": the input is not modified");
    }

    @ParameterizedTest
    @EnumSource(value = DataType.class, names = {"FLOAT", "DOUBLE"})
    void theTopValueIsWithinItsBound(DataType type) {
        double[] hard = new double[120];
        for (int i = 0; i < hard.length; i++) {
            hard[i] = Math.pow(0.98, i);   // s_2 / s_1 = 0.98: dozens of power iterations per digit
        }
        // In FLOAT the matrix itself carries ~1e-7 relative error; the bound is 1e-6.
        double tol = type == DataType.DOUBLE ? 2e-6 : 1e-5;
        INDArray tall = withSpectrum(300, 120, hard, 3).castTo(type);
        assertTop(tall, tol, type + " 300x120, s2/s1 = 0.98");
        assertTop(tall.transpose().dup(), tol, type + " 120x300, s2/s1 = 0.98");
        INDArray gauss = gaussian(type, 200, 90, 11);
        assertTop(gauss, tol, type + " Gaussian 200x90");
    }

    @Test
    void aWideMatrixWhoseLeftSpaceRunsOutIsExact() {
        // 3 rows: after three steps U spans R^3 while the last beta is not 0; the closing column
        // (beta, 0) makes the value exact, where B alone would be too small.
        for (long seed = 1; seed <= 5; seed++) {
            INDArray wide = gaussian(DataType.DOUBLE, 3, 40, seed);
            assertTop(wide, 1e-12, "3x40, seed " + seed);
            assertTop(gaussian(DataType.DOUBLE, 1, 25, seed), 1e-12, "1x25, seed " + seed);
        }
        INDArray ones = Nd4j.ones(DataType.DOUBLE, 20, 30);
        assertEquals(Math.sqrt(600), LanczosTopValue.topValue(ones, 3), 1e-12 * Math.sqrt(600), "all ones: rank one");
    }

    @Test
    void rankOneAndZeroAreExact() {
        INDArray u = Nd4j.linspace(DataType.DOUBLE, 1, 40, 1).reshape(40, 1);
        INDArray v = Nd4j.linspace(DataType.DOUBLE, -3, 25, 1).reshape(25, 1);
        INDArray rankOne = u.mmul(v.transpose());
        double expected = u.norm2Number().doubleValue() * v.norm2Number().doubleValue();
        assertEquals(expected, LanczosTopValue.topValue(rankOne, 1), 1e-12 * expected);
        assertEquals(0.0, LanczosTopValue.topValue(Nd4j.zeros(DataType.DOUBLE, 30, 20), 1));
        INDArray scalar = Nd4j.createFromArray(new double[][]{{-2.5}});
        assertEquals(2.5, LanczosTopValue.topValue(scalar, 1), 1e-15);
    }

    @Test
    void theSizeAwareEngineTakesItAboveItsExactLimitAndTheExactValueBelow() {
        INDArray a = gaussian(DataType.DOUBLE, 60, 40, 5);
        double exact = EXACT.top(a, 1).singularValues().getDouble(0);
        SizeAwareSvdEngine small = new SizeAwareSvdEngine(10, RandomizedSvdEngine.converging(4, 20, 1e-6, 3));
        assertEquals(LanczosTopValue.topValue(a, RandomizedSvdEngine.DEFAULT_SEED), small.topValue(a), 0.0);
        assertEquals(exact, small.topValue(a), 2e-6 * exact);
        assertEquals(exact, new SizeAwareSvdEngine().topValue(a), 1e-12 * exact, "exact below the default limit");
    }

    @Test
    void badToleranceAndInputAreRefused() {
        INDArray a = Nd4j.ones(DataType.DOUBLE, 3, 3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LanczosTopValue.topValue(a, 0.0, 1));
        assertTrue(e.getMessage().contains("tolerance") && e.getMessage().contains("0.0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LanczosTopValue.topValue(Nd4j.ones(DataType.INT, 3, 3), 1));
    }
}
