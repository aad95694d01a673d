package org.dl4jgrowth.how;

import org.dl4jgrowth.linalg.Orthonormal;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.BooleanIndexing;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.indexing.conditions.Conditions;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.Locale;
import java.util.Objects;

/**
 * GradMax-Opt (Evci et al. 2022, "GradMax: Growing Neural Networks Using Gradient Information",
 * the optimisation variant; reference code: google-research/growneuron, {@code AddGradmaxOptim}):
 * like {@link GradMaxInit}, new units get zero fan-in and bias (output unchanged; same activation
 * rule) and a fan-out W (k new rows of the consumer's matrix, [k, nOutC]) that maximises the squared
 * norm of the new fan-in's gradient, ||G Wᵀ||<sub>F</sub>², with G the gradient statistic
 * [nIn, nOutC] (the reference maximises the norm itself: same maximiser). Instead of reading W off an
 * SVD, it is found by projected gradient ascent, so the same loop can serve objectives without a
 * closed form.
 *
 * <p>Each step is W ← P(W + η · W GᵀG / ||G||<sub>F</sub>²), i.e. a step of η/(2||G||<sub>F</sub>²)
 * along the objective's gradient 2 W GᵀG. Dividing by ||G||<sub>F</sub>² (an upper bound on the
 * curvature σ<sub>1</sub>²) makes η independent of the statistic's magnitude, which varies by orders
 * between losses, batch sizes and layers. Because the projection below ignores W's scale, large
 * steps are stable; they only weight GᵀG more against the identity. The default η = 10 (100 steps,
 * like the reference) is large because directions with small singular values otherwise converge at
 * (1 + ηλ<sub>k+1</sub>)/(1 + ηλ<sub>k</sub>) per step (λ = σ²/||G||<sub>F</sub>²): at η = 1 a test
 * network with λ<sub>3</sub> = 0.011 was still 4e-4 short of the optimum after 100 steps, at η = 10
 * within 1e-11. The start is random Gaussian directions from
 * {@code Nd4j.getRandom()} (which the rewrite points at the growth's own generator) or GradMax's SVD
 * rows; the target norm follows {@link FanOutNorm} as in GradMax.
 *
 * <p>Constraint, where this departs from the paper's reference code: there, each row is only
 * rescaled to the target norm after each Adam step. Under a per-row norm constraint alone, the
 * objective Σ<sub>i</sub> ||G w<sub>i</sub>||² is largest with every row on G's top singular vector,
 * so k > 1 new units drift onto one direction (given enough steps) and become redundant copies. The
 * paper's closed-form solution, the top-k singular vectors scaled to c, has orthogonal rows of norm c,
 * and among all such W (W Wᵀ = c² I) it is the maximiser (Ky Fan). P here enforces that constraint,
 * so the two variants solve the same problem and differ only in how: a QR factorisation
 * of Wᵀ (Gram-Schmidt order, so row i stays the one closest to its previous self, sign kept) then
 * every row scaled to the target norm. The loop is then an orthogonal (subspace) iteration on
 * I + η GᵀG / ||G||<sub>F</sub>², which converges to the SVD optimum from almost every start and
 * stays there from the "svd" start. Plain gradient steps rather than Adam: with this normalisation
 * the step is already well scaled, and Adam's per-coordinate scaling would make the iteration depend
 * on the basis of the consumer's units.
 *
 * <p>Only min(k, nOutC) orthogonal rows fit in the consumer's space; any further rows keep their
 * random start directions (at the target norm), are not optimised, and are counted as
 * {@code fallbackUnits}, like GradMax's units beyond G's rank. Notes: {@code init},
 * {@code objectiveStart} (the projected start), {@code objectiveEnd}, {@code steps} (steps taken:
 * none when G is zero), {@code fanOutNorm}, {@code fallbackUnits}, and for the "svd" start GradMax's
 * notes {@code singularValues} and {@code svdEngine}.
 */
public final class GradMaxOptInit implements UnitInitializer {
    private static final long serialVersionUID = 1L;
    static final String NAME = "gradMaxOptimized";
    public static final String INIT_RANDOM = "random";
    public static final String INIT_SVD = "svd";
    public static final int DEFAULT_STEPS = 100;
    public static final double DEFAULT_STEP_SIZE = 10.0;

