package org.dl4jgrowth.rewrite;

import org.nd4j.shade.guava.collect.ImmutableMap;

import java.util.LinkedHashMap;
import java.util.Map;

/** What a completed rewrite changed. Immutable. */
public final class RewriteResult {
    /** One layer's width change. */
    public static final class LayerChange {
        private final int oldWidth;
        private final int newWidth;
        private final int freshUnits;

        LayerChange(int oldWidth, int newWidth, int freshUnits) {
            this.oldWidth = oldWidth;
            this.newWidth = newWidth;
            this.freshUnits = freshUnits;
        }

        public int oldWidth() {
            return oldWidth;
        }

        public int newWidth() {
            return newWidth;
        }

        public int freshUnits() {
            return freshUnits;
        }

        @Override
        public String toString() {
            return oldWidth + "->" + newWidth + (freshUnits > 0 ? " (" + freshUnits + " fresh)" : "");
        }
    }

    private final Map<String, LayerChange> layers;
    private final Map<String, Map<String, Object>> notes;
    private final Map<String, String> svdEngines;
    private final long paramsBefore;
    private final long paramsAfter;
    private final long nanos;

    RewriteResult(Map<String, int[]> widths, Map<String, Map<String, Object>> notes, Map<String, String> svdEngines,
                  long paramsBefore, long paramsAfter, long nanos) {
        this.svdEngines = ImmutableMap.copyOf(svdEngines);
        Map<String, LayerChange> m = new LinkedHashMap<>();
        widths.forEach((k, v) -> m.put(k, new LayerChange(v[0], v[1], v[2])));
        this.layers = ImmutableMap.copyOf(m);
        Map<String, Map<String, Object>> n = new LinkedHashMap<>();
        notes.forEach((k, v) -> n.put(k, ImmutableMap.copyOf(v)));
        this.notes = ImmutableMap.copyOf(n);
        this.paramsBefore = paramsBefore;
        this.paramsAfter = paramsAfter;
        this.nanos = nanos;
    }

    /** Per rewritten layer, in the order given. */
    public Map<String, LayerChange> layers() {
        return layers;
    }

    /** What the initialisers noted per layer (see {@code NewUnits.note}); empty for most initialisers. */
    public Map<String, Map<String, Object>> notes() {
        return notes;
    }

    /** Per layer whose initialiser computed an SVD, the engine it used ({@code NewUnits.svdEngineUsed}). */
    public Map<String, String> svdEngines() {
        return svdEngines;
    }

    public long paramsBefore() {
        return paramsBefore;
    }

    public long paramsAfter() {
        return paramsAfter;
    }

    /** Wall time of preparing and swapping. */
    public long nanos() {
        return nanos;
    }

    @Override
    public String toString() {
        return "RewriteResult" + layers + ", params " + paramsBefore + "->" + paramsAfter;
    }
}
