package org.dl4jgrowth.bench.jmh;

import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.dl4jgrowth.GrowthController;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.data.Digits;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.linalg.SvdEngines;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.when.GrowthTrigger;
import org.dl4jgrowth.where.GrowthAmount;
import org.dl4jgrowth.where.SiteSelector;
import org.nd4j.linalg.dataset.DataSet;
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

/**
 * One whole GradMax growth event through {@link GrowthController#growNow}: gradient statistic on a
 * probe copy (one forward/backward pass over 128 examples), top-16 SVD of the 784x256 statistic,
 * and the in-place rewrite of h1 (256 -> 272 units, Adam state included) of a 784-256-256-10 MLP.
 * Each invocation grows a fresh clone of the same trained network; cloning it and creating the
 * controller happen in the per-invocation set-up, which JMH does not time. {@code svdEngine} selects
 * the engine through {@link SvdEngines#ENGINE_PROPERTY} (the default, "exact", is what a policy uses
 * unless told otherwise).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx4g")
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class GrowthBench {
    static final int BATCH = 128;
    static final int ADDED = 16;

    @Param({"exact", "randomized"})
    public String svdEngine;

    private MultiLayerNetwork trained;
    private DataSet growthBatch;
    private GrowthPolicy policy;

    private MultiLayerNetwork net;
    private GrowthController controller;

    @Setup(Level.Trial)
    public void setUpTrial() {
        System.setProperty(SvdEngines.ENGINE_PROPERTY, svdEngine);
        trained = BenchData.mlp(784, 256, 256, 10, 7);
        // One Adam step first, so the network has optimizer state that the rewrite must carry along.
        trained.fit(BenchData.randomBatch(BATCH, 784, 10, 1));
        growthBatch = BenchData.randomBatch(BATCH, 784, 10, 2);
        policy = GrowthPolicy.builder()
                .when(GrowthTrigger.everyEpochs(1))   // growNow ignores the trigger
                .where(SiteSelector.layers("h1"))
                .howMuch(GrowthAmount.add(ADDED))
                .initializer(UnitInitializer.gradMax(1.0))
                .seed(3)
                .build();
        // Sanity check, not timed: the event happens, grows h1 by 16, and uses the requested engine.
        setUpInvocation();
        GrowthEvent event = controller.growNow(net).orElseThrow(() -> new IllegalStateException("no growth"));
        if (NetworkRewrite.width(net, "h1") != 256 + ADDED) {
            throw new IllegalStateException("h1 did not grow to " + (256 + ADDED) + ": " + event);
        }
        if (!event.toString().contains(svdEngine)) {
            throw new IllegalStateException("growth event does not name SVD engine " + svdEngine + ": " + event);
        }
    }

    @Setup(Level.Invocation)
    public void setUpInvocation() {
        net = trained.clone();
        controller = policy.newController().growthData(Digits.iterator(growthBatch, BATCH), 1);
    }

    @Benchmark
    public Optional<GrowthEvent> gradMaxGrowth() {
        return controller.growNow(net);
    }
}
