package org.dl4jgrowth.rewrite;

import org.nd4j.shade.guava.collect.ImmutableList;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.dl4jgrowth.how.UnitInitializer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Checks a set of unit maps against a network's wiring and applies the width changes to a
 * <em>cloned</em> configuration: the grown layer's nOut, the nIn of its consumers, the width of
 * batch normalisation on the way and the channel count of a flattening preprocessor. Records, per
 * layer, which parameter axes the rewriter must remap.
 */
final class RewritePlan {

    /** A grown layer. */
    static final class Site {
        final String layer;
        final LayerKind kind;
        final UnitMap map;
        final UnitInitializer initializer;
        final List<Edge> consumers = new ArrayList<>();

        Site(String layer, LayerKind kind, UnitMap map, UnitInitializer initializer) {
            this.layer = layer;
            this.kind = kind;
            this.map = map;
            this.initializer = initializer;
        }
    }

    /** A consumer of a grown layer, seeing its units through {@code map} (expanded by a flatten). */
    static final class Edge {
        final Site site;
        final String consumer;
        final LayerKind kind;
        final UnitMap map;
        final int block;

        Edge(Site site, String consumer, LayerKind kind, UnitMap map, int block) {
            this.site = site;
            this.consumer = consumer;
            this.kind = kind;
            this.map = map;
            this.block = block;
        }
    }

    private final Map<String, Site> sites = new LinkedHashMap<>();
    /** Per layer: the map over its own units (grown layers and batch normalisation on a path). */
    private final Map<String, UnitMap> unitMaps = new LinkedHashMap<>();
    /** Per layer: the consumer edge that remaps its input axis. */
    private final Map<String, Edge> inputEdges = new LinkedHashMap<>();
    /** Batch normalisation layers carried along, and the site whose units they normalise. */
    private final Map<String, Site> batchNorms = new LinkedHashMap<>();

    private RewritePlan() {
    }

    static RewritePlan plan(Topology topology, Map<String, UnitMap> maps, Map<String, UnitInitializer> inits) {
        if (!topology.nonSgdLayers().isEmpty()) {
            throw new IllegalArgumentException("Only stochastic-gradient-descent training can follow a width change; "
                    + "line-search optimisers keep arrays of the old size: " + topology.nonSgdLayers());
        }
        RewritePlan plan = new RewritePlan();
        for (Map.Entry<String, UnitMap> e : maps.entrySet()) {
            plan.addSite(topology, e.getKey(), e.getValue(), inits.get(e.getKey()));
        }
        return plan;
    }

    private void addSite(Topology t, String name, UnitMap map, UnitInitializer init) {
        Layer layer = t.requireLayer(name);
        LayerKind kind = LayerKind.of(layer);
        if (kind == null || !kind.growable()) {
            throw new IllegalArgumentException("Layer '" + name + "' (" + layer.getClass().getSimpleName()
                    + ") cannot be grown: growable layers are " + LayerKind.GROWABLE_LIST);
        }
        String bad = kind.unsupportedSetting(layer);
        if (bad != null) {
            throw new IllegalArgumentException("Layer '" + name + "' (" + layer.getClass().getSimpleName()
                    + ") cannot be grown: " + bad + ". Growable layers are " + LayerKind.GROWABLE_LIST);
        }
        FeedForwardLayer ff = (FeedForwardLayer) layer;
        if (ff.getNOut() != map.oldWidth()) {
            throw new IllegalArgumentException("The unit map for layer '" + name + "' starts from " + map.oldWidth()
                    + " units, but the layer has nOut=" + ff.getNOut());
        }
        if (t.isOutput(name)) {
            throw new IllegalArgumentException("Layer '" + name + "' is a network output: changing its width would "
                    + "change the shape of the network's output");
        }
        if (map.freshCount() > 0 && init == null) {
            throw new IllegalArgumentException("Layer '" + name + "' gets " + map.freshCount()
                    + " fresh units but no initialiser was given for it");
        }
        Site site = new Site(name, kind, map, init);
        sites.put(name, site);
        unitMaps.put(name, map);
        ff.setNOut(map.newWidth());
        boolean spatial = kind == LayerKind.CONVOLUTION;
        walk(t, site, name, map, spatial, 1);
    }

