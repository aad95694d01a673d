package org.dl4jgrowth;

import org.nd4j.shade.guava.base.Preconditions;
import org.nd4j.shade.guava.collect.ImmutableList;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonInclude;
import org.nd4j.shade.jackson.annotation.JsonProperty;
import org.nd4j.shade.jackson.annotation.JsonPropertyOrder;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Everything a {@link GrowthController} must remember to carry on exactly where it stopped: the
 * history (with its provenance: the policy), when it last grew, the growth generator's state and
 * the companion arrays. Saved beside the network (one entry in a {@code ModelSerializer} file, see
 * {@link GrowthListener#writeModel}) and restored into a fresh controller of the same policy.
 * Immutable; JSON, so a model file that carries it still loads with plain DL4J.
 */
@JsonPropertyOrder({"format", "history", "lastGrowthIteration", "lastGrowthEpoch", "randomRoot", "randomNode",
        "companions"})
public final class GrowthState {
    /** The format of this value; a reader refuses formats newer than it knows. */
    public static final int FORMAT = 1;

    /** One companion array, with its values in c order. */
    @JsonPropertyOrder({"name", "layer", "param", "freshValue", "dataType", "shape", "values"})
    public static final class Companion {
        private final String name;
        private final String layer;
        private final String param;
        private final double freshValue;
        private final long[] shape;
        private final double[] values;
        private final String dataType;

        @JsonCreator
        public Companion(@JsonProperty("name") String name, @JsonProperty("layer") String layer,
                         @JsonProperty("param") String param, @JsonProperty("freshValue") double freshValue,
                         @JsonProperty("shape") long[] shape, @JsonProperty("values") double[] values,
                         @JsonProperty("dataType") String dataType) {
            this.dataType = dataType == null ? "DOUBLE" : dataType;
            this.name = Preconditions.checkNotNull(name, "companion name");
            this.layer = Preconditions.checkNotNull(layer, "companion '%s': layer", name);
            this.param = Preconditions.checkNotNull(param, "companion '%s': param", name);
            this.freshValue = freshValue;
            this.shape = Preconditions.checkNotNull(shape, "companion '%s': shape", name).clone();
            this.values = Preconditions.checkNotNull(values, "companion '%s': values", name).clone();
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            Preconditions.checkArgument(n == values.length, "companion '%s': shape %s holds %s values, not %s", name,
                    Arrays.toString(shape), n, values.length);
        }

        public String name() {
            return name;
        }

        public String layer() {
            return layer;
        }

        public String param() {
            return param;
        }

        public double freshValue() {
            return freshValue;
        }

        public long[] shape() {
            return shape.clone();
        }

        public double[] values() {
            return values.clone();
        }

        /** ND4J's name of the array's data type ("FLOAT", "DOUBLE", ...). */
        public String dataType() {
            return dataType;
        }

        @Override
        public boolean equals(Object o) {
            if (!(o instanceof Companion)) {
                return false;
            }
            Companion c = (Companion) o;
            return name.equals(c.name) && layer.equals(c.layer) && param.equals(c.param)
                    && Double.compare(freshValue, c.freshValue) == 0 && Arrays.equals(shape, c.shape)
                    && Arrays.equals(values, c.values) && dataType.equals(c.dataType);
        }

        @Override
        public int hashCode() {
            return Objects.hash(name, layer, param, freshValue, Arrays.hashCode(shape), Arrays.hashCode(values));
        }
    }

    private final int format;
    private final GrowthHistory history;
    private final long lastGrowthIteration;
    private final int lastGrowthEpoch;
    @JsonInclude(JsonInclude.Include.NON_NULL)
    private final Long randomRoot;
    @JsonInclude(JsonInclude.Include.NON_NULL)
    private final Long randomNode;
    private final List<Companion> companions;

    @JsonCreator
    public GrowthState(@JsonProperty("format") int format, @JsonProperty("history") GrowthHistory history,
                       @JsonProperty("lastGrowthIteration") long lastGrowthIteration,
                       @JsonProperty("lastGrowthEpoch") int lastGrowthEpoch,
                       @JsonProperty("randomRoot") Long randomRoot, @JsonProperty("randomNode") Long randomNode,
                       @JsonProperty("companions") List<Companion> companions) {
        Preconditions.checkArgument(format >= 1 && format <= FORMAT, "Growth state format %s is not readable by this "
                + "version of dl4j-growth (reads formats 1 to %s)", format, FORMAT);
        Preconditions.checkArgument((randomRoot == null) == (randomNode == null),
                "Growth state: give both randomRoot and randomNode, or neither");
        this.format = format;
        this.history = Preconditions.checkNotNull(history, "Growth state: history must not be null");
        this.lastGrowthIteration = lastGrowthIteration;
        this.lastGrowthEpoch = lastGrowthEpoch;
        this.randomRoot = randomRoot;
        this.randomNode = randomNode;
        this.companions = ImmutableList.copyOf(companions == null ? List.of() : companions);
    }

    public GrowthHistory history() {
        return history;
    }

    public long lastGrowthIteration() {
        return lastGrowthIteration;
    }

    public int lastGrowthEpoch() {
        return lastGrowthEpoch;
    }

    /** The growth generator's two state words, or null before it drew anything. */
    public Long randomRoot() {
        return randomRoot;
    }

    public Long randomNode() {
        return randomNode;
    }

    public List<Companion> companions() {
        return companions;
    }

    public String toJson() {
        return GrowthJson.toJson(this);
    }

    public static GrowthState fromJson(String json) {
        return GrowthJson.fromJson(json, GrowthState.class);
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof GrowthState)) {
            return false;
        }
        GrowthState s = (GrowthState) o;
        return format == s.format && history.equals(s.history) && lastGrowthIteration == s.lastGrowthIteration
                && lastGrowthEpoch == s.lastGrowthEpoch && Objects.equals(randomRoot, s.randomRoot)
                && Objects.equals(randomNode, s.randomNode) && companions.equals(s.companions);
    }

    @Override
    public int hashCode() {
        return Objects.hash(format, history, lastGrowthIteration, lastGrowthEpoch, randomRoot, randomNode, companions);
    }

    @Override
    public String toString() {
        return "GrowthState{" + history.size() + " events, last at iteration " + lastGrowthIteration + ", "
                + companions.size() + " companion arrays}";
    }
}
