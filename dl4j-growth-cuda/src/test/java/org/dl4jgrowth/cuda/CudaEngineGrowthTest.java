package org.dl4jgrowth.cuda;

import static org.junit.jupiter.api.Assumptions.assumeFalse;

import org.junit.jupiter.api.Test;

/** The CUDA engine's code, chosen by {@code SvdEngines} and used by a GradMax growth in fit, on the CPU. */
class CudaEngineGrowthTest {

    @Test
    void aGradMaxGrowthInFitThroughTheCudaEngineCodePreservesTheOutput() {
        assumeFalse(CudaBackend.isActive(), "on a GPU the real engine is tested by CudaGpuTest");
        SimulatedCudaSvdEngine.whileActive(() -> GrowthInFit.growAndCheckPreserved(CudaSvdEngine.NAME, "CPU"));
    }

    @Test
    void withoutItTheSameGrowthUsesTheExactCpuEngine() {
        assumeFalse(CudaBackend.isActive(), "on a GPU the CUDA engine is chosen");
        GrowthInFit.growAndCheckPreserved("exact", "CPU");
    }
}
