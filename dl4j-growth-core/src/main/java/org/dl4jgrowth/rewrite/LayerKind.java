package org.dl4jgrowth.rewrite;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.ZeroPaddingLayer;

/**
 * The layer classes the rewriter understands, matched by exact class: a subclass (a 1D or
 * depthwise convolution, a centre-loss output layer, a frozen wrapper...) lays its parameters out
 * differently, and guessing would give a silently wrong network.
 */
enum LayerKind {
    DENSE(DenseLayer.class, true, false, true),
    OUTPUT(OutputLayer.class, false, false, true),
    CONVOLUTION(ConvolutionLayer.class, true, false, true),
    BATCH_NORM(BatchNormalization.class, false, true, false),
    ACTIVATION(ActivationLayer.class, false, true, false),
    DROPOUT(DropoutLayer.class, false, true, false),
    SUBSAMPLING(SubsamplingLayer.class, false, true, false),
    GLOBAL_POOLING(GlobalPoolingLayer.class, false, true, false),
    ZERO_PADDING(ZeroPaddingLayer.class, false, true, false);

    static final String GROWABLE_LIST = "DenseLayer (without layer norm), ConvolutionLayer (2D, NCHW)";
    static final String PATH_LIST = "ActivationLayer, DropoutLayer, SubsamplingLayer, GlobalPoolingLayer, "
            + "ZeroPaddingLayer, BatchNormalization (NCHW, not lockGammaBeta), and a CnnToFeedForwardPreProcessor "
            + "(NCHW) in front of a dense consumer";
    static final String CONSUMER_LIST = "DenseLayer, OutputLayer, ConvolutionLayer (2D, NCHW)";

    private final Class<? extends Layer> layerClass;
    private final boolean growable;
    private final boolean passThrough;
    private final boolean consumer;

    LayerKind(Class<? extends Layer> layerClass, boolean growable, boolean passThrough, boolean consumer) {
        this.layerClass = layerClass;
        this.growable = growable;
        this.passThrough = passThrough;
        this.consumer = consumer;
    }

    /** The kind of a layer configuration, or null when its exact class is not supported. */
    static LayerKind of(Layer layer) {
        for (LayerKind k : values()) {
            if (layer.getClass() == k.layerClass) {
                return k;
            }
        }
        return null;
    }

    boolean growable() {
        return growable;
    }

    boolean passThrough() {
        return passThrough;
    }

    boolean consumer() {
        return consumer;
    }

    /** True when the layer works on 4D activations (a 2D dense input is not accepted). */
    boolean spatialOnly() {
        return this == CONVOLUTION || this == SUBSAMPLING || this == ZERO_PADDING || this == GLOBAL_POOLING;
    }

    /**
     * Why a layer of this kind cannot take part in a rewrite with its current settings, or null if
     * it can.
     */
    String unsupportedSetting(Layer layer) {
        switch (this) {
            case DENSE:
                return ((DenseLayer) layer).isHasLayerNorm() ? "layer normalisation is enabled" : null;
            case CONVOLUTION:
                return nchw(((ConvolutionLayer) layer).getCnn2dDataFormat());
            case SUBSAMPLING:
                return nchw(((SubsamplingLayer) layer).getCnn2dDataFormat());
            case ZERO_PADDING:
                return nchw(((ZeroPaddingLayer) layer).getDataFormat());
            case BATCH_NORM:
                BatchNormalization bn = (BatchNormalization) layer;
                if (bn.isLockGammaBeta()) {
                    return "lockGammaBeta is set";
                }
                return nchw(bn.getCnn2DFormat());
            default:
                return null;
        }
    }

    private static String nchw(CNN2DFormat format) {
        return format == null || format == CNN2DFormat.NCHW ? null : "data format is " + format + " (only NCHW)";
    }

    /**
     * The axis of parameter {@code param} that indexes this layer's own units (output neurons or
     * channels), or -1 if it has none.
     */
    int unitAxis(String param, int rank) {
        switch (this) {
            case DENSE:
            case OUTPUT:
                return "W".equals(param) ? 1 : rank - 1;
            case CONVOLUTION:
                return "W".equals(param) ? 0 : rank - 1;
            case BATCH_NORM:
                return rank - 1;
            default:
                return -1;
        }
    }

    /** The shape of the weights "W" of a consumer or growable layer, from its configuration. */
    long[] weightShape(Layer layer) {
        FeedForwardLayer ff = (FeedForwardLayer) layer;
        switch (this) {
            case DENSE:
            case OUTPUT:
                return new long[]{ff.getNIn(), ff.getNOut()};
            case CONVOLUTION:
                int[] k = ((ConvolutionLayer) layer).getKernelSize();
                return new long[]{ff.getNOut(), ff.getNIn(), k[0], k[1]};
            default:
                throw new IllegalArgumentException(layer.getClass().getSimpleName() + " has no weights");
        }
    }

    /** The axis of parameter {@code param} that indexes the layer's inputs, or -1 if it has none. */
    int inputAxis(String param) {
        if (!"W".equals(param)) {
            return -1;
        }
        switch (this) {
            case DENSE:
            case OUTPUT:
                return 0;
            case CONVOLUTION:
                return 1;
            default:
                return -1;
        }
    }
}
