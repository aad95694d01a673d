package org.dl4jgrowth.plan;

import org.nd4j.shade.guava.base.Preconditions;
import org.dl4jgrowth.when.GrowthTrigger;
import org.dl4jgrowth.where.GrowthAmount;
import org.dl4jgrowth.where.SiteSelector;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The default planner: <b>when</b> from a {@link GrowthTrigger}, <b>where</b> from a
 * {@link SiteSelector} among the layers below their width cap, <b>how much</b> from a
 * {@link GrowthAmount} per chosen layer, clipped to its cap. Widens only. This is what
 * {@code GrowthPolicy.builder().when(...).where(...).howMuch(...)} builds.
 */
public final class LayerwisePlanner implements GrowthPlanner {
    private static final long serialVersionUID = 1L;
    private final GrowthTrigger when;
    private final SiteSelector where;
    private final GrowthAmount howMuch;
    @JsonCreator
    public LayerwisePlanner(@JsonProperty("when") GrowthTrigger when, @JsonProperty("where") SiteSelector where,
                            @JsonProperty("howMuch") GrowthAmount howMuch) {
        this.when = Preconditions.checkNotNull(when, "LayerwisePlanner: when must not be null");
        this.where = Preconditions.checkNotNull(where, "LayerwisePlanner: where must not be null");
        this.howMuch = Preconditions.checkNotNull(howMuch, "LayerwisePlanner: howMuch must not be null");
    }

    public GrowthTrigger when() {
        return when;
    }

    public SiteSelector where() {
        return where;
    }

    public GrowthAmount howMuch() {
        return howMuch;
    }

    @Override
    public Optional<GrowthProposal> propose(PlanningContext context) {
        // Layers already at their cap are no candidates, so signal-driven selectors look elsewhere;
        // with none left the trigger is not even asked (a signal trigger would compute for nothing).
        List<String> available = new ArrayList<>();
        for (String layer : context.growableLayers()) {
            if (context.width(layer) < context.maxWidth(layer)) {
                available.add(layer);
            }
        }
        if (available.isEmpty()) {
            return Optional.empty();
        }
        if (!context.forced() && !when.shouldGrow(context.progress(), context.signals())) {
            return Optional.empty();
        }
        java.util.Map<String, Long> targets = new java.util.LinkedHashMap<>();
        for (String layer : where.select(available, context.past(), context.signals())) {
            int width = context.width(layer);
            // The amount saturates rather than overflows; the cap decides (add(Integer.MAX_VALUE)
            // under maxWidth(16) grows to 16), and requireFeasible below refuses what no layer can be.
            int target = Math.min(howMuch.grownWidth(width), context.maxWidth(layer));
            if (target > width) {
                targets.put(layer, (long) target);
            }
        }
        if (targets.isEmpty()) {
            return Optional.empty();
        }
        // Before any unit map exists: a map holds an entry per unit, so a huge amount is refused here,
        // and one the parameter cap would skip anyway is not built at all.
        long params = context.requireFeasible(targets);
        if (params > context.maxParams()) {
            org.slf4j.LoggerFactory.getLogger(LayerwisePlanner.class).info("Growth skipped at iteration {}: {} "
                    + "would leave at least {} parameters, above maxParams {}", context.progress().iteration(),
                    targets, params, context.maxParams());
            return Optional.empty();
        }
        GrowthProposal.Builder b = GrowthProposal.builder();
        targets.forEach((layer, target) -> b.widen(layer, context.width(layer), Math.toIntExact(target)));
        return Optional.of(b.build());
    }

    /**
     * The selector's candidates below their cap, each at the width one growth takes it to (capped);
     * all of them as one group unless the selector picks a single layer per growth.
     */
    @Override
    public List<java.util.Map<String, Long>> firstGrowths(List<String> growable,
                                                       java.util.function.ToIntFunction<String> width,
                                                       java.util.function.ToIntFunction<String> maxWidth,
                                                       java.util.function.Predicate<String> statisticSupports) {
        List<String> named = where.namedLayers();
        java.util.Map<String, Long> all = new java.util.LinkedHashMap<>();
        for (String layer : growable) {
            if (!named.isEmpty() && !named.contains(layer)) {
                continue;
            }
            if (where.picksOnlyStatisticSites() && !statisticSupports.test(layer)) {
                continue;   // never picked, so never grown
            }
            int w = width.applyAsInt(layer);
            if (w < maxWidth.applyAsInt(layer)) {
                all.put(layer, Math.min((long) howMuch.grownWidth(w), maxWidth.applyAsInt(layer)));
            }
        }
        List<java.util.Map<String, Long>> groups = new ArrayList<>();
        if (where.maxLayersPerGrowth() == 1) {
            all.forEach((layer, target) -> groups.add(java.util.Map.of(layer, target)));
        } else if (!all.isEmpty()) {
            groups.add(all);
        }
        return groups;
    }

    /**
     * The selector's layer names, then the trigger's (a signal trigger may watch layers the
     * selector does not name), each once: the controller checks all of them against the network.
     */
    @Override
    public List<String> namedLayers() {
        Set<String> names = new LinkedHashSet<>(where.namedLayers());
        names.addAll(when.namedLayers());
        return List.copyOf(names);
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof LayerwisePlanner)) {
            return false;
        }
        LayerwisePlanner p = (LayerwisePlanner) o;
        return when.equals(p.when) && where.equals(p.where) && howMuch.equals(p.howMuch);
    }

    @Override
    public int hashCode() {
        return Objects.hash(when, where, howMuch);
    }

    @Override
    public String toString() {
        return "layerwise{when=" + when + ", where=" + where + ", howMuch=" + howMuch + "}";
    }
}
