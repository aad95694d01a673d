package org.dl4jgrowth.linalg;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Registered only in the test service file: outranks every real engine but is never available, so
 * selection must skip it.
 */
public final class UnavailableTestSvdEngine implements SvdEngine {

    static final String NAME = "unavailable-test";

    public UnavailableTestSvdEngine() {
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public boolean isAvailable() {
        return false;
    }

    @Override
    public int priority() {
        return 1000;
    }

    @Override
    public TopSvd top(INDArray a, int k) {
        throw new AssertionError("an unavailable engine must never be used");
    }
}
