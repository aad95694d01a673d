package org.dl4jgrowth.linalg;

import static org.dl4jgrowth.linalg.SvdAssertions.assertOrthonormalColumns;
import static org.dl4jgrowth.linalg.SvdAssertions.assertSameTriplets;
import static org.dl4jgrowth.linalg.SvdAssertions.geometric;
import static org.dl4jgrowth.linalg.SvdAssertions.maxAbsDiff;
import static org.dl4jgrowth.linalg.SvdAssertions.withSpectrum;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The CPU path of the exact engine: LAPACK's gesvdx for the top triplets alone. It must give what the
 * whole-spectrum gesvd path gives (up to the sign of each pair), be what {@link ExactSvdEngine} returns
 * on this backend, and step aside where its vectors would not be orthonormal.
 */
class HostLapackTest {

    @AfterEach
    void clearProperty() {
        System.clearProperty(HostLapack.PROPERTY);
    }

    @ParameterizedTest
    @CsvSource({"FLOAT, 784, 256", "FLOAT, 256, 784", "DOUBLE, 300, 120", "DOUBLE, 120, 300"})
    void topTripletsAreThoseOfTheWholeSpectrum(DataType type, int rows, int cols) {
        INDArray a = withSpectrum(rows, cols, geometric(Math.min(rows, cols), 50.0, 0.97), 7).castTo(type);
        INDArray before = a.dup();
        assertTrue(HostLapack.enabled(), "the CPU backend with ND4J's OpenBLAS: gesvdx is reachable");
        SvdSupport.Factors top = HostLapack.topSvd(a, 16, type);
        assertNotNull(top, "gesvdx answered");
        assertEquals(before, a, "the input is not touched");

        System.setProperty(HostLapack.PROPERTY, "false");
        TopSvd whole = new ExactSvdEngine().top(a, 16);
        assertNull(HostLapack.topSvd(a, 16, type), "switched off");
        System.clearProperty(HostLapack.PROPERTY);

        TopSvd fromTop = top.toTopSvd(type, 16, ExactSvdEngine.NAME);
        double valueTol = type == DataType.DOUBLE ? 1e-10 : 1e-4;
        double vectorTol = type == DataType.DOUBLE ? 1e-7 : 1e-3;
        assertSameTriplets(whole, fromTop, 16, valueTol, vectorTol);
        assertOrthonormalColumns(fromTop.left(), HostLapack.orthonormality(type), "U");
        assertOrthonormalColumns(fromTop.right(), HostLapack.orthonormality(type), "V");
        assertEquals(type, fromTop.left().dataType());
    }

    @Test
    void theExactEngineReturnsTheGesvdxTriplets() {
        INDArray a = withSpectrum(200, 90, geometric(90, 10.0, 0.9), 11).castTo(DataType.FLOAT);
        TopSvd engine = new ExactSvdEngine().top(a, 8);
        SvdSupport.Factors top = HostLapack.topSvd(a, 8, DataType.FLOAT);
        assertEquals(0.0, maxAbsDiff(engine.singularValues(), top.s), "same values, bit for bit");
        assertEquals(0.0, maxAbsDiff(engine.right(), top.v), "same right vectors, bit for bit");
        assertEquals(0.0, maxAbsDiff(engine.left(), top.u), "same left vectors, bit for bit");
    }

    @Test
    void blasThreadsAreWhatTheyWereAfterDecompositionsEvenConcurrentOnes() throws Exception {
        int before = HostLapack.blasThreads();
        INDArray a = withSpectrum(300, 200, geometric(200, 5.0, 0.95), 13).castTo(DataType.FLOAT);
        SvdSupport.Factors alone = HostLapack.topSvd(a, 8, DataType.FLOAT);
        assertEquals(before, HostLapack.blasThreads(), "after one decomposition");
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            List<java.util.concurrent.Future<SvdSupport.Factors>> runs = new java.util.ArrayList<>();
            for (int i = 0; i < 8; i++) {
                runs.add(pool.submit(() -> HostLapack.topSvd(a, 8, DataType.FLOAT)));
            }
            for (java.util.concurrent.Future<SvdSupport.Factors> f : runs) {
                assertEquals(0.0, maxAbsDiff(alone.s, f.get().s), "the same values on every thread");
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(before, HostLapack.blasThreads(), "after concurrent decompositions");
    }

    @Test
    void aClusterOfZeroValuesFallsBackToGesvd() {
        // Rank 20 of 40: the 20 zero singular values form a cluster where inverse iteration's vectors
        // were measured 0.36 off orthonormal; the engine must still return orthonormal U and V.
        INDArray half = withSpectrum(60, 20, geometric(20, 2.0, 0.6), 61);
        INDArray a = Nd4j.hstack(half, half);
        assertNull(HostLapack.topSvd(a, 40, DataType.DOUBLE), "gesvdx's answer is set aside");
        TopSvd full = new ExactSvdEngine().top(a, 40);
        assertOrthonormalColumns(full.left(), 1e-10, "U");
        assertOrthonormalColumns(full.right(), 1e-10, "V");
        // Above the cluster gesvdx is used, and agrees.
        assertNotNull(HostLapack.topSvd(a, 5, DataType.DOUBLE));
        assertSameTriplets(full, new ExactSvdEngine().top(a, 5), 5, 1e-10, 1e-7);
    }
}
