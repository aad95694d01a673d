package org.dl4jgrowth.where;

import com.google.common.base.Preconditions;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.Arrays;
import java.util.List;

/** See {@link SiteSelector#roundRobin(String...)}. */
public final class RoundRobin implements SiteSelector {
    private static final long serialVersionUID = 1L;
    private final List<String> names;

    public RoundRobin(String... names) {
        this(Arrays.asList(Preconditions.checkNotNull(names, "layer names")));
    }

    @JsonCreator
    RoundRobin(@JsonProperty("names") List<String> names) {
        this.names = NamedLayers.checkNames("roundRobin", names, true);
    }

    @JsonProperty("names")
    @Override
    public List<String> namedLayers() {
        return names;
    }

    @Override
    public List<String> select(List<String> growable, int growthsSoFar) {
        List<String> cycle = names.isEmpty() ? growable : names;
        if (cycle.isEmpty()) {
            return List.of();
        }
        return List.of(cycle.get(growthsSoFar % cycle.size()));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RoundRobin && ((RoundRobin) o).names.equals(names);
    }

    @Override
    public int hashCode() {
        return 31 * names.hashCode() + 7;
    }

    @Override
    public String toString() {
        return "roundRobin" + names;
    }
}
