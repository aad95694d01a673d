package org.dl4jgrowth.cuda;

import static org.dl4jgrowth.linalg.SvdAssertions.assertDescendingNonNegative;
import static org.dl4jgrowth.linalg.SvdAssertions.assertOrthonormalColumns;
import static org.dl4jgrowth.linalg.SvdAssertions.assertSameTriplets;
import static org.dl4jgrowth.linalg.SvdAssertions.assertShapes;
import static org.dl4jgrowth.linalg.SvdAssertions.gaussian;
import static org.dl4jgrowth.linalg.SvdAssertions.geometric;
import static org.dl4jgrowth.linalg.SvdAssertions.withSpectrum;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.util.stream.Stream;

import org.dl4jgrowth.linalg.ExactSvdEngine;
import org.dl4jgrowth.linalg.TopSvd;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Every backend-independent part of the CUDA engine, run on the CPU backend through the constructor that
 * replaces the backend check: orientation (wide input decomposed as its transpose), the closed-form
 * single row or column, the choice between the exact and randomized paths, and the argument checks.
 */
class CudaSvdEngineCodePathTest {

    private static final ExactSvdEngine EXACT = new ExactSvdEngine();

    private static CudaSvdEngine engine(int exactLimit) {
        return new CudaSvdEngine(exactLimit, 8, 2, 3L, () -> true);
    }

    /** Tolerances of GradMax I's engine tests: on singular values (relative), vectors, orthonormality. */
    static Stream<Arguments> precisionsAndShapes() {
        return Stream.of(DataType.FLOAT, DataType.DOUBLE).flatMap(t -> Stream.of(
                Arguments.of(t, 40, 60), Arguments.of(t, 60, 40), Arguments.of(t, 2, 9), Arguments.of(t, 9, 2)));
    }

    private static double valueTol(DataType t) {
        return t == DataType.DOUBLE ? 1e-10 : 1e-4;
    }

    private static double vectorTol(DataType t) {
        return t == DataType.DOUBLE ? 1e-7 : 1e-3;
    }

    @ParameterizedTest(name = "{0} {1}x{2}")
    @MethodSource("precisionsAndShapes")
    void agreesWithTheExactCpuEngineUpToSignInBothOrientations(DataType type, int rows, int cols) {
        INDArray a = withSpectrum(rows, cols, geometric(Math.min(rows, cols), 4.0, 0.7), 17).castTo(type);
        INDArray before = a.dup();
        int k = Math.min(5, Math.min(rows, cols));
        // Under a default of the input's own type, cuSolver would decompose DOUBLE input in DOUBLE.
        TopSvd cuda = DefaultType.with(type, () -> engine(CudaSvdEngine.DEFAULT_EXACT_LIMIT).top(a, k));
        TopSvd cpu = EXACT.top(a, k);

        assertEquals("cuda", cuda.engine());
        assertEquals(type, cuda.left().dataType());
        assertShapes(cuda, rows, cols, k);
        assertDescendingNonNegative(cuda);
        assertOrthonormalColumns(cuda.left(), 10 * valueTol(type), "U");
        assertOrthonormalColumns(cuda.right(), 10 * valueTol(type), "V");
        assertSameTriplets(cpu, cuda, k, valueTol(type), vectorTol(type));
        assertEquals(before, a, "the input is left as it was");
    }

    @Test
    void doubleInputUnderAFloatDefaultIsDecomposedInFloatAndReturnedInDouble() {
        INDArray a = withSpectrum(30, 50, geometric(30, 4.0, 0.7), 8);
        CudaSvdEngine e = engine(CudaSvdEngine.DEFAULT_EXACT_LIMIT);
        TopSvd viaFloat = DefaultType.with(DataType.FLOAT, () -> e.top(a, 4));
        TopSvd ofFloat = DefaultType.with(DataType.FLOAT, () -> e.top(a.castTo(DataType.FLOAT), 4));
        TopSvd inDouble = DefaultType.with(DataType.DOUBLE, () -> e.top(a, 4));

        assertEquals(DataType.DOUBLE, viaFloat.left().dataType());
        assertEquals(ofFloat.left().castTo(DataType.DOUBLE), viaFloat.left(), "the same FLOAT arithmetic");
        assertEquals(ofFloat.singularValues().castTo(DataType.DOUBLE), viaFloat.singularValues());
        assertSameTriplets(inDouble, viaFloat, 4, 1e-5, 1e-4);
        double gap = inDouble.singularValues().sub(viaFloat.singularValues()).amaxNumber().doubleValue();
        assertTrue(gap > 0, "under a DOUBLE default the decomposition really is in DOUBLE");
    }

