package org.dl4jgrowth;

import org.nd4j.shade.guava.base.Preconditions;
import org.nd4j.shade.guava.collect.ImmutableList;
import org.dl4jgrowth.how.UnitInitializer;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;
import org.nd4j.shade.jackson.annotation.JsonPropertyOrder;

import java.io.Serializable;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One growth of a network, as it happened: when (iteration, epoch), where (each layer's width
 * before and after), how (the initialiser with its settings), and what it cost (parameters before
 * and after, the loss just before, the rewrite's wall time), and on what (the ND4J backend and device,
 * and the SVD engine if the initialiser used one, because a GPU run and a CPU run of the same policy
 * differ in time and, with the randomized engine, in the new units). Immutable; the history of these
 * events answers "how did this network get this shape?" on its own.
 */
@JsonPropertyOrder({"index", "iteration", "epoch", "atEpochEnd", "layers", "initializer", "paramsBefore",
        "paramsAfter", "scoreBefore", "rewriteMillis", "backend", "svdEngine", "notes", "signalMillis", "signalPasses",
        "signalExamples", "details"})
public final class GrowthEvent implements Serializable {
    private static final long serialVersionUID = 1L;

    /** One layer's width change within an event. */
    @JsonPropertyOrder({"layer", "before", "after", "kept", "copied", "fresh", "dropped", "initializer"})
    public static final class LayerGrowth implements Serializable {
        private static final long serialVersionUID = 1L;
        private final String layer;
        private final int before;
        private final int after;
        private final int kept;
        private final int copied;
        private final int fresh;
        private final int dropped;
        /** The initialiser of this layer's fresh units when a planner chose one other than the event's. */
        @org.nd4j.shade.jackson.annotation.JsonInclude(org.nd4j.shade.jackson.annotation.JsonInclude.Include.NON_NULL)
        private final UnitInitializer initializer;

        /** A pure widening: every old unit kept, {@code after - before} fresh ones. */
        public LayerGrowth(String layer, int before, int after) {
            this(layer, before, after, before, 0, after - before, 0);
        }

        public LayerGrowth(String layer, int before, int after, int kept, int copied, int fresh, int dropped) {
            this(layer, before, after, kept, copied, fresh, dropped, null);
        }

        private LayerGrowth(String layer, int before, int after, int kept, int copied, int fresh, int dropped,
                            UnitInitializer initializer) {
            this.initializer = initializer;
            this.layer = Preconditions.checkNotNull(layer, "layer");
            Preconditions.checkArgument(kept + copied + fresh == after && kept + dropped == before,
                    "layer '%s': kept %s + copied %s + fresh %s must be the new width %s, kept + dropped %s the old "
                            + "width %s", layer, kept, copied, fresh, after, dropped, before);
            this.before = before;
            this.after = after;
            this.kept = kept;
            this.copied = copied;
            this.fresh = fresh;
            this.dropped = dropped;
        }

        /** Histories written before the unit counts were recorded describe pure widenings. */
        @JsonCreator
        static LayerGrowth fromJson(@JsonProperty("layer") String layer, @JsonProperty("before") int before,
                                    @JsonProperty("after") int after, @JsonProperty("kept") Integer kept,
                                    @JsonProperty("copied") Integer copied, @JsonProperty("fresh") Integer fresh,
                                    @JsonProperty("dropped") Integer dropped,
                                    @JsonProperty("initializer") UnitInitializer initializer) {
            if (kept == null && copied == null && fresh == null && dropped == null) {
                return new LayerGrowth(layer, before, after);
            }
            Preconditions.checkArgument(kept != null && copied != null && fresh != null && dropped != null,
                    "layer '%s': give all of kept, copied, fresh and dropped, or none (got: %s, %s, %s, %s)", layer,
                    kept, copied, fresh, dropped);
            return new LayerGrowth(layer, before, after, kept, copied, fresh, dropped, initializer);
        }

