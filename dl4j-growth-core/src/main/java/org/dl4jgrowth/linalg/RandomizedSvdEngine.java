package org.dl4jgrowth.linalg;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.rng.Random;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Randomized top-k SVD after Halko, Martinsson and Tropp, "Finding structure with randomness:
 * Probabilistic algorithms for constructing approximate matrix decompositions", SIAM Review 53(2), 2011
 * (Algorithm 4.4, randomized subspace iteration, followed by Algorithm 5.1, direct SVD).
 *
 * <p>GradMax (Evci et al. 2022) only needs the leading {@code k} singular vectors of a gradient
 * statistic, and {@code k} (the number of neurons added) is tiny compared with the layer widths, so
 * sketching the range of the matrix with {@code k + oversampling} Gaussian probes is far cheaper than a
 * full decomposition. Power iterations sharpen the sketch when the spectrum decays slowly; each one is
 * re-orthonormalised with a QR factorisation because raw powers of A lose the small directions to
 * rounding.
 *
 * <p>The Gaussian test matrix comes from an ND4J {@link Random} owned by each call and seeded from this
 * engine's seed, so results are reproducible and the global ND4J RNG (which seeds network training) is
 * never disturbed. All steps are ND4J operations on the active backend; the matrix is never copied to the
 * host. When {@code k + oversampling >= min(rows, cols)} the sketch would be as large as the matrix and
 * the exact path is used instead.
 */
public final class RandomizedSvdEngine implements SvdEngine {

    public static final String NAME = "randomized";
    public static final int PRIORITY = 5;
    public static final int DEFAULT_OVERSAMPLING = 8;
    public static final int DEFAULT_POWER_ITERATIONS = 2;
    public static final long DEFAULT_SEED = 0x5EED_5BDL;

    private final int oversampling;
    private final int powerIterations;
    private final long seed;

    /** Defaults: oversampling 8, 2 power iterations, a fixed seed. Used by {@link java.util.ServiceLoader}. */
    public RandomizedSvdEngine() {
        this(DEFAULT_OVERSAMPLING, DEFAULT_POWER_ITERATIONS, DEFAULT_SEED);
    }

    public RandomizedSvdEngine(int oversampling, int powerIterations, long seed) {
        if (oversampling < 0) {
            throw new IllegalArgumentException("oversampling must be >= 0 (got: " + oversampling + ")");
        }
        if (powerIterations < 0) {
            throw new IllegalArgumentException("powerIterations must be >= 0 (got: " + powerIterations + ")");
        }
        this.oversampling = oversampling;
        this.powerIterations = powerIterations;
        this.seed = seed;
    }

    public int oversampling() {
        return oversampling;
    }

    public int powerIterations() {
        return powerIterations;
    }

    public long seed() {
        return seed;
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

    @Override
    public TopSvd top(INDArray a, int k) {
        SvdSupport.validate(a, k);
        DataType out = a.dataType();
        DataType work = SvdSupport.workType(out);
        int r = SvdSupport.resultRank(a, k);
        long minDim = Math.min(a.rows(), a.columns());
        long sketch = (long) k + oversampling;
        if (sketch >= minDim) {
            return SvdSupport.exact(a, r, work).toTopSvd(out, k, NAME);
        }
        // Read-only from here on, so no defensive copy is needed when the type already matches.
        INDArray m = SvdSupport.cast(a, work);
        int l = (int) sketch;

        INDArray omega = Nd4j.create(work, new long[] {m.columns(), l}, 'f');
        fillGaussian(omega);

        INDArray q = SvdSupport.orthonormalize(m.mmul(omega));
        for (int i = 0; i < powerIterations; i++) {
            INDArray z = SvdSupport.orthonormalize(m.transpose().mmul(q));
            q = SvdSupport.orthonormalize(m.mmul(z));
        }
        INDArray b = q.transpose().mmul(m);
        SvdSupport.Factors small = SvdSupport.exact(b, r, work);
        INDArray u = q.mmul(small.u);
        return new SvdSupport.Factors(small.s, u, small.v).toTopSvd(out, k, NAME);
    }

    private void fillGaussian(INDArray target) {
        Random rng = Nd4j.getRandomFactory().getNewRandomInstance(seed);
        try {
            Nd4j.randn(target, rng);
        } finally {
            try {
                rng.close();
            } catch (Exception e) {
                // Releasing the native RNG state is best effort; the result is already computed.
            }
        }
    }

    @Override
    public String toString() {
        return NAME + "(oversampling=" + oversampling + ", powerIterations=" + powerIterations + ", seed=" + seed
                + ")";
    }
}
