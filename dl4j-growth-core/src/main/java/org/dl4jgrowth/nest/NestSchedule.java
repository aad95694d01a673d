package org.dl4jgrowth.nest;

import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.mask.ConnectionMasks;
import org.dl4jgrowth.plan.GrowthPlanner;
import org.dl4jgrowth.plan.GrowthProposal;
import org.dl4jgrowth.plan.PlanningContext;
import org.dl4jgrowth.when.GrowthTrigger;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.shade.guava.base.Preconditions;
import org.nd4j.shade.guava.collect.ImmutableList;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * NeST's grow-then-prune synthesis (Dai, Yin, Jha 2018, arXiv 1711.02017, Fig. 1) as one planner
 * driven from {@code fit()}: a <b>sparse seed</b> (hidden widths scaled by r, then a fraction of
 * each layer's connections kept active at random), a <b>grow phase</b> (connection growth by
 * gradient, neuron growth by the bridging gradient), and <b>prune phases</b> (magnitude pruning a
 * percentile per step with training between steps, each prune followed by the removal of the units
 * it left without input or output connections). Each phase is a window of iterations
 * [from, until) with an event every {@code every} iterations; the operations are
 * {@link NestPlanner}'s, so every event records, per layer, the connections and units added and
 * removed and the sparsity after ({@link NestDetails}).
 *
 * <p>The schedule keeps no state: what is due follows from the iteration and the events so far,
 * so a run restored from a checkpoint goes on exactly where it was. One event per iteration: an
 * operation due at an iteration taken by another (a dead-unit removal, or an overlapping phase)
 * comes one iteration later (with {@code every} 1 the phase's next moment takes its place); two
 * phases of the same operation must not overlap.
 *
 * <p>Where we depart from the paper: the paper's phases run to convergence and its seed is a
 * user-given sparse network; here phases are iteration windows (fixed budgets, so runs are
 * comparable), and the seed is derived from the network given (its first units kept, connections
 * kept uniformly at random). Unit removal keeps the function exactly (see
 * {@link NestPlanner.Builder#removeDeadUnits()}).
 */
public final class NestSchedule implements GrowthPlanner {
    private static final long serialVersionUID = 1L;

    /** One phase: an operation every {@code every} iterations in [from, until). */
    public static final class Phase implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
        private final long from;
        private final long until;
        private final long every;
        private final NestPlanner operation;
        private final Map<String, Double> densities;

        public Phase(long from, long until, long every, NestPlanner operation) {
            this(from, until, every, operation, null);
        }

        /**
         * @param densities for pruning to a density (then {@code operation} is null): each masked
         *                  layer's active fraction at the phase's last event, by layer name, "*" for
         *                  the others
         */
        @JsonCreator
        public Phase(@JsonProperty("from") long from, @JsonProperty("until") long until,
                     @JsonProperty("every") long every, @JsonProperty("operation") NestPlanner operation,
                     @JsonProperty("densities") Map<String, Double> densities) {
            Preconditions.checkArgument(from >= 0 && until > from, "nest schedule: a phase needs 0 <= from < until "
                    + "(got: from %s, until %s)", from, until);
            Preconditions.checkArgument(every >= 1, "nest schedule: a phase's every must be at least 1 (got: %s)",
                    every);
            this.from = from;
            this.until = until;
            this.every = every;
            Preconditions.checkArgument((operation == null) != (densities == null), "nest schedule: a phase has an "
                    + "operation or target densities (pruneTo), exactly one");
            if (densities != null) {
                Preconditions.checkArgument(!densities.isEmpty(), "nest schedule: pruneTo needs at least one density");
                densities.forEach((l, d) -> Preconditions.checkArgument(d != null && d > 0 && d <= 1, "nest schedule: "
                        + "pruneTo density for layer '%s' must be in (0, 1], the fraction of its connections left "
                        + "active (got: %s)", l, d));
            }
            this.operation = operation;
            this.densities = densities == null ? null : java.util.Collections.unmodifiableMap(
                    new LinkedHashMap<>(densities));
        }

        /** Pruning to a density: each layer's target active fraction ("*": every other layer), or null. */
        @JsonProperty("densities")
        @org.nd4j.shade.jackson.annotation.JsonInclude(org.nd4j.shade.jackson.annotation.JsonInclude.Include.NON_NULL)
        public Map<String, Double> densities() {
            return densities;
        }

        /** The target density of {@code layer} in a pruneTo phase, or null if it is not pruned. */
        Double density(String layer) {
            Double d = densities.get(layer);
            return d != null ? d : densities.get("*");
        }

        @JsonProperty("from")
        public long from() {
            return from;
        }

        @JsonProperty("until")
        public long until() {
            return until;
        }

        @JsonProperty("every")
        public long every() {
            return every;
        }

        @JsonProperty("operation")
        @org.nd4j.shade.jackson.annotation.JsonInclude(org.nd4j.shade.jackson.annotation.JsonInclude.Include.NON_NULL)
        public NestPlanner operation() {
            return operation;
        }

        /** The {@link NestDetails#operation()} of this phase's events. */
        public String kind() {
            return operation == null ? "prune" : kindOf(operation);
        }

        boolean overlaps(Phase o) {
            return from < o.until && o.from < until;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Phase && from == ((Phase) o).from && until == ((Phase) o).until
                    && every == ((Phase) o).every && Objects.equals(operation, ((Phase) o).operation)
                    && Objects.equals(densities, ((Phase) o).densities);
        }

        @Override
        public int hashCode() {
            return Objects.hash(from, until, every, operation, densities);
        }

        @Override
        public String toString() {
            return kind() + (densities == null ? "" : " to " + densities) + "[" + from + ", " + until + ") every "
                    + every;
        }
    }

    private final List<String> layers;
    private final double seedDensity;
    private final double seedWidthScale;
    private final long seedAt;
    private final boolean removeDeadUnits;
    private final List<Phase> phases;

    @JsonCreator
    public NestSchedule(@JsonProperty("layers") List<String> layers, @JsonProperty("seedDensity") double seedDensity,
                        @JsonProperty("seedWidthScale") double seedWidthScale, @JsonProperty("seedAt") long seedAt,
                        @JsonProperty("removeDeadUnits") boolean removeDeadUnits,
                        @JsonProperty("phases") List<Phase> phases) {
        this.layers = ImmutableList.copyOf(layers == null ? List.of() : layers);
        Preconditions.checkArgument(!this.layers.isEmpty(), "nest schedule: name the layers it masks with "
                + "layers(...), e.g. every dense layer and the output layer");
        Preconditions.checkArgument(seedDensity > 0 && seedDensity <= 1, "nest schedule: seed density must be in "
                + "(0, 1], the fraction of each layer's connections active at the seed (got: %s)", seedDensity);
        Preconditions.checkArgument(seedWidthScale > 0 && seedWidthScale <= 1, "nest schedule: seed width scale r "
                + "must be in (0, 1], the seed's fraction of each hidden layer's units (got: %s)", seedWidthScale);
        Preconditions.checkArgument(seedAt >= 0, "nest schedule: seedAt must be at least 0 (got: %s)", seedAt);
        this.seedDensity = seedDensity;
        this.seedWidthScale = seedWidthScale;
        this.seedAt = seedAt;
        this.removeDeadUnits = removeDeadUnits;
        this.phases = ImmutableList.copyOf(phases == null ? List.of() : phases);
        for (int i = 0; i < this.phases.size(); i++) {
            for (int j = i + 1; j < this.phases.size(); j++) {
                Phase a = this.phases.get(i);
                Phase b = this.phases.get(j);
                Preconditions.checkArgument(!a.kind().equals(b.kind()) || !a.overlaps(b), "nest schedule: phases %s "
                        + "and %s do the same operation in overlapping windows; give them disjoint windows", a, b);
            }
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    @JsonProperty("layers")
    public List<String> layers() {
        return layers;
    }

    @JsonProperty("seedDensity")
    public double seedDensity() {
        return seedDensity;
    }

    @JsonProperty("seedWidthScale")
    public double seedWidthScale() {
        return seedWidthScale;
    }

    @JsonProperty("seedAt")
    public long seedAt() {
        return seedAt;
    }

    @JsonProperty("removeDeadUnits")
    public boolean removeDeadUnits() {
        return removeDeadUnits;
    }

    @JsonProperty("phases")
    public List<Phase> phases() {
        return phases;
    }

    @Override
    public List<String> namedLayers() {
        List<String> out = new ArrayList<>();
        for (Phase p : phases) {
            for (String l : p.operation == null ? List.<String>of() : p.operation.namedLayers()) {
                if (!out.contains(l)) {
                    out.add(l);
                }
            }
        }
        return out;
    }

    @Override
    public Optional<GrowthProposal> propose(PlanningContext context) {
        if (context.progress().atEpochEnd()) {
            return Optional.empty();   // the schedule counts iterations: the epoch end repeats the last one
        }
        for (String l : layers) {
            if (!context.network().layerNames().contains(l)) {
                throw new IllegalArgumentException("nest schedule: layer '" + l + "' named in layers(...) does not "
                        + "exist; layers: " + context.network().layerNames());
            }
        }
        long i = context.progress().iteration();
        List<GrowthEvent> past = context.past();
        // The seed: widths at seedAt, connections then (or at the next iteration, after the widths).
        if (i == seedAt && seedWidthScale < 1 && !happened(past, "seedWidths")) {
            Optional<GrowthProposal> seed = seedWidths(context);
            if (seed.isPresent()) {
                return seed;
            }
        }
        if (i >= seedAt && i <= seedAt + 1 && seedDensity < 1 && !happened(past, "seed")) {
            Optional<GrowthProposal> seed = seedConnections(context);
            if (seed.isPresent()) {
                return seed;
            }
        }
        PlanningContext now = forced(context);
        if (removeDeadUnits && !past.isEmpty()) {
            GrowthEvent last = past.get(past.size() - 1);
            String kind = kind(last);
            // After prunes only: a unit the random seed left unconnected may still gain connections by growth.
            if ("prune".equals(kind) && last.iteration() == i - 1) {
                Optional<GrowthProposal> removal = NestPlanner.builder().when(GrowthTrigger.everyIterations(1))
                        .layers(layers.toArray(new String[0])).removeDeadUnits().build().propose(now);
                if (removal.isPresent()) {
                    return removal;
                }
            }
        }
        for (Phase p : phases) {
            if (i < p.from || i >= p.until) {
                continue;
            }
            long moment = p.from + (i - p.from) / p.every * p.every;
            if (i - moment > 1 || servedSince(past, p.kind(), moment)) {
                continue;
            }
            Optional<GrowthProposal> out = p.operation == null ? pruneTo(context, p, moment)
                    : p.operation.propose(now);
            if (out.isPresent()) {
                return out;
            }
        }
        return Optional.empty();
    }

    /** The same context, forced: the schedule has decided that now is the moment. */
    private static PlanningContext forced(PlanningContext c) {
        return new PlanningContext(c.network(), c.progress(), c.signals(), c.past(), c::maxWidth, c.maxParams(),
                c.random(), true, c.companions(), c::width);
    }

    /** Seed, first step: every growable layer among {@code layers} keeps its first ⌈r·width⌉ units. */
    private Optional<GrowthProposal> seedWidths(PlanningContext context) {
        Map<String, int[]> dropped = new LinkedHashMap<>();
        for (String l : layers) {
            if (!context.growableLayers().contains(l)) {
                continue;
            }
            int width = context.width(l);
            int keep = Math.max(1, (int) Math.ceil(seedWidthScale * width - 1e-9));
            if (keep < width) {   // r close to 1 may remove no unit
                dropped.put(l, java.util.stream.IntStream.range(keep, width).toArray());
            }
        }
        return NestPlanner.dropUnits(context, new ConnectionMasks(context.companions()), dropped, "seedWidths");
    }

    /**
     * Seed, second step: each of {@code layers} keeps ⌈density·n⌉ of its n connections active,
     * drawn uniformly (a partial Fisher–Yates shuffle seeded from the growth generator, so the seed
     * is reproducible), the others put to sleep at weight 0.
     */
    private Optional<GrowthProposal> seedConnections(PlanningContext context) {
        ConnectionMasks masks = new ConnectionMasks(context.companions());
        GrowthProposal.Builder b = GrowthProposal.builder();
        Map<String, NestDetails.Layer> record = new LinkedHashMap<>();
        SplittableRandom rng = new SplittableRandom(context.random().nextLong());
        for (String l : layers) {
            INDArray w = context.network().paramTable(l).get("W");
            int n = Math.toIntExact(w.length());
            int[] active;
            if (masks.has(l)) {
                double[] m = masks.get(l).dup('c').reshape(n).toDoubleVector();
                active = java.util.stream.IntStream.range(0, n).filter(k -> m[k] != 0.0).toArray();
            } else {
                active = java.util.stream.IntStream.range(0, n).toArray();
            }
            int keep = (int) Math.ceil(seedDensity * n - 1e-9);
            int sleep = active.length - keep;
            if (sleep <= 0) {
                continue;
            }
            // The first `sleep` entries after a partial shuffle are a uniform draw without replacement.
            for (int k = 0; k < sleep; k++) {
                int r = k + rng.nextInt(active.length - k);
                int t = active[k];
                active[k] = active[r];
                active[r] = t;
            }
            long[] pruned = new long[sleep];
            for (int k = 0; k < sleep; k++) {
                pruned[k] = active[k];
            }
            Arrays.sort(pruned);
            b.prune(l, pruned);
            record.put(l, new NestDetails.Layer(0, sleep, keep, n, seedDensity));
        }
        if (record.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(b.details(new NestDetails("seed", record)).build());
    }

    /**
     * One event of a pruneTo phase: each of the layers with a target keeps
     * ⌈n·d·(D/d)^(1/m)⌉ of its n connections, d its density now, D its target and m the phase's
     * events left (this one included), so that the densities fall geometrically and reach the
     * targets at the last event; the smallest (batch-norm-folded) magnitudes go.
     */
    private Optional<GrowthProposal> pruneTo(PlanningContext context, Phase p, long moment) {
        ConnectionMasks masks = new ConnectionMasks(context.companions());
        long remaining = (p.until - 1 - moment) / p.every + 1;
        GrowthProposal.Builder b = GrowthProposal.builder();
        Map<String, NestDetails.Layer> record = new LinkedHashMap<>();
        for (String l : layers) {
            Double target = p.density(l);
            if (target == null) {
                continue;
            }
            // An unmasked layer is fully connected: its first prune gives it a mask.
            INDArray w = context.network().paramTable(l).get("W");
            INDArray mask = masks.has(l) ? masks.get(l) : org.nd4j.linalg.factory.Nd4j.ones(w.dataType(), w.shape());
            long n = mask.length();
            long active = mask.sumNumber().longValue();
            double d = active / (double) n;
            if (d <= target) {
                continue;
            }
            long keep = remaining <= 1 ? (long) Math.ceil(n * target - 1e-9)
                    : (long) Math.ceil(n * d * Math.pow(target / d, 1.0 / remaining) - 1e-9);
            int k = (int) (active - Math.max(1, keep));
            if (k <= 0) {
                continue;
            }
            NestPlanner.Selection s = NestPlanner.smallestCount(NestPlanner.prunedMagnitudes(context.network(), l),
                    mask, k);
            b.prune(l, s.indices);
            record.put(l, new NestDetails.Layer(0, s.indices.length, active - s.indices.length, n, s.threshold));
        }
        if (record.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(b.details(new NestDetails("prune", record)).build());
    }

    private static boolean happened(List<GrowthEvent> past, String kind) {
        for (GrowthEvent e : past) {
            if (kind.equals(kind(e))) {
                return true;
            }
        }
        return false;
    }

    private static boolean servedSince(List<GrowthEvent> past, String kind, long moment) {
        for (int k = past.size() - 1; k >= 0 && past.get(k).iteration() >= moment; k--) {
            if (kind.equals(kind(past.get(k)))) {
                return true;
            }
        }
        return false;
    }

    private static String kind(GrowthEvent e) {
        return e.details() instanceof NestDetails ? ((NestDetails) e.details()).operation() : null;
    }

    static String kindOf(NestPlanner p) {
        return p.prunePercentile() > 0 ? "prune" : p.featureMaps() > 0 ? "featureMaps" : p.neurons() > 0 ? "neurons"
                : p.removeUnits() ? "removeUnits" : "connections";
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof NestSchedule)) {
            return false;
        }
        NestSchedule s = (NestSchedule) o;
        return layers.equals(s.layers) && Double.compare(seedDensity, s.seedDensity) == 0
                && Double.compare(seedWidthScale, s.seedWidthScale) == 0 && seedAt == s.seedAt
                && removeDeadUnits == s.removeDeadUnits && phases.equals(s.phases);
    }

    @Override
    public int hashCode() {
        return Objects.hash(layers, seedDensity, seedWidthScale, seedAt, removeDeadUnits, phases);
    }

    @Override
    public String toString() {
        return "nestSchedule{layers=" + layers + ", seed density " + seedDensity + ", widths x" + seedWidthScale
                + " at " + seedAt + (removeDeadUnits ? ", dead units removed" : "") + ", phases=" + phases + "}";
    }

    /**
     * DL4J-style builder:
     * <pre>{@code
     * NestSchedule.builder().layers("h1", "h2", "out").seed(0.1, 0.5)
     *     .growConnections(0, 2000, 200, 90).growNeurons(0, 2000, 250, 10, "h1", "h2")
     *     .prune(3000, 6000, 300, 20).build();
     * }</pre>
     */
    public static final class Builder {
        private List<String> layers = List.of();
        private double seedDensity = 1;
        private double seedWidthScale = 1;
        private long seedAt;
        private boolean removeDeadUnits = true;
        private final List<Phase> phases = new ArrayList<>();

        private Builder() {
        }

        /** The layers masked, grown and pruned (dense, output or 2-D convolution layers). Required. */
        public Builder layers(String... names) {
            this.layers = List.of(names);
            return this;
        }

        /**
         * The sparse seed: each growable layer among {@link #layers} keeps its first ⌈r·width⌉ units
         * ({@code widthScale} r in (0, 1]), then each layer keeps ⌈density·n⌉ of its n connections,
         * drawn at random (default: 1 and 1, the network as given).
         */
        public Builder seed(double density, double widthScale) {
            this.seedDensity = density;
            this.seedWidthScale = widthScale;
            return this;
        }

        /** The iteration at which the seed is taken (default 0, the first). */
        public Builder seedAt(long iteration) {
            this.seedAt = iteration;
            return this;
        }

        /** Whether each prune is followed by the removal of the units it left dead (default true). */
        public Builder removeDeadUnits(boolean remove) {
            this.removeDeadUnits = remove;
            return this;
        }

        /**
         * Connection growth every {@code every} iterations in [from, until): each masked layer wakes the
         * top (100 − percentile)% of its dormant connections by gradient.
         */
        public Builder growConnections(long from, long until, long every, double percentile) {
            return phase(from, until, every, op().growConnections(percentile).build());
        }

        /** Neuron growth every {@code every} iterations in [from, until): {@code count} neurons, the named layers in turn. */
        public Builder growNeurons(long from, long until, long every, int count, String... dense) {
            return phase(from, until, every, op().growNeurons(count).layers(dense).build());
        }

        /**
         * Magnitude pruning every {@code every} iterations in [from, until): {@code percentile}% of each
         * masked layer's active connections, the smallest (batch-norm-folded) magnitudes.
         */
        public Builder prune(long from, long until, long every, double percentile) {
            return phase(from, until, every, op().pruneConnections(percentile).build());
        }

        /**
         * Magnitude pruning to target densities every {@code every} iterations in [from, until): at
         * each event each masked layer keeps a geometric step of the way from its density to
         * {@code density}, reaching it at the phase's last event (Han et al. 2015's iterative
         * pruning with retraining between steps).
         */
        public Builder pruneTo(long from, long until, long every, double density) {
            return pruneTo(from, until, every, Map.of("*", density));
        }

        /** {@link #pruneTo(long, long, long, double)} with a density per layer ("*": the others). */
        public Builder pruneTo(long from, long until, long every, Map<String, Double> densities) {
            phases.add(new Phase(from, until, every, null, densities));
            return this;
        }

        /** Any other NeST operation as a phase. */
        public Builder phase(long from, long until, long every, NestPlanner operation) {
            phases.add(new Phase(from, until, every, operation));
            return this;
        }

        private static NestPlanner.Builder op() {
            return NestPlanner.builder().when(GrowthTrigger.everyIterations(1));
        }

        public NestSchedule build() {
            return new NestSchedule(layers, seedDensity, seedWidthScale, seedAt, removeDeadUnits, phases);
        }
    }
}
