package org.dl4jgrowth.linalg;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The largest singular value alone, by Golub-Kahan-Lanczos bidiagonalisation with full
 * reorthogonalisation (Golub and Van Loan, "Matrix Computations", 4th ed., section 10.4): what a
 * signal trigger ({@code singularValueAbove}) and a selector by singular value compare, where a
 * top-k decomposition does far more work than one value needs.
 *
 * <p>After j steps, A V<sub>j</sub> = U<sub>j</sub> B<sub>j</sub> with B<sub>j</sub> upper
 * bidiagonal, and the largest singular value of B<sub>j</sub> approaches σ<sub>1</sub>(A) from
 * below. The iteration stops on a bound, not on a change: for the top Ritz triplet (σ, x, y) of
 * B<sub>j</sub>, Aᵀ(U<sub>j</sub>y) − σ V<sub>j</sub>x = β<sub>j+1</sub> y<sub>j</sub> v<sub>j+1</sub>,
 * so some singular value of A lies within β<sub>j+1</sub>|y<sub>j</sub>| of σ; it stops when that is
 * at most {@code tolerance} σ (or the space is exhausted, which makes it exact). On a spectrum with
 * σ<sub>2</sub>/σ<sub>1</sub> = 0.98, the hard case for power iterations, it needs a few tens of steps.
 *
 * <p>The matrix stays on the backend: each step is two matrix-vector products and the
 * reorthogonalisation against the vectors so far (a second pass where the DGKS criterion asks for
 * it), as ND4J operations; only the scalars α and β come
 * to the host, where the small tridiagonal B<sub>j</sub>ᵀB<sub>j</sub> is solved (bisection for its
 * largest eigenvalue, inverse iteration for the last component of its eigenvector).
 */
public final class LanczosTopValue {
    /** Relative bound at which the value is returned. */
    public static final double DEFAULT_TOLERANCE = 1e-6;

    private LanczosTopValue() {
    }

    /**
     * The DGKS criterion (Daniel, Gragg, Kaufman and Stewart, Math. Comp. 30, 1976): a second
     * Gram-Schmidt pass only when the first removed more than this share of the norm, where the
     * rounding left in the result can matter. "Twice is enough" on every step cost three native calls
     * per side that on most steps changed nothing.
     */
    static final double DGKS = 0.7071067811865476;

    /**
     * Removes from {@code w} (in place) its components along the orthonormal columns of {@code basis},
     * once, and a second time when the DGKS criterion asks; returns the norm that is left.
     */
    private static double reorthogonalise(INDArray w, INDArray basis) {
        double before = w.norm2Number().doubleValue();
        w.subi(basis.mmul(Nd4j.gemm(basis, w, true, false)));
        double after = w.norm2Number().doubleValue();
        if (after < DGKS * before) {
            w.subi(basis.mmul(Nd4j.gemm(basis, w, true, false)));
            after = w.norm2Number().doubleValue();
        }
        return after;
    }

    /** σ<sub>1</sub> of {@code a} to {@link #DEFAULT_TOLERANCE}, from a start vector drawn with {@code seed}. */
    public static double topValue(INDArray a, long seed) {
        return topValue(a, DEFAULT_TOLERANCE, seed);
    }

    /**
     * σ<sub>1</sub> of {@code a}, to within {@code tolerance} σ<sub>1</sub> of a singular value of
     * {@code a} (in practice the largest: the start vector is random); {@code a} is not modified.
     */
    public static double topValue(INDArray a, double tolerance, long seed) {
        SvdSupport.validate(a, 1);
        if (!(tolerance > 0 && tolerance < 1)) {
            throw new IllegalArgumentException("tolerance must lie in (0, 1) (got: " + tolerance + ")");
        }
        DataType type = SvdSupport.workType(a.dataType());
        INDArray m = SvdSupport.cast(a, type);
        long rows = m.rows();
        long cols = m.columns();
        int steps = (int) Math.min(rows, cols);
        INDArray v = Nd4j.create(type, cols, 1);
        SvdSupport.fillGaussian(v, seed);   // its own generator: training's random stream does not move
        double nv = v.norm2Number().doubleValue();
        v.divi(nv);
        // The bases grow as the iteration needs them: it stops after a few tens of steps, and
        // min(rows, cols) columns up front would be gigabytes for a large statistic.
        int capacity = Math.min(steps, 32);
        INDArray vs = Nd4j.create(type, new long[]{cols, capacity}, 'f');
        INDArray us = Nd4j.create(type, new long[]{rows, capacity}, 'f');
        double[] alpha = new double[steps + 1];  // one more: a closing column with α = 0 (below)
        double[] beta = new double[steps + 2];   // beta[j]: the superdiagonal entry above alpha[j]
        vs.getColumn(0).assign(v);
        INDArray u = m.mmul(v);
        alpha[0] = u.norm2Number().doubleValue();
        if (alpha[0] == 0) {
            return 0;   // a v = 0 for a random v: a is 0 (to probability one)
        }
        us.getColumn(0).assign(u.divi(alpha[0]));
        for (int j = 0; ; j++) {
            // v_{j+1} from Aᵀ u_j − α_j v_j, reorthogonalised against every v so far (DGKS: a second pass when needed).
            // Aᵀ through BLAS's transpose flag: m.transpose().mmul(...) copies all of A at every step.
            INDArray w = Nd4j.gemm(m, us.getColumn(j).reshape(rows, 1), true, false).subi(vs.getColumn(j).reshape(cols, 1)
                    .mul(alpha[j]));
            INDArray vj = vs.get(NDArrayIndex.all(), NDArrayIndex.interval(0, j + 1));
            beta[j + 1] = reorthogonalise(w, vj);
            double[] top = topOfTridiagonal(alpha, beta, j + 1);
            double sigma = Math.sqrt(top[0]);
            // |y_j| = α_j |x_j| / σ: the Ritz vector's last left component.
            double bound = beta[j + 1] * alpha[j] * Math.abs(top[1]) / sigma;
            if (bound <= tolerance * sigma || beta[j + 1] <= 1e-300) {
                return sigma;
            }
            if (j + 1 == steps) {
                // The left space is exhausted (a wide matrix): A V_{j+2} lies in span(U_{j+1}), and
                // A's values are those of B with a last column (β_{j+1}, α = 0).
                return closed(alpha, beta, j);
            }
            if (j + 1 == capacity) {
                capacity = Math.min(steps, 2 * capacity);
                vs = grown(vs, capacity);
                us = grown(us, capacity);
            }
            INDArray vNext = w.divi(beta[j + 1]);
            vs.getColumn(j + 1).assign(vNext);
            INDArray z = m.mmul(vNext).subi(us.getColumn(j).reshape(rows, 1).mul(beta[j + 1]));
            INDArray uj = us.get(NDArrayIndex.all(), NDArrayIndex.interval(0, j + 1));
            alpha[j + 1] = reorthogonalise(z, uj);
            if (alpha[j + 1] <= 1e-300) {
                return closed(alpha, beta, j);   // the Krylov spaces are invariant: exact
            }
            us.getColumn(j + 1).assign(z.divi(alpha[j + 1]));
        }
    }

