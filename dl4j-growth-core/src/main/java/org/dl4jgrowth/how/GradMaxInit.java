package org.dl4jgrowth.how;

import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.dl4jgrowth.linalg.SvdEngine;
import org.dl4jgrowth.linalg.SvdEngines;
import org.dl4jgrowth.linalg.TopSvd;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * GradMax (Evci et al. 2022, "GradMax: Growing Neural Networks Using Gradient Information",
 * sections 3-4): new units get zero fan-in and zero bias, so the network's output is unchanged,
 * and fan-out along the top-k right singular vectors of the gradient statistic
 * G = Σ h<sub>l-1</sub> δ<sub>l+1</sub>ᵀ (the left singular vectors of E[δ hᵀ]). That maximises the
 * norm of the new fan-in's gradient, G w, under a norm constraint on the fan-out w. In DL4J's
 * [nIn, nOut] layout these are k new rows of the consumer's weight matrix. For a convolution
 * consumer G is the map from a new channel's fan-out kernel to its fan-in kernel gradient (the
 * paper's auxiliary construction, section 3.2) and each singular vector is a fan-out kernel
 * [nOut, kH, kW]; new batch-norm channels on the way start at identity.
 *
 * <p>Norm, as in the reference code: each new fan-out row is scaled to {@code scale} times the mean
 * norm of the existing units' fan-out rows, or to {@code fixedNorm} if that is set.
 *
 * <p>Activation: a zero-fan-in unit sits at pre-activation 0. It only learns if f'(0)≠0, and it
 * leaves the output unchanged only if f(0)=0; GradMax assumes f'(0)=1. Layers with other
 * activations (DL4J's ReLU has f'(0)=0, sigmoid has f(0)=1/2) are refused, naming the fix, unless
 * {@code allowAnyActivation} is set.
 *
 * <p>Fallback, where this departs from the paper: when k exceeds G's numerical rank (k at least
 * min(n<sub>l-1</sub>, n<sub>l+1</sub>), or singular values below 1e-6 of the largest), the
 * remaining units get random Gaussian fan-out directions from the growth's own random generator,
 * scaled to the same norm. Their count is recorded in the growth event as {@code fallbackUnits},
 * beside the top singular values and the SVD engine used.
 */
public final class GradMaxInit implements UnitInitializer {
    private static final long serialVersionUID = 1L;
    static final double RANK_TOLERANCE = 1e-6;

    private final double scale;
    private final double fixedNorm;
    private final boolean allowAnyActivation;

