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
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Top-16 SVD of a 2048x4096 FLOAT matrix with a decaying spectrum. The exact engine needs on the
 * order of a minute per call here, so it runs single-shot (no warm-up, two calls); the randomized
 * engine gets ordinary warm-up and measurement iterations. Units: seconds for both, so the two rows
 * compare directly.
 */
@State(Scope.Benchmark)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx4g")
public class SvdLargeBench {
    static final int ROWS = 2048;
    static final int COLS = 4096;

    private INDArray matrix;
    private SvdEngine exactEngine;
    private SvdEngine randomizedEngine;
    private TopSvd lastExact;

    @Setup(Level.Trial)
    public void setUp() {
        matrix = BenchData.decayingSpectrum(ROWS, COLS, 42);
        exactEngine = SvdEngines.named("exact");
        randomizedEngine = SvdEngines.named("randomized");
    }

    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @Warmup(iterations = 0)
    @Measurement(iterations = 2)
    public TopSvd exact() {
        lastExact = exactEngine.top(matrix, BenchData.TOP_K);
        return lastExact;
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @Warmup(iterations = 2, time = 2)
    @Measurement(iterations = 3, time = 3)
    public TopSvd randomized() {
        return randomizedEngine.top(matrix, BenchData.TOP_K);
    }

    /** After the exact trial: accuracy of randomized against the exact result already computed. */
    @TearDown(Level.Trial)
    public void reportAccuracy() {
        if (lastExact != null) {
            System.out.println(System.lineSeparator() + SvdAccuracy.report(ROWS + "x" + COLS, BenchData.constructedSpectrum(ROWS, COLS),
                    lastExact, randomizedEngine.top(matrix, BenchData.TOP_K)));
        }
    }
}
