package org.dl4jgrowth.when;

import org.nd4j.shade.guava.base.Preconditions;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/** See {@link GrowthTrigger#minIterationsBetween(long)}. */
public final class MinIterationsBetween implements GrowthTrigger {
    private static final long serialVersionUID = 1L;

    private final long n;

    @JsonCreator
    public MinIterationsBetween(@JsonProperty("n") long n) {
        Preconditions.checkArgument(n >= 1, "minIterationsBetween(n): n must be at least 1 (got: %s)", n);
        this.n = n;
    }

    public long n() {
        return n;
    }

    @Override
    public boolean shouldGrow(TrainingProgress p) {
        return !p.hasGrown() || p.iteration() - p.lastGrowthIteration() >= n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MinIterationsBetween && ((MinIterationsBetween) o).n == n;
    }

    @Override
    public int hashCode() {
        return 31 * MinIterationsBetween.class.hashCode() + Long.hashCode(n);
    }

    @Override
    public String toString() {
        return "minIterationsBetween(" + n + ")";
    }
}
