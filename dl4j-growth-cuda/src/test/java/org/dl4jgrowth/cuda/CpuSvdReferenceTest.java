package org.dl4jgrowth.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.nio.file.Path;
import java.util.List;

import org.dl4jgrowth.linalg.SvdAssertions;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The stored reference that {@link CudaGpuTest} compares the GPU against is exactly the CPU engine's
 * output on exactly GradMax I's matrices. Set {@code -Ddl4jgrowth.test.writeSvdReference=<file>} to
 * rewrite it (then copy the file over {@code src/test/resources/org/dl4jgrowth/cuda/}).
 */
class CpuSvdReferenceTest {

    @Test
    void theStoredReferenceIsWhatTheCpuEngineComputesOnGradMaxIMatrices() {
        assumeFalse(CudaBackend.isActive(), "the reference is made and checked on the CPU backend");
        List<CpuSvdReference.Case> live = CpuSvdReference.compute();
        String target = System.getProperty("dl4jgrowth.test.writeSvdReference");
        if (target != null && !target.isBlank()) {
            CpuSvdReference.write(live, Path.of(target));
        }
        List<CpuSvdReference.Case> stored = CpuSvdReference.read();
        assertEquals(live.size(), stored.size());
        for (int i = 0; i < live.size(); i++) {
            CpuSvdReference.Case l = live.get(i);
            CpuSvdReference.Case s = stored.get(i);
            assertEquals(l.toString(), s.toString());
            assertEquals(l.matrix, s.matrix, "matrix of " + l);
            double tol = l.type == DataType.DOUBLE ? 1e-12 : 1e-6;
            SvdAssertions.assertSameTriplets(s.cpu, l.cpu, CpuSvdReference.K, tol, 10 * tol);
        }
    }
}
