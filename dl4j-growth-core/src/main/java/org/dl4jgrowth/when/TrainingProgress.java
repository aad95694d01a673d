package org.dl4jgrowth.when;

import org.nd4j.shade.guava.base.Preconditions;

import java.util.Objects;

/**
 * Where training stands when a {@link GrowthTrigger} is asked whether to grow.
 *
 * <p>Triggers are stateless, so everything a schedule depends on, including the growth history,
 * travels in this value. A listener builds one per callback: from {@code iterationDone} with
 * {@code atEpochEnd == false}, from {@code onEpochEnd} with {@code atEpochEnd == true}. The two
 * callbacks are kept apart because an epoch end reports the same iteration count as the last
 * {@code iterationDone} before it; without the flag an iteration schedule would fire twice.
 *
 * <p>{@code epoch} is DL4J's 0-based epoch counter: during an epoch it is the running epoch, at
 * epoch end it is the epoch that just finished.
 *
 * <p>The growth history must be consistent: no growths means both "last growth" fields are
 * {@code -1}; at least one growth means both are set and not in the future.
 */
public final class TrainingProgress {

    private final long iteration;
    private final int epoch;
    private final boolean atEpochEnd;
    private final int growthsSoFar;
    private final long lastGrowthIteration;
    private final int lastGrowthEpoch;

    private TrainingProgress(Builder b) {
        Preconditions.checkArgument(b.iteration >= 0,
                "TrainingProgress: iteration must be >= 0 (got: %s)", b.iteration);
        Preconditions.checkArgument(b.epoch >= 0,
                "TrainingProgress: epoch must be >= 0 (got: %s)", b.epoch);
        Preconditions.checkArgument(b.growthsSoFar >= 0,
                "TrainingProgress: growthsSoFar must be >= 0 (got: %s)", b.growthsSoFar);
        Preconditions.checkArgument(b.lastGrowthIteration >= -1,
                "TrainingProgress: lastGrowthIteration must be >= 0, or -1 for never (got: %s)",
                b.lastGrowthIteration);
        Preconditions.checkArgument(b.lastGrowthEpoch >= -1,
                "TrainingProgress: lastGrowthEpoch must be >= 0, or -1 for never (got: %s)", b.lastGrowthEpoch);
        if (b.growthsSoFar == 0) {
            Preconditions.checkArgument(b.lastGrowthIteration == -1 && b.lastGrowthEpoch == -1,
                    "TrainingProgress: with growthsSoFar 0 lastGrowthIteration and lastGrowthEpoch must be -1"
                            + " (got: %s, %s)", b.lastGrowthIteration, b.lastGrowthEpoch);
        } else {
            Preconditions.checkArgument(b.lastGrowthIteration >= 0 && b.lastGrowthEpoch >= 0,
                    "TrainingProgress: with growthsSoFar %s lastGrowthIteration and lastGrowthEpoch must be set"
                            + " (got: %s, %s)", b.growthsSoFar, b.lastGrowthIteration, b.lastGrowthEpoch);
            Preconditions.checkArgument(b.lastGrowthIteration <= b.iteration,
                    "TrainingProgress: lastGrowthIteration must not be after iteration %s (got: %s)",
                    b.iteration, b.lastGrowthIteration);
            Preconditions.checkArgument(b.lastGrowthEpoch <= b.epoch,
                    "TrainingProgress: lastGrowthEpoch must not be after epoch %s (got: %s)",
                    b.epoch, b.lastGrowthEpoch);
        }
        this.iteration = b.iteration;
        this.epoch = b.epoch;
        this.atEpochEnd = b.atEpochEnd;
        this.growthsSoFar = b.growthsSoFar;
        this.lastGrowthIteration = b.lastGrowthIteration;
        this.lastGrowthEpoch = b.lastGrowthEpoch;
    }

