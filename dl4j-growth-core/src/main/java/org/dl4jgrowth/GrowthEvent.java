package org.dl4jgrowth;

import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
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
        "paramsAfter", "scoreBefore", "rewriteMillis", "backend", "svdEngine", "notes"})
public final class GrowthEvent implements Serializable {
    private static final long serialVersionUID = 1L;

    /** One layer's width change within an event. */
    @JsonPropertyOrder({"layer", "before", "after"})
    public static final class LayerGrowth implements Serializable {
        private static final long serialVersionUID = 1L;
        private final String layer;
        private final int before;
        private final int after;

        @JsonCreator
        public LayerGrowth(@JsonProperty("layer") String layer, @JsonProperty("before") int before,
                           @JsonProperty("after") int after) {
            this.layer = Preconditions.checkNotNull(layer, "layer");
            this.before = before;
            this.after = after;
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
            return layer.equals(g.layer) && before == g.before && after == g.after;
        }

        @Override
        public int hashCode() {
            return Objects.hash(layer, before, after);
        }

        @Override
        public String toString() {
            return layer + " " + before + "->" + after;
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

    @JsonCreator
    public GrowthEvent(@JsonProperty("index") int index, @JsonProperty("iteration") long iteration,
                       @JsonProperty("epoch") int epoch, @JsonProperty("atEpochEnd") boolean atEpochEnd,
                       @JsonProperty("layers") List<LayerGrowth> layers,
                       @JsonProperty("initializer") UnitInitializer initializer,
                       @JsonProperty("paramsBefore") long paramsBefore, @JsonProperty("paramsAfter") long paramsAfter,
                       @JsonProperty("scoreBefore") double scoreBefore,
                       @JsonProperty("rewriteMillis") double rewriteMillis,
                       @JsonProperty("backend") String backend, @JsonProperty("svdEngine") String svdEngine,
                       @JsonProperty("notes") Map<String, Map<String, Object>> notes) {
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

    /** Wall time of building and swapping in the rewrite. */
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
     * The SVD engine the initialiser used (GradMax: "exact", "randomized", or a backend's own), from
     * the layers' {@code svdEngine} notes; distinct names joined with "," if layers differed.
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
                && Objects.equals(svdEngine, e.svdEngine) && notes.equals(e.notes);
    }

    @Override
    public int hashCode() {
        return Objects.hash(index, iteration, epoch, atEpochEnd, layers, initializer, paramsBefore, paramsAfter,
                scoreBefore, rewriteMillis, backend, svdEngine, notes);
    }

    @Override
    public String toString() {
        return String.format("growth #%d at iteration %d, epoch %d%s: %s, %s init, params %d -> %d, score before "
                        + "%.5f, rewrite %.1f ms", index, iteration, epoch, atEpochEnd ? " (end)" : "", layers,
                initializer, paramsBefore, paramsAfter, scoreBefore, rewriteMillis)
                + (backend == null ? "" : ", on " + backend) + (svdEngine == null ? "" : ", SVD " + svdEngine)
                + (notes.isEmpty() ? "" : ", " + notes);
    }
}
