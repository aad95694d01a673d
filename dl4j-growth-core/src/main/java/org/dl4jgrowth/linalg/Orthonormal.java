package org.dl4jgrowth.linalg;

import org.nd4j.linalg.api.ndarray.INDArray;

/** Orthonormal bases by Householder QR, on the active backend (LAPACK {@code geqrf}; see {@link SvdSupport}). */
public final class Orthonormal {
    private Orthonormal() {
    }

    /**
     * Q of {@code y = Q R}: orthonormal columns spanning {@code y}'s columns, column j built from
     * columns 0..j (Gram-Schmidt order). {@code y} must be FLOAT or DOUBLE with rows >= cols; it is
     * left untouched. Q's column signs are LAPACK's.
     */
    public static INDArray columns(INDArray y) {
        if (y.rank() != 2 || y.rows() < y.columns()) {
            throw new IllegalArgumentException("expected a matrix with rows >= cols (got shape "
                    + java.util.Arrays.toString(y.shape()) + ")");
        }
        return SvdSupport.orthonormalize(y);
    }
}
