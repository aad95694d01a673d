package org.dl4jgrowth.nest;

import org.dl4jgrowth.GrowthDetails;
import org.nd4j.shade.guava.collect.ImmutableMap;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.Map;
import java.util.Objects;

/**
 * NeST's record of one event ({@link NestPlanner}): the operation and, per masked layer it
 * touched, the connections added and removed, the threshold used and the layer's sparsity after.
 */
public final class NestDetails implements GrowthDetails {
    private static final long serialVersionUID = 1L;

    /** One layer's connections in one event. */
    public static final class Layer implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
        private final long added;
        private final long removed;
        private final long active;
        private final long total;
        private final double threshold;
        private final java.util.List<Long> candidateSeeds;
        private final java.util.List<Double> candidateLosses;
        private final int unitsAdded;
        private final int unitsRemoved;

        public Layer(long added, long removed, long active, long total, double threshold) {
            this(added, removed, active, total, threshold, null, null);
        }

        public Layer(long added, long removed, long active, long total, double threshold,
                     java.util.List<Long> candidateSeeds, java.util.List<Double> candidateLosses) {
            this(added, removed, active, total, threshold, candidateSeeds, candidateLosses, 0, 0);
        }

        /** A layer whose width changed: units (neurons or channels) added and removed, and their connections. */
        public static Layer units(long added, long removed, long active, long total, int unitsAdded, int unitsRemoved) {
            return new Layer(added, removed, active, total, 0.0, null, null, unitsAdded, unitsRemoved);
        }

        @JsonCreator
        public Layer(@JsonProperty("added") long added, @JsonProperty("removed") long removed,
                     @JsonProperty("active") long active, @JsonProperty("total") long total,
                     @JsonProperty("threshold") double threshold,
                     @JsonProperty("candidateSeeds") java.util.List<Long> candidateSeeds,
                     @JsonProperty("candidateLosses") java.util.List<Double> candidateLosses,
                     @JsonProperty("unitsAdded") int unitsAdded, @JsonProperty("unitsRemoved") int unitsRemoved) {
            this.unitsAdded = unitsAdded;
            this.unitsRemoved = unitsRemoved;
            this.added = added;
            this.removed = removed;
            this.active = active;
            this.total = total;
            this.threshold = threshold;
            this.candidateSeeds = candidateSeeds == null ? null : java.util.List.copyOf(candidateSeeds);
            this.candidateLosses = candidateLosses == null ? null : java.util.List.copyOf(candidateLosses);
        }

        /** Feature-map growth: the seeds of the r random draws tried, in order (null otherwise). */
        @JsonProperty("candidateSeeds")
        @org.nd4j.shade.jackson.annotation.JsonInclude(org.nd4j.shade.jackson.annotation.JsonInclude.Include.NON_NULL)
        public java.util.List<Long> candidateSeeds() {
            return candidateSeeds;
        }

        /** Feature-map growth: each draw's mean loss on the growth data (null otherwise). */
        @JsonProperty("candidateLosses")
        @org.nd4j.shade.jackson.annotation.JsonInclude(org.nd4j.shade.jackson.annotation.JsonInclude.Include.NON_NULL)
        public java.util.List<Double> candidateLosses() {
            return candidateLosses;
        }

        /** Units (neurons or channels) the event added to this layer. */
        @JsonProperty("unitsAdded")
        public int unitsAdded() {
            return unitsAdded;
        }

        /** Units (neurons or channels) the event removed from this layer. */
        @JsonProperty("unitsRemoved")
        public int unitsRemoved() {
            return unitsRemoved;
        }

        /** Connections woken (connection growth) or added with new units. */
        @JsonProperty("added")
        public long added() {
            return added;
        }

        /** Connections put to sleep (pruning). */
        @JsonProperty("removed")
        public long removed() {
            return removed;
        }

        /** Active connections after the event. */
        @JsonProperty("active")
        public long active() {
            return active;
        }

        /** All connections (weights) of the layer after the event. */
        @JsonProperty("total")
        public long total() {
            return total;
        }

        /**
         * Connection growth: the |Σ ∂L/∂w| at or above which dormant connections woke; feature-map
         * growth: the kept draw's loss; pruning: the largest (folded) |w| put to sleep; the
         * schedule's seed: its density; 0 for events that change widths.
         */
        @JsonProperty("threshold")
        public double threshold() {
            return threshold;
        }

        /** The fraction of the layer's connections that are dormant after the event. */
        public double sparsity() {
            return total == 0 ? 0 : 1.0 - active / (double) total;
        }

        @Override
        public boolean equals(Object o) {
            if (!(o instanceof Layer)) {
                return false;
            }
            Layer l = (Layer) o;
            return added == l.added && removed == l.removed && active == l.active && total == l.total
                    && Double.compare(threshold, l.threshold) == 0 && Objects.equals(candidateSeeds, l.candidateSeeds)
                    && Objects.equals(candidateLosses, l.candidateLosses) && unitsAdded == l.unitsAdded
                    && unitsRemoved == l.unitsRemoved;
        }

        @Override
        public int hashCode() {
            return Objects.hash(added, removed, active, total, threshold, candidateSeeds, candidateLosses, unitsAdded,
                    unitsRemoved);
        }

        @Override
        public String toString() {
            return (unitsAdded > 0 ? "+" + unitsAdded + " units " : "") + (unitsRemoved > 0 ? "-" + unitsRemoved
                    + " units " : "") + "+" + added + (removed > 0 ? " -" + removed : "") + " -> " + active + "/"
                    + total + " active"
                    + String.format(java.util.Locale.ROOT, " (sparsity %.3f, threshold %.3g)", sparsity(), threshold);
        }
    }

    private final String operation;
    private final Map<String, Layer> layers;

    @JsonCreator
    public NestDetails(@JsonProperty("operation") String operation, @JsonProperty("layers") Map<String, Layer> layers) {
        this.operation = operation;
        this.layers = ImmutableMap.copyOf(layers == null ? Map.of() : layers);
    }

    /**
     * "connections" (connection growth), "featureMaps" (feature-map growth), "neurons" (neuron
     * growth), "prune" (magnitude pruning), "removeUnits" (dead units removed), and the schedule's
     * "seedWidths" and "seed" ({@link NestSchedule}).
     */
    @JsonProperty("operation")
    public String operation() {
        return operation;
    }

    @JsonProperty("layers")
    public Map<String, Layer> layers() {
        return layers;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NestDetails && operation.equals(((NestDetails) o).operation)
                && layers.equals(((NestDetails) o).layers);
    }

    @Override
    public int hashCode() {
        return Objects.hash(operation, layers);
    }

    @Override
    public String toString() {
        return "nest " + operation + " " + layers;
    }
}