    @Test
    void refusesToRunUnderAHalfDefault() {
        CudaSvdEngine e = engine(8);
        IllegalStateException x = assertThrows(IllegalStateException.class,
                () -> DefaultType.with(DataType.HALF, () -> e.top(Nd4j.ones(DataType.FLOAT, 3, 3), 1)));
        assertMessage(x, "HALF");
    }

    @Test
    void agreesWithTheExactEngineOnAFlatGaussianSpectrum() {
        INDArray a = gaussian(40, 60, 41);
        TopSvd cuda = DefaultType.with(DataType.DOUBLE, () -> engine(CudaSvdEngine.DEFAULT_EXACT_LIMIT).top(a, 5));
        assertSameTriplets(EXACT.top(a, 5), cuda, 5, 1e-10, 1e-7);
    }

    @Test
    void choosesItsPathFromTheShortSideAndTheSketchSize() {
        CudaSvdEngine e = new CudaSvdEngine();
        assertEquals(CudaSvdEngine.Path.RANK_ONE, e.plan(1, 300, 4));
        assertEquals(CudaSvdEngine.Path.RANK_ONE, e.plan(300, 1, 1));
        assertEquals(CudaSvdEngine.Path.EXACT, e.plan(2, 2, 1));
        assertEquals(CudaSvdEngine.Path.EXACT, e.plan(4096, 1024, 16), "1024 is still within the exact limit");
        assertEquals(CudaSvdEngine.Path.RANDOMIZED, e.plan(4096, 1025, 16));
        assertEquals(CudaSvdEngine.Path.RANDOMIZED, e.plan(1025, 4096, 16), "orientation does not matter");
        assertEquals(CudaSvdEngine.Path.EXACT, e.plan(4096, 2048, 1017), "a sketch over half the short side");
        CudaSvdEngine noOversampling = new CudaSvdEngine(4, 0, 2, 1L);
        assertEquals(CudaSvdEngine.Path.EXACT, noOversampling.plan(100, 50, 1), "a one-column sketch");
        assertEquals(CudaSvdEngine.Path.RANDOMIZED, noOversampling.plan(100, 50, 2));
    }

    @ParameterizedTest(name = "{0}x{1}")
    @MethodSource("randomizedShapes")
    void theRandomizedPathAgreesWithTheExactEngineOnADecayingSpectrum(int rows, int cols) {
        CudaSvdEngine small = engine(16);
        assertEquals(CudaSvdEngine.Path.RANDOMIZED, small.plan(rows, cols, 4));
        INDArray a = withSpectrum(rows, cols, geometric(Math.min(rows, cols), 3.0, 0.6), 5);
        TopSvd cuda = DefaultType.with(DataType.DOUBLE, () -> small.top(a, 4));
        assertShapes(cuda, rows, cols, 4);
        assertEquals("cuda", cuda.engine());
        assertSameTriplets(EXACT.top(a, 4), cuda, 4, 1e-10, 1e-7);
    }

    static Stream<Arguments> randomizedShapes() {
        return Stream.of(Arguments.of(120, 90), Arguments.of(90, 120));
    }

