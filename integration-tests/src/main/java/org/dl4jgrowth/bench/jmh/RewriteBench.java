package org.dl4jgrowth.bench.jmh;

import java.util.concurrent.TimeUnit;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.rewrite.RewriteResult;
import org.dl4jgrowth.rewrite.UnitMap;
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
 * The in-place rewrite alone against one training iteration (issue "Performance I", goal 1), on a
 * 784-512-512-10 MLP (FLOAT, Adam, batch 128) growing h1 by 16 function-preserving units
 * (512 -> 528, weights and Adam state), and on {@link CnnGrowthBench}'s CNN (batch 64) growing c1
 * by 4 channels:
 * <ul>
 *   <li>{@code rewrite}, {@code cnnRewrite}: cold, on a fresh clone of a trained network per
 *       invocation (the clone is not timed), so no buffers are kept from an earlier growth;</li>
 *   <li>{@code rewriteWarm}, {@code cnnRewriteWarm}: the same growth on a network that has grown
 *       before, as in a training run: the per-invocation set-up (not timed) drops the units the
 *       last invocation added, so every timed rewrite is the same 512 -> 528 (16 -> 20), and the
 *       rewrite builds into the buffers the network keeps (see RewriteBuffers in core);</li>
 *   <li>{@code fitIteration}, {@code cnnFitIteration}: one {@code fit} of a minibatch of the same
 *       network, which keeps training across calls.</li>
 * </ul>
 * The ratio rewrite / iteration says what a growth costs in training steps.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx4g")
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class RewriteBench {
    static final int BATCH = 128;
    static final int ADDED = 16;

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

    /** One network grown again and again, shrunk back before each invocation. */
    @State(Scope.Thread)
    public static class Warm {
        MultiLayerNetwork net;

        @Setup(Level.Trial)
        public void setUp(Trained trained) {
            net = trained.net.clone();
        }

        @Setup(Level.Invocation)
        public void shrink() {
            backTo(net, "h1", 512);
        }
    }

    /** The CNN of {@link CnnGrowthBench}, trained one step. */
    @State(Scope.Thread)
    public static class Cnn {
        MultiLayerNetwork net;
        DataSet batch;

        @Setup(Level.Trial)
        public void setUp() {
            net = CnnGrowthBench.cnn(7);
            batch = CnnGrowthBench.randomImages(CnnGrowthBench.BATCH, 1);
            net.fit(batch);
        }
    }

    @State(Scope.Thread)
    public static class CnnCopy {
        MultiLayerNetwork net;

        @Setup(Level.Invocation)
        public void setUp(Cnn cnn) {
            net = cnn.net.clone();
        }
    }

    @State(Scope.Thread)
    public static class CnnWarm {
        MultiLayerNetwork net;

        @Setup(Level.Trial)
        public void setUp(Cnn cnn) {
            net = cnn.net.clone();
        }

        @Setup(Level.Invocation)
        public void shrink() {
            backTo(net, "c1", 16);
        }
    }

    /** Drops the units past {@code width} (the ones the last invocation added). */
    static void backTo(MultiLayerNetwork net, String layer, int width) {
        int now = NetworkRewrite.width(net, layer);
        if (now > width) {
            int[] added = new int[now - width];
            for (int i = 0; i < added.length; i++) {
                added[i] = width + i;
            }
            NetworkRewrite.of(net).unitMap(layer, UnitMap.drop(now, added)).apply();
        }
    }

    static RewriteResult grow(MultiLayerNetwork net, String layer, int added) {
        return NetworkRewrite.of(net).grow(layer, added).initializer(UnitInitializer.functionPreserving()).apply();
    }

    @Benchmark
    public RewriteResult rewrite(Copy copy) {
        return grow(copy.net, "h1", ADDED);
    }

    @Benchmark
    public RewriteResult rewriteWarm(Warm warm) {
        return grow(warm.net, "h1", ADDED);
    }

    @Benchmark
    public MultiLayerNetwork fitIteration(Trained trained) {
        trained.net.fit(trained.batch);
        return trained.net;
    }

    @Benchmark
    public RewriteResult cnnRewrite(CnnCopy copy) {
        return grow(copy.net, "c1", CnnGrowthBench.ADDED);
    }

    @Benchmark
    public RewriteResult cnnRewriteWarm(CnnWarm warm) {
        return grow(warm.net, "c1", CnnGrowthBench.ADDED);
    }

    @Benchmark
    public MultiLayerNetwork cnnFitIteration(Cnn cnn) {
        cnn.net.fit(cnn.batch);
        return cnn.net;
    }
}
