package org.dl4jgrowth.activation;

import java.io.IOException;
import java.util.Objects;

import org.deeplearning4j.nn.api.Updater;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.updater.graph.ComputationGraphUpdater;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.nd4j.shade.jackson.databind.node.ObjectNode;

/**
 * Converts a network that uses {@link ActivationGrowthReLU} into one that uses DL4J's plain
 * {@link ActivationReLU} instead, for deployment.
 *
 * <p>Both activations compute {@code max(0, x)} with the same ND4J op, so the exported network's
 * outputs are identical to the original's; only the derivative at exactly {@code x == 0} differs
 * (0 instead of 1), which matters for training newly grown neurons but not for inference. Once a
 * network has stopped growing it can therefore be exported, saved with
 * {@link org.deeplearning4j.util.ModelSerializer} and loaded by a JVM that has DL4J but not this
 * library (a configuration that names {@code ActivationGrowthReLU} cannot be deserialised there).
 *
 * <p>The replacement is done on the configuration's JSON tree, i.e. on exactly what
 * {@code ModelSerializer} writes: every serialised {@code ActivationGrowthReLU} is replaced, wherever
 * it sits - {@code BaseLayer} subclasses, {@code ActivationLayer}, LSTM gate activations,
 * variational-autoencoder reconstruction distributions, layers nested in wrappers such as
 * {@code FrozenLayerWithBackprop} or {@code Bidirectional}, and layers inside the {@code LayerVertex}es
 * of a {@code ComputationGraph}. Walking typed layer classes instead would miss activations held in
 * final fields or in layer types added later.
 *
 * <p>The returned network is an independent copy: parameters and updater state are duplicated,
 * iteration and epoch counts are kept, and the input network is not modified (it is not even
 * initialised if it was not already; then the copy is left uninitialised too). Listeners are not
 * copied.
 */
public final class PlainReluExport {

    private static final String GROWTH_RELU = ActivationGrowthReLU.class.getName();
    private static final String PLAIN_RELU = ActivationReLU.class.getName();
    private static final String TYPE_PROPERTY = "@class";

    private PlainReluExport() {
    }

    /**
     * Returns an independent copy of {@code net} in which every {@link ActivationGrowthReLU} is replaced
     * by a default {@link ActivationReLU}; see the class documentation.
     *
     * @param net network to export; not modified
     * @return the exported copy, initialised iff {@code net} was
     */
    public static MultiLayerNetwork toPlainRelu(MultiLayerNetwork net) {
        Objects.requireNonNull(net, "net");
        MultiLayerConfiguration srcConf = net.getLayerWiseConfigurations();
        MultiLayerConfiguration conf = MultiLayerConfiguration.fromJson(replaceInJson(srcConf.toJson()));
        // Belt and braces: the counts drive learning-rate schedules, so they must survive even if a
        // future DL4J stopped serialising them.
        conf.setIterationCount(srcConf.getIterationCount());
        conf.setEpochCount(srcConf.getEpochCount());

        MultiLayerNetwork out = new MultiLayerNetwork(conf);
        if (net.getLayers() == null) {
            return out;
        }
        out.init(net.params().dup(), false);
        // getUpdater(false): asking for the updater with the default argument would create one on the
        // source network, which must stay untouched.
        Updater srcUpdater = net.getUpdater(false);
        INDArray state = srcUpdater == null ? null : srcUpdater.getStateViewArray();
        if (state != null) {
            out.getUpdater().setStateViewArray(out, state.dup(), false);
        }
        return out;
    }

    /**
     * Returns an independent copy of {@code net} in which every {@link ActivationGrowthReLU} is replaced
     * by a default {@link ActivationReLU}; see the class documentation.
     *
     * @param net graph to export; not modified
     * @return the exported copy, initialised iff {@code net} was
     */
    public static ComputationGraph toPlainRelu(ComputationGraph net) {
        Objects.requireNonNull(net, "net");
        ComputationGraphConfiguration srcConf = net.getConfiguration();
        ComputationGraphConfiguration conf =
                ComputationGraphConfiguration.fromJson(replaceInJson(srcConf.toJson()));
        conf.setIterationCount(srcConf.getIterationCount());
        conf.setEpochCount(srcConf.getEpochCount());

        ComputationGraph out = new ComputationGraph(conf);
        if (net.getLayers() == null) {
            return out;
        }
        out.init(net.params().dup(), false);
        ComputationGraphUpdater srcUpdater = net.getUpdater(false);
        INDArray state = srcUpdater == null ? null : srcUpdater.getStateViewArray();
        if (state != null) {
            out.getUpdater().setStateViewArray(state.dup());
        }
        return out;
    }

    /** Rewrites a DL4J configuration JSON string; package-private for tests. */
    static String replaceInJson(String json) {
        ObjectMapper mapper = NeuralNetConfiguration.mapper();
        JsonNode root;
        try {
            root = mapper.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException("Not a valid DL4J configuration JSON", e);
        }
        replace(root);
        String result;
        try {
            result = mapper.writeValueAsString(root);
        } catch (IOException e) {
            throw new IllegalStateException("Could not write rewritten configuration JSON", e);
        }
        // A remaining occurrence would mean the class is referenced in some form other than a
        // type-tagged IActivation object; the export would then not load without this library.
        if (result.contains(GROWTH_RELU)) {
            throw new IllegalStateException("Configuration still references " + GROWTH_RELU
                    + " after export; it is referenced in a form this exporter does not understand");
        }
        return result;
    }

    private static void replace(JsonNode node) {
        if (node.isObject()) {
            ObjectNode obj = (ObjectNode) node;
            JsonNode type = obj.get(TYPE_PROPERTY);
            if (type != null && type.isTextual() && GROWTH_RELU.equals(type.asText())) {
                // ActivationGrowthReLU has no fields and a default ActivationReLU (no max, threshold or
                // negative slope) is exactly max(0, x), so the type tag is all that needs to change.
                obj.removeAll();
                obj.put(TYPE_PROPERTY, PLAIN_RELU);
                return;
            }
        }
        // Iterating an ObjectNode yields its field values, an ArrayNode its elements.
        for (JsonNode child : node) {
            replace(child);
        }
    }
}
