package org.dl4jgrowth.where;

import org.nd4j.shade.guava.base.Preconditions;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.signal.GrowthSignals;
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

    /** No names (also left out in JSON, like bySingularValue's candidates): every growable layer in turn. */
    @JsonCreator
    RoundRobin(@JsonProperty("names") List<String> names) {
        this.names = NamedLayers.checkNames("roundRobin", names == null ? List.of() : names, true);
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

    /**
     * The next layer of the cycle after the one grown most recently that can grow now: a layer at
     * its cap is passed over, so the others keep growing in turn.
     */
    @Override
    public List<String> select(List<String> available, List<GrowthEvent> past, GrowthSignals signals) {
        List<String> cycle = !names.isEmpty() ? names : signals.growable().isEmpty() ? available : signals.growable();
        if (cycle.isEmpty()) {
            return List.of();
        }
        int start = 0;
        for (int i = past.size() - 1; i >= 0 && start == 0; i--) {
            for (GrowthEvent.LayerGrowth g : past.get(i).layers()) {
                int at = cycle.indexOf(g.layer());
                if (at >= 0) {
                    start = at + 1;
                }
            }
        }
        for (int k = 0; k < cycle.size(); k++) {
            String layer = cycle.get((start + k) % cycle.size());
            if (available.contains(layer)) {
                return List.of(layer);
            }
        }
        return List.of();
    }

    /** One layer per growth. */
    @Override
    public int maxLayersPerGrowth() {
        return 1;
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
