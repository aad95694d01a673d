package org.dl4jgrowth.cuda;

import java.util.function.BooleanSupplier;

import org.dl4jgrowth.linalg.ExactSvdEngine;
import org.dl4jgrowth.linalg.RandomizedSvdEngine;
import org.dl4jgrowth.linalg.SvdEngine;
import org.dl4jgrowth.linalg.SvdSupport;
import org.dl4jgrowth.linalg.TopSvd;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Top-k SVD on the GPU for GradMax (Evci et al., "GradMax: Growing Neural Networks using Gradient
 * Information", ICLR 2022), whose new neurons take their fan-out from the leading singular vectors of a
 * gradient statistic that lives in device memory.
 *
 * <p>Everything is an ND4J operation, so on the CUDA backend the matrix never leaves the device: the
 * factorisations are ND4J's CUDA LAPACK ({@code geqrf}/{@code orgqr} and {@code gesvd} from cuSolver) and
 * the products are cuBLAS GEMMs. The only values read on the host are cuSolver's status words and, for a
 * single-column matrix, its norm. The engine is backend-agnostic code with a GPU-specific plan:
 * <ul>
 *   <li>cuSolver's {@code gesvd} only accepts rows &gt;= cols, so a wide matrix is decomposed as its
 *       transpose (a view) and the factors are swapped back, on every path (the core's exact engine
 *       does the same; here the randomized and single-column paths rely on it too);</li>
 *   <li>a single row or column is solved in closed form, as a precaution: ND4J hands cuSolver's
 *       {@code gesvd} a real work array of {@code min(rows, cols) - 1} elements, empty in that case,
 *       which has not been tried on a GPU;</li>
 *   <li>DOUBLE input is decomposed in FLOAT unless ND4J's default type is DOUBLE, and a default type
 *       narrower than FLOAT is refused, because of how ND4J sizes cuSolver's workspace
 *       ({@link SvdSupport#lapackType});</li>
 *   <li>up to {@link #exactLimit()} on the short side, the exact path (QR, then {@code gesvd} of the
 *       small triangle) is used, as on the CPU; beyond it, and when the sketch stays under half the short
 *       side, the randomized range finder of Halko, Martinsson and Tropp (SIAM Review 53(2), 2011), whose
 *       cost is a few GEMMs that the GPU runs far faster than a full {@code gesvd}.</li>
 * </ul>
 *
 * <p>Registered through {@link java.util.ServiceLoader} with priority {@value #PRIORITY}, above the
 * built-in engines, and available only when ND4J's active backend is its CUDA one (see
 * {@link CudaBackend}), so {@link org.dl4jgrowth.linalg.SvdEngines#best()} picks it exactly there.
 */
public final class CudaSvdEngine implements SvdEngine {

    public static final String NAME = "cuda";
    public static final int PRIORITY = 100;
    /** Largest short side decomposed exactly; a 1024 x 1024 statistic is a 1024-wide layer. */
    public static final int DEFAULT_EXACT_LIMIT = 1024;

    /** How {@link #top} decomposes a matrix of a given shape. */
    enum Path {
        RANK_ONE, EXACT, RANDOMIZED
    }

    private final int exactLimit;
    private final RandomizedSvdEngine sketch;
    private final ExactSvdEngine exact = new ExactSvdEngine();
    private final BooleanSupplier backendActive;

    /** Defaults: exact up to {@value #DEFAULT_EXACT_LIMIT}, then randomized with its own defaults. */
    public CudaSvdEngine() {
        this(DEFAULT_EXACT_LIMIT, RandomizedSvdEngine.DEFAULT_OVERSAMPLING,
                RandomizedSvdEngine.DEFAULT_POWER_ITERATIONS, RandomizedSvdEngine.DEFAULT_SEED);
    }

    /**
     * @param exactLimit      largest {@code min(rows, cols)} decomposed exactly, at least 1
     * @param oversampling    extra random probes of the range finder, at least 0
     * @param powerIterations power iterations of the range finder, at least 0
     * @param seed            seed of the range finder's Gaussian test matrix
     */
    public CudaSvdEngine(int exactLimit, int oversampling, int powerIterations, long seed) {
        this(exactLimit, oversampling, powerIterations, seed, CudaBackend::isActive);
    }

    /** With a stand-in for the backend check, so the GPU code path can be exercised on the CPU. */
    CudaSvdEngine(int exactLimit, int oversampling, int powerIterations, long seed, BooleanSupplier backendActive) {
        if (exactLimit < 1) {
            throw new IllegalArgumentException("exactLimit must be at least 1 (got: " + exactLimit + ")");
        }
        this.exactLimit = exactLimit;
        // Checks oversampling and powerIterations, with the same messages as the built-in engine.
        this.sketch = new RandomizedSvdEngine(oversampling, powerIterations, seed);
        this.backendActive = backendActive;
    }

    public int exactLimit() {
        return exactLimit;
    }

    public int oversampling() {
        return sketch.oversampling();
    }

    public int powerIterations() {
        return sketch.powerIterations();
    }

    public long seed() {
        return sketch.seed();
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public boolean isAvailable() {
        return backendActive.getAsBoolean();
    }

    @Override
    public int priority() {
        return PRIORITY;
    }

    /**
     * @throws IllegalArgumentException for the same inputs as every engine (see {@link SvdSupport#validate})
     * @throws IllegalStateException    if ND4J is not running on its CUDA backend, or its default
     *                                  floating-point type is narrower than FLOAT (see
     *                                  {@link SvdSupport#lapackType})
     */
    @Override
    public TopSvd top(INDArray a, int k) {
        SvdSupport.validate(a, k);
        if (!isAvailable()) {
            throw new IllegalStateException("the '" + NAME + "' SVD engine needs ND4J's CUDA backend: "
                    + CudaBackend.describe() + "; SvdEngines.best() picks an engine that can run here");
        }
        DataType out = a.dataType();
        // Decided here, as on a device backend, rather than left to the core engines, which only apply
        // this rule off the host: so the CPU runs of this code path take the same decisions.
        DataType work = SvdSupport.deviceWorkType(out);
        INDArray m = out == DataType.DOUBLE && work == DataType.FLOAT ? a.castTo(DataType.FLOAT) : a;
        boolean wide = m.rows() < m.columns();
        // A transposed view costs nothing; the engines below copy into column-major work arrays anyway.
        INDArray tall = wide ? m.transpose() : m;
        TopSvd t;
        switch (plan(tall.rows(), tall.columns(), k)) {
            case RANK_ONE:
                t = singleColumn(tall, k);
                break;
            case RANDOMIZED:
                t = sketch.top(tall, k);
                break;
            default:
                t = exact.top(tall, k);
                break;
        }
        INDArray s = SvdSupport.cast(t.singularValues(), out);
        INDArray left = SvdSupport.cast(wide ? t.right() : t.left(), out);
        INDArray right = SvdSupport.cast(wide ? t.left() : t.right(), out);
        return new TopSvd(s, left, right, k, NAME);
    }

    /** The path {@link #top} takes for a matrix with these dimensions (in either orientation). */
    Path plan(long rows, long cols, int k) {
        long n = Math.min(rows, cols);
        if (n == 1) {
            return Path.RANK_ONE;
        }
        long sketchSize = (long) k + sketch.oversampling();
        // A one-column sketch would hand cuSolver a 1 x 1 gesvd, with the same empty work array.
        if (n > exactLimit && sketchSize >= 2 && sketchSize <= n / 2) {
            return Path.RANDOMIZED;
        }
        return Path.EXACT;
    }

    /** A tall single column c: s = |c|, u = c / |c| (e_1 when c = 0), v = [1]. */
    private static TopSvd singleColumn(INDArray column, int k) {
        DataType out = column.dataType();
        DataType work = SvdSupport.workType(out);
        INDArray c = SvdSupport.cast(column, work);
        INDArray s = c.norm2(0);
        double norm = s.getDouble(0);
        INDArray u;
        if (norm > 0) {
            u = c.div(norm);
        } else {
            // A fresh array, not the statistic: setting one element from the host copies nothing back.
            u = Nd4j.zeros(work, c.rows(), 1);
            u.putScalar(0, 0, 1.0);
        }
        INDArray v = Nd4j.ones(work, 1, 1);
        return new TopSvd(SvdSupport.cast(s, out), SvdSupport.cast(u, out), SvdSupport.cast(v, out), k, NAME);
    }

    @Override
    public String toString() {
        return NAME + "(exactLimit=" + exactLimit + ", oversampling=" + oversampling() + ", powerIterations="
                + powerIterations() + ", seed=" + seed() + ")";
    }
}
