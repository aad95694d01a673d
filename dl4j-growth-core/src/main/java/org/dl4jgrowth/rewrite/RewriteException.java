package org.dl4jgrowth.rewrite;

/**
 * A rewrite failed at {@link #step()}. The network is as it was before the rewrite: steps before
 * the swap never touch it, and a failure during the swap restores every field the swap changed.
 */
public class RewriteException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final RewriteStep step;

    public RewriteException(RewriteStep step, String message, Throwable cause) {
        super("Rewrite failed at step " + step + ": " + message
                + " The network was left exactly as it was before the rewrite.", cause);
        this.step = step;
    }

    public RewriteStep step() {
        return step;
    }
}
