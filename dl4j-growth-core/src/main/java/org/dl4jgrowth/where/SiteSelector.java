package org.dl4jgrowth.where;

import org.nd4j.shade.jackson.annotation.JsonTypeInfo;

import java.io.Serializable;
import java.util.List;

/**
 * <b>Where</b> to grow: picks the layers that grow at one growth event. Stateless value objects,
 * JSON-serialisable through their class name; whatever they need to remember (how many growths
 * happened) arrives as an argument.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.CLASS, include = JsonTypeInfo.As.PROPERTY, property = "@class")
public interface SiteSelector extends Serializable {

    /**
     * @param growable      the layers the network can grow now, in layer order
     * @param growthsSoFar  growth events already performed on this network
     * @return the layers to grow this time, in order; every name must be in {@code growable}
     */
    List<String> select(List<String> growable, int growthsSoFar);

    /**
     * The same choice, for selectors that also look at training signals; the growth controller always
     * calls this one.
     */
    default List<String> select(List<String> growable, int growthsSoFar,
                                org.dl4jgrowth.signal.GrowthSignals signals) {
        return select(growable, growthsSoFar);
    }

    /**
     * The same choice, knowing the events so far; the growth controller always calls this one.
     * Selectors that cycle or remember use {@code past} (for example to continue after the layer
     * grown last, whatever happened to it since); the others keep the default.
     *
     * @param available layers that can grow now (growable and below their cap), in layer order
     * @param past      this network's growth events so far, oldest first
     */
    default List<String> select(List<String> available, List<org.dl4jgrowth.GrowthEvent> past,
                                org.dl4jgrowth.signal.GrowthSignals signals) {
        return select(available, past.size(), signals);
    }

    /** Names the layers the selector may pick, so they can be checked against the network up front. */
    List<String> namedLayers();

    /**
     * The most layers one {@link #select} can return: the growth controller checks, before
     * training, that the initialiser accepts the layers that may grow together (GradMax refuses a
     * layer grown together with its consumer). Default: no limit, every candidate together; a
     * selector of one's own that grows fewer layers at a time should say so here.
     */
    default int maxLayersPerGrowth() {
        return Integer.MAX_VALUE;
    }

    /**
     * Whether the selector passes over layers the gradient statistic does not support (it ranks by
     * the statistic): the controller then leaves those out of its checks before training.
     */
    default boolean picksOnlyStatisticSites() {
        return false;
    }

    /** Always these layers, together. */
    static SiteSelector layers(String... names) {
        return new NamedLayers(names);
    }

    /** Every growable hidden layer, together. */
    static SiteSelector allGrowable() {
        return new AllGrowable();
    }

    /**
     * The {@code count} layers (among {@code candidates}, or all growable) whose GradMax statistic has
     * the largest top singular value.
     */
    static SiteSelector bySingularValue(int count, String... candidates) {
        return new BySingularValue(count, java.util.Arrays.asList(candidates));
    }

    /** One layer per growth, cycling through the given names (or through all growable layers if none). */
    static SiteSelector roundRobin(String... names) {
        return new RoundRobin(names);
    }
}