        /** The same counts, with the initialiser a planner chose for this layer (null: the event's). */
        public LayerGrowth withInitializer(UnitInitializer init) {
            return new LayerGrowth(layer, before, after, kept, copied, fresh, dropped, init);
        }

        /** The initialiser of this layer's fresh units when it is not the event's {@link GrowthEvent#initializer()}. */
        @JsonProperty("initializer")
        public UnitInitializer initializer() {
            return initializer;
        }

        /** The counts of a unit map: old units kept, extra copies (split halves), fresh and dropped units. */
        public static LayerGrowth of(String layer, org.dl4jgrowth.rewrite.UnitMap map) {
            int[] sources = map.sources();
            java.util.BitSet seen = new java.util.BitSet(map.oldWidth());
            int copies = 0;
            for (int src : sources) {
                if (src == org.dl4jgrowth.rewrite.UnitMap.FRESH) {
                    continue;
                }
                if (seen.get(src)) {
                    copies++;
                }
                seen.set(src);
            }
            int kept = seen.cardinality();
            return new LayerGrowth(layer, map.oldWidth(), map.newWidth(), kept, copies, map.freshCount(),
                    map.oldWidth() - kept);
        }

        /** Old units that carry on (each counted once). */
        @JsonProperty("kept")
        public int kept() {
            return kept;
        }

        /** Extra copies of old units (the second half of each split). */
        @JsonProperty("copied")
        public int copied() {
            return copied;
        }

        /** New units, set by the initialiser. */
        @JsonProperty("fresh")
        public int fresh() {
            return fresh;
        }

        /** Old units removed. */
        @JsonProperty("dropped")
        public int dropped() {
            return dropped;
        }

        @JsonProperty("layer")
        public String layer() {
            return layer;
        }

        @JsonProperty("before")
        public int before() {
            return before;
        }

        @JsonProperty("after")
        public int after() {
            return after;
        }

        @Override
        public boolean equals(Object o) {
            if (!(o instanceof LayerGrowth)) {
                return false;
            }
            LayerGrowth g = (LayerGrowth) o;
            return layer.equals(g.layer) && before == g.before && after == g.after && kept == g.kept
                    && copied == g.copied && fresh == g.fresh && dropped == g.dropped
                    && Objects.equals(initializer, g.initializer);
        }

        @Override
        public int hashCode() {
            return Objects.hash(layer, before, after, kept, copied, fresh, dropped, initializer);
        }

        @Override
        public String toString() {
            boolean widening = kept == before && copied == 0 && dropped == 0;
            return layer + " " + before + "->" + after + (widening ? "" : " (kept " + kept + ", copied " + copied
                    + ", fresh " + fresh + ", dropped " + dropped + ")") + (initializer == null ? "" : " " + initializer);
        }
    }

    private final int index;
    private final long iteration;
    private final int epoch;
    private final boolean atEpochEnd;
    private final List<LayerGrowth> layers;
    private final UnitInitializer initializer;
    private final long paramsBefore;
    private final long paramsAfter;
    private final double scoreBefore;
    private final double rewriteMillis;
    private final String backend;
    private final String svdEngine;
    private final Map<String, Map<String, Object>> notes;
    private final double signalMillis;
    private final long signalPasses;
    private final long signalExamples;
    private final GrowthDetails details;

    /** An event without signal costs or method details (as histories written before them read). */
    public GrowthEvent(int index, long iteration, int epoch, boolean atEpochEnd, List<LayerGrowth> layers,
                       UnitInitializer initializer, long paramsBefore, long paramsAfter, double scoreBefore,
                       double rewriteMillis, String backend, String svdEngine, Map<String, Map<String, Object>> notes) {
        this(index, iteration, epoch, atEpochEnd, layers, initializer, paramsBefore, paramsAfter, scoreBefore,
                rewriteMillis, backend, svdEngine, notes, 0.0, 0L, 0L, null);
    }

