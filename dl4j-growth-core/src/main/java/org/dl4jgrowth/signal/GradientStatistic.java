package org.dl4jgrowth.signal;

import com.google.common.base.Preconditions;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.dl4jgrowth.activation.ActivationGrowthReLU;
import org.dl4jgrowth.how.NewUnits;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * GradMax's gradient statistic (Evci et al. 2022, "GradMax: Growing Neural Networks Using Gradient
 * Information", section 3): for growing layer l between l-1 and l+1,
 * G = Σ over examples of h<sub>l-1</sub> δ<sub>l+1</sub>ᵀ, shape [n<sub>l-1</sub>, n<sub>l+1</sub>],
 * where h<sub>l-1</sub> is layer l's input and δ<sub>l+1</sub> the loss gradient with respect to the
 * consumer's pre-activation. A new unit with zero fan-in and fan-out row w gets the fan-in gradient
 * G w, so the fan-out maximising its norm comes from G's top right singular vectors.
 *
 * <p>How: DL4J does not hand out per-example pre-activation gradients, so the statistic is read off
 * probe units. On a private copy of the network, layer l is widened by n<sub>l+1</sub> probes with
 * zero fan-in and one-hot fan-out (probe j feeds consumer unit j with weight 1). The copy computes
 * the same function, and the gradient of probe j's fan-in from DL4J's ordinary backward pass is
 * column j of G, times f'(0). All of it runs as ND4J ops on the backend's device. The user's
 * network is never touched.
 *
 * <p>Scale: DL4J's raw gradients are sums over the minibatch (the updater divides by its size), so G
 * is a sum over every example used; its singular vectors do not depend on that scale.
 *
 * <p>Supported sites: a {@code DenseLayer} whose only consumer is a {@code DenseLayer} or
 * {@code OutputLayer} fed directly. Its activation needs f(0)=0 and f'(0)≠0. Plain ReLU (f'(0)=0)
 * is handled by using the growth-friendly ReLU on the copy: it has the same forward pass and a
 * derivative that differs only at exactly 0.
 */
public final class GradientStatistic {
    private GradientStatistic() {
    }

