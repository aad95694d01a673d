package org.dl4jgrowth.signal;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.api.layers.IOutputLayer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.dl4jgrowth.network.NetworkAdapter;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.util.List;

/**
 * GradMax's gradient statistic G = Σ h δᵀ (see {@link GradientStatistic}) computed directly: one
 * ordinary training-mode forward pass over each minibatch gives the grown layer's input h, DL4J's
 * own backward pass ({@code backpropGradient} of each layer and preprocessor, from the loss down)
 * gives the gradient at the consumer's output, the consumer's activation (or, for an output layer,
 * its loss function) turns it into the pre-activation gradient δ exactly as the consumer's own
 * backward pass does, masks included, and one GEMM per minibatch adds hᵀδ. The probe route widens
 * a copy of the network by one probe unit per consumer unit for the same numbers; this route costs
 * one unwidened pass.
 *
 * <p>Evci et al. 2022 ("GradMax", section 3 and the reference implementation) compute the same
 * outer-product sum from the backward pass of their framework; DL4J keeps the per-example
 * pre-activation gradient inside {@code BaseLayer.backpropGradient}, so this class recomputes it
 * at the consumer alone, from the consumer's input and parameters, with the consumer's own
 * activation or loss function.
 *
 * <p>Supported so far (the rest takes the probe route, and {@link #unsupported} says why): a
 * {@code DenseLayer} site feeding one {@code DenseLayer} or {@code OutputLayer} directly (no
 * preprocessor or vertex between), the layers after the consumer a chain to one output layer, and
 * no dropout, weight noise or layer normalisation anywhere in the network (the probe route draws
 * dropout masks on a widened copy, which this route could not reproduce). Both network types;
 * feature and label masks as {@code fit()} applies them.
 */
public final class DirectStatistic {
    private DirectStatistic() {
    }

    /** Why the direct route cannot take the statistic of {@code layer} of {@code net}; null when it can. */
    public static String unsupported(Model net, String layer) {
        NetworkAdapter a = NetworkAdapter.of(net);
        Layer site = a.layerConfiguration(layer);
        if (site.getClass() != DenseLayer.class) {
            return "layer '" + layer + "' is a " + site.getClass().getSimpleName() + " (the direct route takes "
                    + "DenseLayer sites so far)";
        }
        List<NetworkAdapter.Link> chain;
        try {
            chain = a.chainToLoss(layer);
        } catch (UnsupportedOperationException notAChain) {
            return "the way from layer '" + layer + "' to the loss is not a chain of layers: "
                    + notAChain.getMessage();
        }
        if (chain.isEmpty()) {
            return "layer '" + layer + "' is an output layer";
        }
        NetworkAdapter.Link consumer = chain.get(0);
        Layer c = consumer.layer.conf().getLayer();
        if (c.getClass() != DenseLayer.class && c.getClass() != OutputLayer.class) {
            return "layer '" + layer + "' feeds a " + c.getClass().getSimpleName() + " (the direct route takes "
                    + "DenseLayer and OutputLayer consumers so far)";
        }
        if (consumer.preProcessor != null) {
            return "layer '" + layer + "' reaches its consumer '" + c.getLayerName() + "' through a "
                    + consumer.preProcessor.getClass().getSimpleName();
        }
        // Anywhere in the network: dropout below the site changes its input h as much as above it.
        for (String name : a.layerNames()) {
            String r = regularised(a.layerConfiguration(name));
            if (r != null) {
                return r;
            }
        }
        return null;
    }

    /** Dropout, weight noise and layer norm change the pass in ways only the probe route reproduces. */
    private static String regularised(Layer l) {
        if (l instanceof org.deeplearning4j.nn.conf.layers.DropoutLayer) {
            return "layer '" + l.getLayerName() + "' is a DropoutLayer";
        }
        if (l.getIDropout() != null) {
            return "layer '" + l.getLayerName() + "' has dropout";
        }
        if (l instanceof BaseLayer && ((BaseLayer) l).getWeightNoise() != null) {
            return "layer '" + l.getLayerName() + "' has weight noise";
        }
        if (l instanceof DenseLayer && ((DenseLayer) l).hasLayerNorm()) {
            return "layer '" + l.getLayerName() + "' has layer normalisation";
        }
        return null;
    }

    /**
     * G for growing {@code layer} of {@code net}, summed over every example of {@code batches}, as
     * {@link GradientStatistic#computeMulti} defines it. The network is not touched: the passes run
     * on a network of their own that shares its parameters read-only.
     *
     * @throws IllegalArgumentException if {@link #unsupported} gives a reason
     */
    public static INDArray compute(Model net, String layer, List<? extends MultiDataSet> batches) {
        GradientStatistic.requireBatches(batches);
        String why = unsupported(net, layer);
        if (why != null) {
            throw new IllegalArgumentException("The direct gradient statistic cannot be taken for layer '" + layer
                    + "': " + why);
        }
        return computeSupported(net, layer, batches);
    }

