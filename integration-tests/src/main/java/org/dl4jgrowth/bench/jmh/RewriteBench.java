package org.dl4jgrowth.bench.jmh;

import java.util.concurrent.TimeUnit;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.rewrite.RewriteResult;
import org.nd4j.linalg.dataset.DataSet;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * The in-place rewrite alone against one training iteration, on a 784-512-512-10 MLP (FLOAT, Adam):
 * {@code rewrite} grows h1 by 16 function-preserving units (512 -> 528, weights and Adam state) on a
 * fresh clone of a trained network per invocation (the clone is not timed); {@code fitIteration} is
 * one {@code fit} of a 128-example minibatch of the same network, which keeps training across calls.
 * The ratio of the two says what a growth costs in training steps.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx4g")
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class RewriteBench {
    static final int BATCH = 128;

    /** A network after one Adam step, so it has optimizer state; shared by both benchmarks. */
    @State(Scope.Thread)
    public static class Trained {
        MultiLayerNetwork net;
        DataSet batch;

        @Setup(Level.Trial)
        public void setUp() {
            net = BenchData.mlp(784, 512, 512, 10, 11);
            batch = BenchData.randomBatch(BATCH, 784, 10, 12);
            net.fit(batch);
        }
    }

    /** A fresh clone per invocation for the rewrite, which changes the network it is given. */
    @State(Scope.Thread)
    public static class Copy {
        MultiLayerNetwork net;

        @Setup(Level.Invocation)
        public void setUp(Trained trained) {
            net = trained.net.clone();
        }
    }

    @Benchmark
    public RewriteResult rewrite(Copy copy) {
        return NetworkRewrite.of(copy.net).grow("h1", 16).apply();
    }

    @Benchmark
    public MultiLayerNetwork fitIteration(Trained trained) {
        trained.net.fit(trained.batch);
        return trained.net;
    }
}