    /**
     * σ<sub>1</sub> when the iteration closes after step j with α<sub>j+1</sub> = 0: the values of
     * B<sub>j</sub> with the last column (β<sub>j+1</sub>, 0) appended are A's on the spaces built.
     */
    private static double closed(double[] alpha, double[] beta, int j) {
        alpha[j + 1] = 0;
        return Math.sqrt(topOfTridiagonal(alpha, beta, j + 2)[0]);
    }

    /** {@code basis} with room for {@code capacity} columns, the first ones copied. */
    private static INDArray grown(INDArray basis, int capacity) {
        INDArray bigger = Nd4j.create(basis.dataType(), new long[]{basis.rows(), capacity}, 'f');
        bigger.get(NDArrayIndex.all(), NDArrayIndex.interval(0, basis.columns())).assign(basis);
        return bigger;
    }

    /**
     * The largest eigenvalue of T = BᵀB for the first {@code n} columns of the bidiagonal B
     * (diagonal α, superdiagonal β[1..n-1]), and the last component of its unit eigenvector.
     */
    static double[] topOfTridiagonal(double[] alpha, double[] beta, int n) {
        double[] d = new double[n];
        double[] e = new double[Math.max(0, n - 1)];
        for (int i = 0; i < n; i++) {
            d[i] = alpha[i] * alpha[i] + (i > 0 ? beta[i] * beta[i] : 0);
            if (i + 1 < n) {
                e[i] = alpha[i] * beta[i + 1];
            }
        }
        // Bisection on Sturm counts between 0 and the Gershgorin bound: to the last bits.
        double hi = 0;
        for (int i = 0; i < n; i++) {
            hi = Math.max(hi, d[i] + (i > 0 ? Math.abs(e[i - 1]) : 0) + (i + 1 < n ? Math.abs(e[i]) : 0));
        }
        double lo = 0;
        for (int it = 0; it < 200 && hi - lo > 1e-15 * hi; it++) {
            double mid = 0.5 * (lo + hi);
            if (countBelow(d, e, mid) == n) {
                hi = mid;   // every eigenvalue below mid
            } else {
                lo = mid;
            }
        }
        double lambda = hi;
        // Inverse iteration with μ just above λ: μI − T is positive definite, so the elimination
        // without pivoting is stable, and two solves give the eigenvector to working precision.
        double mu = lambda * (1 + 1e-10) + Double.MIN_NORMAL;
        double[] x = new double[n];
        java.util.Arrays.fill(x, 1.0);
        for (int it = 0; it < 3; it++) {
            x = solveShifted(d, e, mu, x);
            double norm = 0;
            for (double xi : x) {
                norm += xi * xi;
            }
            norm = Math.sqrt(norm);
            for (int i = 0; i < n; i++) {
                x[i] /= norm;
            }
        }
        return new double[]{lambda, x[n - 1]};
    }

    /** How many eigenvalues of the tridiagonal (d, e) lie below {@code x} (Sturm sequence). */
    private static int countBelow(double[] d, double[] e, double x) {
        int count = 0;
        double q = 1;
        for (int i = 0; i < d.length; i++) {
            q = d[i] - x - (i > 0 ? e[i - 1] * e[i - 1] / q : 0);
            if (q == 0) {
                q = -1e-300;
            }
            if (q < 0) {
                count++;
            }
        }
        return count;
    }

    /** Solves (μI − T) y = b for the tridiagonal T = (d, e) by elimination (Thomas algorithm). */
    private static double[] solveShifted(double[] d, double[] e, double mu, double[] b) {
        int n = d.length;
        double[] c = new double[n];
        double[] y = new double[n];
        double diag = mu - d[0];
        c[0] = n > 1 ? -e[0] / diag : 0;
        y[0] = b[0] / diag;
        for (int i = 1; i < n; i++) {
            double m = (mu - d[i]) - (-e[i - 1]) * c[i - 1];
            c[i] = i + 1 < n ? -e[i] / m : 0;
            y[i] = (b[i] - (-e[i - 1]) * y[i - 1]) / m;
        }
        for (int i = n - 2; i >= 0; i--) {
            y[i] -= c[i] * y[i + 1];
        }
        return y;
    }
}
