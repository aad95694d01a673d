package org.dl4jgrowth.linalg;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Computes the leading singular triplets of a matrix as ND4J operations on the active backend.
 *
 * <p>Implementations must never copy the matrix data to the host (no {@code toDoubleMatrix()}, no
 * {@code getDouble} loops, no Java arrays of the data): on a GPU backend that would dominate the cost
 * and defeat the point of computing GradMax (Evci et al. 2022) initialisations during training.
 *
 * <p>Engines are discovered with {@link java.util.ServiceLoader} (see {@link SvdEngines}); a backend
 * module contributes its own engine by listing it in
 * {@code META-INF/services/org.dl4jgrowth.linalg.SvdEngine}. Implementations therefore need a public
 * no-argument constructor.
 */
public interface SvdEngine {

    /** Unique, stable name used for selection, e.g. {@code "exact"}. */
    String name();

    /** Whether this engine can run on the currently loaded ND4J backend. */
    boolean isAvailable();

    /** Higher wins when {@link SvdEngines#best()} chooses among available engines. */
    int priority();

    /**
     * The top {@code min(k, rows, cols)} singular triplets of {@code a}.
     *
     * @param a rank-2 FLOAT, DOUBLE or HALF matrix; never modified. HALF is computed in FLOAT and the
     *          results are cast back to HALF.
     * @param k number of triplets wanted, at least 1
     * @throws IllegalArgumentException if {@code a} is not a non-empty floating-point matrix or {@code k < 1}
     */
    TopSvd top(INDArray a, int k);

    /**
     * The largest singular value of {@code a} alone, what a signal trigger compares: by default
     * {@code top(a, 1)}'s; an engine may take a cheaper route to one value.
     */
    default double topValue(INDArray a) {
        return top(a, 1).singularValues().getDouble(0);
    }
}
