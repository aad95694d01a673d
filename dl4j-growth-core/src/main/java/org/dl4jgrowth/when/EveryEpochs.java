package org.dl4jgrowth.when;

import org.nd4j.shade.guava.base.Preconditions;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/** See {@link GrowthTrigger#everyEpochs(int)}. */
public final class EveryEpochs implements GrowthTrigger {
    private static final long serialVersionUID = 1L;

    private final int n;

    @JsonCreator
    public EveryEpochs(@JsonProperty("n") int n) {
        Preconditions.checkArgument(n >= 1, "everyEpochs(n): n must be at least 1 (got: %s)", n);
        this.n = n;
    }

    public int n() {
        return n;
    }

    @Override
    public boolean shouldGrow(TrainingProgress p) {
        // The epoch counter is 0-based and names the epoch that just ended, hence the + 1.
        return p.atEpochEnd() && (p.epoch() + 1) % n == 0;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EveryEpochs && ((EveryEpochs) o).n == n;
    }

    @Override
    public int hashCode() {
        return 31 * EveryEpochs.class.hashCode() + n;
    }

    @Override
    public String toString() {
        return "everyEpochs(" + n + ")";
    }
}