    /**
     * @param signalMillis   wall time of the signals computed for this event (statistics and their SVDs
     *                       for triggers, selectors and initialisers), apart from the rewrite's
     * @param signalPasses   forward and backward passes over a minibatch those signals cost
     * @param signalExamples examples those passes covered
     * @param details        the method's own record of the event, or null
     */
    @JsonCreator
    public GrowthEvent(@JsonProperty("index") int index, @JsonProperty("iteration") long iteration,
                       @JsonProperty("epoch") int epoch, @JsonProperty("atEpochEnd") boolean atEpochEnd,
                       @JsonProperty("layers") List<LayerGrowth> layers,
                       @JsonProperty("initializer") UnitInitializer initializer,
                       @JsonProperty("paramsBefore") long paramsBefore, @JsonProperty("paramsAfter") long paramsAfter,
                       @JsonProperty("scoreBefore") double scoreBefore,
                       @JsonProperty("rewriteMillis") double rewriteMillis,
                       @JsonProperty("backend") String backend, @JsonProperty("svdEngine") String svdEngine,
                       @JsonProperty("notes") Map<String, Map<String, Object>> notes,
                       @JsonProperty("signalMillis") double signalMillis,
                       @JsonProperty("signalPasses") long signalPasses,
                       @JsonProperty("signalExamples") long signalExamples,
                       @JsonProperty("details") GrowthDetails details) {
        this.index = index;
        this.iteration = iteration;
        this.epoch = epoch;
        this.atEpochEnd = atEpochEnd;
        this.layers = ImmutableList.copyOf(Preconditions.checkNotNull(layers, "layers"));
        this.initializer = Preconditions.checkNotNull(initializer, "initializer");
        this.paramsBefore = paramsBefore;
        this.paramsAfter = paramsAfter;
        this.scoreBefore = scoreBefore;
        this.rewriteMillis = rewriteMillis;
        this.backend = backend;
        this.svdEngine = svdEngine;
        Map<String, Map<String, Object>> n = new LinkedHashMap<>();
        if (notes != null) {
            notes.forEach((k, v) -> n.put(k, Collections.unmodifiableMap(new LinkedHashMap<>(v))));
        }
        this.notes = Collections.unmodifiableMap(n);
        this.signalMillis = signalMillis;
        this.signalPasses = signalPasses;
        this.signalExamples = signalExamples;
        this.details = details;
    }

    /** Wall time of the signals computed for this event, apart from the rewrite; 0 when none was asked for. */
    @JsonProperty("signalMillis")
    public double signalMillis() {
        return signalMillis;
    }

    /** Forward and backward passes over a minibatch that the signals cost. */
    @JsonProperty("signalPasses")
    public long signalPasses() {
        return signalPasses;
    }

    /** Examples covered by those passes. */
    @JsonProperty("signalExamples")
    public long signalExamples() {
        return signalExamples;
    }

    /** The growth method's own record of this event (a planner's), or null. */
    @JsonProperty("details")
    @org.nd4j.shade.jackson.annotation.JsonInclude(org.nd4j.shade.jackson.annotation.JsonInclude.Include.NON_NULL)
    public GrowthDetails details() {
        return details;
    }

    /** The same event with its wall times set to zero: what two runs of one policy on one machine share. */
    public GrowthEvent withoutTimings() {
        return new GrowthEvent(index, iteration, epoch, atEpochEnd, layers, initializer, paramsBefore, paramsAfter,
                scoreBefore, 0.0, backend, svdEngine, notes, 0.0, signalPasses, signalExamples, details);
    }

    /** 0 for the network's first growth, then 1, 2, ... */
    @JsonProperty("index")
    public int index() {
        return index;
    }

    @JsonProperty("iteration")
    public long iteration() {
        return iteration;
    }