    /** G for growing {@code layer} of {@code net}, summed over all examples of {@code batches}. */
    public static INDArray compute(Model net, String layer, List<DataSet> batches) {
        Preconditions.checkNotNull(net, "network");
        Preconditions.checkArgument(batches != null && !batches.isEmpty(),
                "The gradient statistic needs at least one minibatch of growth data (got: %s)",
                batches == null ? "null" : "none");
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            Site site = Site.of(net, layer);
            Model probe = copy(net);
            // The copy must not report to the user's listeners (or grow through them).
            if (probe instanceof MultiLayerNetwork) {
                ((MultiLayerNetwork) probe).setListeners();
            } else {
                ((ComputationGraph) probe).setListeners();
            }
            double slope = prepareActivation(probe, layer, site);
            int width = NetworkRewrite.width(probe, layer);
            NetworkRewrite.of(probe).grow(layer, site.consumerWidth).initializer(new Probes()).apply();

            INDArray g = null;
            for (DataSet ds : batches) {
                INDArray grad = fanInGradient(probe, site, ds);
                INDArray cols = grad.get(NDArrayIndex.all(), NDArrayIndex.interval(width, width + site.consumerWidth));
                g = g == null ? cols.dup('c') : g.addi(cols);
            }
            return slope == 1.0 ? g : g.divi(slope);
        }
    }

    /** The fan-in gradient of {@code layer} on one minibatch: a sum over its examples. */
    private static INDArray fanInGradient(Model probe, Site site, DataSet ds) {
        if (probe instanceof MultiLayerNetwork) {
            MultiLayerNetwork m = (MultiLayerNetwork) probe;
            m.setInput(ds.getFeatures());
            m.setLabels(ds.getLabels());
            m.setLayerMaskArrays(ds.getFeaturesMaskArray(), ds.getLabelsMaskArray());
            m.computeGradientAndScore();
            return m.gradient().getGradientFor(site.index + "_W");
        }
        ComputationGraph g = (ComputationGraph) probe;
        g.setInputs(ds.getFeatures());
        g.setLabels(ds.getLabels());
        g.computeGradientAndScore();
        return g.gradient().getGradientFor(site.layer + "_W");
    }

    private static Model copy(Model net) {
        if (net instanceof MultiLayerNetwork) {
            return ((MultiLayerNetwork) net).clone();
        }
        if (net instanceof ComputationGraph) {
            return ((ComputationGraph) net).clone();
        }
        throw new IllegalArgumentException("Only MultiLayerNetwork and ComputationGraph (got: "
                + net.getClass().getName() + ")");
    }

    /**
     * Checks the grown layer's activation on the copy and returns f'(0); plain ReLU is swapped for
     * its growth-friendly twin on the copy only.
     */
    private static double prepareActivation(Model probe, String layer, Site site) {
        BaseLayer conf = (BaseLayer) layerConf(probe, layer);
        IActivation act = conf.getActivationFn();
        if (act instanceof ActivationReLU && isPlainRelu((ActivationReLU) act)) {
            conf.setActivationFn(new ActivationGrowthReLU());
            return 1.0;
        }
        INDArray zero = Nd4j.zeros(Nd4j.defaultFloatingPointType(), 1, 1);
        double f0 = act.getActivation(zero.dup(), true).getDouble(0);
        double d0 = act.backprop(zero.dup(), Nd4j.ones(Nd4j.defaultFloatingPointType(), 1, 1)).getFirst().getDouble(0);
        if (Math.abs(f0) > 1e-12 || d0 == 0.0) {
            throw new IllegalArgumentException("Layer '" + layer + "' uses activation " + act + " with f(0)=" + f0
                    + " and f'(0)=" + d0 + ": the gradient statistic needs f(0)=0 and f'(0)≠0 "
                    + "(ActivationGrowthReLU, identity, tanh, ReLU)");
        }
        return d0;
    }

    private static boolean isPlainRelu(ActivationReLU r) {
        // ActivationReLU with a threshold, a negative slope or a cap is not the plain max(0, x).
        return r.equals(new ActivationReLU());
    }

    private static Layer layerConf(Model net, String layer) {
        return net instanceof MultiLayerNetwork ? ((MultiLayerNetwork) net).getLayer(layer).conf().getLayer()
                : ((ComputationGraph) net).getLayer(layer).conf().getLayer();
    }

    /** Probes: zero fan-in and bias, one-hot fan-out into the consumer's units. */
    private static final class Probes implements UnitInitializer {
        private static final long serialVersionUID = 1L;

        @Override
        public void initialize(NewUnits units) {
            INDArray out = units.fanOut().get(0).weights();
            out.assign(Nd4j.eye(out.size(0)).castTo(out.dataType()));
        }
    }

    /** Where the statistic is taken: the grown layer, its index (for MLN gradient keys), its consumer. */
    private static final class Site {
        final String layer;
        final int index;
        final int consumerWidth;

        private Site(String layer, int index, int consumerWidth) {
            this.layer = layer;
            this.index = index;
            this.consumerWidth = consumerWidth;
        }

        static Site of(Model net, String layer) {
            NetworkRewrite.width(net, layer);   // unknown names and unsupported classes: the rewrite's errors
            List<String> consumers = new ArrayList<>();
            List<Layer> consumerConfs = new ArrayList<>();
            Layer grown;
            int index = -1;
            boolean preprocessed = false;
            if (net instanceof MultiLayerNetwork) {
                MultiLayerConfiguration c = ((MultiLayerNetwork) net).getLayerWiseConfigurations();
                for (int i = 0; i < c.getConfs().size(); i++) {
                    if (layer.equals(c.getConf(i).getLayer().getLayerName())) {
                        index = i;
                    }
                }
                grown = c.getConf(index).getLayer();
                if (index + 1 < c.getConfs().size()) {
                    consumers.add(c.getConf(index + 1).getLayer().getLayerName());
                    consumerConfs.add(c.getConf(index + 1).getLayer());
                    preprocessed = c.getInputPreProcess(index + 1) != null;
                }
            } else {
                ComputationGraphConfiguration c = ((ComputationGraph) net).getConfiguration();
                grown = ((LayerVertex) c.getVertices().get(layer)).getLayerConf().getLayer();
                for (Map.Entry<String, List<String>> e : c.getVertexInputs().entrySet()) {
                    if (e.getValue().contains(layer)) {
                        consumers.add(e.getKey());
                        GraphVertex v = c.getVertices().get(e.getKey());
                        consumerConfs.add(v instanceof LayerVertex ? ((LayerVertex) v).getLayerConf().getLayer() : null);
                        preprocessed |= v instanceof LayerVertex && ((LayerVertex) v).getPreProcessor() != null;
                    }
                }
            }
            if (grown.getClass() != DenseLayer.class) {
                throw new IllegalArgumentException("The gradient statistic supports DenseLayer sites; layer '" + layer
                        + "' is a " + grown.getClass().getSimpleName());
            }
            if (consumers.size() != 1 || consumerConfs.get(0) == null || preprocessed
                    || (consumerConfs.get(0).getClass() != DenseLayer.class
                    && consumerConfs.get(0).getClass() != OutputLayer.class)) {
                throw new IllegalArgumentException("The gradient statistic needs layer '" + layer + "' to feed exactly "
                        + "one DenseLayer or OutputLayer directly; it feeds " + consumers + " "
                        + consumerConfs.stream().map(l -> l == null ? "(not a layer)" : l.getClass().getSimpleName())
                        .collect(java.util.stream.Collectors.toList()));
            }
            int consumerWidth = Math.toIntExact(((org.deeplearning4j.nn.conf.layers.FeedForwardLayer)
                    consumerConfs.get(0)).getNOut());
            return new Site(layer, index, consumerWidth);
        }
    }
}
