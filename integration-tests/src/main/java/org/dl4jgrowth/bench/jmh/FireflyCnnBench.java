package org.dl4jgrowth.bench.jmh;

import org.deeplearning4j.datasets.iterator.ExistingDataSetIterator;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.dl4jgrowth.GrowthController;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.firefly.FireflyDetails;
import org.dl4jgrowth.firefly.FireflyPlanner;
import org.dl4jgrowth.when.GrowthTrigger;
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

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The cost of one Firefly growth event on {@link CnnGrowthBench}'s CNN (c1 and d are scored, in one
 * over-grown copy; c2 reaches d through a flatten, which Firefly leaves out), against one training
 * epoch of the same data: four
 * minibatches of 64 random 28x28 images, which are also the growth data the candidates train on.
 * {@code newNeurons} is K per layer (70 is the reference's), {@code steps} the candidate training
 * length. Single-shot: an event takes seconds. Each invocation grows a fresh clone (not timed).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx6g")
@Warmup(iterations = 1)
@Measurement(iterations = 2)
public class FireflyCnnBench {
    static final int BATCHES = 4;

    @Param({"10", "70"})
    public int newNeurons;

    @Param({"100"})
    public int steps;

    private MultiLayerNetwork trained;
    private List<DataSet> data;
    private GrowthPolicy policy;
    private MultiLayerNetwork net;
    private GrowthController controller;

    @Setup(Level.Trial)
    public void setUpTrial() {
        trained = CnnGrowthBench.cnn(7);
        data = new ArrayList<>();
        for (int i = 0; i < BATCHES; i++) {
            data.add(CnnGrowthBench.randomImages(CnnGrowthBench.BATCH, 10 + i));
        }
        trained.fit(data.get(0));
        policy = GrowthPolicy.builder()
                .planner(FireflyPlanner.builder().when(GrowthTrigger.everyEpochs(1)).newNeurons(newNeurons)
                        .steps(steps).build())
                .seed(3).build();
        // Not timed: the event happens and scores c1 and d; its record is printed once.
        setUpInvocation();
        GrowthEvent e = controller.growNow(net).orElseThrow(() -> new IllegalStateException("no growth"));
        FireflyDetails d = (FireflyDetails) e.details();
        if (!d.layers().keySet().equals(java.util.Set.of("c1", "d"))) {
            throw new IllegalStateException("c1 and d should be scored: " + d);
        }
        long bytes = d.layers().values().stream().mapToLong(FireflyDetails.Layer::candidateBytes).sum();
        System.out.println("FIREFLY-EVENT K=" + newNeurons + " steps=" + steps + ": " + e + "; candidate memory "
                + bytes / (1 << 20) + " MiB");
    }

    @Setup(Level.Invocation)
    public void setUpInvocation() {
        net = trained.clone();
        controller = policy.newController().growthData(new ExistingDataSetIterator(data), BATCHES);
    }

    @Benchmark
    public GrowthEvent fireflyGrowth() {
        return controller.growNow(net).orElseThrow(() -> new IllegalStateException("no growth"));
    }

    /** One epoch of ordinary training on the same four minibatches, for scale. */
    @Benchmark
    public MultiLayerNetwork trainingEpoch() {
        net.fit(new ExistingDataSetIterator(data));
        return net;
    }
}
