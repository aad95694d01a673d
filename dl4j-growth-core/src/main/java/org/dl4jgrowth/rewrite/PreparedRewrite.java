package org.dl4jgrowth.rewrite;

import org.nd4j.shade.guava.base.Preconditions;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Map;

/**
 * A rewrite that has been fully built but not yet swapped in. Apply it straight away: it refuses
 * to apply to a network that has changed (trained, or been rewritten) since it was prepared.
 *
 * <p>It is built into the spare buffers the network keeps between growths (see
 * {@code RewriteBuffers}); while it holds them, another rewrite prepared from the same state gets
 * buffers of its own, and one prepared after the network changed takes them back (this one could
 * not be applied any more anyway).
 */
public final class PreparedRewrite {
    private final ModelHandle handle;
    private final Object conf;
    private final INDArray params;
    private final INDArray updaterState;
    private final INDArray gradient;
    private final boolean gradientHeld;
    private final RewriteBuffers.Lease lease;
    private final Map<String, int[]> widths;
    private final Map<String, Map<String, Object>> notes;
    private final RewriteObserver observer;
    private final long prepareNanos;
    private final Object confAtPrepare;
    private final long iterationAtPrepare;
    private final long paramsBefore;
    private final CompanionArrays companions;
    private final Map<String, String> svdEngines;
    private final Map<String, INDArray> companionsAfter;
    private boolean applied;

    PreparedRewrite(ModelHandle handle, Object conf, INDArray params, INDArray updaterState, INDArray gradient,
                    boolean gradientHeld, RewriteBuffers.Lease lease, Map<String, int[]> widths,
                    Map<String, Map<String, Object>> notes, RewriteObserver observer, long prepareNanos,
                    CompanionArrays companions, Map<String, INDArray> companionsAfter,
                    Map<String, String> svdEngines) {
        this.svdEngines = svdEngines;
        this.companions = companions;
        this.companionsAfter = companionsAfter;
        this.handle = handle;
        this.conf = conf;
        this.params = params;
        this.updaterState = updaterState;
        this.gradient = gradient;
        this.gradientHeld = gradientHeld;
        this.lease = lease;
        this.widths = widths;
        this.notes = notes;
        this.observer = observer;
        this.prepareNanos = prepareNanos;
        this.confAtPrepare = handle.liveConfiguration();
        this.iterationAtPrepare = handle.iterationCount();
        this.paramsBefore = handle.model().numParams();
    }

    /** Number of parameters the network will have. */
    public long numParamsAfter() {
        return params.length();
    }

    /** Swaps the prepared configuration, parameters and optimizer state into the network. */
    public synchronized RewriteResult apply() {
        Preconditions.checkState(!applied, "This rewrite has already been applied");
        if (handle.liveConfiguration() != confAtPrepare || handle.iterationCount() != iterationAtPrepare) {
            if (lease != null) {
                lease.giveBack();
            }
            throw new IllegalStateException("The network changed after this rewrite was prepared; prepare it again");
        }
        if (lease != null && lease.revoked()) {
            // Only after the network changed, which the check above refuses first; kept as the guard of
            // the buffers themselves: a later prepare builds into them now.
            throw new IllegalStateException("A later rewrite of this network was prepared into this one's buffers; "
                    + "prepare it again");
        }
        long start = System.nanoTime();
        try {
            handle.guardedSwap(conf, params, updaterState, gradient, gradientHeld, observer);
        } catch (RuntimeException | Error e) {
            if (lease != null) {
                lease.giveBack();
            }
            throw e;
        }
        if (lease != null) {
            lease.swapped();
        }
        applied = true;
        if (companions != null) {
            companions.replace(companionsAfter);
        }
        return new RewriteResult(widths, notes, svdEngines, paramsBefore, params.length(),
                prepareNanos + System.nanoTime() - start);
    }
}