    @Test
    void solvesASingleColumnOrRowInClosedForm() {
        INDArray column = Nd4j.createFromArray(new double[][] {{3}, {0}, {-4}});
        TopSvd c = DefaultType.with(DataType.DOUBLE, () -> engine(8).top(column, 3));
        assertShapes(c, 3, 1, 1);
        assertEquals(5.0, c.singularValues().getDouble(0), 1e-12);
        assertEquals(Nd4j.createFromArray(new double[][] {{0.6}, {0}, {-0.8}}), c.left());
        assertEquals(Nd4j.createFromArray(new double[][] {{1}}), c.right());

        INDArray row = column.transpose().dup();
        TopSvd r = DefaultType.with(DataType.DOUBLE, () -> engine(8).top(row, 1));
        assertShapes(r, 1, 3, 1);
        assertEquals(c.left(), r.right(), "a row is decomposed as its transposed column");
        assertEquals(Nd4j.createFromArray(new double[][] {{1}}), r.left());
        assertEquals(5.0, r.singularValues().getDouble(0), 1e-12);
    }

    @Test
    void aZeroColumnHasSingularValueZeroAndAUnitLeftVector() {
        TopSvd z = engine(8).top(Nd4j.zeros(DataType.FLOAT, 4, 1), 1);
        assertEquals(0.0, z.singularValues().getDouble(0), 0.0);
        assertEquals(1.0, z.left().norm2Number().doubleValue(), 1e-7);
        assertEquals(DataType.FLOAT, z.left().dataType());
    }

    @Test
    void halfPrecisionIsComputedInFloatAndReturnedInHalf() {
        INDArray column = Nd4j.createFromArray(new float[][] {{1}, {2}, {2}}).castTo(DataType.HALF);
        TopSvd c = engine(8).top(column, 1);
        assertEquals(DataType.HALF, c.singularValues().dataType());
        assertEquals(3.0, c.singularValues().getDouble(0), 1e-3);
        INDArray m = withSpectrum(12, 20, geometric(12, 2.0, 0.5), 3).castTo(DataType.HALF);
        TopSvd h = engine(8).top(m, 2);
        assertEquals(DataType.HALF, h.left().dataType());
        assertArrayEquals(new long[] {12, 2}, h.left().shape());
        assertEquals(2.0, h.singularValues().getDouble(0), 2e-2);
    }

    @Test
    void refusesBadArgumentsLikeEveryEngine() {
        CudaSvdEngine e = engine(8);
        assertMessage(assertThrows(IllegalArgumentException.class, () -> e.top(null, 1)), "must not be null");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> e.top(Nd4j.ones(3, 3), 0)), "(got: 0)");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> e.top(Nd4j.ones(2, 3, 4), 1)),
                "[2, 3, 4]");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> e.top(Nd4j.create(DataType.FLOAT, 0, 3), 1)),
                "non-empty");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> e.top(Nd4j.ones(DataType.INT, 3, 3), 1)),
                "INT");
    }

    @Test
    void refusesBadSettingsNamingTheValue() {
        assertMessage(assertThrows(IllegalArgumentException.class, () -> new CudaSvdEngine(0, 8, 2, 1L)),
                "exactLimit must be at least 1 (got: 0)");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> new CudaSvdEngine(8, -1, 2, 1L)),
                "oversampling must be >= 0 (got: -1)");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> new CudaSvdEngine(8, 8, -3, 1L)),
                "powerIterations must be >= 0 (got: -3)");
    }

    @Test
    void theRealEngineRefusesToRunOffTheCudaBackendButChecksArgumentsFirst() {
        assumeFalse(CudaBackend.isActive(), "on the CUDA backend the engine runs");
        CudaSvdEngine real = new CudaSvdEngine();
        assertThrows(IllegalArgumentException.class, () -> real.top(Nd4j.ones(3, 3), 0));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> real.top(Nd4j.ones(3, 3), 1));
        assertMessage(e, "needs ND4J's CUDA backend");
        assertMessage(e, "CpuBackend");
    }

    private static void assertMessage(Exception e, String fragment) {
        assertTrue(e.getMessage() != null && e.getMessage().contains(fragment),
                "expected '" + fragment + "' in: " + e.getMessage());
    }
}
