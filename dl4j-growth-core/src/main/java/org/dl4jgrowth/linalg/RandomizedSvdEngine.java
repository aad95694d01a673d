package org.dl4jgrowth.linalg;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.rng.Random;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 *
 * <p>Departure from the paper: besides its fixed number of power iterations, the engine can iterate
 * until the top-k Ritz values settle ({@link #converging}), which the size-aware default uses.
 */
public final class RandomizedSvdEngine implements SvdEngine {

    public static final String NAME = "randomized";
    public static final int PRIORITY = 5;
    public static final int DEFAULT_OVERSAMPLING = 8;
    public static final int DEFAULT_POWER_ITERATIONS = 2;
    public static final long DEFAULT_SEED = 0x5EED_5BDL;
    /** Largest number of power iterations a converging engine runs before it gives up (and warns). */
    public static final int DEFAULT_MAX_POWER_ITERATIONS = 40;
    /**
     * Relative change of the top-k Ritz values between two power iterations at which a converging
     * engine stops. Subspace iteration converges geometrically, so the error left is about the last
     * change times rho / (1 - rho) for a contraction rho < 1. On the GradMax statistic of a
     * 2048-4096-4096 MLP it left 4.2e-6 against the exact values ({@code WideGradMaxBench}), well
     * inside GradMax's 1e-3.
     */
    public static final double DEFAULT_TOLERANCE = 1e-5;

    private static final Logger LOG = LoggerFactory.getLogger(RandomizedSvdEngine.class);

    private final int oversampling;
    private final int powerIterations;
    private final long seed;
    private final double tolerance;

    /** Defaults: oversampling 8, 2 power iterations, a fixed seed. Used by {@link java.util.ServiceLoader}. */
    public RandomizedSvdEngine() {
        this(DEFAULT_OVERSAMPLING, DEFAULT_POWER_ITERATIONS, DEFAULT_SEED);
    }

    /** A fixed number of power iterations, whatever the spectrum (Halko et al.'s Algorithm 4.4 as printed). */
    public RandomizedSvdEngine(int oversampling, int powerIterations, long seed) {
        this(oversampling, powerIterations, seed, 0.0);
    }

    private RandomizedSvdEngine(int oversampling, int powerIterations, long seed, double tolerance) {
        if (oversampling < 0) {
            throw new IllegalArgumentException("oversampling must be >= 0 (got: " + oversampling + ")");
        }
        if (powerIterations < 0) {
            throw new IllegalArgumentException("powerIterations must be >= 0 (got: " + powerIterations + ")");
        }
        if (!(tolerance >= 0.0) || Double.isInfinite(tolerance)) {
            throw new IllegalArgumentException("tolerance must be finite and >= 0 (got: " + tolerance + ")");
        }
        this.oversampling = oversampling;
        this.powerIterations = powerIterations;
        this.seed = seed;
        this.tolerance = tolerance;
    }

    /**
     * An engine that runs power iterations until the top-k singular values (the Ritz values of the
     * sketch) change by less than {@code tolerance} relative between two iterations, or until
     * {@code maxPowerIterations}, then warns that it stopped unconverged. A fixed count is tuned to one
     * spectrum; GradMax statistics differ (a 2048 x 4096 one decayed slowly after its ninth value, where
     * two iterations left 4.7 % error in the top 16, {@code WideGradMaxBench}), so the default engine
     * converges instead.
     *
     * @param oversampling       extra random probes, at least 0
     * @param maxPowerIterations upper bound on power iterations, at least 0
     * @param tolerance          relative change at which to stop, greater than 0
     * @param seed               seed of the Gaussian test matrix
     */
    public static RandomizedSvdEngine converging(int oversampling, int maxPowerIterations, double tolerance,
                                                 long seed) {
        if (!(tolerance > 0.0)) {
            throw new IllegalArgumentException("tolerance must be > 0 for a converging engine (got: " + tolerance
                    + "); a fixed number of power iterations is new RandomizedSvdEngine(oversampling, "
                    + "powerIterations, seed)");
        }
        return new RandomizedSvdEngine(oversampling, maxPowerIterations, seed, tolerance);
    }

    public int oversampling() {
        return oversampling;
    }

    /** Power iterations: exactly this many, or at most this many for a converging engine. */
    public int powerIterations() {
        return powerIterations;
    }

    public long seed() {
        return seed;
    }

    /** Stopping tolerance of a converging engine; 0 for a fixed number of power iterations. */
    public double tolerance() {
        return tolerance;
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
        if (tolerance > 0) {
            q = converge(m, q, r);
        } else {
            for (int i = 0; i < powerIterations; i++) {
                INDArray z = SvdSupport.orthonormalize(Nd4j.gemm(m, q, true, false));
                q = SvdSupport.orthonormalize(m.mmul(z));
            }
        }
        INDArray b = Nd4j.gemm(q, m, true, false);
        SvdSupport.Factors small = SvdSupport.exact(b, r, work);
        INDArray u = q.mmul(small.u);
        return new SvdSupport.Factors(small.s, u, small.v).toTopSvd(out, k, NAME);
    }

    /**
     * Subspace iteration from the basis {@code q} until the top-{@code r} Ritz values settle. The QR of
     * A^T q that every half-step needs anyway yields them: its R factor has the singular values of
     * q^T A. Only those r numbers are read to the host, once per iteration.
     */
    private INDArray converge(INDArray m, INDArray q, int r) {
        double[] previous = null;
        for (int i = 0; ; i++) {
            INDArray[] zr = SvdSupport.qr(Nd4j.gemm(m, q, true, false));
            double[] ritz = SvdSupport.smallSingularValues(zr[1], r);
            if (previous != null && settled(previous, ritz)) {
                return q;
            }
            if (i == powerIterations) {
                LOG.warn("Randomized SVD of a {}x{} matrix: the top-{} singular values still changed by {} "
                        + "(relative) after {} power iterations, above the tolerance {}; using them as they are",
                        m.rows(), m.columns(), r, String.format("%.2e", change(previous, ritz)), i, tolerance);
                return q;
            }
            previous = ritz;
            q = SvdSupport.orthonormalize(m.mmul(zr[0]));
        }
    }

    private boolean settled(double[] previous, double[] current) {
        return change(previous, current) <= tolerance;
    }

    /**
     * Largest relative change of a Ritz value, each relative to itself but never to less than 1e-6 of
     * the largest, so values at rounding level (a rank-deficient tail) cannot keep the iteration going.
     */
    private static double change(double[] previous, double[] current) {
        if (previous == null) {
            return Double.POSITIVE_INFINITY;
        }
        double top = Math.max(Math.abs(current[0]), Double.MIN_NORMAL);
        double worst = 0;
        for (int j = 0; j < current.length; j++) {
            double scale = Math.max(Math.abs(current[j]), top * 1e-6);
            worst = Math.max(worst, Math.abs(current[j] - previous[j]) / scale);
        }
        return worst;
    }

    private void fillGaussian(INDArray target) {
        SvdSupport.fillGaussian(target, seed);
    }

    @Override
    public String toString() {
        return NAME + "(oversampling=" + oversampling + (tolerance > 0 ? ", maxPowerIterations=" : ", powerIterations=")
                + powerIterations + (tolerance > 0 ? ", tolerance=" + tolerance : "") + ", seed=" + seed + ")";
    }
}
