package org.dl4jgrowth.rewrite;

/**
 * A growth refused before anything was allocated because the network could not hold it: a width
 * beyond {@link UnitMap#MAX_WIDTH}, or more memory than the backend can still allocate. Carries the
 * layer, the width asked for and the limit, so a controller can report it or skip the growth.
 */
public class InfeasibleGrowthException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;
    private final String layer;
    private final long requestedWidth;
    private final long limit;

    public InfeasibleGrowthException(String layer, long requestedWidth, long limit, String message) {
        super(message);
        this.layer = layer;
        this.requestedWidth = requestedWidth;
        this.limit = limit;
    }

    public String layer() {
        return layer;
    }

    /** The width asked for; -1 when the request was a unit map rather than a width. */
    public long requestedWidth() {
        return requestedWidth;
    }

    /** The widest the layer can be now. */
    public long limit() {
        return limit;
    }
}
