package org.dl4jgrowth.where;

import org.nd4j.shade.guava.base.Preconditions;
import org.dl4jgrowth.signal.GrowthSignals;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * Grows the {@code count} layers whose GradMax statistic has the largest top singular value: where a
 * new unit would get the largest gradient (Evci et al. 2022, section 4, "where to grow"). Candidates
 * are the named layers, or every growable layer the statistic supports.
 */
public final class BySingularValue implements SiteSelector {
    private static final long serialVersionUID = 1L;
    private final int count;
    private final List<String> candidates;

    @JsonCreator
    public BySingularValue(@JsonProperty("count") int count, @JsonProperty("candidates") List<String> candidates) {
        Preconditions.checkArgument(count >= 1, "bySingularValue(count, ...): count must be at least 1 (got: %s)",
                count);
        this.count = count;
        this.candidates = NamedLayers.checkNames("bySingularValue", candidates == null ? List.of() : candidates,
                true);
    }

    @Override
    public List<String> select(List<String> growable, int growthsSoFar) {
        throw new IllegalStateException("bySingularValue decides by the gradient statistic: it must be driven by a "
                + "GrowthController (GrowthListener), which computes it");
    }

    @Override
    public List<String> select(List<String> growable, int growthsSoFar, GrowthSignals signals) {
        List<String> pool = new ArrayList<>();
        List<String> asked = candidates.isEmpty() ? growable : candidates;
        List<String> ranked = new ArrayList<>();
        for (String layer : asked) {
            if (growable.contains(layer)) {
                ranked.add(layer);
            }
        }
        signals.prepareStatistics(ranked);   // one pass for all of them where it can
        for (String layer : asked) {
            if (growable.contains(layer) && !Double.isNaN(signals.topSingularValue(layer))) {
                pool.add(layer);
            }
        }
        pool.sort(Comparator.comparingDouble((String l) -> signals.topSingularValue(l)).reversed());
        return pool.subList(0, Math.min(count, pool.size()));
    }

    @JsonProperty("candidates")
    @Override
    public List<String> namedLayers() {
        return candidates;
    }

    @JsonProperty("count")
    public int count() {
        return count;
    }

    @Override
    public int maxLayersPerGrowth() {
        return count;
    }

    /** Layers without a statistic get NaN and are never picked. */
    @Override
    public boolean picksOnlyStatisticSites() {
        return true;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BySingularValue && ((BySingularValue) o).count == count
                && ((BySingularValue) o).candidates.equals(candidates);
    }

    @Override
    public int hashCode() {
        return Objects.hash(count, candidates);
    }

    @Override
    public String toString() {
        return "bySingularValue(" + count + (candidates.isEmpty() ? "" : ", " + candidates) + ")";
    }
}
