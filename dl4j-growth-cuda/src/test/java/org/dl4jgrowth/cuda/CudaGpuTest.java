package org.dl4jgrowth.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.dl4jgrowth.DeviceReport;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.linalg.SvdAssertions;
import org.dl4jgrowth.linalg.SvdEngines;
import org.dl4jgrowth.linalg.TopSvd;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.nd4j.jita.allocator.impl.AllocationPoint;
import org.nd4j.jita.allocator.impl.AtomicAllocator;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The CUDA engine on a real GPU. Every test is skipped, with the reason, unless ND4J runs on its CUDA
 * backend: run with {@code mvn -Pcuda verify} on a machine with a CUDA 11.6 capable GPU and driver.
 */
@Tag("gpu")
class CudaGpuTest {

    @BeforeEach
    void needsTheCudaBackend() {
        assumeTrue(CudaBackend.isActive(), CudaBackend.describe());
    }

    @Test
    void isTheEngineChosenOnTheCudaBackend() {
        assertTrue(new CudaSvdEngine().isAvailable());
        assertEquals(CudaSvdEngine.NAME, SvdEngines.best().name());
    }

    @Test
    void theDeviceReportNamesTheGpuAndItsFreeMemory() {
        DeviceReport r = DeviceReport.current();
        assertEquals("CUDA", r.backendKind(), r.toString());
        assertFalse(r.host(), r.toString());
        assertNotNull(r.deviceName(), r.toString());
        assertTrue(r.freeMemoryBytes() > 0 && r.freeMemoryBytes() <= r.totalMemoryBytes(), r.toString());
        assertEquals(CudaSvdEngine.NAME, r.svdEngine(), r.toString());
        assertTrue(r.shortName().startsWith("CUDA:"), r.shortName());
    }

    @Test
    void agreesWithTheCpuEngineUpToSignOnGradMaxIMatrices() {
        for (CpuSvdReference.Case c : CpuSvdReference.read()) {
            TopSvd gpu = new CudaSvdEngine().top(c.input(), CpuSvdReference.K);
            double valueTol = c.type == DataType.DOUBLE ? 1e-10 : 1e-4;
            double vectorTol = c.type == DataType.DOUBLE ? 1e-7 : 1e-3;
            SvdAssertions.assertShapes(gpu, c.matrix.rows(), c.matrix.columns(), CpuSvdReference.K);
            SvdAssertions.assertSameTriplets(c.cpu, gpu, CpuSvdReference.K, valueTol, vectorTol);
        }
    }

    @Test
    void leavesTheStatisticOnTheDeviceOnTheExactAndRandomizedPaths() {
        CudaSvdEngine engine = new CudaSvdEngine();
        for (long[] shape : new long[][] {{300, 200}, {200, 300}, {2100, 1500}}) {
            // An in-place op on the device leaves the host copy stale, as a statistic computed by the
            // backward pass would be.
            INDArray g = Nd4j.rand(DataType.FLOAT, shape[0], shape[1]).addi(0.5);
            Nd4j.getExecutioner().commit();
            AllocationPoint point = AtomicAllocator.getInstance().getAllocationPoint(g);
            assertTrue(point.isActualOnDeviceSide() && !point.isActualOnHostSide(),
                    "premise: after a device op only the device copy is current");

            TopSvd t = engine.top(g, 8);
            Nd4j.getExecutioner().commit();

            assertFalse(point.isActualOnHostSide(), "the statistic " + java.util.Arrays.toString(shape)
                    + " was copied to the host (path " + engine.plan(shape[0], shape[1], 8) + ")");
            INDArray left = t.left();
            assertTrue(AtomicAllocator.getInstance().getAllocationPoint(left).isActualOnDeviceSide(),
                    "the singular vectors are on the device");
        }
    }

    @Test
    void aGradMaxGrowthInFitPreservesTheOutputOnTheGpu() {
        GrowthEvent e = GrowthInFit.growAndCheckPreserved(CudaSvdEngine.NAME, "CUDA:");
        assertTrue(e.toString().contains("gradMax"), e.toString());
    }
}
