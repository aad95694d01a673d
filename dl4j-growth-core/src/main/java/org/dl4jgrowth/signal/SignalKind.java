package org.dl4jgrowth.signal;

/**
 * A training signal a step of the growth pipeline can ask for. Initialisers declare theirs
 * ({@link org.dl4jgrowth.how.UnitInitializer#signals()}); the controller computes them for the
 * planned sites before the rewrite, so the rewrite itself never runs the network.
 */
public enum SignalKind {
    /** GradMax's G = Σ h<sub>l-1</sub> δ<sub>l+1</sub>ᵀ for the grown layer ({@link GradientStatistic}). */
    GRADIENT_STATISTIC
}