    /** {@link #compute} for a site {@link #unsupported} has accepted already. */
    static INDArray computeSupported(Model net, String layer, List<? extends MultiDataSet> batches) {
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            NetworkAdapter original = NetworkAdapter.of(net);
            GradientStatistic.requireGrowableActivation(original.layerConfiguration(layer), layer);
            // A network of its own (the passes set inputs, masks and gradients on it) over the user's
            // parameters, shared: a training-mode pass without dropout or weight noise only reads
            // them. Its gradient view is left uninitialised and never read: only the layers above
            // the consumer write their share of it, so the rest of its pages are never touched.
            INDArray params = net.params();
            // Without workspaces: the backward walk runs after the forward pass has returned, when
            // DL4J would have closed the workspaces holding what the layers cached for it.
            NetworkAdapter copy = original.scratch(original.cloneConfigurationWithoutWorkspaces(), params,
                    Nd4j.createUninitialized(params.dataType(), 1, params.length()));
            List<NetworkAdapter.Link> chain = copy.chainToLoss(layer);
            org.deeplearning4j.nn.api.Layer site = copy.runtimeLayer(layer);
            org.deeplearning4j.nn.api.Layer consumer = chain.get(0).layer;
            List<NetworkAdapter.Link> above = chain.subList(1, chain.size());
            LayerWorkspaceMgr mgr = LayerWorkspaceMgr.noWorkspaces();
            INDArray g = null;
            for (MultiDataSet ds : batches) {
                copy.forwardKeepingInputs(ds);
                INDArray delta = above.isEmpty()
                        ? outputDelta(consumer, ds.getLabels(chain.get(0).labelsIndex))
                        : hiddenDelta(consumer, epsilonAbove(above, ds, mgr));
                INDArray h = site.input();
                INDArray m = h.castTo(delta.dataType()).transpose().mmul(delta);
                g = g == null ? m : g.addi(m);
            }
            return g;
        }
    }

    /**
     * The loss gradient with respect to the output of the layer below {@code above}, from DL4J's own
     * backward pass: the output layer's, then each layer's and preprocessor's, walking down.
     */
    private static INDArray epsilonAbove(List<NetworkAdapter.Link> above, MultiDataSet ds, LayerWorkspaceMgr mgr) {
        NetworkAdapter.Link last = above.get(above.size() - 1);
        ((IOutputLayer) last.layer).setLabels(ds.getLabels(last.labelsIndex));
        INDArray eps = last.layer.backpropGradient(null, mgr).getSecond();
        for (int i = above.size() - 1; i >= 0; i--) {
            NetworkAdapter.Link link = above.get(i);
            if (link.preProcessor != null) {
                eps = link.preProcessor.backprop(eps, (int) eps.size(0), mgr);
            }
            if (i > 0) {
                eps = above.get(i - 1).layer.backpropGradient(eps, mgr).getSecond();
            }
        }
        return eps;
    }

    /** The pre-activation gradient of a dense consumer, as {@code BaseLayer.backpropGradient} computes it. */
    private static INDArray hiddenDelta(org.deeplearning4j.nn.api.Layer consumer, INDArray epsilon) {
        INDArray z = preOutput(consumer);
        INDArray delta = ((BaseLayer) consumer.conf().getLayer()).getActivationFn().backprop(z, epsilon.dup())
                .getFirst();
        INDArray mask = consumer.getMaskArray();
        return mask == null ? delta : delta.muliColumnVector(mask.castTo(delta.dataType()));
    }

    /** The pre-activation gradient of an output consumer, as {@code BaseOutputLayer} computes it: from its loss. */
    private static INDArray outputDelta(org.deeplearning4j.nn.api.Layer consumer, INDArray labels) {
        BaseOutputLayer conf = (BaseOutputLayer) consumer.conf().getLayer();
        INDArray z = preOutput(consumer);
        return conf.getLossFn().computeGradient(labels.castTo(z.dataType()), z, conf.getActivationFn(),
                consumer.getMaskArray());
    }

    /** z = x W + b from the consumer's input and parameters (no dropout or weight noise: refused before). */
    private static INDArray preOutput(org.deeplearning4j.nn.api.Layer consumer) {
        INDArray w = consumer.getParam("W");
        INDArray x = consumer.input().castTo(w.dataType());
        INDArray z = x.mmul(w);
        INDArray b = consumer.getParam("b");
        return b == null ? z : z.addiRowVector(b);
    }
}
