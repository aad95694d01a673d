package org.dl4jgrowth.plan;

import org.dl4jgrowth.network.NetworkAdapter;
import org.dl4jgrowth.rewrite.CompanionArrays;
import org.nd4j.shade.jackson.annotation.JsonTypeInfo;

import java.io.Serializable;
import java.util.List;
import java.util.Optional;

/**
 * Decides, at one moment of training, whether the network changes shape, where and by how much:
 * the planning step of the growth pipeline. The controller calls it after every iteration and at
 * every epoch end; what it proposes then goes through the rest of the pipeline unchanged
 * (geometry and caps, the initialisers' signals, initialisers, rewrite, atomic swap, event), so a
 * method plugs in here without touching the controller.
 *
 * <p>The default planner, {@link LayerwisePlanner}, asks a trigger (when), a site selector (where)
 * and an amount (how much) layer by layer; {@code GrowthPolicy.builder()} builds it. Methods that
 * decide where and how much together (Firefly: the best candidates across all layers; NeST: grow
 * and prune) implement this interface and are given with {@code GrowthPolicy.builder().planner(...)}.
 *
 * <p>Lifecycle: {@link #propose} is called on the training thread with a fresh
 * {@link PlanningContext} each time; {@link #onGradient} once per iteration, after DL4J computed the
 * gradient and before the updater uses it. Planners are immutable values like the rest of a
 * policy (JSON through their class name, equals and hashCode): whatever they must remember
 * arrives in the context (the events so far, the growth generator).
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.CLASS, include = JsonTypeInfo.As.PROPERTY, property = "@class")
public interface GrowthPlanner extends Serializable {

    /** What to change now, or empty for no change. */
    Optional<GrowthProposal> propose(PlanningContext context);

    /** Layers the planner names, checked against the network when the controller binds to it. */
    default List<String> namedLayers() {
        return List.of();
    }

    /**
     * The growths this planner may make first, as far as it can tell without training: groups of
     * layers that may grow together, each with the largest width it may reach. The controller
     * checks them before the first training iteration (the initialiser accepts them, the widths
     * are possible, the network then fits in memory), so that a static misconfiguration fails at
     * once rather than an epoch in. Widths are longs so that no amount can overflow here.
     *
     * @param growable          the network's growable layers, in layer order
     * @param width             a growable layer's current width
     * @param maxWidth          a layer's width cap
     * @param statisticSupports whether GradMax's statistic can be taken for a layer
     * @return groups of layer to largest new width; default: none known in advance
     */
    default List<java.util.Map<String, Long>> firstGrowths(List<String> growable,
                                                        java.util.function.ToIntFunction<String> width,
                                                        java.util.function.ToIntFunction<String> maxWidth,
                                                        java.util.function.Predicate<String> statisticSupports) {
        return List.of();
    }

    /**
     * Called each iteration between the gradient computation and the update (DL4J's
     * {@code onGradientCalculation}), for methods that act on every step: NeST's connection masks
     * zero masked gradients here. The gradient can be changed in place through
     * {@code network.model().gradient()}; {@code companions} holds the arrays the planner registered
     * (they live in the controller, not in the planner). Default: nothing.
     */
    default void onGradient(NetworkAdapter network, CompanionArrays companions) {
    }
}
