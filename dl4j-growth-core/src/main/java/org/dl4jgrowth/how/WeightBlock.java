package org.dl4jgrowth.how;

import org.nd4j.shade.guava.base.Preconditions;
import org.deeplearning4j.nn.weights.IWeightInit;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.function.DoubleSupplier;

/**
 * The weights of a set of new units on one side: their fan-in (the columns of the grown layer's
 * weight matrix) or their fan-out into one consumer (the rows of the consumer's weight matrix). An
 * initialiser writes into {@link #weights()}; the rewriter places the values into the network.
 *
 * <p>Shapes, with k new units:
 * <ul>
 *   <li>fan-in of a dense layer: {@code [nIn, k]}; of a convolution: {@code [k, nIn, kH, kW]};</li>
 *   <li>fan-out into a dense layer: {@code [k * block, nOut]}, where block is 1, or H*W when a
 *       channels-first flatten lies between (rows {@code j*block .. j*block+block-1} belong to new
 *       unit j); into a convolution: {@code [nOut, k, kH, kW]}.</li>
 * </ul>
 * All widths are the new ones: when two adjacent layers grow together, the fan-in block spans the
 * upstream layer's new units too.
 */
public final class WeightBlock {
    private final String layerName;
    private final INDArray weights;
    private final int unitAxis;
    private final int unitBlock;
    private final IWeightInit weightInit;
    private final double fanIn;
    private final double fanOut;
    // Computed when first asked: each reads the whole weight matrix, and most initialisers use neither.
    private DoubleSupplier existingNorm;
    private DoubleSupplier existingMeanAbs;
    private double norm = Double.NaN;
    private double meanAbs = Double.NaN;

    /**
     * Built by the rewriter.
     *
     * @param layerName  the layer whose weight matrix holds these weights
     * @param weights    the array to fill, zero-filled on arrival
     * @param unitAxis   the axis of {@code weights} along which the new units lie
     * @param unitBlock  how many consecutive entries along the unit axis belong to one unit
     * @param weightInit that layer's configured weight initialisation
     * @param fanIn      that layer's fan-in, as DL4J computes it for {@code weightInit}
     * @param fanOut     that layer's fan-out, likewise
     * @param existingNorm mean L2 norm of the same weights of the units that existed before
     */
    public WeightBlock(String layerName, INDArray weights, int unitAxis, int unitBlock, IWeightInit weightInit,
                       double fanIn, double fanOut, double existingNorm) {
        this(layerName, weights, unitAxis, unitBlock, weightInit, fanIn, fanOut, existingNorm, Double.NaN);
    }

    /**
     * As above, with {@code existingMeanAbs}: the mean |w| over the nonzero weights of the units
     * that existed before (NeST's birth-strength rescaling; zeros are dormant connections).
     */
    public WeightBlock(String layerName, INDArray weights, int unitAxis, int unitBlock, IWeightInit weightInit,
                       double fanIn, double fanOut, double existingNorm, double existingMeanAbs) {
        this(layerName, weights, unitAxis, unitBlock, weightInit, fanIn, fanOut, () -> existingNorm,
                () -> existingMeanAbs);
    }

    /** As above, with the two statistics of the existing units computed when first asked for. */
    public WeightBlock(String layerName, INDArray weights, int unitAxis, int unitBlock, IWeightInit weightInit,
                       double fanIn, double fanOut, DoubleSupplier existingNorm, DoubleSupplier existingMeanAbs) {
        this.layerName = Preconditions.checkNotNull(layerName);
        this.weights = Preconditions.checkNotNull(weights);
        Preconditions.checkArgument(unitAxis >= 0 && unitAxis < weights.rank(), "unit axis %s for rank %s",
                unitAxis, weights.rank());
        this.unitAxis = unitAxis;
        this.unitBlock = unitBlock;
        this.weightInit = weightInit;
        this.fanIn = fanIn;
        this.fanOut = fanOut;
        this.existingNorm = Preconditions.checkNotNull(existingNorm);
        this.existingMeanAbs = Preconditions.checkNotNull(existingMeanAbs);
    }

    /**
     * Mean L2 norm, over the units that existed before the growth, of their weights on this side
     * (one unit's slice along {@link #unitAxis()}); GradMax scales new fan-out to a multiple of it.
     */
    public synchronized double existingNorm() {
        if (existingNorm != null) {
            norm = existingNorm.getAsDouble();
            existingNorm = null;
        }
        return norm;
    }

    /**
     * Mean |w| over the nonzero weights on this side of the units that existed before the growth
     * (NaN where the rewriter did not compute it, 0 when all are zero).
     */
    public synchronized double existingMeanAbs() {
        if (existingMeanAbs != null) {
            meanAbs = existingMeanAbs.getAsDouble();
            existingMeanAbs = null;
        }
        return meanAbs;
    }

    /** The layer whose weight matrix these weights belong to. */
    public String layerName() {
        return layerName;
    }

    /** The values to write; starts as zeros. */
    public INDArray weights() {
        return weights;
    }

    /** The axis of {@link #weights()} that indexes the new units. */
    public int unitAxis() {
        return unitAxis;
    }

    /** Entries along the unit axis per unit: H*W for a flattened channel, else 1. */
    public int unitBlock() {
        return unitBlock;
    }

    public IWeightInit weightInit() {
        return weightInit;
    }

    public double fanIn() {
        return fanIn;
    }

    public double fanOut() {
        return fanOut;
    }

    /**
     * Draws the block from the owning layer's own weight initialisation with that layer's fan-in and
     * fan-out, so new weights have the scale the layer would have started with.
     */
    public void fillWithLayerInit() {
        Preconditions.checkState(weightInit != null, "Layer '%s' has no weight initialisation configured", layerName);
        long[] shape = weights.shape();
        INDArray flat = Nd4j.createUninitialized(weights.dataType(), weights.length());
        INDArray drawn = weightInit.init(fanIn, fanOut, shape, 'c', flat);
        weights.assign(drawn.reshape('c', shape));
    }

    public void zero() {
        weights.assign(0);
    }
}
