package org.dl4jgrowth.signal;

/**
 * The growth data, or the statistic computed from it, cannot drive a growth: NaN or infinite
 * values in a minibatch's features or labels, a statistic that is not finite, or one that is zero
 * everywhere (the loss does not depend on new units there). Names the layer and the minibatch.
 * Thrown before the network is changed.
 */
public class GrowthDataException extends IllegalStateException {
    private static final long serialVersionUID = 1L;
    private final String layer;

    public GrowthDataException(String layer, String message) {
        super(message);
        this.layer = layer;
    }

    /** The layer whose signal was being computed. */
    public String layer() {
        return layer;
    }
}
