package org.dl4jgrowth.when;

import org.nd4j.shade.guava.base.Joiner;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.Arrays;
import java.util.List;

/**
 * See {@link GrowthTrigger#or(GrowthTrigger...)}. Any of its triggers, in order, stopping at the first that says yes. Nesting is kept as written
 * rather than flattened, so a configuration reads back exactly as it was built.
 */
public final class OrTrigger implements GrowthTrigger {
    private static final long serialVersionUID = 1L;

    private final List<GrowthTrigger> triggers;

    public OrTrigger(GrowthTrigger... triggers) {
        this(triggers == null ? null : Arrays.asList(triggers));
    }

    @JsonCreator
    public OrTrigger(@JsonProperty("triggers") List<GrowthTrigger> triggers) {
        this.triggers = TriggerLists.checked("or", triggers);
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
            if (t.shouldGrow(p)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public boolean shouldGrow(TrainingProgress p, org.dl4jgrowth.signal.GrowthSignals signals) {
        for (GrowthTrigger t : triggers) {
            if (t.shouldGrow(p, signals)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof OrTrigger && ((OrTrigger) o).triggers.equals(triggers);
    }

    @Override
    public int hashCode() {
        return 31 * OrTrigger.class.hashCode() + triggers.hashCode();
    }

    @Override
    public String toString() {
        return "or(" + Joiner.on(", ").join(triggers) + ")";
    }
}
