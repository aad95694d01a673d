package org.dl4jgrowth.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.dl4jgrowth.DeviceReport;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.linalg.ExactSvdEngine;
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

    /** The engine under test; {@link CudaGpuDryRunTest} runs the same code with the backend check bypassed. */
    CudaSvdEngine engine() {
        return new CudaSvdEngine();
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
            // A DOUBLE default lets cuSolver's double routines run (see CudaSvdEngine.lapackType).
            TopSvd gpu = DefaultType.with(c.type, () -> engine().top(c.input(), CpuSvdReference.K));
            double valueTol = c.type == DataType.DOUBLE ? 1e-10 : 1e-4;
            double vectorTol = c.type == DataType.DOUBLE ? 1e-7 : 1e-3;
            SvdAssertions.assertShapes(gpu, c.matrix.rows(), c.matrix.columns(), CpuSvdReference.K);
            SvdAssertions.assertSameTriplets(c.cpu, gpu, CpuSvdReference.K, valueTol, vectorTol);
        }
    }

    @Test
    void doubleInputUnderTheFloatDefaultAgreesToFloatPrecision() {
        for (CpuSvdReference.Case c : CpuSvdReference.read()) {
            if (c.type == DataType.DOUBLE) {
                TopSvd gpu = DefaultType.with(DataType.FLOAT,
                        () -> engine().top(c.input(), CpuSvdReference.K));
                assertEquals(DataType.DOUBLE, gpu.left().dataType());
                SvdAssertions.assertSameTriplets(c.cpu, gpu, CpuSvdReference.K, 1e-4, 1e-3);
            }
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

            engine.top(g, 8);
            Nd4j.getExecutioner().commit();

            assertFalse(point.isActualOnHostSide(), "the statistic " + java.util.Arrays.toString(shape)
                    + " was copied to the host (path " + engine.plan(shape[0], shape[1], 8) + ")");
        }
    }

    @Test
    void theRandomizedPathAgreesWithTheExactEngineOnTheGpu() {
        // Built in DOUBLE (its QR needs the DOUBLE default on CUDA), then decomposed in FLOAT.
        INDArray a = DefaultType.with(DataType.DOUBLE,
                () -> SvdAssertions.withSpectrum(2100, 1500, SvdAssertions.geometric(1500, 3.0, 0.6), 5))
                .castTo(DataType.FLOAT);
        CudaSvdEngine engine = engine();
        assertEquals(CudaSvdEngine.Path.RANDOMIZED, engine.plan(2100, 1500, 8));
        TopSvd randomized = engine.top(a, 8);
        TopSvd exact = new ExactSvdEngine().top(a, 8);
        SvdAssertions.assertOrthonormalColumns(randomized.left(), 1e-4, "U");
        SvdAssertions.assertOrthonormalColumns(randomized.right(), 1e-4, "V");
        SvdAssertions.assertSameTriplets(exact, randomized, 8, 1e-3, 1e-2);
    }

    @Test
    void aGradMaxGrowthInFitPreservesTheOutputOnTheGpu() {
        GrowthEvent e = GrowthInFit.growAndCheckPreserved(CudaSvdEngine.NAME, "CUDA:");
        assertTrue(e.toString().contains("gradMax"), e.toString());
    }
}