    /** Asked from {@code iterationDone}, before any growth. */
    public static TrainingProgress duringEpoch(long iteration, int epoch) {
        return builder().iteration(iteration).epoch(epoch).atEpochEnd(false).build();
    }

    /** Asked from {@code onEpochEnd}, before any growth. */
    public static TrainingProgress endOfEpoch(long iteration, int epoch) {
        return builder().iteration(iteration).epoch(epoch).atEpochEnd(true).build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.iteration = iteration;
        b.epoch = epoch;
        b.atEpochEnd = atEpochEnd;
        b.growthsSoFar = growthsSoFar;
        b.lastGrowthIteration = lastGrowthIteration;
        b.lastGrowthEpoch = lastGrowthEpoch;
        return b;
    }

    public long iteration() {
        return iteration;
    }

    public int epoch() {
        return epoch;
    }

    public boolean atEpochEnd() {
        return atEpochEnd;
    }

    public int growthsSoFar() {
        return growthsSoFar;
    }

    /** {@code -1} if the network has not grown yet. */
    public long lastGrowthIteration() {
        return lastGrowthIteration;
    }

    /** {@code -1} if the network has not grown yet. */
    public int lastGrowthEpoch() {
        return lastGrowthEpoch;
    }

    public boolean hasGrown() {
        return growthsSoFar > 0;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof TrainingProgress)) {
            return false;
        }
        TrainingProgress that = (TrainingProgress) o;
        return iteration == that.iteration
                && epoch == that.epoch
                && atEpochEnd == that.atEpochEnd
                && growthsSoFar == that.growthsSoFar
                && lastGrowthIteration == that.lastGrowthIteration
                && lastGrowthEpoch == that.lastGrowthEpoch;
    }

    @Override
    public int hashCode() {
        return Objects.hash(iteration, epoch, atEpochEnd, growthsSoFar, lastGrowthIteration, lastGrowthEpoch);
    }

    @Override
    public String toString() {
        return "TrainingProgress{iteration=" + iteration
                + ", epoch=" + epoch
                + ", atEpochEnd=" + atEpochEnd
                + ", growthsSoFar=" + growthsSoFar
                + ", lastGrowthIteration=" + lastGrowthIteration
                + ", lastGrowthEpoch=" + lastGrowthEpoch + '}';
    }

    /** Unset fields default to iteration 0, epoch 0, mid-epoch, never grown. Validation happens in {@link #build()}. */
    public static final class Builder {
        private long iteration;
        private int epoch;
        private boolean atEpochEnd;
        private int growthsSoFar;
        private long lastGrowthIteration = -1;
        private int lastGrowthEpoch = -1;

        private Builder() {
        }

        public Builder iteration(long iteration) {
            this.iteration = iteration;
            return this;
        }

        public Builder epoch(int epoch) {
            this.epoch = epoch;
            return this;
        }

        public Builder atEpochEnd(boolean atEpochEnd) {
            this.atEpochEnd = atEpochEnd;
            return this;
        }

        public Builder growthsSoFar(int growthsSoFar) {
            this.growthsSoFar = growthsSoFar;
            return this;
        }

        public Builder lastGrowthIteration(long lastGrowthIteration) {
            this.lastGrowthIteration = lastGrowthIteration;
            return this;
        }

        public Builder lastGrowthEpoch(int lastGrowthEpoch) {
            this.lastGrowthEpoch = lastGrowthEpoch;
            return this;
        }

        /** Sets the whole growth history at once, the usual way a controller reports it. */
        public Builder growthHistory(int growthsSoFar, long lastGrowthIteration, int lastGrowthEpoch) {
            this.growthsSoFar = growthsSoFar;
            this.lastGrowthIteration = lastGrowthIteration;
            this.lastGrowthEpoch = lastGrowthEpoch;
            return this;
        }

        /** @throws IllegalArgumentException if a field is out of range or the growth history is inconsistent */
        public TrainingProgress build() {
            return new TrainingProgress(this);
        }
    }
}
