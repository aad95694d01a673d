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
 * beside its events. Immutable, JSON.
 */
public final class GrowthSkip implements Serializable {
    private static final long serialVersionUID = 1L;
    private final long iteration;
    private final int epoch;
    private final boolean atEpochEnd;
    private final List<String> layers;
    private final String reason;

    @JsonCreator
    public GrowthSkip(@JsonProperty("iteration") long iteration, @JsonProperty("epoch") int epoch,
                      @JsonProperty("atEpochEnd") boolean atEpochEnd, @JsonProperty("layers") List<String> layers,
                      @JsonProperty("reason") String reason) {
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

    /** The refusal's message. */
    public String reason() {
        return reason;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof GrowthSkip)) {
            return false;
        }
        GrowthSkip s = (GrowthSkip) o;
        return iteration == s.iteration && epoch == s.epoch && atEpochEnd == s.atEpochEnd && layers.equals(s.layers)
                && reason.equals(s.reason);
    }

    @Override
    public int hashCode() {
        return Objects.hash(iteration, epoch, atEpochEnd, layers, reason);
    }

    @Override
    public String toString() {
        return "GrowthSkip{iteration=" + iteration + ", epoch=" + epoch + (atEpochEnd ? " (end)" : "")
                + ", layers=" + layers + ", reason=" + reason + "}";
    }
}
