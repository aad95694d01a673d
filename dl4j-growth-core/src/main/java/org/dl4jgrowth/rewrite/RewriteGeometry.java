package org.dl4jgrowth.rewrite;

import org.nd4j.shade.guava.collect.ImmutableList;
import org.nd4j.shade.guava.collect.ImmutableMap;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The shape of a planned rewrite, before anything is built or initialised: per rewritten layer its
 * unit map, the axis of its weights that indexes units, the shape of the fresh units' fan-in block,
 * and, per consumer, the shape of their fan-out block; and the parameter count before and after.
 * Read-only geometry, no arrays: what a controller checks caps on and what signals are computed
 * for, without running any initialiser. Obtained from {@link NetworkRewrite#plan()}.
 */
public final class RewriteGeometry {

    /** One consumer of a rewritten layer: the layer whose inputs are remapped. */
    public static final class Consumer {
        private final String layer;
        private final int inputAxis;
        private final int block;
        private final long[] fanOutShape;

        Consumer(String layer, int inputAxis, int block, long[] fanOutShape) {
            this.layer = layer;
            this.inputAxis = inputAxis;
            this.block = block;
            this.fanOutShape = fanOutShape.clone();
        }

        public String layer() {
            return layer;
        }

        /** The axis of the consumer's weights that indexes its inputs. */
        public int inputAxis() {
            return inputAxis;
        }

        /** Consumer inputs per unit: 1, or height × width behind a flatten. */
        public int block() {
            return block;
        }

        /** Shape of the fresh units' fan-out block in this consumer's weights (k·block along the input axis). */
        public long[] fanOutShape() {
            return fanOutShape.clone();
        }

        /** Elements of one unit's fan-out into this consumer. */
        public long fanOutPerUnit() {
            long n = 1;
            for (int i = 0; i < fanOutShape.length; i++) {
                n *= i == inputAxis ? block : fanOutShape[i];
            }
            return n;
        }

        @Override
        public String toString() {
            return layer + Arrays.toString(fanOutShape);
        }
    }

    /** One rewritten layer. */
    public static final class Site {
        private final String layer;
        private final UnitMap map;
        private final int unitAxis;
        private final long[] fanInShape;
        private final List<Consumer> consumers;
        private final org.nd4j.linalg.activations.IActivation activation;

        Site(String layer, UnitMap map, int unitAxis, long[] fanInShape, List<Consumer> consumers,
             org.nd4j.linalg.activations.IActivation activation) {
            this.activation = activation;
            this.layer = layer;
            this.map = map;
            this.unitAxis = unitAxis;
            this.fanInShape = fanInShape.clone();
            this.consumers = ImmutableList.copyOf(consumers);
        }

        public String layer() {
            return layer;
        }

        public UnitMap unitMap() {
            return map;
        }

        /** The axis of the layer's weights that indexes its units. */
        public int unitAxis() {
            return unitAxis;
        }

        /** Shape of the fresh units' fan-in block (their count along the unit axis). */
        public long[] fanInShape() {
            return fanInShape.clone();
        }

        public List<Consumer> consumers() {
            return consumers;
        }

        /** The layer's activation function (null for a layer without one of its own). */
        public org.nd4j.linalg.activations.IActivation activation() {
            return activation;
        }

        @Override
        public String toString() {
            return layer + " " + map.oldWidth() + "->" + map.newWidth() + " fanIn" + Arrays.toString(fanInShape)
                    + " fanOut" + consumers;
        }
    }

    private final Map<String, Site> sites;
    private final long paramsBefore;
    private final long paramsAfter;

    RewriteGeometry(List<Site> sites, long paramsBefore, long paramsAfter) {
        Map<String, Site> m = new LinkedHashMap<>();
        for (Site s : sites) {
            m.put(s.layer, s);
        }
        this.sites = ImmutableMap.copyOf(m);
        this.paramsBefore = paramsBefore;
        this.paramsAfter = paramsAfter;
    }

    /** The rewritten layers, in the order their unit maps were given. */
    public List<Site> sites() {
        return ImmutableList.copyOf(sites.values());
    }

    /** The site of {@code layer}; refuses layers this rewrite does not change. */
    public Site site(String layer) {
        Site s = sites.get(layer);
        if (s == null) {
            throw new IllegalArgumentException("Layer '" + layer + "' is not rewritten here; rewritten: "
                    + sites.keySet());
        }
        return s;
    }

    /** Whether this rewrite changes {@code layer}. */
    public boolean rewrites(String layer) {
        return sites.containsKey(layer);
    }

    public long paramsBefore() {
        return paramsBefore;
    }

    public long paramsAfter() {
        return paramsAfter;
    }

    @Override
    public String toString() {
        return "RewriteGeometry" + sites.values() + ", params " + paramsBefore + "->" + paramsAfter;
    }
}
