package org.dl4jgrowth.linalg;

import static org.dl4jgrowth.linalg.SvdAssertions.assertDescendingNonNegative;
import static org.dl4jgrowth.linalg.SvdAssertions.assertOrthonormalColumns;
import static org.dl4jgrowth.linalg.SvdAssertions.assertSameTriplets;
import static org.dl4jgrowth.linalg.SvdAssertions.assertShapes;
import static org.dl4jgrowth.linalg.SvdAssertions.columns;
import static org.dl4jgrowth.linalg.SvdAssertions.gaussian;
import static org.dl4jgrowth.linalg.SvdAssertions.geometric;
import static org.dl4jgrowth.linalg.SvdAssertions.maxAbsDiff;
import static org.dl4jgrowth.linalg.SvdAssertions.reconstruct;
import static org.dl4jgrowth.linalg.SvdAssertions.withSpectrum;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class SvdEngineTest {

    private static final ExactSvdEngine EXACT = new ExactSvdEngine();
    private static final RandomizedSvdEngine RANDOMIZED = new RandomizedSvdEngine();

    enum Precision {
        FLOAT(DataType.FLOAT, 1e-4, 1e-3, 1e-5),
        DOUBLE(DataType.DOUBLE, 1e-10, 1e-7, 1e-10);

        final DataType type;
        /** Relative (to s_max) tolerance on singular values and on reconstruction. */
        final double valueTol;
        /** Absolute tolerance on unit singular vector entries. */
        final double vectorTol;
        /** Tolerance on U^T U = I. */
        final double orthoTol;

        Precision(DataType type, double valueTol, double vectorTol, double orthoTol) {
            this.type = type;
            this.valueTol = valueTol;
            this.vectorTol = vectorTol;
            this.orthoTol = orthoTol;
        }
    }

    static Stream<Arguments> precisionsAndShapes() {
        return Stream.of(Precision.values()).flatMap(p -> Stream.of(
                Arguments.of(p, 40, 60), Arguments.of(p, 60, 40)));
    }

    // --- reference: the full exact SVD reproduces A ---

    @ParameterizedTest
    @MethodSource("precisionsAndShapes")
    void fullExactSvdReconstructsGaussianMatrix(Precision p, int rows, int cols) {
        INDArray a = gaussian(rows, cols, 11).castTo(p.type);
        int full = Math.min(rows, cols);
        TopSvd svd = EXACT.top(a, full);

        assertShapes(svd, rows, cols, full);
        assertEquals("exact", svd.engine());
        assertEquals(a.dataType(), svd.left().dataType());
        assertDescendingNonNegative(svd);
        assertOrthonormalColumns(svd.left(), p.orthoTol, "U");
        assertOrthonormalColumns(svd.right(), p.orthoTol, "V");
        double scale = svd.singularValues().maxNumber().doubleValue();
        double err = maxAbsDiff(reconstruct(svd), a);
        assertTrue(err <= p.valueTol * scale, "A != U S V^T, max error " + err);
    }

    @ParameterizedTest
    @MethodSource("precisionsAndShapes")
    void exactRecoversKnownSpectrumAndFactors(Precision p, int rows, int cols) {
        double[] spectrum = geometric(Math.min(rows, cols), 5.0, 0.8);
        INDArray a = withSpectrum(rows, cols, spectrum, 21).castTo(p.type);
        TopSvd svd = EXACT.top(a, 6);

        assertShapes(svd, rows, cols, 6);
        double[] s = svd.singularValues().castTo(DataType.DOUBLE).toDoubleVector();
        for (int i = 0; i < 6; i++) {
            assertEquals(spectrum[i], s[i], p.valueTol * spectrum[0], "singular value " + i);
        }
        // Each rank-one term s_j u_j v_j^T is sign-invariant, so it must equal A's own term.
        TopSvd full = EXACT.top(a, Math.min(rows, cols));
        assertSameTriplets(full, svd, 6, p.valueTol, p.vectorTol);
    }

    // --- randomized against exact, up to sign ---

    @ParameterizedTest
    @MethodSource("precisionsAndShapes")
    void randomizedAgreesWithExactOnDecayingRandomMatrix(Precision p, int rows, int cols) {
        INDArray a = withSpectrum(rows, cols, geometric(Math.min(rows, cols), 3.0, 0.6), 31).castTo(p.type);
        TopSvd exact = EXACT.top(a, 5);
        TopSvd randomized = RANDOMIZED.top(a, 5);

        assertEquals("randomized", randomized.engine());
        assertShapes(randomized, rows, cols, 5);
        assertDescendingNonNegative(randomized);
        assertOrthonormalColumns(randomized.left(), p.orthoTol, "U");
        assertOrthonormalColumns(randomized.right(), p.orthoTol, "V");
        assertSameTriplets(exact, randomized, 5, p.valueTol, p.vectorTol);
    }

    @ParameterizedTest
    @MethodSource("precisionsAndShapes")
    void randomizedOnFlatGaussianSpectrumIsABoundedApproximation(Precision p, int rows, int cols) {
        INDArray a = gaussian(rows, cols, 41).castTo(p.type);
        double[] se = EXACT.top(a, 5).singularValues().castTo(DataType.DOUBLE).toDoubleVector();
        TopSvd randomized = RANDOMIZED.top(a, 5);
        double[] sr = randomized.singularValues().castTo(DataType.DOUBLE).toDoubleVector();

        assertOrthonormalColumns(randomized.left(), p.orthoTol, "U");
        assertOrthonormalColumns(randomized.right(), p.orthoTol, "V");
        for (int i = 0; i < 5; i++) {
            // Singular values of Q^T A never exceed those of A (interlacing).
            assertTrue(sr[i] <= se[i] * (1 + 10 * p.valueTol), "value " + i + ": " + sr[i] + " > " + se[i]);
        }
        assertEquals(se[0], sr[0], 0.02 * se[0], "largest singular value");
    }

    @ParameterizedTest
    @EnumSource(Precision.class)
    void lowRankMatrixWithKAboveRank(Precision p) {
        INDArray a = withSpectrum(50, 70, new double[] {3.0, 2.0, 1.0}, 51).castTo(p.type);
        for (SvdEngine engine : List.of(EXACT, RANDOMIZED)) {
            TopSvd svd = engine.top(a, 5);
            assertShapes(svd, 50, 70, 5);
            assertEquals(5, svd.requested());
            assertEquals(3, svd.numericalRank(1e-4), engine.name() + " numerical rank");
            assertOrthonormalColumns(svd.left(), p.orthoTol, engine.name() + " U");
            assertOrthonormalColumns(svd.right(), p.orthoTol, engine.name() + " V");
            double err = maxAbsDiff(reconstruct(svd), a);
            assertTrue(err <= p.valueTol * 3.0, engine.name() + " reconstruction error " + err);
        }
        assertSameTriplets(EXACT.top(a, 5), RANDOMIZED.top(a, 5), 3, p.valueTol, p.vectorTol);
    }

    @ParameterizedTest
    @EnumSource(Precision.class)
    void rankDeficientDuplicateColumns(Precision p) {
        INDArray half = withSpectrum(60, 20, geometric(20, 2.0, 0.6), 61);
        INDArray a = Nd4j.hstack(half, half).castTo(p.type);
        TopSvd full = EXACT.top(a, 40);
        assertEquals(20, full.numericalRank(1e-5), "duplicated columns halve the rank");
        double err = maxAbsDiff(reconstruct(full), a);
        assertTrue(err <= p.valueTol * 2.0 * Math.sqrt(2), "reconstruction error " + err);
        assertOrthonormalColumns(full.left(), p.orthoTol, "U");
        assertOrthonormalColumns(full.right(), p.orthoTol, "V");

        TopSvd exact = EXACT.top(a, 5);
        TopSvd randomized = RANDOMIZED.top(a, 5);
        assertSameTriplets(full, exact, 5, p.valueTol, p.vectorTol);
        assertSameTriplets(exact, randomized, 5, p.valueTol, p.vectorTol);
        // The right singular vectors of [B, B] are [v; v] / sqrt(2).
        INDArray v = randomized.right().castTo(DataType.DOUBLE);
        double diff = maxAbsDiff(v.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 20),
                        org.nd4j.linalg.indexing.NDArrayIndex.all()),
                v.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(20, 40),
                        org.nd4j.linalg.indexing.NDArrayIndex.all()));
        assertTrue(diff <= p.vectorTol, "halves of V differ by " + diff);
    }

    @ParameterizedTest
    @MethodSource("precisionsAndShapes")
    void kAtOrAboveMinDimensionReturnsEverything(Precision p, int rows, int cols) {
        INDArray a = gaussian(rows, cols, 71).castTo(p.type);
        int min = Math.min(rows, cols);
        TopSvd reference = EXACT.top(a, min);
        for (SvdEngine engine : List.of(EXACT, RANDOMIZED)) {
            for (int k : new int[] {min, min + 7}) {
                TopSvd svd = engine.top(a, k);
                assertEquals(k, svd.requested());
                assertShapes(svd, rows, cols, min);
                double err = maxAbsDiff(reconstruct(svd), a);
                assertTrue(err <= p.valueTol * reference.singularValues().maxNumber().doubleValue(),
                        engine.name() + " k=" + k + " reconstruction error " + err);
                assertSameTriplets(reference, svd, min, p.valueTol, 0.0 + p.vectorTol * 10);
            }
        }
    }

    /** Near the fallback threshold the sketch path still runs (k + oversampling = min - 1). */
    @Test
    void randomizedJustBelowFallbackThreshold() {
        INDArray a = withSpectrum(40, 60, geometric(40, 1.0, 0.7), 81);
        TopSvd randomized = RANDOMIZED.top(a, 31);
        assertShapes(randomized, 40, 60, 31);
        assertSameTriplets(EXACT.top(a, 31), randomized, 10, 1e-9, 1e-6);
        assertOrthonormalColumns(randomized.left(), 1e-10, "U");
    }

    @ParameterizedTest
    @EnumSource(Precision.class)
    void decayingSpectrumTop16WithinOnePermilleOfExact(Precision p) {
        INDArray a = withSpectrum(200, 300, geometric(200, 10.0, 0.8), 91).castTo(p.type);
        double[] se = EXACT.top(a, 16).singularValues().castTo(DataType.DOUBLE).toDoubleVector();
        TopSvd randomized = RANDOMIZED.top(a, 16);
        double[] sr = randomized.singularValues().castTo(DataType.DOUBLE).toDoubleVector();
        double worst = 0;
        for (int i = 0; i < 16; i++) {
            double rel = Math.abs(sr[i] - se[i]) / se[i];
            worst = Math.max(worst, rel);
            assertTrue(rel <= 1e-3, "singular value " + i + ": randomized " + sr[i] + " vs exact " + se[i]);
        }
        System.out.printf("decaying 200x300 %s: worst relative error of randomized top-16 = %.3e%n", p, worst);
        assertOrthonormalColumns(randomized.left(), p.orthoTol, "U");
        assertOrthonormalColumns(randomized.right(), p.orthoTol, "V");
    }

    // --- inputs, types, determinism ---

    @ParameterizedTest
    @EnumSource(value = DataType.class, names = {"FLOAT", "DOUBLE", "HALF"})
    void inputIsNeverModified(DataType type) {
        for (INDArray a : List.of(gaussian(40, 60, 101).castTo(type), gaussian(60, 40, 102).castTo(type),
                withSpectrum(60, 40, geometric(40, 1.0, 0.7), 103).castTo(type))) {
            INDArray before = a.dup();
            for (SvdEngine engine : List.of(EXACT, RANDOMIZED)) {
                engine.top(a, 3);
                engine.top(a, 40);
                assertEquals(before, a, engine.name() + " modified its input");
            }
        }
    }

    @Test
    void viewsAndTransposedViewsGiveTheSameResultAsTheirCopies() {
        INDArray base = withSpectrum(70, 90, geometric(70, 1.0, 0.6), 141);
        INDArray view = base.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(5, 65),
                org.nd4j.linalg.indexing.NDArrayIndex.interval(10, 50));
        for (INDArray a : List.of(view, view.transpose(), base.transpose())) {
            INDArray copy = a.dup('c');
            for (SvdEngine engine : List.of(EXACT, RANDOMIZED)) {
                assertSameTriplets(engine.top(copy, 4), engine.top(a, 4), 4, 1e-10, 1e-8);
            }
        }
    }

    @Test
    void halfIsComputedInFloatAndCastBack() {
        INDArray a = withSpectrum(40, 30, geometric(30, 2.0, 0.6), 111);
        INDArray half = a.castTo(DataType.HALF);
        for (SvdEngine engine : List.of(EXACT, RANDOMIZED)) {
            TopSvd h = engine.top(half, 4);
            assertEquals(DataType.HALF, h.singularValues().dataType());
            assertEquals(DataType.HALF, h.left().dataType());
            assertEquals(DataType.HALF, h.right().dataType());
            assertSameTriplets(EXACT.top(a, 4), h, 4, 5e-3, 2e-2);
        }
    }

    @Test
    void randomizedIsReproducibleAndLeavesGlobalRngAlone() {
        INDArray a = withSpectrum(80, 50, geometric(50, 1.0, 0.9), 121);
        Nd4j.getRandom().setSeed(7);
        INDArray expectedDraw = Nd4j.rand(DataType.DOUBLE, 4);
        Nd4j.getRandom().setSeed(7);
        TopSvd first = RANDOMIZED.top(a, 4);
        INDArray draw = Nd4j.rand(DataType.DOUBLE, 4);
        assertEquals(expectedDraw, draw, "the global ND4J RNG was used");

        TopSvd second = new RandomizedSvdEngine().top(a, 4);
        assertEquals(first.singularValues(), second.singularValues());
        assertEquals(first.left(), second.left());
        assertEquals(first.right(), second.right());
    }

    @Test
    void argumentErrorsNameTheValue() {
        INDArray m = Nd4j.rand(DataType.FLOAT, 3, 4);
        for (SvdEngine engine : List.of(EXACT, RANDOMIZED)) {
            IllegalArgumentException k0 = assertThrows(IllegalArgumentException.class, () -> engine.top(m, 0));
            assertEquals("k must be at least 1 (got: 0)", k0.getMessage());
            IllegalArgumentException kNeg = assertThrows(IllegalArgumentException.class, () -> engine.top(m, -3));
            assertEquals("k must be at least 1 (got: -3)", kNeg.getMessage());
            IllegalArgumentException rank3 = assertThrows(IllegalArgumentException.class,
                    () -> engine.top(Nd4j.rand(DataType.FLOAT, 2, 3, 4), 1));
            assertEquals("expected a matrix (got shape [2, 3, 4])", rank3.getMessage());
            IllegalArgumentException vector = assertThrows(IllegalArgumentException.class,
                    () -> engine.top(Nd4j.rand(DataType.FLOAT, 5), 1));
            assertEquals("expected a matrix (got shape [5])", vector.getMessage());
            IllegalArgumentException ints = assertThrows(IllegalArgumentException.class,
                    () -> engine.top(Nd4j.ones(DataType.INT, 3, 3), 1));
            assertTrue(ints.getMessage().contains("INT"), ints.getMessage());
            assertThrows(IllegalArgumentException.class, () -> engine.top(null, 1));
        }
        assertThrows(IllegalArgumentException.class, () -> new RandomizedSvdEngine(-1, 2, 1));
        assertThrows(IllegalArgumentException.class, () -> new RandomizedSvdEngine(8, -1, 1));
    }

    @Test
    void topSvdIsImmutableAndCountsNumericalRank() {
        INDArray a = withSpectrum(20, 10, new double[] {4.0, 2.0, 1e-3, 1e-9}, 131);
        TopSvd svd = EXACT.top(a, 10);
        assertEquals(4, svd.numericalRank(1e-12));
        assertEquals(3, svd.numericalRank(1e-6));
        assertEquals(2, svd.numericalRank(1e-2));
        assertEquals(1, svd.numericalRank(0.6));
        assertEquals(0, svd.numericalRank(1.0));
        assertThrows(IllegalArgumentException.class, () -> svd.numericalRank(-1));

        svd.left().assign(0);
        svd.singularValues().assign(0);
        assertEquals(4.0, svd.singularValues().getDouble(0), 1e-9);
        assertTrue(columns(svd.left(), 0, 1).norm2Number().doubleValue() > 0.99);
    }
}
