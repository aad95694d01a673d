package org.dl4jgrowth.when;

import org.nd4j.shade.jackson.annotation.JsonTypeInfo;

import java.io.Serializable;
import java.util.List;

/**
 * <b>When</b> to grow: asked by the growth listener after every iteration and at every epoch end,
 * answers whether to grow now.
 *
 * <p>Implementations are stateless value objects: everything that changes during training,
 * including how often and when the network last grew, arrives in {@link TrainingProgress}, built
 * by the growth controller from its history. That keeps a trigger safe to share and to serialise
 * with a configuration. After a restart the counts are right only if the controller's state was
 * restored too ({@code GrowthListener.restoreState}, from a file written by
 * {@code GrowthListener.writeModel}): a fresh controller has no history, so {@code maxGrowths}
 * would allow its full count again and {@code minIterationsBetween} would not know the last growth.
 * They are
 * serialisable to JSON through their class name (like {@link org.dl4jgrowth.how.UnitInitializer}),
 * with equals/hashCode, so renaming or moving an implementation breaks stored configurations.
 *
 * <p>Schedules are either iteration-based (answer only from {@code iterationDone}) or epoch-based
 * (answer only at epoch end), so that a schedule never fires twice for the same step. Guards such as
 * {@link #maxGrowths(int)} answer in both places and are meant to be combined with a schedule
 * through {@link #and(GrowthTrigger)}.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.CLASS, include = JsonTypeInfo.As.PROPERTY, property = "@class")
public interface GrowthTrigger extends Serializable {

    boolean shouldGrow(TrainingProgress progress);

    /**
     * The same decision, for triggers that also look at training signals (the gradient statistic);
     * schedule-only triggers ignore them. The growth controller always calls this one.
     */
    default boolean shouldGrow(TrainingProgress progress, org.dl4jgrowth.signal.GrowthSignals signals) {
        return shouldGrow(progress);
    }

    /**
     * The layer names this trigger refers to (for example {@link #singularValueAbove}'s layers;
     * combinations: those of their parts, in order, each once), so the growth controller checks them
     * against the network before training changes it: a misspelt name fails when the controller
     * binds, not at the first growth or never. Computed from the trigger's settings, not stored.
     * Default: none.
     */
    default List<String> namedLayers() {
        return List.of();
    }

    /** Both this and {@code other}; same as {@link #and(GrowthTrigger...) and(this, other)}. */
    default GrowthTrigger and(GrowthTrigger other) {
        return new AndTrigger(this, other);
    }

    /** This or {@code other}; same as {@link #or(GrowthTrigger...) or(this, other)}. */
    default GrowthTrigger or(GrowthTrigger other) {
        return new OrTrigger(this, other);
    }

    /**
     * From {@code iterationDone} at iterations {@code n, 2n, 3n, ...}. Iteration 0 never fires:
     * growing before the first update has nothing to build on.
     */
    static GrowthTrigger everyIterations(int n) {
        return new EveryIterations(n);
    }

    /**
     * At the end of every {@code n}-th epoch: epochs {@code n-1, 2n-1, ...} in DL4J's 0-based
     * counting, so {@code everyEpochs(1)} fires after each epoch and {@code everyEpochs(2)} after
     * the second, fourth, ...
     */
    static GrowthTrigger everyEpochs(int n) {
        return new EveryEpochs(n);
    }

    /** From {@code iterationDone} at exactly these iterations. */
    static GrowthTrigger atIterations(long... iterations) {
        return new AtIterations(iterations);
    }

    /** At the end of exactly these 0-based epochs. */
    static GrowthTrigger atEpochs(int... epochs) {
        return new AtEpochs(epochs);
    }

    /** True while fewer than {@code n} growths happened; a cap, to be and-ed with a schedule. */
    static GrowthTrigger maxGrowths(int n) {
        return new MaxGrowths(n);
    }

    /**
     * True if the network never grew or grew at least {@code n} iterations ago; a cool-down, to be
     * and-ed with a schedule.
     */
    static GrowthTrigger minIterationsBetween(long n) {
        return new MinIterationsBetween(n);
    }

    /**
     * Fires when the top singular value of GradMax's mean statistic for any of {@code layers} (none:
     * any growable layer) exceeds {@code threshold}; combine with a schedule, it costs a pass over the
     * growth data.
     */
    static GrowthTrigger singularValueAbove(double threshold, String... layers) {
        return new SingularValueAbove(threshold, java.util.Arrays.asList(layers));
    }

    /** All of the triggers, evaluated in order and stopping at the first false. */
    static GrowthTrigger and(GrowthTrigger... triggers) {
        return new AndTrigger(triggers);
    }

    /** Any of the triggers, evaluated in order and stopping at the first true. */
    static GrowthTrigger or(GrowthTrigger... triggers) {
        return new OrTrigger(triggers);
    }
}
