package org.dl4jgrowth.rewrite;

import org.nd4j.shade.guava.collect.ImmutableList;
import org.deeplearning4j.nn.api.OptimizationAlgorithm;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.Layer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The wiring of a network configuration, the same for both DL4J network types: which vertex feeds
 * which, the layer configuration and input preprocessor of each, and which vertices are outputs.
 * A {@code MultiLayerNetwork} is a chain named by its layers' names.
 */
final class Topology {
    private final Map<String, Layer> layers = new LinkedHashMap<>();
    private final Map<String, String> vertexClasses = new LinkedHashMap<>();
    private final Map<String, InputPreProcessor> preprocessors = new LinkedHashMap<>();
    private final Map<String, List<String>> consumers = new LinkedHashMap<>();
    private final List<String> outputs = new ArrayList<>();
    private final List<String> nonSgdLayers = new ArrayList<>();

    static Topology of(MultiLayerConfiguration conf) {
        Topology t = new Topology();
        List<NeuralNetConfiguration> confs = conf.getConfs();
        String previous = null;
        for (int i = 0; i < confs.size(); i++) {
            Layer layer = confs.get(i).getLayer();
            String name = layer.getLayerName() != null ? layer.getLayerName() : String.valueOf(i);
            if (t.layers.containsKey(name)) {
                throw new IllegalArgumentException("Layer name '" + name + "' is used by two layers (index " + i
                        + " and an earlier one): name the layers uniquely to grow them");
            }
            t.addLayer(name, layer, conf.getInputPreProcess(i), confs.get(i));
            if (previous != null) {
                t.consumers.get(previous).add(name);
            }
            previous = name;
        }
        t.outputs.add(previous);
        return t;
    }

    static Topology of(ComputationGraphConfiguration conf) {
        Topology t = new Topology();
        for (Map.Entry<String, GraphVertex> e : conf.getVertices().entrySet()) {
            String name = e.getKey();
            GraphVertex v = e.getValue();
            if (v instanceof LayerVertex) {
                LayerVertex lv = (LayerVertex) v;
                t.addLayer(name, lv.getLayerConf().getLayer(), lv.getPreProcessor(), lv.getLayerConf());
            } else {
                t.vertexClasses.put(name, v.getClass().getSimpleName());
                t.consumers.put(name, new ArrayList<>());
            }
        }
        for (String input : conf.getNetworkInputs()) {
            t.consumers.putIfAbsent(input, new ArrayList<>());
            t.vertexClasses.putIfAbsent(input, "network input");
        }
        for (Map.Entry<String, List<String>> e : conf.getVertexInputs().entrySet()) {
            for (String in : e.getValue()) {
                t.consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(e.getKey());
            }
        }
        t.outputs.addAll(conf.getNetworkOutputs());
        if (conf.getDefaultConfiguration() != null) {
            t.checkAlgorithm("(graph default)", conf.getDefaultConfiguration());
        }
        return t;
    }

    private void addLayer(String name, Layer layer, InputPreProcessor pre, NeuralNetConfiguration nnc) {
        layers.put(name, layer);
        vertexClasses.put(name, layer.getClass().getSimpleName());
        if (pre != null) {
            preprocessors.put(name, pre);
        }
        consumers.put(name, new ArrayList<>());
        checkAlgorithm(name, nnc);
    }

    private void checkAlgorithm(String name, NeuralNetConfiguration nnc) {
        OptimizationAlgorithm algo = nnc.getOptimizationAlgo();
        if (algo != null && algo != OptimizationAlgorithm.STOCHASTIC_GRADIENT_DESCENT) {
            nonSgdLayers.add(name + " uses " + algo);
        }
    }

    boolean hasVertex(String name) {
        return vertexClasses.containsKey(name);
    }

    /** The layer configuration of a vertex, or null for a non-layer vertex. */
    Layer layer(String name) {
        return layers.get(name);
    }

    /** The layer called {@code name}; the error says what the name is instead, or lists the layers. */
    Layer requireLayer(String name) {
        Layer layer = layers.get(name);
        if (layer != null) {
            return layer;
        }
        if (hasVertex(name)) {
            throw new IllegalArgumentException("Vertex '" + name + "' (" + vertexClass(name)
                    + ") is not a layer and cannot be grown: growable layers are " + LayerKind.GROWABLE_LIST);
        }
        throw new IllegalArgumentException("No layer named '" + name + "' in this network; its layers are "
                + layerNames());
    }

    String vertexClass(String name) {
        return vertexClasses.get(name);
    }

    InputPreProcessor preprocessor(String name) {
        return preprocessors.get(name);
    }

    List<String> consumers(String name) {
        return ImmutableList.copyOf(consumers.getOrDefault(name, List.of()));
    }

    boolean isOutput(String name) {
        return outputs.contains(name);
    }

    List<String> layerNames() {
        return ImmutableList.copyOf(layers.keySet());
    }

    /** Layers trained by a line-search optimiser, whose internal arrays cannot follow a width change. */
    List<String> nonSgdLayers() {
        return nonSgdLayers;
    }
}
