package org.dl4jgrowth.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.dl4jgrowth.linalg.SvdEngines;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.cpu.nativecpu.CpuBackend;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Both backends with their natives on the classpath ({@code -Pcuda}) and no usable GPU: ND4J must fall back
 * to the CPU, the CUDA engine must stay out, and growth must still work.
 */
@Tag("gpu")
class CpuFallbackTest {

    @Test
    void withTheCudaNativesButNoGpuGrowthRunsOnTheCpu() {
        // -Pcuda sets this to the classifier of the CUDA natives it put on the classpath.
        String classifier = System.getProperty("dl4jgrowth.test.cudaNatives", "");
        assumeTrue(!classifier.isBlank(), "needs -Pcuda: the CUDA natives next to the CPU backend's");
        assumeFalse(CudaBackend.isActive(), "a CUDA device is in use: there is no fallback to observe");
        String natives = "org/nd4j/linalg/jcublas/bindings/" + classifier + "/libjnind4jcuda.so";
        assertNotNull(getClass().getClassLoader().getResource(natives), natives + " is on the classpath");

        assertTrue(Nd4j.getBackend() instanceof CpuBackend, Nd4j.getBackend().getClass().getName());
        assertFalse(new CudaSvdEngine().isAvailable());
        assertEquals("exact", SvdEngines.best().name());
        GrowthInFit.growAndCheckPreserved("exact", "CPU");
    }
}
