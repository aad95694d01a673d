package org.dl4jgrowth.how;

import org.nd4j.shade.jackson.annotation.JsonTypeInfo;

import java.io.Serializable;

/**
 * <b>How</b> new units start: fills the fan-in, bias and fan-out of the fresh units of a grown
 * layer. Copied units (splits, re-orderings) never reach an initialiser; their weights come from
 * the units they copy.
 *
 * <p>Implementations are small value objects: stateless between calls, serialisable to JSON
 * through their class name (like DL4J's termination conditions), with equals/hashCode.
 * The arrays arrive zero-filled; an initialiser that leaves a block untouched leaves it zero.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.CLASS, include = JsonTypeInfo.As.PROPERTY, property = "@class")
public interface UnitInitializer extends Serializable {

    void initialize(NewUnits units);

    /**
     * Refuses, from the geometry alone, a growth this initialiser cannot fill: called when the
     * rewrite is planned, before any signal is computed or array allocated, and by the growth
     * controller before training starts for the growths its policy can make. {@code site} is one
     * layer with fresh units; {@code geometry} tells which other layers grow with it. Throws an
     * {@code IllegalArgumentException} naming the layer and what to change. Default: accepts all.
     */
    default void check(org.dl4jgrowth.rewrite.RewriteGeometry geometry, org.dl4jgrowth.rewrite.RewriteGeometry.Site site) {
    }

    /**
     * Fills the fan-in perturbation δ of copied units ({@link NewUnits#perturbation()}), for unit
     * maps that ask for one (Firefly's split: w ± δ). Called after {@link #initialize} when a
     * layer has fresh units, alone when it has only perturbed copies. Default: δ drawn from the
     * layer's own weight initialisation, scaled by 1e-2 so the split changes the output by
     * O(1e-4) relative.
     */
    default void perturb(NewUnits units) {
        WeightBlock d = units.perturbation();
        d.fillWithLayerInit();
        d.weights().muli(1e-2);
    }

    /**
     * The signals this initialiser reads from {@link NewUnits} (for GradMax, the gradient
     * statistic). The growth controller computes them before the rewrite, timed apart from it, and
     * hands them in; default: none.
     */
    default java.util.Set<org.dl4jgrowth.signal.SignalKind> signals() {
        return java.util.Set.of();
    }

    /** Fan-in, bias and fan-out from the layers' own initialisation: changes the network's output. */
    static UnitInitializer random() {
        return new RandomInit();
    }

    /**
     * Fan-in and bias from the layer's own initialisation, fan-out zero: the network computes the
     * same function, and the new units learn from the next step on.
     */
    static UnitInitializer functionPreserving() {
        return new FunctionPreservingInit();
    }

    /**
     * Everything zero. Preserves the function, but with a ReLU-like activation the new units get no
     * gradient through either side until something else moves them; mostly a baseline.
     */
    static UnitInitializer zeros() {
        return new ZerosInit();
    }

    /**
     * GradMax: zero fan-in, fan-out from the top singular vectors of the gradient statistic, each
     * new fan-out row scaled to the mean norm of the existing ones. Needs growth data.
     */
    static GradMaxInit gradMax() {
        return new GradMaxInit(1.0, 0.0, false);
    }

    /** GradMax with fan-out rows scaled to {@code scale} times the mean existing fan-out norm. */
    static GradMaxInit gradMax(double scale) {
        return new GradMaxInit(scale, 0.0, false);
    }

    /**
     * GradMax-Opt: GradMax's fan-out found by projected gradient ascent on the new fan-in's squared
     * gradient norm, from random directions, {@value GradMaxOptInit#DEFAULT_STEPS} steps, rows kept
     * orthogonal at the mean existing fan-out norm; see {@link GradMaxOptInit}. Needs growth data.
     */
    static GradMaxOptInit gradMaxOptimized() {
        return gradMaxOptimized(1.0);
    }

    /** {@link #gradMaxOptimized()} with fan-out rows scaled to {@code scale} times the mean existing norm. */
    static GradMaxOptInit gradMaxOptimized(double scale) {
        return new GradMaxOptInit(GradMaxOptInit.INIT_RANDOM, GradMaxOptInit.DEFAULT_STEPS,
                GradMaxOptInit.DEFAULT_STEP_SIZE, scale, 0.0, false);
    }

    /** GradMax's random baseline: zero fan-in, random fan-out directions at GradMax's norm. */
    static UnitInitializer randomFanOut() {
        return new RandomFanOutInit(1.0, 0.0);
    }

    /** {@link #randomFanOut()} with fan-out rows scaled to {@code scale} times the mean existing norm. */
    static UnitInitializer randomFanOut(double scale) {
        return new RandomFanOutInit(scale, 0.0);
    }

    /** NeST's neuron growth by the bridging gradient, birth strength {@value BridgingInit#DEFAULT_ALPHA}. */
    static BridgingInit bridging() {
        return new BridgingInit(BridgingInit.DEFAULT_ALPHA);
    }

    /** NeST's neuron growth by the bridging gradient with birth strength {@code alpha}; see {@link BridgingInit}. */
    static BridgingInit bridging(double alpha) {
        return new BridgingInit(alpha);
    }
}
