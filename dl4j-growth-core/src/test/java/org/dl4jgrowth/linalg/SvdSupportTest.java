package org.dl4jgrowth.linalg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class SvdSupportTest {

    @Test
    void onTheHostLapackRunsInTheInputsOwnPrecision() {
        for (DataType nd4jDefault : new DataType[] {DataType.FLOAT, DataType.DOUBLE, DataType.HALF}) {
            assertEquals(DataType.DOUBLE, SvdSupport.lapackType(DataType.DOUBLE, nd4jDefault, true));
            assertEquals(DataType.FLOAT, SvdSupport.lapackType(DataType.FLOAT, nd4jDefault, true));
            assertEquals(DataType.FLOAT, SvdSupport.lapackType(DataType.HALF, nd4jDefault, true));
        }
    }

    @Test
    void onADeviceDoubleNeedsADoubleDefaultBecauseNd4jSizesCuSolversWorkspaceByIt() {
        assertEquals(DataType.FLOAT, SvdSupport.lapackType(DataType.DOUBLE, DataType.FLOAT, false));
        assertEquals(DataType.DOUBLE, SvdSupport.lapackType(DataType.DOUBLE, DataType.DOUBLE, false));
        assertEquals(DataType.FLOAT, SvdSupport.lapackType(DataType.FLOAT, DataType.DOUBLE, false));
        assertEquals(DataType.FLOAT, SvdSupport.lapackType(DataType.HALF, DataType.FLOAT, false));
        for (DataType narrow : new DataType[] {DataType.HALF, DataType.BFLOAT16}) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> SvdSupport.lapackType(DataType.FLOAT, narrow, false));
            assertTrue(e.getMessage().contains("default floating-point type is " + narrow)
                    && e.getMessage().contains("allowed defaults are FLOAT and DOUBLE"), e.getMessage());
        }
    }

    @Test
    void orthonormalizeReturnsTheInputsTypeAndLeavesTheInputAlone() {
        INDArray y = SvdAssertions.gaussian(12, 4, 3);
        INDArray before = y.dup();
        INDArray q = SvdSupport.orthonormalize(y);
        assertEquals(DataType.DOUBLE, q.dataType());
        assertEquals(before, y);
        SvdAssertions.assertOrthonormalColumns(q, 1e-12, "Q");
        INDArray f = SvdSupport.orthonormalize(y.castTo(DataType.FLOAT));
        assertEquals(DataType.FLOAT, f.dataType());
        SvdAssertions.assertOrthonormalColumns(f, 1e-5, "Q");
        assertEquals(0.0, q.castTo(DataType.FLOAT).sub(f).amaxNumber().doubleValue(), 1e-5, "the same basis");
    }

    @Test
    void onTheCpuBackendTheWorkTypeIsTheInputsPrecision() {
        assertTrue(Nd4j.getEnvironment().isCPU());
        assertEquals(DataType.DOUBLE, SvdSupport.workType(DataType.DOUBLE));
        assertEquals(DataType.FLOAT, SvdSupport.workType(DataType.HALF));
    }
}
