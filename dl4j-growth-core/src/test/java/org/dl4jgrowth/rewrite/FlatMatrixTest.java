package org.dl4jgrowth.rewrite;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link FlatMatrix} writes, straight into a flat array at an offset, exactly what
 * {@link Remap#gatherInto} writes into a private array, and nothing outside its matrix.
 */
class FlatMatrixTest {
    private static final double MARK = -7.0;

    private static final UnitMap ROWS = UnitMap.builder(4).copy(0).fresh(1).copy(3).copy(0, 0.5).copy(1).copy(2).build();
    private static final UnitMap COLS = UnitMap.of(3, new int[]{2, UnitMap.FRESH, 0, 1}, null);

    /** A flat array holding an 'f' matrix at {@code offset}, marked everywhere else. */
    private static INDArray flatWith(INDArray fMatrix, long offset, long length) {
        INDArray flat = Nd4j.valueArrayOf(new long[]{length}, MARK, DataType.DOUBLE);
        flat.get(NDArrayIndex.interval(offset, offset + fMatrix.length())).assign(fMatrix.reshape('f', new long[]{fMatrix.length()}));
        return flat;
    }

    private static INDArray matrixOf(INDArray flat, long offset, long rows, long cols) {
        return flat.get(NDArrayIndex.interval(offset, offset + rows * cols)).dup().reshape('f', new long[]{rows, cols});
    }

    private static void check(UnitMap rowMap, UnitMap colMap, long rows, long cols) {
        long newRows = rowMap == null ? rows : rowMap.newWidth();
        long newCols = colMap == null ? cols : colMap.newWidth();
        INDArray src = Nd4j.linspace(DataType.DOUBLE, 1, rows * cols, 1).reshape('f', rows, cols);
        INDArray expected = Nd4j.valueArrayOf(new long[]{newRows, newCols}, MARK, DataType.DOUBLE).dup('f');
        Remap.gatherInto(src, expected, rowMap == null ? -1 : 0, rowMap, colMap == null ? -1 : 1, colMap);

        INDArray srcFlat = flatWith(src, 5, 200);
        INDArray dstFlat = Nd4j.valueArrayOf(new long[]{200}, MARK, DataType.DOUBLE);
        FlatMatrix.copyRuns(FlatMatrix.at(srcFlat, 5, new long[]{rows, cols}),
                FlatMatrix.at(dstFlat, 11, new long[]{newRows, newCols}), rowMap, colMap);

        assertEquals(expected, matrixOf(dstFlat, 11, newRows, newCols));
        for (long i = 0; i < 200; i++) {
            if (i < 11 || i >= 11 + newRows * newCols) {
                assertEquals(MARK, dstFlat.getDouble(i), 0.0, "outside the matrix, at " + i);
            }
        }
    }

    @Test
    void copyRunsMatchesGatherIntoOnEitherAxisAndBoth() {
        check(ROWS, COLS, 4, 3);
        check(ROWS, null, 4, 3);
        check(null, COLS, 4, 3);
        check(null, UnitMap.drop(5, 1, 4), 1, 5);     // a bias row losing two units
        check(null, UnitMap.grow(3, 2), 1, 3);         // and one gaining two
    }

    @Test
    void freshPlacementFillAndScalesWriteOnlyTheirCells() {
        long rows = 3;
        UnitMap cols = UnitMap.builder(3).copy(0).fresh(1).copy(2, 0.5).copy(2, 0.5).copy(1).build();
        INDArray flat = Nd4j.valueArrayOf(new long[]{40}, 1.0, DataType.DOUBLE);
        FlatMatrix m = FlatMatrix.at(flat, 4, new long[]{rows, cols.newWidth()});
        INDArray block = Nd4j.createFromArray(new double[][]{{10}, {20}, {30}});
        m.placeFresh(1, cols, block);
        INDArray w = matrixOf(flat, 4, rows, cols.newWidth());
        assertEquals(block.reshape(3), w.getColumn(1));

        m.fillFresh(1, cols, 0.0);
        w = matrixOf(flat, 4, rows, cols.newWidth());
        assertEquals(0.0, w.getColumn(1).sumNumber().doubleValue(), 0.0);

        // Scales along the rows' axis (a consumer's input axis) of positions 2 and 3 (the split of 2).
        INDArray t = Nd4j.valueArrayOf(new long[]{40}, 1.0, DataType.DOUBLE);
        FlatMatrix c = FlatMatrix.at(t, 2, new long[]{cols.newWidth(), 2});
        c.scaleKept(0, cols, -1, null);
        INDArray cw = matrixOf(t, 2, cols.newWidth(), 2);
        assertEquals(Nd4j.createFromArray(1.0, 1.0, 0.5, 0.5, 1.0), cw.getColumn(0));
        assertEquals(1.0, t.getDouble(1), 0.0);
        assertEquals(1.0, t.getDouble(2 + cw.length()), 0.0);

        m.addAt(1, 4, Nd4j.createFromArray(1.0, 2.0, 3.0), -1);
        w = matrixOf(flat, 4, rows, cols.newWidth());
        assertEquals(Nd4j.createFromArray(0.0, -1.0, -2.0), w.getColumn(4));
    }

    @Test
    void fitsOnlyViewsLaidOutAsAnFMatrixAtTheirOffset() {
        INDArray base = Nd4j.create(DataType.DOUBLE, 1, 100);
        INDArray row = base.reshape(100);
        INDArray f = row.get(NDArrayIndex.interval(10, 22)).reshape('f', new long[]{3, 4});
        assertTrue(FlatMatrix.fits(base, f, 10));
        assertFalse(FlatMatrix.fits(base, f, 11), "wrong offset");
        INDArray c = row.get(NDArrayIndex.interval(10, 22)).reshape('c', new long[]{3, 4});
        assertFalse(FlatMatrix.fits(base, c, 10), "'c' matrix");
        INDArray bias = row.get(NDArrayIndex.interval(30, 35)).reshape('c', new long[]{1, 5});
        assertTrue(FlatMatrix.fits(base, bias, 30), "a row vector has the same layout in either order");
        assertFalse(FlatMatrix.fits(Nd4j.create(DataType.DOUBLE, 1, 100), f, 10), "another array's memory");
        assertTrue(FlatMatrix.fits(base, row.get(NDArrayIndex.interval(10, 22)), 10, f));
        assertFalse(FlatMatrix.fits(base, row.get(NDArrayIndex.interval(10, 22)), 10, c));
    }
}
