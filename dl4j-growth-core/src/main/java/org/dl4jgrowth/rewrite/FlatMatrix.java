package org.dl4jgrowth.rewrite;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.Arrays;
import java.util.List;

/**
 * A [rows, cols] matrix laid out in 'f' order at an element offset of a flat array (a network's
 * parameter vector, gradient or optimizer state), written through arrays made directly over that
 * memory rather than through {@code get(...)} views of it.
 *
 * <p>Why: in ND4J 1.0.0-M2.1, sub-views taken with {@code get(...)} of an array that starts at an
 * offset come back without a data buffer for some index patterns (a 'c'-ordered matrix at an
 * offset, sliced by columns, fails so), which is why the rewrite used to build every parameter in
 * a private array and copy it in: two more passes over each. In 'f' order a run of columns is one
 * contiguous range, so most remaps here are a few straight copies (integration-tests'
 * {@code CopyBench}: ~25 us per MB contiguous, ~0.4 ms per MB for a block of rows). DL4J's dense
 * weights are 'f'-ordered; row and column vectors (biases) have the same layout in either order.
 */
final class FlatMatrix implements Cells {
    private final INDArray base;
    private final long offset;
    private final long rows;
    private final long cols;

    private FlatMatrix(INDArray base, long offset, long rows, long cols) {
        this.base = base;
        this.offset = offset;
        this.rows = rows;
        this.cols = cols;
    }

    /** The matrix shaped {@code shape} (rank 2) at {@code offset} of {@code base}. */
    static FlatMatrix at(INDArray base, long offset, long[] shape) {
        return new FlatMatrix(base, offset, shape[0], shape[1]);
    }

    /**
     * Whether {@code flat}, a vector in {@code base}, is laid out as the 'f' matrix shaped like
     * {@code like} at {@code offset}: the optimizer state's slice of one parameter.
     */
    static boolean fits(INDArray base, INDArray flat, long offset, INDArray like) {
        return fLayout(like) && flat.rank() == 1 && flat.length() == like.length() && flat.elementWiseStride() == 1
                && sameMemory(base, flat, offset);
    }

    /**
     * Whether {@code view} is, checked, the 'f'-laid-out matrix at {@code offset} of the flat
     * {@code base}. ND4J gives a view the buffer of the array it views, with its start as
     * {@code offset()}.
     */
    static boolean fits(INDArray base, INDArray view, long offset) {
        return fLayout(view) && fContiguous(view) && sameMemory(base, view, offset);
    }

    private static boolean fLayout(INDArray a) {
        return a.rank() == 2 && (a.ordering() == 'f' || a.size(0) == 1 || a.size(1) == 1);
    }

    private static boolean fContiguous(INDArray v) {
        long[] st = v.stride();
        return (v.size(0) == 1 || st[0] == 1) && (v.size(1) == 1 || st[1] == v.size(0));
    }

    private static boolean sameMemory(INDArray base, INDArray view, long offset) {
        return base != null && !base.isEmpty() && base.offset() == 0 && view.offset() == offset
                && view.data().address() == base.data().address() && offset + view.length() <= base.length();
    }

    /** Rows {@code [r0, r0+rn)} by columns {@code [c0, c0+cn)}, made directly over the memory. */
    INDArray block(long r0, long rn, long c0, long cn) {
        return Nd4j.create(base.data(), new long[]{rn, cn}, new long[]{1, rows}, offset + r0 + c0 * rows, 'f');
    }

    private INDArray along(int axis, long start, long length) {
        return axis == 0 ? block(start, length, 0, cols) : block(0, rows, start, length);
    }

    /**
     * Kept cells from {@code src}, re-indexed: axis 0 by {@code rowMap}, axis 1 by {@code colMap}
     * (null: not mapped); every other cell is left as it is.
     */
    static void copyRuns(FlatMatrix src, FlatMatrix dst, UnitMap rowMap, UnitMap colMap) {
        List<int[]> rowRuns = rowMap != null ? Remap.sourceRuns(rowMap) : List.of(new int[]{0, 0, (int) src.rows});
        List<int[]> colRuns = colMap != null ? Remap.sourceRuns(colMap) : List.of(new int[]{0, 0, (int) src.cols});
        for (int[] c : colRuns) {
            if (rowMap == null) {
                // Whole columns: one contiguous range.
                long n = c[2] * src.rows;
                dst.range(c[0] * dst.rows, n).assign(src.range(c[1] * src.rows, n));
                continue;
            }
            for (int[] r : rowRuns) {
                dst.block(r[0], r[2], c[0], c[2]).assign(src.block(r[1], r[2], c[1], c[2]));
            }
        }
    }

    private INDArray range(long start, long n) {
        return Nd4j.create(base.data(), new long[]{n}, new long[]{1}, offset + start, 'c');
    }

    /**
     * Writes {@code block} (a private array whose {@code axis} lists the map's fresh positions in
     * order) into those positions.
     */
    @Override
    public void placeFresh(int axis, UnitMap map, INDArray block) {
        int from = 0;
        for (Remap.Run r : Remap.runs(map, true)) {
            INDArrayIndex[] idx = Remap.all(block.rank());
            idx[axis] = Remap.span(from, r.length);
            INDArray target = along(axis, r.start, r.length);
            target.assign(shaped(block.get(idx), target));
            from += r.length;
        }
    }

    /** Sets the map's fresh positions along {@code axis} to {@code value}. */
    @Override
    public void fillFresh(int axis, UnitMap map, double value) {
        for (Remap.Run r : Remap.runs(map, true)) {
            along(axis, r.start, r.length).assign(value);
        }
    }

    /**
     * Multiplies the cells kept on {@code unitAxis} (all, if -1) by the fan-out scale of their
     * position along {@code axis}, where that scale is not 1 (a split's source and copies).
     */
    @Override
    public void scaleKept(int axis, UnitMap map, int unitAxis, UnitMap unitMap) {
        if (!map.scalesFanOut()) {
            return;
        }
        List<Remap.Run> kept = unitAxis >= 0 ? Remap.runs(unitMap, false)
                : List.of(new Remap.Run(0, (int) (axis == 0 ? cols : rows)));
        for (int j = 0; j < map.newWidth(); j++) {
            if (map.source(j) == UnitMap.FRESH || map.fanOutScale(j) == 1.0) {
                continue;
            }
            for (Remap.Run r : kept) {
                INDArray cells = axis == 0 ? block(j, 1, r.start, r.length) : block(r.start, r.length, j, 1);
                cells.muli(map.fanOutScale(j));
            }
        }
    }

    /** Adds {@code sign * slice} to position {@code j} along {@code axis}. */
    @Override
    public void addAt(int axis, int j, INDArray slice, int sign) {
        INDArray target = along(axis, j, 1);
        target.addi(shaped(slice, target).mul(sign));
    }

    private static INDArray shaped(INDArray a, INDArray like) {
        return Arrays.equals(a.shape(), like.shape()) ? a : a.reshape(like.shape());
    }
}
