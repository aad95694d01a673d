package org.dl4jgrowth.when;

import org.nd4j.shade.guava.base.Preconditions;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/** See {@link GrowthTrigger#maxGrowths(int)}. */
public final class MaxGrowths implements GrowthTrigger {
    private static final long serialVersionUID = 1L;

    private final int n;

    @JsonCreator
    public MaxGrowths(@JsonProperty("n") int n) {
        Preconditions.checkArgument(n >= 1, "maxGrowths(n): n must be at least 1 (got: %s)", n);
        this.n = n;
    }

    public int n() {
        return n;
    }

    @Override
    public boolean shouldGrow(TrainingProgress p) {
        return p.growthsSoFar() < n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MaxGrowths && ((MaxGrowths) o).n == n;
    }

    @Override
    public int hashCode() {
        return 31 * MaxGrowths.class.hashCode() + n;
    }

    @Override
    public String toString() {
        return "maxGrowths(" + n + ")";
    }
}
