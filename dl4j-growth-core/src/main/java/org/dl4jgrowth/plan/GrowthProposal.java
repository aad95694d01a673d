package org.dl4jgrowth.plan;

import org.nd4j.shade.guava.base.Preconditions;
import org.nd4j.shade.guava.collect.ImmutableMap;
import org.dl4jgrowth.GrowthDetails;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.rewrite.UnitMap;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * What a {@link GrowthPlanner} proposes for one growth event: per layer a {@link UnitMap} (widen,
 * narrow, split, re-order: the one mechanism that changes widths), optionally the initialiser of
 * that layer's fresh units (otherwise the policy's), and the method's own record for the event.
 * Immutable; no arrays.
 */
public final class GrowthProposal {
    private final Map<String, UnitMap> unitMaps;
    private final Map<String, UnitInitializer> initializers;
    private final Map<String, long[]> wakes;
    private final Map<String, long[]> prunes;
    private final GrowthDetails details;

    private GrowthProposal(Map<String, UnitMap> unitMaps, Map<String, UnitInitializer> initializers,
                           Map<String, long[]> wakes, Map<String, long[]> prunes, GrowthDetails details) {
        this.unitMaps = ImmutableMap.copyOf(unitMaps);
        this.initializers = ImmutableMap.copyOf(initializers);
        this.wakes = ImmutableMap.copyOf(wakes);
        this.prunes = ImmutableMap.copyOf(prunes);
        this.details = details;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The layers that change, in order, with their unit maps. */
    public Map<String, UnitMap> unitMaps() {
        return unitMaps;
    }

    /** The initialiser proposed for {@code layer}'s fresh units, if the planner chose one. */
    public Optional<UnitInitializer> initializer(String layer) {
        return Optional.ofNullable(initializers.get(layer));
    }

    /**
     * Dormant connections to wake, per masked layer: flat indices into its weights in 'c' order
     * (NeST's connection growth). A copy; empty when the proposal changes widths instead.
     */
    public Map<String, long[]> wakes() {
        Map<String, long[]> out = new LinkedHashMap<>();
        wakes.forEach((l, idx) -> out.put(l, idx.clone()));
        return out;
    }

    /**
     * Active connections to put to sleep, per masked layer (flat 'c'-order indices into its
     * weights): magnitude pruning. A copy; empty when the proposal changes widths instead.
     */
    public Map<String, long[]> prunes() {
        Map<String, long[]> out = new LinkedHashMap<>();
        prunes.forEach((l, idx) -> out.put(l, idx.clone()));
        return out;
    }

    /** Whether this proposal changes connections (wakes or prunes) rather than widths. */
    public boolean changesConnections() {
        return !wakes.isEmpty() || !prunes.isEmpty();
    }

    /** The method's own record for the event, or null. */
    public GrowthDetails details() {
        return details;
    }

    @Override
    public String toString() {
        Map<String, Integer> woken = new LinkedHashMap<>();
        wakes.forEach((l, idx) -> woken.put(l, idx.length));
        Map<String, Integer> pruned = new LinkedHashMap<>();
        prunes.forEach((l, idx) -> pruned.put(l, idx.length));
        return "GrowthProposal" + (unitMaps.isEmpty() ? "" : unitMaps) + (woken.isEmpty() ? "" : " wake" + woken)
                + (pruned.isEmpty() ? "" : " prune" + pruned)
                + (initializers.isEmpty() ? "" : " " + initializers)
                + (details == null ? "" : " " + details);
    }

    public static final class Builder {
        private final Map<String, UnitMap> unitMaps = new LinkedHashMap<>();
        private final Map<String, UnitInitializer> initializers = new LinkedHashMap<>();
        private final Map<String, long[]> wakes = new LinkedHashMap<>();
        private final Map<String, long[]> prunes = new LinkedHashMap<>();
        private GrowthDetails details;

        private Builder() {
        }

        /** {@code layer} is rebuilt as {@code map} says. */
        public Builder unitMap(String layer, UnitMap map) {
            Preconditions.checkArgument(layer != null && !layer.isEmpty(),
                    "unitMap(layer, map): layer must be a layer name (got: %s)", layer);
            Preconditions.checkNotNull(map, "unitMap(\"%s\", map): map must not be null", layer);
            Preconditions.checkArgument(!unitMaps.containsKey(layer), "unitMap(\"%s\", map): layer given twice",
                    layer);
            unitMaps.put(layer, map);
            return this;
        }

        /** {@code layer} goes from {@code width} to {@code newWidth} units, fresh ones appended. */
        public Builder widen(String layer, int width, int newWidth) {
            return unitMap(layer, UnitMap.widen(width, newWidth));
        }

        /** {@code layer}'s fresh units start as {@code init} says, instead of by the policy's initialiser. */
        public Builder initializer(String layer, UnitInitializer init) {
            initializers.put(layer, Preconditions.checkNotNull(init, "initializer(\"%s\", init)", layer));
            return this;
        }

        /**
         * Wakes {@code layer}'s dormant connections at {@code flatIndices} (into its weights, 'c'
         * order): its mask becomes 1 there; their weights and optimizer state are 0 already, so they
         * start at 0 with fresh state. A proposal either wakes connections or changes widths.
         */
        public Builder wake(String layer, long... flatIndices) {
            connections(wakes, "wake", layer, flatIndices);
            return this;
        }

        /**
         * Puts {@code layer}'s active connections at {@code flatIndices} to sleep (its weights, 'c'
         * order): the mask becomes 0 there, and the weights and optimizer state are set to 0 at once.
         */
        public Builder prune(String layer, long... flatIndices) {
            connections(prunes, "prune", layer, flatIndices);
            return this;
        }

        private static void connections(Map<String, long[]> into, String what, String layer, long[] flatIndices) {
            Preconditions.checkArgument(layer != null && !layer.isEmpty(),
                    "%s(layer, ...): layer must be a layer name (got: %s)", what, layer);
            Preconditions.checkArgument(flatIndices != null && flatIndices.length > 0,
                    "%s(\"%s\", ...): give at least one connection", what, layer);
            Preconditions.checkArgument(!into.containsKey(layer), "%s(\"%s\", ...): layer given twice", what, layer);
            into.put(layer, flatIndices.clone());
        }

        public Builder details(GrowthDetails details) {
            this.details = details;
            return this;
        }

        public GrowthProposal build() {
            boolean connections = !wakes.isEmpty() || !prunes.isEmpty();
            Preconditions.checkState(!unitMaps.isEmpty() || connections,
                    "GrowthProposal: give at least one unitMap(...), wake(...) or prune(...)");
            Preconditions.checkState(unitMaps.isEmpty() || !connections, "GrowthProposal: wake(...) or prune(...) "
                    + "and unitMap(...) in one proposal (connections %s %s, unit maps %s); the indices refer to the "
                    + "widths before the event: propose them in separate events", wakes.keySet(), prunes.keySet(),
                    unitMaps.keySet());
            for (String layer : wakes.keySet()) {
                Preconditions.checkState(!prunes.containsKey(layer), "GrowthProposal: layer '%s' both wakes and "
                        + "prunes connections in one event; propose them in separate events", layer);
            }
            for (String layer : initializers.keySet()) {
                Preconditions.checkState(unitMaps.containsKey(layer),
                        "GrowthProposal: initializer given for layer '%s', which has no unit map; layers: %s", layer,
                        unitMaps.keySet());
            }
            return new GrowthProposal(unitMaps, initializers, wakes, prunes, details);
        }
    }
}