    /** The epoch during (or, if {@link #atEpochEnd()}, at the end of) which the network grew; 0-based. */
    @JsonProperty("epoch")
    public int epoch() {
        return epoch;
    }

    @JsonProperty("atEpochEnd")
    public boolean atEpochEnd() {
        return atEpochEnd;
    }

    @JsonProperty("layers")
    public List<LayerGrowth> layers() {
        return layers;
    }

    @JsonProperty("initializer")
    public UnitInitializer initializer() {
        return initializer;
    }

    @JsonProperty("paramsBefore")
    public long paramsBefore() {
        return paramsBefore;
    }

    @JsonProperty("paramsAfter")
    public long paramsAfter() {
        return paramsAfter;
    }

    /** The network's score (loss of the last minibatch) just before growing; NaN if none yet. */
    @JsonProperty("scoreBefore")
    public double scoreBefore() {
        return scoreBefore;
    }

    /** Wall time of building (initialisers included) and swapping in the rewrite; signals not included. */
    @JsonProperty("rewriteMillis")
    public double rewriteMillis() {
        return rewriteMillis;
    }

    /**
     * Where the growth ran: {@link DeviceReport#shortName()} of the growing thread, e.g. "CPU" or
     * "CUDA:0". {@code null} in histories written before events recorded it.
     */
    @JsonProperty("backend")
    public String backend() {
        return backend;
    }

    /**
     * The SVD engine the initialiser used (GradMax: "exact", "randomized", or a backend's own), as
     * it recorded it ({@code NewUnits.svdEngineUsed}); distinct names joined with "," if layers differed.
     * {@code null} if no SVD was computed (random, zeros, function-preserving initialisers) and in
     * histories written before events recorded it.
     */
    @JsonProperty("svdEngine")
    public String svdEngine() {
        return svdEngine;
    }

    /**
     * What the initialiser noted per layer: for GradMax the top singular values of the gradient
     * statistic and any fallback taken. Empty for initialisers that note nothing.
     */
    @JsonProperty("notes")
    public Map<String, Map<String, Object>> notes() {
        return notes;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof GrowthEvent)) {
            return false;
        }
        GrowthEvent e = (GrowthEvent) o;
        return index == e.index && iteration == e.iteration && epoch == e.epoch && atEpochEnd == e.atEpochEnd
                && layers.equals(e.layers) && initializer.equals(e.initializer) && paramsBefore == e.paramsBefore
                && paramsAfter == e.paramsAfter && Double.compare(scoreBefore, e.scoreBefore) == 0
                && Double.compare(rewriteMillis, e.rewriteMillis) == 0 && Objects.equals(backend, e.backend)
                && Objects.equals(svdEngine, e.svdEngine) && notes.equals(e.notes)
                && Double.compare(signalMillis, e.signalMillis) == 0 && signalPasses == e.signalPasses
                && signalExamples == e.signalExamples && Objects.equals(details, e.details);
    }

    @Override
    public int hashCode() {
        return Objects.hash(index, iteration, epoch, atEpochEnd, layers, initializer, paramsBefore, paramsAfter,
                scoreBefore, rewriteMillis, backend, svdEngine, notes, signalMillis, signalPasses, signalExamples,
                details);
    }

    @Override
    public String toString() {
        return String.format("growth #%d at iteration %d, epoch %d%s: %s, %s init, params %d -> %d, score before "
                        + "%.5f, %srewrite %.1f ms", index, iteration, epoch, atEpochEnd ? " (end)" : "", layers,
                initializer, paramsBefore, paramsAfter, scoreBefore,
                signalPasses == 0 ? "" : String.format("signals %.1f ms (%d passes), ", signalMillis, signalPasses),
                rewriteMillis)
                + (backend == null ? "" : ", on " + backend) + (svdEngine == null ? "" : ", SVD " + svdEngine)
                + (notes.isEmpty() ? "" : ", " + notes) + (details == null ? "" : ", " + details);
    }
}
