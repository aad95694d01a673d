package org.dl4jgrowth.bench.jmh;

import java.util.concurrent.TimeUnit;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.dataset.DataSet;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One whole GradMax growth event on a 784-256-256-10 MLP: gradient statistic on a probe copy (one
 * forward/backward pass over 128 examples), top-16 SVD of the 784x256 statistic, and the in-place
 * rewrite of h1 (256 -> 272 units, Adam state included). See {@link GrowthEventBench}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx4g")
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class GrowthBench extends GrowthEventBench {
    static final int BATCH = 128;
    static final int ADDED = 16;

    @Override
    public MultiLayerNetwork trainedNetwork() {
        MultiLayerNetwork net = BenchData.mlp(784, 256, 256, 10, 7);
        net.fit(BenchData.randomBatch(BATCH, 784, 10, 1));
        return net;
    }

    @Override
    public DataSet growthData() {
        return BenchData.randomBatch(BATCH, 784, 10, 2);
    }

    @Override
    public String layer() {
        return "h1";
    }

    @Override
    public int added() {
        return ADDED;
    }
}
