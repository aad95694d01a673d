package org.dl4jgrowth;

/**
 * What the controller does when, at growth time, the growth data or the statistic is not usable
 * (NaN, infinity, an all-zero statistic) or the growth would not fit in memory. Either way the
 * network is left exactly as it was.
 */
public enum BadGrowthAction {
    /**
     * The default: log at WARN, record a {@link GrowthSkip} in the history, and go on training; the
     * trigger is asked again at its next opportunity. A training run is not lost to one bad batch.
     */
    SKIP,
    /**
     * Throw the refusal ({@link org.dl4jgrowth.signal.GrowthDataException} or
     * {@link org.dl4jgrowth.rewrite.InfeasibleGrowthException}) out of the call, which ends {@code fit()}.
     */
    FAIL
}
