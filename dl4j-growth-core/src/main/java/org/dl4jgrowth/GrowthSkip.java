package org.dl4jgrowth;

import org.nd4j.shade.guava.base.Preconditions;
import org.nd4j.shade.guava.collect.ImmutableList;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.io.Serializable;
import java.util.List;
import java.util.Objects;

/**
 * A growth the policy asked for and the controller did not make, with why: bad growth data (NaN,
 * infinity, an all-zero statistic) or a size the network could not hold, under
 * {@link BadGrowthAction#SKIP}. The network was left unchanged; the history keeps the record
 * beside its events. Consecutive skips of the same kind for the same layers (a trigger asking at
 * every iteration of a diverged run) are one record with a count and the last iteration, so the
 * history stays small. Immutable, JSON.
 */
public final class GrowthSkip implements Serializable {
    private static final long serialVersionUID = 1L;
    private final long iteration;
    private final int epoch;
    private final boolean atEpochEnd;
    private final List<String> layers;
    private final String reason;
    private final String kind;
    private final int count;
    private final long lastIteration;

    public GrowthSkip(long iteration, int epoch, boolean atEpochEnd, List<String> layers, String kind, String reason) {
        this(iteration, epoch, atEpochEnd, layers, reason, kind, 1, iteration);
    }

    @JsonCreator
    public GrowthSkip(@JsonProperty("iteration") long iteration, @JsonProperty("epoch") int epoch,
                      @JsonProperty("atEpochEnd") boolean atEpochEnd, @JsonProperty("layers") List<String> layers,
                      @JsonProperty("reason") String reason, @JsonProperty("kind") String kind,
                      @JsonProperty("count") int count, @JsonProperty("lastIteration") long lastIteration) {
        Preconditions.checkArgument(count >= 1, "GrowthSkip: count must be at least 1 (got: %s)", count);
        this.kind = kind == null ? "" : kind;
        this.count = count;
        this.lastIteration = Math.max(iteration, lastIteration);
        this.iteration = iteration;
        this.epoch = epoch;
        this.atEpochEnd = atEpochEnd;
        this.layers = ImmutableList.copyOf(layers == null ? List.of() : layers);
        this.reason = Preconditions.checkNotNull(reason, "GrowthSkip: reason must not be null");
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

    /** The layers concerned, as far as known (empty when the refusal came before a layer was chosen). */
    public List<String> layers() {
        return layers;
    }

    /** The refusal's message (the first of a run of merged skips). */
    public String reason() {
        return reason;
    }

    /** What refused: the exception's simple class name (GrowthDataException, InfeasibleGrowthException). */
    public String kind() {
        return kind;
    }

    /** How many consecutive skips this record stands for. */
    public int count() {
        return count;
    }

    /** The iteration of the last of them. */
    public long lastIteration() {
        return lastIteration;
    }

    /** Whether {@code next} continues this run: same kind, same layers. */
    boolean sameRun(GrowthSkip next) {
        return kind.equals(next.kind) && layers.equals(next.layers);
    }

    /** This run with one more skip, at {@code next}'s iteration. */
    GrowthSkip plus(GrowthSkip next) {
        return new GrowthSkip(iteration, epoch, atEpochEnd, layers, reason, kind, count == Integer.MAX_VALUE ? count
                : count + 1, next.iteration);
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof GrowthSkip)) {
            return false;
        }
        GrowthSkip s = (GrowthSkip) o;
        return iteration == s.iteration && epoch == s.epoch && atEpochEnd == s.atEpochEnd && layers.equals(s.layers)
                && reason.equals(s.reason) && kind.equals(s.kind) && count == s.count
                && lastIteration == s.lastIteration;
    }

    @Override
    public int hashCode() {
        return Objects.hash(iteration, epoch, atEpochEnd, layers, reason, kind, count, lastIteration);
    }

    @Override
    public String toString() {
        return "GrowthSkip{iteration=" + iteration + ", epoch=" + epoch + (atEpochEnd ? " (end)" : "")
                + ", layers=" + layers + (count > 1 ? ", " + count + " times up to iteration " + lastIteration : "")
                + ", " + kind + ": " + reason + "}";
    }
}
