package org.dl4jgrowth.when;

import org.nd4j.shade.guava.base.Preconditions;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/** See {@link GrowthTrigger#everyIterations(int)}. */
public final class EveryIterations implements GrowthTrigger {
    private static final long serialVersionUID = 1L;

    private final int n;

    @JsonCreator
    public EveryIterations(@JsonProperty("n") int n) {
        Preconditions.checkArgument(n >= 1, "everyIterations(n): n must be at least 1 (got: %s)", n);
        this.n = n;
    }

    public int n() {
        return n;
    }

    @Override
    public boolean shouldGrow(TrainingProgress p) {
        return !p.atEpochEnd() && p.iteration() > 0 && p.iteration() % n == 0;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EveryIterations && ((EveryIterations) o).n == n;
    }

    @Override
    public int hashCode() {
        return 31 * EveryIterations.class.hashCode() + n;
    }

    @Override
    public String toString() {
        return "everyIterations(" + n + ")";
    }
}
