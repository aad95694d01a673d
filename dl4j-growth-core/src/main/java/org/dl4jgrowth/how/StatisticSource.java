package org.dl4jgrowth.how;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Supplies gradient statistics of the network being grown, computed on the network as it is just
 * before the growth. Given to a rewrite by whoever holds the data (the growth controller); read by
 * initialisers that need a signal, such as GradMax.
 */
@FunctionalInterface
public interface StatisticSource {

    /**
     * GradMax's statistic for growing {@code layer}: G = Σ over the growth data of
     * h<sub>l-1</sub> δ<sub>l+1</sub>ᵀ, shape [inputs of the layer, units of its consumer]; a sum
     * over examples, not a mean.
     */
    INDArray gradientStatistic(String layer);

    /**
     * An array a planner computed for {@code layer} while deciding (Firefly's trained candidates),
     * recorded with {@link org.dl4jgrowth.signal.GrowthSignals#put}, for the initialiser that places
     * it. Default: none.
     */
    default INDArray signal(String layer, String name) {
        throw new IllegalStateException("No signal '" + name + "' was recorded for layer '" + layer + "': the "
                + "initialiser that reads it must be used with the planner that computes it");
    }

    /** The source used when nobody supplied data: any request fails with what to do. */
    StatisticSource NONE = layer -> {
        throw new IllegalStateException("Growing layer '" + layer + "' needs a gradient statistic, but no growth "
                + "data was given: pass data with GrowthListener.builder().growthData(...) or "
                + "NetworkRewrite.statistics(...)");
    };
}