    private final String init;
    private final int steps;
    private final double stepSize;
    private final double scale;
    private final double fixedNorm;
    private final boolean allowAnyActivation;

    /**
     * @param init      start directions: "random" or "svd" (GradMax's solution)
     * @param steps     gradient-ascent steps, 0 or more
     * @param stepSize  η, relative to ||G||<sub>F</sub>² (see the class comment); finite and above 0
     * @param scale     target row norm as a multiple of the mean existing fan-out norm
     * @param fixedNorm target row norm if above 0 (then {@code scale} is unused)
     * @param allowAnyActivation skip the f(0)=0, f'(0)=1 check
     */
    @JsonCreator
    public GradMaxOptInit(@JsonProperty("init") String init, @JsonProperty("steps") int steps,
                          @JsonProperty("stepSize") double stepSize, @JsonProperty("scale") double scale,
                          @JsonProperty("fixedNorm") double fixedNorm,
                          @JsonProperty("allowAnyActivation") boolean allowAnyActivation) {
        FanOutNorm.checkSettings(NAME, scale, fixedNorm);
        if (!INIT_RANDOM.equals(init) && !INIT_SVD.equals(init)) {
            throw new IllegalArgumentException(NAME + ": init must be \"" + INIT_RANDOM + "\" or \"" + INIT_SVD
                    + "\" (got: " + init + ")");
        }
        if (steps < 0) {
            throw new IllegalArgumentException(NAME + ": steps must be 0 or more (got: " + steps + ")");
        }
        if (!(stepSize > 0) || !Double.isFinite(stepSize)) {
            throw new IllegalArgumentException(NAME + ": stepSize must be a finite number above 0 (got: "
                    + stepSize + ")");
        }
        this.init = init;
        this.steps = steps;
        this.stepSize = stepSize;
        this.scale = scale;
        this.fixedNorm = fixedNorm;
        this.allowAnyActivation = allowAnyActivation;
    }

    public String init() {
        return init;
    }

    public int steps() {
        return steps;
    }

    public double stepSize() {
        return stepSize;
    }

    public double scale() {
        return scale;
    }

    public double fixedNorm() {
        return fixedNorm;
    }

    public boolean allowAnyActivation() {
        return allowAnyActivation;
    }

    /** The same settings, starting from GradMax's SVD solution. */
    public GradMaxOptInit fromSvd() {
        return new GradMaxOptInit(INIT_SVD, steps, stepSize, scale, fixedNorm, allowAnyActivation);
    }

    /** The same settings, starting from random directions. */
    public GradMaxOptInit fromRandom() {
        return new GradMaxOptInit(INIT_RANDOM, steps, stepSize, scale, fixedNorm, allowAnyActivation);
    }

    public GradMaxOptInit withSteps(int steps) {
        return new GradMaxOptInit(init, steps, stepSize, scale, fixedNorm, allowAnyActivation);
    }

    public GradMaxOptInit withStepSize(double stepSize) {
        return new GradMaxOptInit(init, steps, stepSize, scale, fixedNorm, allowAnyActivation);
    }

    /** Rows scaled to this norm instead of a multiple of the existing fan-out norm. */
    public GradMaxOptInit withFixedNorm(double fixedNorm) {
        return new GradMaxOptInit(init, steps, stepSize, scale, fixedNorm, allowAnyActivation);
    }

    /** The same settings, accepting any activation (the new units may not learn or may change the output). */
    public GradMaxOptInit allowingAnyActivation() {
        return new GradMaxOptInit(init, steps, stepSize, scale, fixedNorm, true);
    }

    @Override
    public java.util.Set<org.dl4jgrowth.signal.SignalKind> signals() {
        return java.util.Set.of(org.dl4jgrowth.signal.SignalKind.GRADIENT_STATISTIC);
    }

    @Override
    public void check(org.dl4jgrowth.rewrite.RewriteGeometry geometry,
                      org.dl4jgrowth.rewrite.RewriteGeometry.Site site) {
        if (!allowAnyActivation) {
            GradMaxInit.checkActivation(site.activation(), site.layer(), NAME, true);
        }
        GradMaxInit.checkSingleDirectConsumer(geometry, site, NAME);
    }

