package org.dl4jgrowth.rewrite;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.List;

/**
 * Array moves behind a unit map, all as ND4J ops on whole slices so they run on the backend's
 * device: gathers along an axis, and copies over runs of consecutive positions (a unit map's fresh
 * and kept units come in a few runs, so this is a handful of slice assignments, not a loop over
 * elements).
 */
final class Remap {
    private Remap() {
    }

    /** A run of consecutive positions {@code [start, start+length)}. */
    static final class Run {
        final int start;
        final int length;

        Run(int start, int length) {
            this.start = start;
            this.length = length;
        }
    }

    /** Runs of the new positions whose source is (or is not) fresh. */
    static List<Run> runs(UnitMap map, boolean fresh) {
        List<Run> runs = new ArrayList<>();
        int start = -1;
        for (int j = 0; j <= map.newWidth(); j++) {
            boolean in = j < map.newWidth() && (map.source(j) == UnitMap.FRESH) == fresh;
            if (in && start < 0) {
                start = j;
            } else if (!in && start >= 0) {
                runs.add(new Run(start, j - start));
                start = -1;
            }
        }
        return runs;
    }

    /**
     * Writes {@code src} re-indexed by the maps' sources into the kept cells of {@code dst} (the
     * cells whose position is copied on every mapped axis), leaving every other cell of {@code dst}
     * as it is: the same values as {@link #gather} on each mapped axis followed by {@link #copyKept},
     * without the intermediate arrays. {@code dst} has the new shape; an axis of -1 is not mapped.
     */
    static void gatherInto(INDArray src, INDArray dst, int axisA, UnitMap mapA, int axisB, UnitMap mapB) {
        if (dst.rank() == 1) {
            gatherInto(row(src), row(dst), axisA < 0 ? -1 : axisA + 1, mapA, axisB < 0 ? -1 : axisB + 1, mapB);
            return;
        }
        List<int[]> runsA = axisA >= 0 ? sourceRuns(mapA) : List.of(new int[]{0, 0, -1});
        List<int[]> runsB = axisB >= 0 ? sourceRuns(mapB) : List.of(new int[]{0, 0, -1});
        for (int[] a : runsA) {
            for (int[] b : runsB) {
                INDArrayIndex[] to = all(dst.rank());
                INDArrayIndex[] from = all(src.rank());
                if (axisA >= 0) {
                    to[axisA] = span(a[0], a[2]);
                    from[axisA] = span(a[1], a[2]);
                }
                if (axisB >= 0) {
                    to[axisB] = span(b[0], b[2]);
                    from[axisB] = span(b[1], b[2]);
                }
                dst.get(to).assign(src.get(from));
            }
        }
    }

    /** Runs {@code {newStart, sourceStart, length}} of new positions with consecutive (non-fresh) sources. */
    static List<int[]> sourceRuns(UnitMap map) {
        List<int[]> runs = new ArrayList<>();
        int j = 0;
        while (j < map.newWidth()) {
            int s0 = map.source(j);
            if (s0 == UnitMap.FRESH) {
                j++;
                continue;
            }
            int len = 1;
            while (j + len < map.newWidth() && map.source(j + len) == s0 + len) {
                len++;
            }
            runs.add(new int[]{j, s0, len});
            j += len;
        }
        return runs;
    }

    /**
     * Multiplies, in place, the cells of {@code arr} (new shape) that are kept on {@code unitAxis}
     * (all cells if it is -1) by the fan-out scale of their position along {@code axis}. Only
     * positions whose scale is not 1 are touched: a split scales its source and its copies.
     */
    static void scaleKept(INDArray arr, int axis, UnitMap map, int unitAxis, UnitMap unitMap) {
        if (!map.scalesFanOut()) {
            return;
        }
        if (arr.rank() == 1) {
            scaleKept(row(arr), axis + 1, map, unitAxis < 0 ? -1 : unitAxis + 1, unitMap);
            return;
        }
        List<Run> kept = unitAxis >= 0 ? runs(unitMap, false) : List.of(new Run(0, -1));
        for (int j = 0; j < map.newWidth(); j++) {
            if (map.source(j) == UnitMap.FRESH || map.fanOutScale(j) == 1.0) {
                continue;
            }
            for (Run r : kept) {
                INDArrayIndex[] idx = all(arr.rank());
                idx[axis] = NDArrayIndex.point(j);
                if (unitAxis >= 0) {
                    idx[unitAxis] = span(r.start, r.length);
                }
                arr.get(idx).muli(map.fanOutScale(j));
            }
        }
    }

