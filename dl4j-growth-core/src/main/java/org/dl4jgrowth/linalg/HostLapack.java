package org.dl4jgrowth.linalg;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.openblas.global.openblas;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The leading singular triplets alone, from LAPACK's {@code ?gesvdx} (range "I": triplets 1 to r),
 * on ND4J's CPU backend. ND4J 1.0.0-M2.1's {@code Lapack} offers only {@code gesvd}, which pays for
 * the whole spectrum and its full U: for the top 16 of a 784 x 256 matrix (the size of GradMax's
 * statistic in {@code GrowthBench}), {@code geqrf} + {@code gesvd} took 45.0 ms where {@code sgesvdx}
 * took 20.9 ms, and 11.8 ms on one BLAS thread (below), on the 2-core machine of docs/benchmarks.md
 * ("Performance II, third slice", {@code SvdBench}). {@code gesvdx}
 * bidiagonalises the matrix and computes only the wanted triplets of the bidiagonal (bisection and
 * inverse iteration on its Golub-Kahan tridiagonal form), so the result is an exact SVD truncated to
 * r, as {@code gesvd}'s is, in the same precision; only the sign of each singular pair may differ.
 *
 * <p>The call goes to the OpenBLAS that ND4J's CPU backend itself links ({@code org.bytedeco.openblas},
 * which ND4J's {@code CpuLapack} calls for {@code gesvd}), with the arrays' own host buffers: nothing
 * is copied beyond the copy LAPACK overwrites. On any other backend, when the OpenBLAS classes are
 * absent, when {@value #PROPERTY}{@code =false}, when LAPACK reports a failure, or when the vectors
 * it returns are not orthonormal to the engines' tolerance ({@code gesvdx} finds vectors by inverse
 * iteration, which can fail inside a cluster of equal values such as a rank-deficient matrix's zeros),
 * {@link #topSvd} answers null and the caller takes the {@code gesvd} path.
 */
final class HostLapack {
    /** {@code -Ddl4jgrowth.svd.gesvdx=false} turns this path off (to compare with {@code gesvd}). */
    static final String PROPERTY = "dl4jgrowth.svd.gesvdx";

    /**
     * Up to this many elements {@code gesvdx} runs with one BLAS thread. Its bidiagonalisation is
     * mostly matrix-vector products, which OpenBLAS splits across its threads with a synchronisation
     * for every column; on the 2-core machine of docs/benchmarks.md one thread took the top 16 of a
     * 784 x 256 matrix in 11.8 ms against 17.9 ms with the backend's two ({@code SvdBench}, "Performance
     * II, third slice"). The bound (above 2^20 elements, 1024 x 1024, the backend's threads) is a judgement:
     * the benefit should shrink as the matrix-vector products grow.
     */
    static final long SINGLE_THREAD_ELEMENTS = 1L << 20;

    /** {@code -Ddl4jgrowth.svd.singleThreadLapack=false} keeps the backend's BLAS threads for every size. */
    static final String SINGLE_THREAD_PROPERTY = "dl4jgrowth.svd.singleThreadLapack";

    private static final Logger LOG = LoggerFactory.getLogger(HostLapack.class);
    private static volatile Boolean linked;

    private HostLapack() {
    }

    /**
     * The top {@code r} triplets of {@code a} (not modified) in {@code work} precision (FLOAT or
     * DOUBLE), or null when this path does not apply: not the CPU backend, no OpenBLAS classes,
     * switched off, or LAPACK failed.
     */
    static SvdSupport.Factors topSvd(INDArray a, int r, DataType work) {
        if (!enabled()) {
            return null;
        }
        try {
            return gesvdx(a, r, work);
        } catch (LinkageError e) {
            linked = false;
            LOG.debug("LAPACK's gesvdx is not reachable through org.bytedeco.openblas ({}); using gesvd", e.toString());
            return null;
        }
    }

    /** Whether {@link #topSvd} will try {@code gesvdx}: the CPU backend, the OpenBLAS classes present, not switched off. */
    static boolean enabled() {
        if (!Boolean.parseBoolean(System.getProperty(PROPERTY, "true"))) {
            return false;
        }
        Boolean l = linked;
        if (l == null) {
            l = probe();
            linked = l;
        }
        return l;
    }

    private static boolean probe() {
        try {
            if (!Nd4j.getEnvironment().isCPU()) {
                return false;
            }
            Class.forName("org.bytedeco.openblas.global.openblas", false, HostLapack.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | RuntimeException | LinkageError e) {
            return false;
        }
    }

    private static boolean singleThreadAllowed() {
        return Boolean.parseBoolean(System.getProperty(SINGLE_THREAD_PROPERTY, "true"));
    }

    /**
     * OpenBLAS's thread count is one setting for the whole process: it is lowered to 1 while any
     * thread is inside a small {@code gesvdx} and put back when the last one leaves, so that two
     * concurrent decompositions cannot leave it at 1. BLAS calls of other threads meanwhile run on
     * one thread, slower but correct.
     */
    private static final class BlasThreads {
        private static int depth;
        private static int saved;

        static synchronized void enter() {
            if (depth++ == 0) {
                org.nd4j.linalg.api.blas.Blas blas = Nd4j.factory().blas();
                saved = blas.getMaxThreads();
                blas.setMaxThreads(1);
            }
        }

        static synchronized void exit() {
            if (--depth == 0) {
                Nd4j.factory().blas().setMaxThreads(saved);
            }
        }
    }

    /** For tests: OpenBLAS's thread count as seen now. */
    static int blasThreads() {
        return Nd4j.factory().blas().getMaxThreads();
    }

    private static SvdSupport.Factors gesvdx(INDArray a, int r, DataType work) {
        int m = (int) a.rows();
        int n = (int) a.columns();
        int minDim = Math.min(m, n);
        // castTo may hand back a itself and LAPACK overwrites its input: a fresh column-major copy.
        INDArray copy = a.castTo(work).dup('f');
        INDArray s = Nd4j.create(work, minDim);
        INDArray u = Nd4j.create(work, new long[] {m, r}, 'f');
        INDArray vt = Nd4j.create(work, new long[] {r, n}, 'f');
        IntPointer found = new IntPointer(1);
        IntPointer superb = new IntPointer(12L * minDim);
        int info;
        boolean single = (long) m * n <= SINGLE_THREAD_ELEMENTS && singleThreadAllowed();
        if (single) {
            BlasThreads.enter();
        }
        try {
            byte v = (byte) 'V';
            byte range = (byte) 'I';
            if (work == DataType.DOUBLE) {
                info = openblas.LAPACKE_dgesvdx(openblas.LAPACK_COL_MAJOR, v, v, range, m, n,
                        (DoublePointer) copy.data().addressPointer(), m, 0.0, 0.0, 1, r, found,
                        (DoublePointer) s.data().addressPointer(), (DoublePointer) u.data().addressPointer(), m,
                        (DoublePointer) vt.data().addressPointer(), r, superb);
            } else {
                info = openblas.LAPACKE_sgesvdx(openblas.LAPACK_COL_MAJOR, v, v, range, m, n,
                        (FloatPointer) copy.data().addressPointer(), m, 0f, 0f, 1, r, found,
                        (FloatPointer) s.data().addressPointer(), (FloatPointer) u.data().addressPointer(), m,
                        (FloatPointer) vt.data().addressPointer(), r, superb);
            }
            if (info != 0 || found.get() != r) {
                // info > 0: some triplets did not converge; the full gesvd path still may, and reports its own.
                LOG.debug("gesvdx of a {}x{} matrix for {} triplets returned info {} with {} found; using gesvd",
                        m, n, r, info, found.get());
                return null;
            }
        } finally {
            if (single) {
                BlasThreads.exit();
            }
            found.close();
            superb.close();
        }
        // Vᵀ in column-major order is V in row-major order: a view, no copy.
        INDArray v = vt.transpose();
        double off = Math.max(deviation(u), deviation(v));
        if (!(off <= orthonormality(work))) {
            // Inverse iteration can lose orthogonality inside a cluster of equal values (the zero
            // singular values of a rank-deficient matrix above all): gesvd's QR iteration does not.
            LOG.debug("gesvdx of a {}x{} matrix for {} triplets: singular vectors off orthonormal by {}; using gesvd",
                    m, n, r, off);
            return null;
        }
        return new SvdSupport.Factors(s.get(NDArrayIndex.interval(0, r)), u, v);
    }

    /**
     * How far from orthonormal gesvdx's vectors may be before its answer is set aside: what the engines
     * promise (SvdEngineTest's tolerances), 1e-5 in FLOAT and 1e-10 in DOUBLE.
     */
    static double orthonormality(DataType work) {
        return work == DataType.DOUBLE ? 1e-10 : 1e-5;
    }

    /**
     * max |XᵀX − I| of the columns of {@code x}: one r x r product, read on the host (this class runs
     * on the CPU backend only, where that is no copy across a bus; r² numbers, where building an
     * identity and reducing on the backend took three more native calls).
     */
    private static double deviation(INDArray x) {
        double[][] gram = Nd4j.gemm(x, x, true, false).toDoubleMatrix();
        double worst = 0;
        for (int i = 0; i < gram.length; i++) {
            for (int j = 0; j < gram[i].length; j++) {
                worst = Math.max(worst, Math.abs(gram[i][j] - (i == j ? 1.0 : 0.0)));   // NaN stays NaN
            }
        }
        return worst;
    }
}