    @Override
    public void initialize(NewUnits units) {
        if (!allowAnyActivation) {
            GradMaxInit.checkActivation(units, NAME);
        }
        WeightBlock out = GradMaxInit.singleConsumer(units, NAME);
        GradMaxInit.zeroFanInAndBias(units);
        INDArray g = GradMaxInit.statistic(units, out, NAME);
        int k = units.count();
        long n = g.size(1);   // length of one new unit's fan-out (dense row or conv kernel)
        int free = (int) Math.min(k, n);
        // QR is LAPACK's, which has only single and double precision.
        DataType type = out.weights().dataType() == DataType.DOUBLE ? DataType.DOUBLE : DataType.FLOAT;
        INDArray gw = g.castTo(type);
        double norm = FanOutNorm.target(out, scale, fixedNorm);

        INDArray rows;
        if (INIT_SVD.equals(init)) {
            GradMaxInit.SvdStart start = GradMaxInit.svdStart(gw, k, type, norm);
            rows = start.rows;
            units.note("singularValues", start.singularValues());
            units.note("svdEngine", start.svd.engine());
            units.svdEngineUsed(start.svd.engine());
        } else {
            rows = FanOutNorm.normaliseRows(Nd4j.randn(type, k, n), norm);
        }
        INDArray w = rows.get(NDArrayIndex.interval(0, free), NDArrayIndex.all()).dup('c');
        w = project(w, norm);
        double before = objective(gw, rows, w, free);

        double total = gw.norm2Number().doubleValue();
        total *= total;
        int taken = 0;
        if (total > 0) {
            INDArray gram = Nd4j.gemm(gw, gw, true, false).divi(total);   // [n, n], eigenvalues in [0, 1]
            for (; taken < steps; taken++) {
                w = project(w.add(w.mmul(gram).muli(stepSize)), norm);
            }
        }
        rows.get(NDArrayIndex.interval(0, free), NDArrayIndex.all()).assign(w);
        FanOutNorm.place(out, rows.castTo(out.weights().dataType()));

        units.note("init", init);
        units.note("objectiveStart", before);
        units.note("objectiveEnd", objective(gw, rows, w, free));
        units.note("steps", taken);
        units.note("fanOutNorm", norm);
        units.note("fallbackUnits", k - free);
    }

    /** Orthogonal rows of norm {@code norm}, row i from the Gram-Schmidt of rows 0..i, same sign as before. */
    static INDArray project(INDArray w, double norm) {
        INDArray q = Orthonormal.columns(w.transpose()).transpose();   // [r, n]
        // Householder QR may flip a row; flipping it back keeps the iteration continuous (and the
        // "svd" start exactly where it was), the objective does not care.
        INDArray sign = Transforms.sign(q.mul(w).sum(1), true);
        BooleanIndexing.replaceWhere(sign, 1.0, Conditions.equals(0));
        return q.mulColumnVector(sign.reshape(sign.length(), 1)).muli(norm).dup('c');
    }

    /** ||G Wᵀ||<sub>F</sub>² over all k rows: the optimised ones ({@code w}) and any fixed fallback rows. */
    private static double objective(INDArray g, INDArray rows, INDArray w, int free) {
        double sum = squaredNorm(g.mmul(w.transpose()));
        if (free < rows.size(0)) {
            sum += squaredNorm(g.mmul(rows.get(NDArrayIndex.interval(free, rows.size(0)), NDArrayIndex.all())
                    .transpose()));
        }
        return sum;
    }

    private static double squaredNorm(INDArray a) {
        double v = a.norm2Number().doubleValue();
        return v * v;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof GradMaxOptInit)) {
            return false;
        }
        GradMaxOptInit x = (GradMaxOptInit) o;
        return init.equals(x.init) && steps == x.steps && stepSize == x.stepSize && scale == x.scale
                && fixedNorm == x.fixedNorm && allowAnyActivation == x.allowAnyActivation;
    }

    @Override
    public int hashCode() {
        return Objects.hash(init, steps, stepSize, scale, fixedNorm, allowAnyActivation);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s(init=%s, steps=%d, stepSize=%s, scale=%s%s%s)", NAME, init, steps,
                stepSize, scale, fixedNorm > 0 ? ", fixedNorm=" + fixedNorm : "",
                allowAnyActivation ? ", anyActivation" : "");
    }
}
