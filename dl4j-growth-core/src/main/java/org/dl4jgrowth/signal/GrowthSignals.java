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
