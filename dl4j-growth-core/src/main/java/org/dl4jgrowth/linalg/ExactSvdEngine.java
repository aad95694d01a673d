package org.dl4jgrowth.linalg;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Deterministic top-k SVD by a direct LAPACK decomposition of a copy of the input. GradMax (Evci et
 * al. 2022) needs only the leading directions of the gradient statistic. On the CPU backend LAPACK's
 * {@code gesvdx} computes just those k triplets ({@link HostLapack}: bidiagonalisation, then the
 * wanted triplets of the bidiagonal alone); elsewhere, or when {@code gesvdx}'s vectors are not
 * orthonormal (a cluster of equal values), the whole spectrum comes from {@code gesvd} and is
 * truncated. Either way it is an exact decomposition in the input's precision: the accurate
 * reference, and the right choice for small and medium matrices.
 *
 * <p>On the {@code gesvd} path, tall inputs are first reduced with a QR factorisation ({@code geqrf}) so that LAPACK never has to
 * materialise an m x m U. Wide inputs are transposed (CUDA's gesvd requires rows >= cols, and one code
 * path is kept for all backends). Everything runs as ND4J operations on the active backend; the matrix is
 * never copied to the host.
 */
public final class ExactSvdEngine implements SvdEngine {

    public static final String NAME = "exact";
    public static final int PRIORITY = 10;

    /** Public no-arg constructor for {@link java.util.ServiceLoader}. */
    public ExactSvdEngine() {
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public boolean isAvailable() {
        return SvdSupport.lapackAvailable();
    }

    @Override
    public int priority() {
        return PRIORITY;
    }

    @Override
    public TopSvd top(INDArray a, int k) {
        SvdSupport.validate(a, k);
        DataType work = SvdSupport.workType(a.dataType());
        int r = SvdSupport.resultRank(a, k);
        return SvdSupport.exact(a, r, work).toTopSvd(a.dataType(), k, NAME);
    }

    @Override
    public String toString() {
        return NAME;
    }
}
