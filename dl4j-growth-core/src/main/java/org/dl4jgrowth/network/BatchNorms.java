package org.dl4jgrowth.network;

import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.List;
import java.util.Map;

/**
 * Batch norms that fold into the layer before them: y = a·(W·x + b) + c per unit, with
 * a = γ/√(σ² + ε) and c = β − a·μ from the batch norm's running statistics (its inference
 * transform). Firefly trains candidates in the folded space and NeST prunes by folded magnitudes
 * |a_j·w|: a weight of a unit whose batch norm scales it down matters less than its raw size says.
 */
public final class BatchNorms {
    private BatchNorms() {
    }

    /**
     * The batch norm that directly and only follows {@code layer} and folds into it exactly (the
     * layer has weights W and the identity activation; gamma and beta are learned), or null.
     */
    public static String foldable(NetworkAdapter net, String layer) {
        Layer conf = net.layerConfiguration(layer);
        if (!(conf instanceof BaseLayer) || !net.paramTable(layer).containsKey("W")
                || !(((BaseLayer) conf).getActivationFn() instanceof org.nd4j.linalg.activations.impl.ActivationIdentity)) {
            return null;
        }
        List<String> next = NetworkRewrite.directConsumers(net.model(), layer);
        if (next.size() != 1 || !net.layerNames().contains(next.get(0))) {
            return null;
        }
        Layer bn = net.layerConfiguration(next.get(0));
        return bn instanceof BatchNormalization && !((BatchNormalization) bn).isLockGammaBeta() ? next.get(0) : null;
    }

    /** The per-unit scale a = γ/√(σ² + ε) of batch norm {@code bn}, a new flat vector. */
    public static INDArray scale(NetworkAdapter net, String bn) {
        BatchNormalization conf = (BatchNormalization) net.layerConfiguration(bn);
        Map<String, INDArray> p = net.paramTable(bn);
        INDArray gamma = p.get("gamma").dup().reshape(-1);
        INDArray var;
        if (p.containsKey("log10stdev")) {
            // DL4J keeps log10(σ) here and squares 10^x back into the variance.
            var = Transforms.pow(Nd4j.valueArrayOf(p.get("log10stdev").shape(), 10.0,
                    p.get("log10stdev").dataType()), p.get("log10stdev").dup(), false).reshape(-1);
            var.muli(var);
        } else {
            var = p.get("var").dup().reshape(-1);
        }
        return gamma.div(Transforms.sqrt(var.add(conf.getEps()), false));
    }

    /** The per-unit shift c = β − a·μ of batch norm {@code bn} for its scale {@code a}, a new flat vector. */
    public static INDArray shift(NetworkAdapter net, String bn, INDArray a) {
        Map<String, INDArray> p = net.paramTable(bn);
        return p.get("beta").dup().reshape(-1).sub(a.mul(p.get("mean").dup().reshape(-1)));
    }
}
