package org.dl4jgrowth.when;

import org.nd4j.shade.guava.base.Preconditions;
import org.nd4j.shade.guava.collect.ImmutableList;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** Validation shared by the composite triggers, so {@code and} and {@code or} reject the same inputs. */
final class TriggerLists {

    private TriggerLists() {
    }

    static ImmutableList<GrowthTrigger> checked(String factory, List<GrowthTrigger> triggers) {
        Preconditions.checkArgument(triggers != null && !triggers.isEmpty(),
                "%s(triggers): at least one trigger is required (got: %s)", factory, triggers);
        for (int i = 0; i < triggers.size(); i++) {
            Preconditions.checkArgument(triggers.get(i) != null,
                    "%s(triggers): triggers must not be null (got: null at index %s of %s)", factory, i, triggers);
        }
        return ImmutableList.copyOf(triggers);
    }

    /** The layers any of {@code triggers} names, in order of first mention, each once. */
    static List<String> namedLayers(List<GrowthTrigger> triggers) {
        Set<String> names = new LinkedHashSet<>();
        for (GrowthTrigger t : triggers) {
            names.addAll(t.namedLayers());
        }
        return ImmutableList.copyOf(names);
    }
}
