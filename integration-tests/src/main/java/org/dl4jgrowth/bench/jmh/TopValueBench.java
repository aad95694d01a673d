package org.dl4jgrowth.bench.jmh;

import org.dl4jgrowth.linalg.LanczosTopValue;
import org.dl4jgrowth.linalg.RandomizedSvdEngine;
import org.dl4jgrowth.linalg.SizeAwareSvdEngine;
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
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * The top singular value alone, as a signal trigger asks for it: by Lanczos bidiagonalisation
 * ({@link LanczosTopValue}) against the converged randomized engine with k = 1 at the size-aware
 * engine's oversampling. Matrices: FLOAT with a decaying spectrum ({@link BenchData#decayingSpectrum},
 * sizes {@code RxC}), and {@code statistic}, the real mean GradMax statistic (784x512) of h1 of the
 * 784-512-512-10 MLP after one Adam step, on 128 random examples, which is what {@code ListenerOverhead}'s
 * signal trigger reads.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx4g")
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class TopValueBench {

    @Param({"statistic", "784x512", "2048x4096"})
    public String size;

    @Param({"lanczos", "randomizedTop1"})
    public String method;

    private INDArray matrix;
    private RandomizedSvdEngine randomized;

    @Setup(Level.Trial)
    public void setUp() {
        if (size.equals("statistic")) {
            org.deeplearning4j.nn.multilayer.MultiLayerNetwork net = BenchData.mlp(784, 512, 512, 10, 7);
            net.fit(BenchData.randomBatch(128, 784, 10, 1));
            matrix = org.dl4jgrowth.signal.GradientStatistic.computeMulti(net, "h1", java.util.List.of(
                    org.dl4jgrowth.network.NetworkAdapter.toMulti(BenchData.randomBatch(128, 784, 10, 2)))).div(128);
        } else {
            int[] shape = BenchData.parseSize(size);
            matrix = BenchData.decayingSpectrum(shape[0], shape[1], 42);
        }
        randomized = RandomizedSvdEngine.converging(SizeAwareSvdEngine.DEFAULT_OVERSAMPLING,
                RandomizedSvdEngine.DEFAULT_MAX_POWER_ITERATIONS, RandomizedSvdEngine.DEFAULT_TOLERANCE,
                RandomizedSvdEngine.DEFAULT_SEED);
    }

    @Benchmark
    public double topValue() {
        return method.equals("lanczos") ? LanczosTopValue.topValue(matrix, RandomizedSvdEngine.DEFAULT_SEED)
                : randomized.top(matrix, 1).singularValues().getDouble(0);
    }
}
