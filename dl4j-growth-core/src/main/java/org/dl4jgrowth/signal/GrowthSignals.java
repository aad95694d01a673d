package org.dl4jgrowth.signal;

import java.util.List;

/**
 * Training signals about a network at one moment, for triggers and site selectors that decide by
 * them (GradMax, section 4 of Evci et al. 2022: grow where, and when, the gradient statistic's top
 * singular value is large). Computed lazily and cached for that moment, so asking costs nothing
 * unless a trigger or selector really needs it.
 */
public interface GrowthSignals {

    /** Layers the network can grow now. */
    List<String> growable();

    /**
     * Largest singular value of the mean statistic E[h<sub>l-1</sub> δ<sub>l+1</sub>ᵀ] (GradMax's G
     * divided by the number of examples) for growing {@code layer}: the gradient norm a new unit
     * with a unit-norm fan-out would get. NaN when the layer is not a site the statistic supports.
     */
    double topSingularValue(String layer);

    /**
     * Computes the gradient statistics of {@code layers} ahead of asking for them, together where
     * that is cheaper (the direct route takes every site it supports from one forward and backward
     * pass): what a trigger or selector that will read several layers, or the controller before an
     * event's initialisers, calls first. Layers the statistic does not support are left to fail, or
     * give NaN, when asked. By default nothing: each is computed when asked.
     */
    default void prepareStatistics(List<String> layers) {
    }

    /**
     * The growth data of this moment, for planners that train or score something on it (Firefly's
     * candidates): the same minibatches the statistic uses, read once.
     */
    default List<? extends org.nd4j.linalg.dataset.api.MultiDataSet> growthData() {
        throw new IllegalStateException("These signals have no growth data: drive growth through a GrowthController");
    }

    /**
     * Σ ∂L/∂W of {@code layer}'s weights over the growth data, shaped like W, with every connection
     * counted, dormant ones included (the gradient is taken on a private copy, where no mask
     * applies): NeST's connection-growth signal, |(1/N)·Hᵀ·G| up to the factor 1/N. Cached for the
     * moment; computed for all asked layers in one pass when asked together through
     * {@link #weightGradientSums}.
     */
    default org.nd4j.linalg.api.ndarray.INDArray weightGradientSum(String layer) {
        return weightGradientSums(List.of(layer)).get(layer);
    }

    /** {@link #weightGradientSum} for several layers from the same passes over the growth data. */
    default java.util.Map<String, org.nd4j.linalg.api.ndarray.INDArray> weightGradientSums(List<String> layers) {
        throw new IllegalStateException("These signals have no growth data: drive growth through a GrowthController");
    }

    /**
     * Runs {@code body} as signal work: timed into the event's {@code signalMillis}, with the growth's
     * own random generator as ND4J's, a failure reported as a rewrite failure at step SIGNALS.
     * {@code passes} forward and backward passes over {@code examples} examples are counted.
     */
    default <T> T compute(long passes, long examples, java.util.function.Supplier<T> body) {
        return body.get();
    }

    /**
     * Records an array a planner computed for {@code layer} (Firefly's trained fan-in, say) for the
     * initialiser that places it ({@link org.dl4jgrowth.how.NewUnits#signal}).
     */
    default void put(String layer, String name, org.nd4j.linalg.api.ndarray.INDArray value) {
        throw new IllegalStateException("These signals cannot record arrays: drive growth through a GrowthController");
    }

    /** Signals for code that has none: asking for a value fails, saying what to configure. */
    GrowthSignals NONE = new GrowthSignals() {
        @Override
        public List<String> growable() {
            return List.of();
        }

        @Override
        public double topSingularValue(String layer) {
            throw new IllegalStateException("This trigger or selector decides by the gradient statistic; it must be "
                    + "driven by a GrowthController (GrowthListener), which computes the signals");
        }
    };
}
