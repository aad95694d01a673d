package org.dl4jgrowth.when;

import org.nd4j.shade.guava.base.Preconditions;
import org.nd4j.shade.guava.collect.ImmutableList;
import org.dl4jgrowth.signal.GrowthSignals;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.List;
import java.util.Objects;

/**
 * Fires when the top singular value of GradMax's mean statistic, for any of the given layers (or
 * any growable layer the statistic supports), is above a threshold: growing there would give a new
 * unit a gradient at least that large (Evci et al. 2022, section 4, "when to grow"). Computing it
 * costs a forward and backward pass over the growth data, so combine it with a schedule, e.g.
 * {@code everyIterations(100).and(singularValueAbove(0.05))}; {@code and} stops at the first no.
 */
public final class SingularValueAbove implements GrowthTrigger {
    private static final long serialVersionUID = 1L;
    private final double threshold;
    private final List<String> layers;

    @JsonCreator
    public SingularValueAbove(@JsonProperty("threshold") double threshold,
                              @JsonProperty("layers") List<String> layers) {
        Preconditions.checkArgument(threshold >= 0 && Double.isFinite(threshold),
                "singularValueAbove(threshold): threshold must be a finite number >= 0 (got: %s)", threshold);
        List<String> names = layers == null ? List.of() : layers;
        for (String layer : names) {
            Preconditions.checkArgument(layer != null && !layer.isEmpty(),
                    "singularValueAbove(threshold, layers): layer names must be non-empty (got: %s)", names);
        }
        this.threshold = threshold;
        this.layers = ImmutableList.copyOf(names);
    }

    @Override
    public boolean shouldGrow(TrainingProgress p) {
        throw new IllegalStateException("singularValueAbove decides by the gradient statistic: it must be driven by "
                + "a GrowthController (GrowthListener), which computes it");
    }

    @Override
    public boolean shouldGrow(TrainingProgress p, GrowthSignals signals) {
        List<String> watched = layers.isEmpty() ? signals.growable() : layers;
        signals.prepareStatistics(watched);   // one pass for all of them where it can
        for (String layer : watched) {
            double v = signals.topSingularValue(layer);
            if (!Double.isNaN(v) && v > threshold) {
                return true;
            }
        }
        return false;
    }

    /** The layers given (none: any growable layer), so the controller checks them up front. */
    @Override
    public List<String> namedLayers() {
        return layers;
    }

    @JsonProperty("threshold")
    public double threshold() {
        return threshold;
    }

    @JsonProperty("layers")
    public List<String> layers() {
        return layers;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SingularValueAbove && ((SingularValueAbove) o).threshold == threshold
                && ((SingularValueAbove) o).layers.equals(layers);
    }

    @Override
    public int hashCode() {
        return Objects.hash(threshold, layers);
    }

    @Override
    public String toString() {
        return "singularValueAbove(" + threshold + (layers.isEmpty() ? "" : ", " + layers) + ")";
    }
}
