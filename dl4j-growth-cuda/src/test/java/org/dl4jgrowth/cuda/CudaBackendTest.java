package org.dl4jgrowth.cuda;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.cpu.nativecpu.CpuBackend;
import org.nd4j.linalg.factory.Nd4j;

class CudaBackendTest {

    @Test
    void recognisesTheCudaBackendByClassNameAndOnlyOutsideACpuEnvironment() throws Exception {
        // Loaded without initialising: the thin nd4j-cuda jar is on this module's test classpath.
        Class<?> cuda = Class.forName(CudaBackend.BACKEND_CLASS, false, getClass().getClassLoader());
        assertTrue(CudaBackend.isCudaBackend(cuda, false));
        assertFalse(CudaBackend.isCudaBackend(cuda, true), "an environment that says CPU is not CUDA");
        assertFalse(CudaBackend.isCudaBackend(CpuBackend.class, false));
        assertFalse(CudaBackend.isCudaBackend(Object.class, false));
    }

    @Test
    void onTheCpuBackendTheCudaBackendIsInactiveAndTheReasonSaysSo() {
        assumeFalse(CudaBackend.isActive(), "this check is for machines where ND4J runs on the CPU");
        assertTrue(Nd4j.getBackend() instanceof CpuBackend, Nd4j.getBackend().getClass().getName());
        assertTrue(CudaBackend.classesPresent(), "the thin CUDA jars are on the test classpath");
        String why = CudaBackend.describe();
        assertTrue(why.contains("CpuBackend") && why.contains("did not start"), why);
    }
}
