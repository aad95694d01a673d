package org.dl4jgrowth.where;

import org.nd4j.shade.guava.base.Preconditions;
import org.nd4j.shade.guava.collect.ImmutableList;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;

/** See {@link SiteSelector#layers(String...)}. */
public final class NamedLayers implements SiteSelector {
    private static final long serialVersionUID = 1L;
    private final List<String> names;

    public NamedLayers(String... names) {
        this(Arrays.asList(Preconditions.checkNotNull(names, "layer names")));
    }

    @JsonCreator
    NamedLayers(@JsonProperty("names") List<String> names) {
        this.names = checkNames("layers", names, false);
    }

    static List<String> checkNames(String factory, List<String> names, boolean emptyAllowed) {
        Preconditions.checkArgument(names != null && (emptyAllowed || !names.isEmpty()),
                "%s(...): give at least one layer name", factory);
        for (String n : names) {
            Preconditions.checkArgument(n != null && !n.isEmpty(), "%s(...): layer names must be non-empty (got: %s)",
                    factory, names);
        }
        Preconditions.checkArgument(new HashSet<>(names).size() == names.size(),
                "%s(...): a layer is named twice (got: %s)", factory, names);
        return ImmutableList.copyOf(names);
    }

    @JsonProperty("names")
    @Override
    public List<String> namedLayers() {
        return names;
    }

    @Override
    public List<String> select(List<String> growable, int growthsSoFar) {
        return names;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NamedLayers && ((NamedLayers) o).names.equals(names);
    }

    @Override
    public int hashCode() {
        return names.hashCode();
    }

    @Override
    public String toString() {
        return "layers" + names;
    }
}