    @JsonCreator
    public GradMaxInit(@JsonProperty("scale") double scale, @JsonProperty("fixedNorm") double fixedNorm,
                       @JsonProperty("allowAnyActivation") boolean allowAnyActivation) {
        FanOutNorm.checkSettings("gradMax", scale, fixedNorm);
        this.scale = scale;
        this.fixedNorm = fixedNorm;
        this.allowAnyActivation = allowAnyActivation;
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

    /** The same settings, accepting any activation (the new units may not learn or may change the output). */
    public GradMaxInit allowingAnyActivation() {
        return new GradMaxInit(scale, fixedNorm, true);
    }

    @Override
    public java.util.Set<org.dl4jgrowth.signal.SignalKind> signals() {
        return java.util.Set.of(org.dl4jgrowth.signal.SignalKind.GRADIENT_STATISTIC);
    }

    @Override
    public void initialize(NewUnits units) {
        if (!allowAnyActivation) {
            checkActivation(units, "gradMax");
        }
        WeightBlock out = singleConsumer(units, "gradMax");
        zeroFanInAndBias(units);
        int k = units.count();
        double norm = FanOutNorm.target(out, scale, fixedNorm);
        SvdStart start = svdStart(statistic(units, out, "gradMax"), k, out.weights().dataType(), norm);
        FanOutNorm.place(out, start.rows);

        units.note("singularValues", start.singularValues());
        units.note("svdEngine", start.svd.engine());
        units.svdEngineUsed(start.svd.engine());
        units.note("fallbackUnits", k - start.usable);
        units.note("fanOutNorm", norm);
    }

    /** GradMax's fan-out rows and the decomposition they came from. */
    static final class SvdStart {
        final INDArray rows;
        final TopSvd svd;
        final int usable;

        SvdStart(INDArray rows, TopSvd svd, int usable) {
            this.rows = rows;
            this.svd = svd;
            this.usable = usable;
        }

        List<Double> singularValues() {
            List<Double> values = new ArrayList<>();
            INDArray s = svd.singularValues().castTo(DataType.DOUBLE);
            for (int i = 0; i < s.length(); i++) {
                values.add(s.getDouble(i));   // k numbers for the event, not the statistic itself
            }
            return values;
        }
    }

    /**
     * k rows of norm {@code norm} along G's top right singular vectors, in singular-value order; rows
     * beyond G's numerical rank get random directions (see the class comment).
     */
    static SvdStart svdStart(INDArray g, int k, DataType type, double norm) {
        SvdEngine engine = SvdEngines.best();
        INDArray stat = g.dataType() == DataType.HALF ? g.castTo(DataType.FLOAT) : g;
        TopSvd svd = engine.top(stat, k);
        int usable = Math.min(svd.numericalRank(RANK_TOLERANCE), k);
        INDArray rows = Nd4j.zeros(type, k, g.size(1));
        if (usable > 0) {
            INDArray v = svd.right().get(NDArrayIndex.all(), NDArrayIndex.interval(0, usable));
            rows.get(NDArrayIndex.interval(0, usable), NDArrayIndex.all())
                    .assign(FanOutNorm.normaliseRows(v.transpose().castTo(type).dup('c'), norm));
        }
        if (usable < k) {
            // Drawn from Nd4j.getRandom(), which the rewrite points at the growth's own generator.
            INDArray extra = Nd4j.randn(type, k - usable, rows.size(1));
            rows.get(NDArrayIndex.interval(usable, k), NDArrayIndex.all()).assign(FanOutNorm.normaliseRows(extra, norm));
        }
        return new SvdStart(rows, svd, usable);
    }

    /**
     * The single consumer whose fan-out a GradMax-style initialiser fills (a dense layer's rows, or a
     * convolution's input-channel kernels); refuses anything else.
     */
    static WeightBlock singleConsumer(NewUnits units, String name) {
        if (units.fanOut().size() != 1) {
            throw new IllegalArgumentException(name + " grows layers that feed one consumer; layer '"
                    + units.layerName() + "' feeds " + units.fanOut().size());
        }
        WeightBlock out = units.fanOut().get(0);
        FanOutNorm.basis(out, name, units.layerName());
        return out;
    }

    /** G for the grown layer, checked against the length of one new unit's fan-out. */
    static INDArray statistic(NewUnits units, WeightBlock out, String name) {
        INDArray g = units.gradientStatistic();
        long basis = FanOutNorm.basis(out, name, units.layerName());
        if (g.rank() != 2 || g.size(1) != basis) {
            throw new IllegalArgumentException(name + ": the gradient statistic for layer '" + units.layerName()
                    + "' has shape " + java.util.Arrays.toString(g.shape()) + " but a new unit's fan-out into '"
                    + out.layerName() + "' has " + basis + " weights; grow a consumer in a separate growth");
        }
        // The controller refuses such data before the rewrite; this guards statistics handed in directly
        // (NetworkRewrite.statistics), where a NaN would otherwise surface as a LAPACK error code.
        if (!org.dl4jgrowth.signal.StatisticSignals.finite(g)) {
            throw new IllegalArgumentException(name + ": the gradient statistic for layer '" + units.layerName()
                    + "' holds NaN or infinite values; compute it from finite growth data");
        }
        return g;
    }

    /** Zero fan-in and bias: the new units sit at pre-activation 0, so with f(0)=0 the output is unchanged. */
    static void zeroFanInAndBias(NewUnits units) {
        units.fanIn().zero();
        if (units.hasBias()) {
            units.bias().assign(0);
        }
    }

    /**
     * Refuses activations with f(0)≠0 or f'(0)≠1 (see the class comment); {@code name} is the
     * initialiser's factory method in {@link UnitInitializer}, used in the message.
     */
    static void checkActivation(NewUnits units, String name) {
        if (units.layer() instanceof BaseLayer) {
            checkActivation(((BaseLayer) units.layer()).getActivationFn(), units.layerName(), name, true);
        }
    }

    /**
     * The rule of {@link #checkActivation(NewUnits, String)} for an activation known from the
     * configuration alone; {@code strict}: GradMax's f(0)=0 and f'(0)=1, otherwise only f'(0)&gt;0
     * (the random baseline's new units must be able to learn; f(0) may move the output).
     */
    static void checkActivation(IActivation act, String layer, String name, boolean strict) {
        if (act == null) {
            return;
        }
        INDArray zero = Nd4j.zeros(DataType.DOUBLE, 1, 1);
        double f0 = act.getActivation(zero.dup(), true).getDouble(0);
        double d0 = act.backprop(zero.dup(), Nd4j.ones(DataType.DOUBLE, 1, 1)).getFirst().getDouble(0);
        boolean ok = strict ? Math.abs(f0) <= 1e-12 && Math.abs(d0 - 1.0) <= 1e-12 : d0 > 1e-12;
        if (!ok) {
            throw new IllegalArgumentException(name + ": layer '" + layer + "' uses activation " + act
                    + " with f(0)=" + f0 + " and f'(0)=" + d0 + "; new units with zero fan-in need "
                    + (strict ? "f(0)=0 and f'(0)=1 to leave the output unchanged and to learn"
                    : "f'(0)>0 to learn at all") + ". Use "
                    + "org.dl4jgrowth.activation.ActivationGrowthReLU (ReLU with f'(0)=1), identity or tanh"
                    + (strict ? ", or allow it explicitly with UnitInitializer." + name + "().allowingAnyActivation()"
                    : ", or UnitInitializer.functionPreserving() (random fan-in, zero fan-out)"));
        }
    }

    @Override
    public void check(org.dl4jgrowth.rewrite.RewriteGeometry geometry,
                      org.dl4jgrowth.rewrite.RewriteGeometry.Site site) {
        if (!allowAnyActivation) {
            checkActivation(site.activation(), site.layer(), "gradMax", true);
        }
        checkSingleDirectConsumer(geometry, site, "gradMax");
    }

    /**
     * What {@link #singleConsumer} and {@link #statistic} refuse, told by the geometry before any
     * signal is computed: one consumer, reached directly (no flatten), not itself growing now (the
     * statistic is taken over the consumer's current weights).
     */
    static void checkSingleDirectConsumer(org.dl4jgrowth.rewrite.RewriteGeometry geometry,
                                          org.dl4jgrowth.rewrite.RewriteGeometry.Site site, String name) {
        List<org.dl4jgrowth.rewrite.RewriteGeometry.Consumer> consumers = site.consumers();
        if (consumers.size() != 1) {
            throw new IllegalArgumentException(name + " grows layers that feed one consumer; layer '" + site.layer()
                    + "' feeds " + consumers.size() + " " + consumers + ": give it another initialiser, e.g. "
                    + "UnitInitializer.functionPreserving()");
        }
        org.dl4jgrowth.rewrite.RewriteGeometry.Consumer c = consumers.get(0);
        int rank = c.fanOutShape().length;
        if (c.block() != 1 || !((rank == 2 && c.inputAxis() == 0) || (rank == 4 && c.inputAxis() == 1))) {
            throw new IllegalArgumentException(name + " grows layers that feed a dense or convolution consumer "
                    + "directly; layer '" + site.layer() + "' reaches '" + c.layer() + "' through a flatten of "
                    + c.block() + " positions per unit: put a global pooling layer before '" + c.layer()
                    + "', or grow '" + site.layer() + "' with another initialiser (functionPreserving, random)");
        }
        if (geometry.rewrites(c.layer())) {
            throw new IllegalArgumentException(name + ": layer '" + site.layer() + "' and its consumer '" + c.layer()
                    + "' would grow in the same growth, but the statistic of '" + site.layer() + "' is taken over '"
                    + c.layer() + "''s current weights: grow them in separate growths (e.g. "
                    + "SiteSelector.roundRobin(\"" + site.layer() + "\", \"" + c.layer() + "\")), or give one of "
                    + "them another initialiser");
        }
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof GradMaxInit)) {
            return false;
        }
        GradMaxInit g = (GradMaxInit) o;
        return scale == g.scale && fixedNorm == g.fixedNorm && allowAnyActivation == g.allowAnyActivation;
    }

    @Override
    public int hashCode() {
        return Objects.hash(scale, fixedNorm, allowAnyActivation);
    }

    @Override
    public String toString() {
        return "gradMax(scale=" + scale + (fixedNorm > 0 ? ", fixedNorm=" + fixedNorm : "")
                + (allowAnyActivation ? ", anyActivation" : "") + ")";
    }
}
