package org.dl4jgrowth.plan;

import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.GrowthHistory;
import org.nd4j.shade.guava.base.Preconditions;
import org.nd4j.shade.guava.collect.ImmutableList;
import org.nd4j.shade.guava.collect.ImmutableMap;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import java.util.function.ToIntFunction;

/**
 * Replays a recorded schedule of growths: at each recorded moment (an iteration, during the epoch or
 * at its end) the same layers grow by the same numbers of units, every new unit fresh and started by
 * the policy's initialiser. This separates <em>where and how much</em> from <em>how</em>: a run of
 * Firefly, which decides both, can be replayed with GradMax, random or function-preserving
 * initialisers on the very same schedule (the comparison in {@code docs/firefly-comparison.md} does
 * exactly that).
 *
 * <p>Units a recorded event split (Firefly's copies) are replayed as fresh units: the replay keeps
 * the amount, and the initialiser decides what the units are. Events that dropped units are refused
 * by {@link #of(List)}: a replay only widens; events that changed no width (connection growth)
 * are left out. With {@link PlanningContext#forced()} (a driver's
 * {@code growNow}) the earliest step after the last event is taken, whatever its moment.
 *
 * <p>Immutable and JSON-serialisable like every planner; which steps are done is read from the
 * events so far, so a resumed run goes on with the step after its last event.
 */
public final class ReplayPlanner implements GrowthPlanner {
    private static final long serialVersionUID = 1L;

    /** One recorded moment and how many units each layer gains at it. */
    public static final class Step implements Serializable {
        private static final long serialVersionUID = 1L;
        private final long iteration;
        private final boolean atEpochEnd;
        private final Map<String, Integer> added;

        @JsonCreator
        public Step(@JsonProperty("iteration") long iteration, @JsonProperty("atEpochEnd") boolean atEpochEnd,
                    @JsonProperty("added") Map<String, Integer> added) {
            Preconditions.checkArgument(iteration >= 0, "replay step: iteration must be at least 0 (got: %s)",
                    iteration);
            Preconditions.checkArgument(added != null && !added.isEmpty(),
                    "replay step at iteration %s: give at least one layer and its added units (got: %s)", iteration,
                    added);
            for (Map.Entry<String, Integer> e : added.entrySet()) {
                Preconditions.checkArgument(e.getKey() != null && !e.getKey().isEmpty(),
                        "replay step at iteration %s: layer names must not be empty (got: %s)", iteration, added);
                Preconditions.checkArgument(e.getValue() != null && e.getValue() >= 1,
                        "replay step at iteration %s: layer '%s' must gain at least 1 unit (got: %s)", iteration,
                        e.getKey(), e.getValue());
            }
            this.iteration = iteration;
            this.atEpochEnd = atEpochEnd;
            this.added = ImmutableMap.copyOf(added);
        }

        @JsonProperty("iteration")
        public long iteration() {
            return iteration;
        }

        @JsonProperty("atEpochEnd")
        public boolean atEpochEnd() {
            return atEpochEnd;
        }

        /** Layer to units added, in the recorded order. */
        @JsonProperty("added")
        public Map<String, Integer> added() {
            return added;
        }

        boolean at(long iteration, boolean atEpochEnd) {
            return this.iteration == iteration && this.atEpochEnd == atEpochEnd;
        }

        /** Whether this moment comes strictly after {@code (iteration, atEpochEnd)}. */
        boolean after(long iteration, boolean atEpochEnd) {
            return this.iteration > iteration || (this.iteration == iteration && this.atEpochEnd && !atEpochEnd);
        }

        @Override
        public boolean equals(Object o) {
            if (!(o instanceof Step)) {
                return false;
            }
            Step s = (Step) o;
            return iteration == s.iteration && atEpochEnd == s.atEpochEnd && added.equals(s.added);
        }

        @Override
        public int hashCode() {
            return Objects.hash(iteration, atEpochEnd, added);
        }

        @Override
        public String toString() {
            return "@" + iteration + (atEpochEnd ? " (epoch end)" : "") + " +" + added;
        }
    }

    private static final Comparator<Step> ORDER = Comparator.comparingLong(Step::iteration)
            .thenComparing(Step::atEpochEnd);

    private final List<Step> steps;

    @JsonCreator
    public ReplayPlanner(@JsonProperty("steps") List<Step> steps) {
        Preconditions.checkArgument(steps != null && !steps.isEmpty(), "replay: give at least one step (got: %s)",
                steps);
        List<Step> sorted = new ArrayList<>(steps);
        sorted.sort(ORDER);
        for (int i = 1; i < sorted.size(); i++) {
            Preconditions.checkArgument(!sorted.get(i).at(sorted.get(i - 1).iteration, sorted.get(i - 1).atEpochEnd),
                    "replay: two steps at the same moment (%s and %s); one growth event happens per moment, so "
                            + "merge them", sorted.get(i - 1), sorted.get(i));
        }
        this.steps = ImmutableList.copyOf(sorted);
    }