    /** Follows the grown layer's output through pass-through layers to the layers that consume it. */
    private void walk(Topology t, Site site, String from, UnitMap map, boolean spatial, int block) {
        List<String> next = t.consumers(from);
        if (t.isOutput(from) && !from.equals(site.layer)) {
            throw refusal(site, from, t, "it is a network output, so the output's shape would change");
        }
        for (String v : next) {
            Layer layer = t.layer(v);
            if (layer == null) {
                throw refusal(site, v, t, "it is not a layer");
            }
            UnitMap m = map;
            boolean sp = spatial;
            int blk = block;
            InputPreProcessor pre = t.preprocessor(v);
            if (pre != null) {
                if (pre.getClass() != CnnToFeedForwardPreProcessor.class || !sp) {
                    throw refusal(site, v, t, "its input preprocessor " + pre.getClass().getSimpleName()
                            + " is not supported");
                }
                CnnToFeedForwardPreProcessor flat = (CnnToFeedForwardPreProcessor) pre;
                if (flat.getFormat() != null && flat.getFormat() != CNN2DFormat.NCHW) {
                    throw refusal(site, v, t, "its CnnToFeedForwardPreProcessor flattens " + flat.getFormat()
                            + " (only NCHW)");
                }
                if (flat.getNumChannels() != map.oldWidth()) {
                    throw refusal(site, v, t, "its CnnToFeedForwardPreProcessor expects " + flat.getNumChannels()
                            + " channels, not " + map.oldWidth());
                }
                int hw = Math.toIntExact(flat.getInputHeight() * flat.getInputWidth());
                flat.setNumChannels(map.newWidth());
                m = map.expand(hw);
                blk = block * hw;
                sp = false;
            }
            if (layer instanceof LossLayer) {
                throw refusal(site, v, t, "a LossLayer has no weights to absorb new units: its input is the "
                        + "network's output, whose width would change");
            }
            LayerKind kind = LayerKind.of(layer);
            if (kind == null || !(kind.passThrough() || kind.consumer())) {
                throw refusal(site, v, t, "this layer class is not supported there");
            }
            String bad = kind.unsupportedSetting(layer);
            if (bad != null) {
                throw refusal(site, v, t, bad);
            }
            if (kind.spatialOnly() && !sp) {
                throw refusal(site, v, t, "it expects 4D (CNN) input but receives flattened activations");
            }
            if (kind.consumer()) {
                if (kind != LayerKind.CONVOLUTION && sp) {
                    throw refusal(site, v, t, "it receives 4D activations without a CnnToFeedForwardPreProcessor");
                }
                if (inputEdges.containsKey(v)) {
                    throw refusal(site, v, t, "it is reached from two grown layers");
                }
                FeedForwardLayer ff = (FeedForwardLayer) layer;
                if (ff.getNIn() != m.oldWidth()) {
                    throw refusal(site, v, t, "its nIn is " + ff.getNIn() + ", expected " + m.oldWidth());
                }
                ff.setNIn(m.newWidth());
                Edge edge = new Edge(site, v, kind, m, blk);
                site.consumers.add(edge);
                inputEdges.put(v, edge);
                continue;
            }
            // pass-through
            if (kind == LayerKind.BATCH_NORM) {
                if (unitMaps.containsKey(v)) {
                    throw refusal(site, v, t, "it is reached from two grown layers");
                }
                BatchNormalization bn = (BatchNormalization) layer;
                if (bn.getNOut() != m.oldWidth()) {
                    throw refusal(site, v, t, "its width is " + bn.getNOut() + ", expected " + m.oldWidth());
                }
                bn.setNIn(m.newWidth());
                bn.setNOut(m.newWidth());
                unitMaps.put(v, m);
                batchNorms.put(v, site);
            } else if (layer instanceof FeedForwardLayer) {
                // DropoutLayer records the width it saw when the input type was set; keep it truthful.
                FeedForwardLayer ff = (FeedForwardLayer) layer;
                if (ff.getNIn() == m.oldWidth()) {
                    ff.setNIn(m.newWidth());
                }
                if (ff.getNOut() == m.oldWidth()) {
                    ff.setNOut(m.newWidth());
                }
            }
            if (kind == LayerKind.GLOBAL_POOLING) {
                sp = false;
            }
            walk(t, site, v, m, sp, blk);
        }
        if (next.isEmpty() && !t.isOutput(from)) {
            throw refusal(site, from, t, "nothing consumes its output");
        }
    }

    private static IllegalArgumentException refusal(Site site, String vertex, Topology t, String why) {
        return new IllegalArgumentException("Cannot grow layer '" + site.layer + "': its output reaches '" + vertex
                + "' (" + t.vertexClass(vertex) + "), and " + why + ". Supported between a grown layer and its "
                + "consumers: " + LayerKind.PATH_LIST + "; consumers: " + LayerKind.CONSUMER_LIST);
    }

    List<Site> sites() {
        return ImmutableList.copyOf(sites.values());
    }

    /** The map over the layer's own units, or null. */
    UnitMap unitMap(String layer) {
        return unitMaps.get(layer);
    }

    /** The edge remapping the layer's inputs, or null. */
    Edge inputEdge(String layer) {
        return inputEdges.get(layer);
    }

    boolean isBatchNorm(String layer) {
        return batchNorms.containsKey(layer);
    }

    /** True when the layer's parameters change shape or content. */
    boolean touches(String layer) {
        return unitMaps.containsKey(layer) || inputEdges.containsKey(layer);
    }
}
