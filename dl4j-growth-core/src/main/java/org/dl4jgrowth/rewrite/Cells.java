package org.dl4jgrowth.rewrite;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Where a parameter's new values are written during a rewrite: the parameter's place in the new
 * flat vector itself ({@link FlatMatrix}), or a private array assigned to it afterwards
 * ({@link #of(INDArray)}). The rewrite places fresh units, scales and perturbs through this one
 * interface, whichever it is.
 */
interface Cells {

    /** Writes {@code block} (whose {@code axis} lists the map's fresh positions in order) into those positions. */
    void placeFresh(int axis, UnitMap map, INDArray block);

    /** Sets the map's fresh positions along {@code axis} to {@code value}. */
    void fillFresh(int axis, UnitMap map, double value);

    /**
     * Multiplies the cells kept on {@code unitAxis} (all, if -1) by the fan-out scale of their
     * position along {@code axis}, where that scale is not 1.
     */
    void scaleKept(int axis, UnitMap map, int unitAxis, UnitMap unitMap);

    /** Adds {@code sign * slice} to position {@code j} along {@code axis}. */
    void addAt(int axis, int j, INDArray slice, int sign);

    /** The cells of a private array (views of it are sliced with {@code get(...)}). */
    static Cells of(INDArray array) {
        return new Cells() {
            @Override
            public void placeFresh(int axis, UnitMap map, INDArray block) {
                Remap.placeFresh(array, axis, map, block);
            }

            @Override
            public void fillFresh(int axis, UnitMap map, double value) {
                Remap.fillFresh(array, axis, map, value);
            }

            @Override
            public void scaleKept(int axis, UnitMap map, int unitAxis, UnitMap unitMap) {
                Remap.scaleKept(array, axis, map, unitAxis, unitMap);
            }

            @Override
            public void addAt(int axis, int j, INDArray slice, int sign) {
                INDArrayIndex[] at = Remap.all(array.rank());
                at[axis] = NDArrayIndex.point(j);
                array.get(at).addi(slice.mul(sign));
            }
        };
    }
}
