package org.dl4jgrowth.linalg;

import java.util.Arrays;
import java.util.Objects;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.conditions.Conditions;

/**
 * The leading {@code r = min(k, rows, cols)} singular triplets of a matrix {@code A}, so that
 * {@code A ~= left() * diag(singularValues()) * right()^T}.
 *
 * <p>GradMax (Evci et al., "GradMax: Growing Neural Networks using Gradient Information", ICLR 2022)
 * initialises the fan-out of {@code k} new neurons from the top-{@code k} singular vectors of a gradient
 * statistic, which is why only the leading part of the decomposition is kept.
 *
 * <p>All arrays stay on the ND4J backend that produced them (no host copies). Accessors return
 * device-side duplicates because {@link INDArray} is mutable and this value must not be.
 */
public final class TopSvd {

    private final INDArray singularValues;
    private final INDArray left;
    private final INDArray right;
    private final int requested;
    private final String engine;

    /**
     * @param singularValues vector of length r, descending
     * @param left           [rows, r], columns are left singular vectors
     * @param right          [cols, r], columns are right singular vectors
     * @param requested      the k the caller asked for (may exceed r)
     * @param engine         name of the engine that computed the result
     */
    public TopSvd(INDArray singularValues, INDArray left, INDArray right, int requested, String engine) {
        Objects.requireNonNull(singularValues, "singularValues");
        Objects.requireNonNull(left, "left");
        Objects.requireNonNull(right, "right");
        Objects.requireNonNull(engine, "engine");
        long r = singularValues.length();
        if (left.rank() != 2 || left.columns() != r || right.rank() != 2 || right.columns() != r) {
            throw new IllegalArgumentException("inconsistent SVD shapes: singular values " + r + ", left "
                    + Arrays.toString(left.shape()) + ", right " + Arrays.toString(right.shape()));
        }
        this.singularValues = singularValues.reshape(r);
        this.left = left;
        this.right = right;
        this.requested = requested;
        this.engine = engine;
    }

    /** Singular values, descending, length r. */
    public INDArray singularValues() {
        return singularValues.dup();
    }

    /** [rows, r]; column j is the j-th left singular vector. */
    public INDArray left() {
        return left.dup();
    }

    /** [cols, r]; column j is the j-th right singular vector. */
    public INDArray right() {
        return right.dup();
    }

    /** The k that was requested; {@link #rank()} may be smaller. */
    public int requested() {
        return requested;
    }

    /** Number of singular triplets actually returned, {@code min(k, rows, cols)}. */
    public int rank() {
        return (int) singularValues.length();
    }

    /** Name of the {@link SvdEngine} that produced this result. */
    public String engine() {
        return engine;
    }

    /**
     * How many singular values exceed {@code relTol * s_max}. Both the maximum and the count are ND4J
     * reductions; only the two resulting scalars reach the host.
     */
    public int numericalRank(double relTol) {
        if (!(relTol >= 0.0) || Double.isInfinite(relTol)) {
            throw new IllegalArgumentException("relTol must be finite and >= 0 (got: " + relTol + ")");
        }
        double threshold = relTol * singularValues.maxNumber().doubleValue();
        return singularValues.scan(Conditions.greaterThan(threshold)).intValue();
    }

    @Override
    public String toString() {
        return "TopSvd{engine=" + engine + ", requested=" + requested + ", rank=" + rank()
                + ", left=" + Arrays.toString(left.shape()) + ", right=" + Arrays.toString(right.shape()) + "}";
    }
}