    /** The growth schedule of {@code history}: see {@link #of(List)}. */
    public static ReplayPlanner of(GrowthHistory history) {
        return of(history.events());
    }

    /**
     * The schedule of recorded events: each event's moment and, per layer, its units after minus
     * before. An event that narrowed a layer, or dropped units while keeping its width, is refused:
     * a replay only adds units.
     */
    public static ReplayPlanner of(List<GrowthEvent> events) {
        List<Step> steps = new ArrayList<>();
        for (GrowthEvent e : events) {
            // Events that changed no width (NeST's connection growth) have nothing to replay.
            if (e.layers().stream().anyMatch(g -> g.after() != g.before() || g.dropped() > 0)) {
                steps.add(stepOf(e));
            }
        }
        return new ReplayPlanner(steps);
    }

    /** One event as a replay step; see {@link #of(List)}. */
    public static Step stepOf(GrowthEvent e) {
        Map<String, Integer> added = new LinkedHashMap<>();
        for (GrowthEvent.LayerGrowth g : e.layers()) {
            if (g.dropped() > 0 || g.after() < g.before()) {
                throw new IllegalArgumentException("replay: event " + e.index() + " at iteration " + e.iteration()
                        + " drops " + g.dropped() + " units of layer '" + g.layer() + "' (" + g.before() + " -> "
                        + g.after() + "); a replay only adds units");
            }
            if (g.after() > g.before()) {
                added.put(g.layer(), g.after() - g.before());
            }
        }
        return new Step(e.iteration(), e.atEpochEnd(), added);
    }

    @JsonProperty("steps")
    public List<Step> steps() {
        return steps;
    }

    @Override
    public Optional<GrowthProposal> propose(PlanningContext context) {
        long iteration = context.progress().iteration();
        boolean atEpochEnd = context.progress().atEpochEnd();
        Step step = null;
        if (context.forced()) {
            step = firstAfterLastEvent(context.past());
        } else {
            for (Step s : steps) {
                if (s.at(iteration, atEpochEnd)) {
                    step = s;
                    break;
                }
            }
            // A moment seen again (a resumed run repeating its last iteration) is not replayed twice.
            if (step != null && !context.past().isEmpty()) {
                GrowthEvent last = context.past().get(context.past().size() - 1);
                if (!step.after(last.iteration(), last.atEpochEnd())) {
                    step = null;
                }
            }
        }
        if (step == null) {
            return Optional.empty();
        }
        GrowthProposal.Builder b = GrowthProposal.builder();
        for (Map.Entry<String, Integer> e : step.added.entrySet()) {
            int width = context.width(e.getKey());
            long target = (long) width + e.getValue();
            if (target > context.maxWidth(e.getKey())) {
                throw new IllegalStateException("replay: step " + step + " takes layer '" + e.getKey() + "' from "
                        + width + " to " + target + " units, above its maxWidth " + context.maxWidth(e.getKey())
                        + "; replay with the caps of the recorded run");
            }
            b.widen(e.getKey(), width, Math.toIntExact(target));
        }
        return Optional.of(b.build());
    }

    private Step firstAfterLastEvent(List<GrowthEvent> past) {
        if (past.isEmpty()) {
            return steps.get(0);
        }
        GrowthEvent last = past.get(past.size() - 1);
        for (Step s : steps) {
            if (s.after(last.iteration(), last.atEpochEnd())) {
                return s;
            }
        }
        return null;
    }

    @Override
    public List<String> namedLayers() {
        Set<String> names = new LinkedHashSet<>();
        for (Step s : steps) {
            names.addAll(s.added.keySet());
        }
        return List.copyOf(names);
    }

    /** The first step, from the current widths: the controller checks it before training. */
    @Override
    public List<Map<String, Long>> firstGrowths(List<String> growable, ToIntFunction<String> width,
                                                ToIntFunction<String> maxWidth, Predicate<String> statisticSupports) {
        Map<String, Long> first = new LinkedHashMap<>();
        steps.get(0).added.forEach((layer, n) -> first.put(layer, (long) width.applyAsInt(layer) + n));
        return List.of(first);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ReplayPlanner && steps.equals(((ReplayPlanner) o).steps);
    }

    @Override
    public int hashCode() {
        return steps.hashCode();
    }

    @Override
    public String toString() {
        return "replay" + steps;
    }
}
