package org.dl4jgrowth.linalg;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;

import org.nd4j.linalg.api.blas.Lapack;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Shared argument checks and the dense LAPACK path used by both built-in engines. The public methods are
 * for {@link SvdEngine} implementations in other modules (the CUDA engine), so that every engine refuses
 * the same inputs with the same messages.
 *
 * <p>Only {@link Lapack#gesvd} and {@link Lapack#geqrf} are used: in ND4J 1.0.0-M2.1 the {@code Svd}
 * custom op and {@code Nd4j.linalg().svd} return wrong results, and the {@code Qr} op is correct but
 * orders of magnitude slower than {@code geqrf}. Every array stays on the backend; nothing is read to
 * the host except LAPACK's own status word.
 */
public final class SvdSupport {

    private static final Logger LOG = LoggerFactory.getLogger(SvdSupport.class);
    private static final AtomicBoolean WARNED_DOUBLE = new AtomicBoolean();

    private SvdSupport() {
    }

    /** Singular triplets in the orientation of the matrix they were computed from. */
    static final class Factors {
        final INDArray s;
        final INDArray u;
        final INDArray v;

        Factors(INDArray s, INDArray u, INDArray v) {
            this.s = s;
            this.u = u;
            this.v = v;
        }

        Factors swapped() {
            return new Factors(s, v, u);
        }

        TopSvd toTopSvd(DataType outType, int requested, String engine) {
            return new TopSvd(cast(s, outType), cast(u, outType), cast(v, outType), requested, engine);
        }
    }

    /**
     * Checks the arguments of {@link SvdEngine#top}.
     *
     * @throws IllegalArgumentException naming the offending value if {@code a} is not a non-empty
     *                                  floating-point matrix that LAPACK can index, or {@code k < 1}
     */
    public static void validate(INDArray a, int k) {
        if (a == null) {
            throw new IllegalArgumentException("matrix must not be null");
        }
        if (k < 1) {
            throw new IllegalArgumentException("k must be at least 1 (got: " + k + ")");
        }
        if (a.rank() != 2) {
            throw new IllegalArgumentException("expected a matrix (got shape " + Arrays.toString(a.shape()) + ")");
        }
        if (a.rows() < 1 || a.columns() < 1) {
            throw new IllegalArgumentException(
                    "expected a non-empty matrix (got shape " + Arrays.toString(a.shape()) + ")");
        }
        if (!a.dataType().isFPType()) {
            throw new IllegalArgumentException(
                    "expected a floating-point matrix (got data type " + a.dataType() + ")");
        }
        if (a.rows() > Integer.MAX_VALUE || a.columns() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(
                    "matrix too large for LAPACK (got shape " + Arrays.toString(a.shape()) + ")");
        }
    }

    /**
     * The precision LAPACK runs in for input of type {@code input} on the active backend: see
     * {@link #lapackType}. Logs once when a device backend forces DOUBLE down to FLOAT.
     */
    public static DataType workType(DataType input) {
        return workType(input, hostBackend());
    }

    /**
     * {@link #workType(DataType)} as on a device backend, whatever backend is active: for engines that
     * only run on one (the CUDA engine), so that their runs on the CPU take the same decisions.
     */
    public static DataType deviceWorkType(DataType input) {
        return workType(input, false);
    }

    private static DataType workType(DataType input, boolean hostBackend) {
        DataType nd4jDefault = Nd4j.dataType();
        DataType work = lapackType(input, nd4jDefault, hostBackend);
        if (input == DataType.DOUBLE && work == DataType.FLOAT && !WARNED_DOUBLE.getAndSet(true)) {
            LOG.warn("DOUBLE matrices are decomposed in FLOAT on this device backend: ND4J 1.0.0-M2.1's CUDA "
                    + "LAPACK sizes cuSolver's double-precision workspace by the default data type, which is {}. "
                    + "Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE) gives DOUBLE decompositions.",
                    nd4jDefault);
        }
        return work;
    }

    /**
     * The precision LAPACK can run in safely. LAPACK has single and double precision routines only, so
     * DOUBLE input gets DOUBLE and everything else FLOAT. On a device backend there is a further limit:
     * ND4J 1.0.0-M2.1's CUDA LAPACK ({@code JcublasLapack}) allocates cuSolver's workspace as (elements
     * asked for) x (size of ND4J's <em>default</em> data type), in its float and double routines alike.
     * Double routines are then only safe under a DOUBLE default, and no routine is safe under a default
     * narrower than FLOAT.
     *
     * @param input       the matrix's type
     * @param nd4jDefault ND4J's default data type ({@link Nd4j#dataType()})
     * @param hostBackend whether ND4J computes on the host (the CPU backend), where no such limit exists
     * @return FLOAT or DOUBLE
     * @throws IllegalStateException on a device backend whose default type is narrower than FLOAT
     */
    public static DataType lapackType(DataType input, DataType nd4jDefault, boolean hostBackend) {
        DataType wanted = input == DataType.DOUBLE ? DataType.DOUBLE : DataType.FLOAT;
        if (hostBackend) {
            return wanted;
        }
        if (Nd4j.sizeOfDataType(nd4jDefault) < Nd4j.sizeOfDataType(DataType.FLOAT)) {
            throw new IllegalStateException("ND4J's default floating-point type is " + nd4jDefault
                    + ", and ND4J's CUDA LAPACK sizes cuSolver's workspace by it, too short for any SVD or QR; "
                    + "allowed defaults are FLOAT and DOUBLE (Nd4j.setDefaultDataTypes(DataType.FLOAT, "
                    + "DataType.FLOAT)); networks can still train in " + nd4jDefault + " through their own "
                    + "dataType setting");
        }
        return wanted == DataType.DOUBLE && nd4jDefault != DataType.DOUBLE ? DataType.FLOAT : wanted;
    }

    private static boolean hostBackend() {
        try {
            return Nd4j.getEnvironment().isCPU();
        } catch (RuntimeException | LinkageError e) {
            return true;
        }
    }

    /** The number of triplets {@link SvdEngine#top} returns: {@code min(k, rows, cols)}. */
    public static int resultRank(INDArray a, int k) {
        return (int) Math.min(k, Math.min(a.rows(), a.columns()));
    }

    static boolean lapackAvailable() {
        try {
            return Nd4j.getBlasWrapper() != null && Nd4j.getBlasWrapper().lapack() != null;
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }

    /**
     * Top-{@code r} factors of {@code a} (any shape) via LAPACK, without modifying {@code a}. The result
     * is in {@code work} precision.
     */
    static Factors exact(INDArray a, int r, DataType work) {
        // On the CPU, LAPACK's gesvdx computes the r triplets alone (HostLapack); elsewhere, or when it
        // declines, the whole spectrum through ND4J's gesvd.
        Factors top = HostLapack.topSvd(a, r, work);
        if (top != null) {
            return top;
        }
        // CUDA's gesvd requires rows >= cols, so wide input is always transposed to keep a single path
        // for every backend; U and V swap roles afterwards.
        boolean wide = a.rows() < a.columns();
        INDArray tall = wide ? a.transpose() : a;
        // castTo may hand back the same instance, and LAPACK overwrites its input: always take a
        // fresh column-major copy.
        INDArray copy = tall.castTo(work).dup('f');
        Factors f = exactTallInPlace(copy, r);
        return wide ? f.swapped() : f;
    }

    /**
     * Top-{@code r} factors of a column-major matrix with rows >= cols; {@code t} is destroyed.
     *
     * <p>gesvd only offers full U, which for an m x n input costs an m x m matrix. Factoring
     * {@code t = Q R} first (Chan's R-SVD) shrinks the SVD to the n x n triangle and keeps memory at
     * O(m n), so U = Q * U_R.
     */
    private static Factors exactTallInPlace(INDArray t, int r) {
        Lapack lapack = Nd4j.getBlasWrapper().lapack();
        DataType type = t.dataType();
        long m = t.rows();
        long n = t.columns();
        INDArray q = null;
        INDArray core = t;
        if (m > n) {
            INDArray rFactor = Nd4j.create(type, new long[] {n, n}, 'f');
            lapack.geqrf(t, rFactor);
            q = t;
            core = rFactor;
        }
        INDArray s = Nd4j.create(type, n);
        INDArray u = Nd4j.create(type, new long[] {n, n}, 'f');
        INDArray vt = Nd4j.create(type, new long[] {n, n}, 'f');
        lapack.gesvd(core, s, u, vt);

        INDArray sTop = s.get(NDArrayIndex.interval(0, r)).dup();
        INDArray uCore = u.get(NDArrayIndex.all(), NDArrayIndex.interval(0, r));
        INDArray uTop = q == null ? uCore.dup('f') : q.mmul(uCore);
        INDArray vTop = vt.get(NDArrayIndex.interval(0, r), NDArrayIndex.all()).transpose().dup('f');
        return new Factors(sTop, uTop, vTop);
    }

    /**
     * Orthonormal basis of the column space of {@code y} (rows >= cols) via Householder QR; {@code y}
     * is left untouched.
     */
    static INDArray orthonormalize(INDArray y) {
        return cast(qr(y)[0], y.dataType());
    }

    /**
     * Householder QR of {@code y} (rows >= cols, left untouched): {@code [Q, R]} in the work precision,
     * Q with orthonormal columns and R the square triangle. The singular values of R are those of
     * {@code y}, which is how the randomized engine reads its Ritz values without another product.
     */
    static INDArray[] qr(INDArray y) {
        // castTo may return y itself and geqrf overwrites its input: always work on a fresh copy.
        INDArray q = y.castTo(workType(y.dataType())).dup('f');
        INDArray r = Nd4j.create(q.dataType(), new long[] {q.columns(), q.columns()}, 'f');
        Nd4j.getBlasWrapper().lapack().geqrf(q, r);
        return new INDArray[] {q, r};
    }

    /**
     * The leading {@code r} singular values of a small square matrix (not modified), read to the
     * host: a few numbers per call, for convergence tests only.
     */
    static double[] smallSingularValues(INDArray square, int r) {
        Factors f = exactTallInPlace(square.dup('f'), Math.min(r, (int) square.columns()));
        return f.s.toDoubleVector();
    }

    /** {@code x} itself if it already has {@code type}, otherwise a converted copy (on the backend). */
    public static INDArray cast(INDArray x, DataType type) {
        return x.dataType() == type ? x : x.castTo(type);
    }

    /**
     * Fills {@code target} with standard normal values from a generator of the call's own, seeded
     * with {@code seed}: the same draw every time, and ND4J's global stream (training's) untouched.
     */
    static void fillGaussian(INDArray target, long seed) {
        org.nd4j.linalg.api.rng.Random rng = Nd4j.getRandomFactory().getNewRandomInstance(seed);
        try {
            Nd4j.randn(target, rng);
        } finally {
            try {
                rng.close();
            } catch (Exception e) {
                // Releasing the native generator is best effort; the values are drawn.
            }
        }
    }
}