    /**
     * Writes {@code block}, whose {@code axis} lists the fresh positions of {@code map} in order,
     * into those positions of {@code dst}.
     */
    static void placeFresh(INDArray dst, int axis, UnitMap map, INDArray block) {
        if (dst.rank() == 1) {
            placeFresh(row(dst), axis + 1, map, block.rank() == 1 ? row(block) : block);
            return;
        }
        int offset = 0;
        for (Run r : runs(map, true)) {
            INDArrayIndex[] to = all(dst.rank());
            to[axis] = span(r.start, r.length);
            INDArrayIndex[] from = all(block.rank());
            from[axis] = span(offset, r.length);
            dst.get(to).assign(block.get(from));
            offset += r.length;
        }
    }

    /** Sets the fresh positions of {@code dst} along {@code axis} to a constant. */
    static void fillFresh(INDArray dst, int axis, UnitMap map, double value) {
        if (dst.rank() == 1) {
            fillFresh(row(dst), axis + 1, map, value);
            return;
        }
        for (Run r : runs(map, true)) {
            INDArrayIndex[] to = all(dst.rank());
            to[axis] = span(r.start, r.length);
            dst.get(to).assign(value);
        }
    }

    /**
     * A [1, n] view of a vector. ND4J mishandles length-1 interval views of rank-1 arrays (their data
     * buffer comes back null), so vectors are always sliced as rows.
     */
    static INDArray row(INDArray v) {
        return v.reshape(v.ordering(), true, 1, v.length());
    }

    /**
     * Positions {@code [start, start+length)} along one axis. A length-1 interval on an inner axis
     * gives a view with no data buffer in ND4J 1.0.0-M2.1, so single positions use a point index
     * (both sides of every copy index the same way, so the dropped axis matches).
     */
    static INDArrayIndex span(long start, long length) {
        return length == 1 ? NDArrayIndex.point(start) : NDArrayIndex.interval(start, start + length);
    }

    /**
     * Mean L2 norm of the units' slices along {@code axis}, where each unit owns {@code block}
     * consecutive positions (a flattened channel).
     */
    static double meanUnitNorm(INDArray w, int axis, int block) {
        int rank = w.rank();
        if (block == 1) {
            // One reduction over the other axes: no copy of the matrix.
            int[] others = new int[rank - 1];
            for (int i = 0, j = 0; i < rank; i++) {
                if (i != axis) {
                    others[j++] = i;
                }
            }
            INDArray norms = w.norm2(others);
            double mean = norms.meanNumber().doubleValue();
            release(norms);
            return mean;
        }
        int[] perm = new int[rank];
        perm[0] = axis;
        for (int i = 0, j = 1; i < rank; i++) {
            if (i != axis) {
                perm[j++] = i;
            }
        }
        INDArray units = w.permute(perm).dup('c');
        long n = units.size(0) / block;
        INDArray norms = units.reshape('c', n, units.length() / n).norm2(1);
        double mean = norms.meanNumber().doubleValue();
        release(units, norms);
        return mean;
    }

    /** Mean |w| over the nonzero entries of {@code w} (0 when all are zero). */
    static double meanAbsNonZero(INDArray w) {
        double sum = w.norm1Number().doubleValue();
        // A counting reduction: no boolean and no 64-bit copy of the matrix.
        long nonZero = w.scan(org.nd4j.linalg.indexing.conditions.Conditions.notEquals(0.0)).longValue();
        return nonZero == 0 ? 0.0 : sum / nonZero;
    }

    /**
     * Frees private arrays' memory now rather than when the garbage collector finds them: a rewrite
     * makes several temporaries the size of a weight matrix, and memory handed back at once is
     * reused by the next allocation instead of being mapped afresh. Views and workspace arrays are
     * left alone ({@link INDArray#closeable()}); pass only arrays nothing else refers to.
     */
    static void release(INDArray... arrays) {
        for (INDArray a : arrays) {
            if (a != null && a.closeable()) {
                a.close();
            }
        }
    }

    static INDArrayIndex[] all(int rank) {
        INDArrayIndex[] idx = new INDArrayIndex[rank];
        for (int i = 0; i < rank; i++) {
            idx[i] = NDArrayIndex.all();
        }
        return idx;
    }
}
