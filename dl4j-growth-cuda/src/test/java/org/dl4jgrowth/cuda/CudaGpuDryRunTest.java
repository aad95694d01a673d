package org.dl4jgrowth.cuda;

import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * {@link CudaGpuTest}'s numerical checks, run on the CPU through the engine's own code (backend check
 * bypassed), so that the GPU tests' reference data, tolerances and set-up are known to work before a GPU
 * ever runs them. The tests about the device itself are overridden without {@code @Test}, which JUnit
 * does not run.
 */
class CudaGpuDryRunTest extends CudaGpuTest {

    @Override
    void needsTheCudaBackend() {
        assumeFalse(CudaBackend.isActive(), "on a GPU, CudaGpuTest runs the real thing");
    }

    @Override
    CudaSvdEngine engine() {
        CudaSvdEngine real = new CudaSvdEngine();
        return new CudaSvdEngine(real.exactLimit(), real.oversampling(), real.powerIterations(), real.seed(), () -> true);
    }

    @Override
    void isTheEngineChosenOnTheCudaBackend() {
    }

    @Override
    void theDeviceReportNamesTheGpuAndItsFreeMemory() {
    }

    @Override
    void leavesTheStatisticOnTheDeviceOnTheExactAndRandomizedPaths() {
    }

    @Override
    void aGradMaxGrowthInFitPreservesTheOutputOnTheGpu() {
    }
}
