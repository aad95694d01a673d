package org.dl4jgrowth.bench.jmh;

import java.util.concurrent.TimeUnit;

import org.dl4jgrowth.linalg.SvdEngine;
import org.dl4jgrowth.linalg.SvdEngines;
import org.dl4jgrowth.linalg.TopSvd;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Top-16 SVD of a FLOAT matrix with a decaying spectrum ({@link BenchData#decayingSpectrum}), exact
 * (LAPACK R-SVD) against randomized (Halko et al. subspace iteration), at the two sizes where the
 * exact engine takes well under a second. 2048x4096 is in {@link SvdLargeBench}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx4g")
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
public class SvdBench {

    @Param({"128x256", "512x1024"})
    public String size;

    /**
     * A registered engine by name, or {@code converging}: the converged randomized engine that the
     * size-aware default uses above its exact limit (not registered on its own).
     */
    @Param({"exact", "randomized"})
    public String engine;

    private INDArray matrix;
    private SvdEngine svd;

    @Setup(Level.Trial)
    public void setUp() {
        int[] shape = BenchData.parseSize(size);
        matrix = BenchData.decayingSpectrum(shape[0], shape[1], 42);
        svd = "converging".equals(engine) ? new org.dl4jgrowth.linalg.SizeAwareSvdEngine().randomized()
                : SvdEngines.named(engine);
    }

    @Benchmark
    public TopSvd top16() {
        return svd.top(matrix, BenchData.TOP_K);
    }

    /** Prints the accuracy once per size (from the exact engine's trial), outside the measurement. */
    @TearDown(Level.Trial)
    public void reportAccuracy() {
        if ("exact".equals(engine)) {
            int[] shape = BenchData.parseSize(size);
            System.out.println(System.lineSeparator() + SvdAccuracy.report(size, BenchData.constructedSpectrum(shape[0], shape[1]),
                    svd.top(matrix, BenchData.TOP_K), SvdEngines.named("randomized").top(matrix, BenchData.TOP_K)));
        }
    }
}
