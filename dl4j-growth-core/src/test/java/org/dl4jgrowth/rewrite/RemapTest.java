package org.dl4jgrowth.rewrite;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The slice moves behind unit maps, on 'c' and 'f' ordered arrays of rank 1 to 4. */
class RemapTest {

    // Reference implementations, one axis at a time through intermediate arrays (what the rewrite
    // did before gatherInto), kept here as the oracle gatherInto is checked against.

    /**
     * Reference: {@code src} re-indexed along {@code axis} by the map's sources; fresh positions hold zeros.
     * Copies runs of consecutive sources as slices (ND4J's Gather op crashed here on the views DL4J
     * hands out for 'f'-ordered weights, and slice copies work alike on every backend).
     */
    static INDArray gather(INDArray src, int axis, UnitMap map) {
        if (map.isIdentity()) {
            return src;
        }
        if (src.rank() == 1) {
            return gather(Remap.row(src), 1, map).reshape(map.newWidth());
        }
        long[] shape = src.shape().clone();
        shape[axis] = map.newWidth();
        INDArray out = Nd4j.zeros(src.dataType(), shape);
        for (int[] run : Remap.sourceRuns(map)) {
            INDArrayIndex[] to = Remap.all(out.rank());
            to[axis] = Remap.span(run[0], run[2]);
            INDArrayIndex[] from = Remap.all(src.rank());
            from[axis] = Remap.span(run[1], run[2]);
            out.get(to).assign(src.get(from));
        }
        return out;
    }

    /**
     * Copies {@code src} into {@code dst} over the cells that are kept (copied) on every mapped axis.
     * Both arrays have the new shape.
     */
    static void copyKept(INDArray src, INDArray dst, int axisA, UnitMap mapA, int axisB, UnitMap mapB) {
        if (dst.rank() == 1) {
            copyKept(Remap.row(src), Remap.row(dst), axisA < 0 ? -1 : axisA + 1, mapA, axisB < 0 ? -1 : axisB + 1, mapB);
            return;
        }
        List<Remap.Run> runsA = axisA >= 0 ? Remap.runs(mapA, false) : List.of(new Remap.Run(0, -1));
        List<Remap.Run> runsB = axisB >= 0 ? Remap.runs(mapB, false) : List.of(new Remap.Run(0, -1));
        for (Remap.Run a : runsA) {
            for (Remap.Run b : runsB) {
                INDArrayIndex[] idx = Remap.all(dst.rank());
                if (axisA >= 0) {
                    idx[axisA] = Remap.span(a.start, a.length);
                }
                if (axisB >= 0) {
                    idx[axisB] = Remap.span(b.start, b.length);
                }
                dst.get(idx).assign(src.get(idx));
            }
        }
    }


    @Test
    void gatherFollowsSourcesOnEveryAxis() {
        INDArray a = Nd4j.linspace(DataType.DOUBLE, 0, 24, 1).reshape('c', 4, 3, 2);
        UnitMap m = UnitMap.builder(4).copy(0).copy(3).fresh(1).copy(0, 0.5).copy(1).build();
        INDArray g = gather(a, 0, m);
        assertEquals(5, g.size(0));
        assertEquals(a.slice(0), g.slice(0));
        assertEquals(a.slice(3), g.slice(1));
        assertEquals(0.0, g.slice(2).sumNumber().doubleValue());
        assertEquals(a.slice(0), g.slice(3));
        assertEquals(a.slice(1), g.slice(4));
    }

    @Test
    void gatherOnFortranOrderedViewAndRank4() {
        INDArray flat = Nd4j.linspace(DataType.DOUBLE, 1, 12, 1);
        INDArray w = flat.reshape('f', 3, 4);
        UnitMap m = UnitMap.split(4, 1);
        INDArray g = gather(w, 1, m);
        assertEquals(w.getColumn(1), g.getColumn(4));
        assertEquals(w.getColumn(3), g.getColumn(3));

        INDArray k = Nd4j.rand(DataType.DOUBLE, 4, 2, 3, 3);
        INDArray gk = gather(k, 0, UnitMap.split(4, 0, 3));
        assertEquals(6, gk.size(0));
        assertEquals(k.get(org.nd4j.linalg.indexing.NDArrayIndex.point(3)), gk.get(org.nd4j.linalg.indexing.NDArrayIndex.point(5)));
        INDArray gk1 = gather(k, 1, UnitMap.grow(2, 1));
        assertEquals(3, gk1.size(1));
    }

    /** gatherInto writes exactly what gather on each axis followed by copyKept writes, and nothing else. */
    @Test
    void gatherIntoMatchesGatherThenCopyKept() {
        UnitMap a = UnitMap.builder(4).copy(0).fresh(1).copy(3).copy(0, 0.5).copy(1).copy(2).build();
        UnitMap b = UnitMap.of(3, new int[]{2, UnitMap.FRESH, 0, 1}, null);
        for (char order : new char[]{'c', 'f'}) {
            INDArray src = Nd4j.linspace(DataType.DOUBLE, 1, 24, 1).reshape(order, 4, 3, 2);
            INDArray expected = Nd4j.valueArrayOf(new long[]{6, 4, 2}, -7.0, DataType.DOUBLE);
            INDArray g = gather(gather(src, 0, a), 1, b);
            copyKept(g, expected, 0, a, 1, b);
            INDArray actual = Nd4j.valueArrayOf(new long[]{6, 4, 2}, -7.0, DataType.DOUBLE).dup(order);
            Remap.gatherInto(src, actual, 0, a, 1, b);
            assertEquals(expected, actual);

            INDArray oneAxis = Nd4j.valueArrayOf(new long[]{4, 4, 2}, -7.0, DataType.DOUBLE);
            Remap.gatherInto(src, oneAxis, 1, b, -1, null);
            INDArray expectedOne = Nd4j.valueArrayOf(new long[]{4, 4, 2}, -7.0, DataType.DOUBLE);
            copyKept(gather(src, 1, b), expectedOne, 1, b, -1, null);
            assertEquals(expectedOne, oneAxis);
        }
        INDArray v = Nd4j.linspace(DataType.DOUBLE, 1, 4, 1);
        INDArray dv = Nd4j.valueArrayOf(new long[]{6}, -7.0, DataType.DOUBLE);
        Remap.gatherInto(v, dv, 0, a, -1, null);
        assertEquals(Nd4j.createFromArray(1.0, -7.0, 4.0, 1.0, 2.0, 3.0), dv);
    }
}
