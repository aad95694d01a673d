package org.dl4jgrowth.when;

import org.nd4j.shade.guava.base.Joiner;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.Arrays;
import java.util.List;

/**
 * See {@link GrowthTrigger#and(GrowthTrigger...)}. All of its triggers, in order, stopping at the first that says no. Nesting is kept as written
 * rather than flattened, so a configuration reads back exactly as it was built.
 */
public final class AndTrigger implements GrowthTrigger {
    private static final long serialVersionUID = 1L;

    private final List<GrowthTrigger> triggers;

    public AndTrigger(GrowthTrigger... triggers) {
        this(triggers == null ? null : Arrays.asList(triggers));
    }

    @JsonCreator
    public AndTrigger(@JsonProperty("triggers") List<GrowthTrigger> triggers) {
        this.triggers = TriggerLists.checked("and", triggers);
    }

    /** Unmodifiable. */
    public List<GrowthTrigger> triggers() {
        return triggers;
    }

    /** The layers its triggers name, in order, each once. */
    @Override
    public List<String> namedLayers() {
        return TriggerLists.namedLayers(triggers);
    }

    @Override
    public boolean shouldGrow(TrainingProgress p) {
        for (GrowthTrigger t : triggers) {
            if (!t.shouldGrow(p)) {
                return false;
            }
        }
        return true;
    }

    @Override
    public boolean shouldGrow(TrainingProgress p, org.dl4jgrowth.signal.GrowthSignals signals) {
        for (GrowthTrigger t : triggers) {
            if (!t.shouldGrow(p, signals)) {
                return false;
            }
        }
        return true;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AndTrigger && ((AndTrigger) o).triggers.equals(triggers);
    }

    @Override
    public int hashCode() {
        return 31 * AndTrigger.class.hashCode() + triggers.hashCode();
    }

    @Override
    public String toString() {
        return "and(" + Joiner.on(", ").join(triggers) + ")";
    }
}
