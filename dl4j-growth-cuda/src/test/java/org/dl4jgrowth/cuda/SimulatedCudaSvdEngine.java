package org.dl4jgrowth.cuda;

import java.util.concurrent.atomic.AtomicBoolean;

import org.dl4jgrowth.linalg.SvdEngine;
import org.dl4jgrowth.linalg.TopSvd;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Registered in the test service file only: the real {@link CudaSvdEngine} code, at its priority, with the
 * backend check replaced by a switch. Off by default, so the registration tests see the CPU ranking; a
 * test turns it on to see a CUDA-priority engine chosen by {@code SvdEngines} and used by a growth,
 * which on this machine (no GPU) cannot happen with the real backend.
 */
public final class SimulatedCudaSvdEngine implements SvdEngine {

    static final String NAME = "cuda-simulated";
    private static final AtomicBoolean ACTIVE = new AtomicBoolean();

    private final CudaSvdEngine engine = new CudaSvdEngine(CudaSvdEngine.DEFAULT_EXACT_LIMIT, 8, 2, 7L, ACTIVE::get);

    public SimulatedCudaSvdEngine() {
    }

    /** Runs {@code body} with this engine available; always switches it off again. */
    static void whileActive(Runnable body) {
        ACTIVE.set(true);
        try {
            body.run();
        } finally {
            ACTIVE.set(false);
        }
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public boolean isAvailable() {
        return engine.isAvailable();
    }

    @Override
    public int priority() {
        return engine.priority();
    }

    @Override
    public TopSvd top(INDArray a, int k) {
        return engine.top(a, k);
    }
}
