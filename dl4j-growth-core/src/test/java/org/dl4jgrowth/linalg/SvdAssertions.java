package org.dl4jgrowth.linalg;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.rng.Random;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

/** Test matrices with known spectra and sign-insensitive comparisons of singular triplets. */
public final class SvdAssertions {

    private SvdAssertions() {
    }

    public static INDArray gaussian(long rows, long cols, long seed) {
        try (Random rng = Nd4j.getRandomFactory().getNewRandomInstance(seed)) {
            INDArray x = Nd4j.create(DataType.DOUBLE, rows, cols);
            Nd4j.randn(x, rng);
            return x;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** rows x cols (rows >= cols) with orthonormal columns. */
    public static INDArray orthonormal(long rows, long cols, long seed) {
        return SvdSupport.orthonormalize(gaussian(rows, cols, seed));
    }

    /** DOUBLE matrix U0 diag(s) V0^T with random orthonormal U0, V0 and the given spectrum. */
    public static INDArray withSpectrum(long rows, long cols, double[] spectrum, long seed) {
        int r = spectrum.length;
        INDArray u0 = orthonormal(rows, r, seed);
        INDArray v0 = orthonormal(cols, r, seed + 1);
        INDArray s = Nd4j.createFromArray(spectrum);
        return u0.mulRowVector(s).mmul(v0.transpose());
    }

    public static double[] geometric(int n, double first, double ratio) {
        double[] s = new double[n];
        for (int i = 0; i < n; i++) {
            s[i] = first * Math.pow(ratio, i);
        }
        return s;
    }

    public static INDArray reconstruct(TopSvd svd) {
        INDArray u = svd.left().castTo(DataType.DOUBLE);
        INDArray s = svd.singularValues().castTo(DataType.DOUBLE);
        INDArray v = svd.right().castTo(DataType.DOUBLE);
        return u.mulRowVector(s).mmul(v.transpose());
    }

    public static double maxAbsDiff(INDArray a, INDArray b) {
        assertArrayEquals(a.shape(), b.shape(), "shape");
        return Transforms.abs(a.castTo(DataType.DOUBLE).sub(b.castTo(DataType.DOUBLE))).maxNumber().doubleValue();
    }

    public static void assertShapes(TopSvd svd, long rows, long cols, int r) {
        assertEquals(r, svd.rank(), "rank");
        assertArrayEquals(new long[] {r}, svd.singularValues().shape(), "singular values shape");
        assertArrayEquals(new long[] {rows, r}, svd.left().shape(), "left shape");
        assertArrayEquals(new long[] {cols, r}, svd.right().shape(), "right shape");
    }

    public static void assertDescendingNonNegative(TopSvd svd) {
        double[] s = svd.singularValues().castTo(DataType.DOUBLE).toDoubleVector();
        for (int i = 0; i < s.length; i++) {
            assertTrue(s[i] >= -1e-6 * Math.max(1.0, s[0]), "negative singular value " + s[i]);
            if (i > 0) {
                assertTrue(s[i] <= s[i - 1] * (1 + 1e-6) + 1e-12, "not descending at " + i + ": " + s[i - 1] + ", " + s[i]);
            }
        }
    }

    public static void assertOrthonormalColumns(INDArray m, double tol, String what) {
        INDArray d = m.castTo(DataType.DOUBLE);
        INDArray gram = d.transpose().mmul(d);
        double err = maxAbsDiff(gram, Nd4j.eye(d.columns()).castTo(DataType.DOUBLE));
        assertTrue(err <= tol, what + " columns not orthonormal: max |X^T X - I| = " + err);
    }

    /**
     * The first {@code count} triplets agree up to the sign of each (u_j, v_j) pair; the sign is taken
     * from u_j . u_j' and must then also fit v_j.
     */
    public static void assertSameTriplets(TopSvd expected, TopSvd actual, int count, double valueTol, double vectorTol) {
        double[] se = expected.singularValues().castTo(DataType.DOUBLE).toDoubleVector();
        double[] sa = actual.singularValues().castTo(DataType.DOUBLE).toDoubleVector();
        double scale = Math.max(se[0], 1e-300);
        INDArray ue = expected.left().castTo(DataType.DOUBLE);
        INDArray ua = actual.left().castTo(DataType.DOUBLE);
        INDArray ve = expected.right().castTo(DataType.DOUBLE);
        INDArray va = actual.right().castTo(DataType.DOUBLE);
        for (int j = 0; j < count; j++) {
            assertEquals(se[j], sa[j], valueTol * scale, "singular value " + j);
            INDArray uej = ue.getColumn(j);
            INDArray uaj = ua.getColumn(j);
            double sign = Math.signum(uej.mul(uaj).sumNumber().doubleValue());
            assertTrue(sign != 0, "left vector " + j + " orthogonal to the expected one");
            double du = maxAbsDiff(uej, uaj.mul(sign));
            double dv = maxAbsDiff(ve.getColumn(j), va.getColumn(j).mul(sign));
            assertTrue(du <= vectorTol, "left vector " + j + " differs by " + du);
            assertTrue(dv <= vectorTol, "right vector " + j + " differs by " + dv + " (after the sign of u)");
        }
    }

    public static INDArray columns(INDArray m, int from, int to) {
        return m.get(NDArrayIndex.all(), NDArrayIndex.interval(from, to));
    }
}
