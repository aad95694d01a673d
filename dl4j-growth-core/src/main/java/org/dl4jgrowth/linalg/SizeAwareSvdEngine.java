package org.dl4jgrowth.linalg;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The default SVD engine on the CPU: exact for small matrices, randomized and converged for large
 * ones, chosen by the short side of the matrix. GradMax (Evci et al. 2022) keeps only the top-k
 * singular vectors of its gradient statistic. The exact path ({@link ExactSvdEngine}) still
 * bidiagonalises the whole matrix: with {@code gesvdx} on the CPU, 53 ms at 512 x 1024 but 0.44 s at
 * 1024 x 2048; with the whole spectrum from {@code gesvd} (other backends), about 0.8 s at 512 x 1024
 * and 56 s at 2048 x 4096 (docs/benchmarks.md: {@code SvdBench}, {@code WideGradMaxBench}). Above
 * {@link #exactLimit()} ({@value #GESVDX_EXACT_LIMIT} on the CPU, {@value #DEFAULT_EXACT_LIMIT}
 * elsewhere) the randomized
 * range finder of Halko, Martinsson and Tropp (SIAM Review 53(2), 2011) is used with power iterations
 * until the top-k values settle ({@link RandomizedSvdEngine#converging}), so that its accuracy does not
 * depend on how fast the statistic's spectrum decays.
 *
 * <p>Results name the engine that computed them ("exact" or "randomized"), and so do growth events;
 * {@link SvdEngines#ENGINE_PROPERTY} still picks one engine for every size. Registered through
 * {@link java.util.ServiceLoader} with priority {@value #PRIORITY}: above the two it delegates to,
 * below a backend's own (the CUDA engine, which makes the same choice with its own limit).
 */
public final class SizeAwareSvdEngine implements SvdEngine {

    public static final String NAME = "auto";
    public static final int PRIORITY = 20;
    /**
     * Largest short side decomposed exactly where the exact engine pays for the whole spectrum
     * ({@code gesvd}: any backend but the CPU). Up to about this size both engines cost tens of
     * milliseconds (a GradMax event with a 784 x 256 statistic took about 0.2 s with either,
     * {@code GrowthBench} in docs/benchmarks.md), so exactness costs nothing; the exact cost then
     * grows cubically (0.8 s at 512 x 1024).
     */
    public static final int DEFAULT_EXACT_LIMIT = 256;

    /**
     * Largest short side decomposed exactly on the CPU, where the exact engine computes the top k
     * triplets alone ({@code gesvdx}): at 784 x 512 it took 33 ms against the converged randomized
     * engine's 61 ms, at 512 x 1024 53 ms against 51 ms, even on a fast-decaying spectrum that suits
     * the randomized engine; at 1024 x 2048, 442 ms against 101 ms (docs/benchmarks.md, "Performance
     * II, third slice", {@code SvdBench}).
     */
    public static final int GESVDX_EXACT_LIMIT = 512;

    /**
     * Above this short side the top value alone ({@link #topValue}) comes from Lanczos, whatever the
     * exact limit: a few matrix-vector products, where even {@code gesvdx} bidiagonalises the whole
     * matrix for one value.
     */
    public static final int LANCZOS_ABOVE = 256;

    private final int exactLimit;
    private final ExactSvdEngine exact = new ExactSvdEngine();
    private final RandomizedSvdEngine randomized;

    /**
     * Oversampling of the randomized path: twice the randomized engine's default, because each extra
     * probe costs one column of three thin GEMMs while a wider sketch needs fewer power iterations
     * (a wider gap between the k-th and the (k + p)-th value). At 2048 x 4096, k = 16, 16 was somewhat
     * faster than 8 in a one-off comparison that is not in docs/; {@code WideGradMaxBench} measures
     * the default.
     */
    public static final int DEFAULT_OVERSAMPLING = 16;

    /**
     * Exact up to {@value #GESVDX_EXACT_LIMIT} on the short side on the CPU (where the exact engine
     * takes the top triplets alone), {@value #DEFAULT_EXACT_LIMIT} elsewhere, then randomized and
     * converged.
     */
    public SizeAwareSvdEngine() {
        this(HostLapack.enabled() ? GESVDX_EXACT_LIMIT : DEFAULT_EXACT_LIMIT, RandomizedSvdEngine.converging(DEFAULT_OVERSAMPLING,
                RandomizedSvdEngine.DEFAULT_MAX_POWER_ITERATIONS, RandomizedSvdEngine.DEFAULT_TOLERANCE,
                RandomizedSvdEngine.DEFAULT_SEED));
    }

    /**
     * @param exactLimit largest {@code min(rows, cols)} decomposed exactly, at least 1
     * @param randomized the engine for larger matrices
     */
    public SizeAwareSvdEngine(int exactLimit, RandomizedSvdEngine randomized) {
        if (exactLimit < 1) {
            throw new IllegalArgumentException("exactLimit must be at least 1 (got: " + exactLimit + ")");
        }
        if (randomized == null) {
            throw new IllegalArgumentException("randomized engine must not be null");
        }
        this.exactLimit = exactLimit;
        this.randomized = randomized;
    }

    public int exactLimit() {
        return exactLimit;
    }

    /** The engine used above {@link #exactLimit()}. */
    public RandomizedSvdEngine randomized() {
        return randomized;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public boolean isAvailable() {
        return SvdSupport.lapackAvailable();
    }

    @Override
    public int priority() {
        return PRIORITY;
    }

    /** The engine {@link #top} hands a matrix of this shape to. */
    public SvdEngine engineFor(long rows, long cols) {
        return Math.min(rows, cols) <= exactLimit ? exact : randomized;
    }

    @Override
    public TopSvd top(INDArray a, int k) {
        SvdSupport.validate(a, k);
        return engineFor(a.rows(), a.columns()).top(a, k);
    }

    /**
     * The largest singular value: exact up to {@value #LANCZOS_ABOVE} on the short side, above it by Lanczos
     * bidiagonalisation to a relative bound of {@value LanczosTopValue#DEFAULT_TOLERANCE}
     * ({@link LanczosTopValue}), which needs a few matrix-vector products where the randomized
     * engine's converged top-1 multiplies by a block of 17 vectors until the value settles.
     */
    @Override
    public double topValue(INDArray a) {
        SvdSupport.validate(a, 1);
        return Math.min(a.rows(), a.columns()) <= Math.min(exactLimit, LANCZOS_ABOVE) ? exact.topValue(a)
                : LanczosTopValue.topValue(a, RandomizedSvdEngine.DEFAULT_SEED);
    }

    @Override
    public String toString() {
        return NAME + "(exactLimit=" + exactLimit + ", above it " + randomized + ")";
    }
}
