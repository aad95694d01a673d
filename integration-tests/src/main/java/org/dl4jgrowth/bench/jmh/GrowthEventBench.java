package org.dl4jgrowth.bench.jmh;

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
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.util.Optional;

/**
 * One whole GradMax growth event through {@link GrowthController#growNow}: statistic, SVD, rewrite.
 * Subclasses give the network (already trained one Adam step, so the rewrite carries optimizer
 * state), the growth data and the layer. Each invocation grows a fresh clone, made with a fresh
 * controller in the per-invocation set-up, which JMH does not time; the set-up also validates the
 * controller against the network (before this, each event's time included that check's forward
 * and backward pass, which a training run pays once, at the listener's first callback).
 * {@code svdEngine} selects the engine through {@link SvdEngines#ENGINE_PROPERTY}. {@code trainingIteration} times one
 * {@code fit} of the same network on the same minibatch, for the ratio. The statistic's route
 * (direct or probes) is whatever the default picks; {@code -jvmArgsAppend
 * -Ddl4jgrowth.statistic.route=probes} times the probe route.
 */
@State(Scope.Thread)
public abstract class GrowthEventBench {
    @Param({"exact", "randomized"})
    public String svdEngine;

    private MultiLayerNetwork trained;
    private DataSet growthBatch;
    private GrowthPolicy policy;

    private MultiLayerNetwork net;
    private GrowthController controller;
    private MultiLayerNetwork steady;

    /** A network trained one Adam step. */
    public abstract MultiLayerNetwork trainedNetwork();

    public abstract DataSet growthData();

    public abstract String layer();

    public abstract int added();

    /** The policy every invocation grows with (also {@code EventCost}'s): GradMax on {@link #layer()}, +{@link #added()}. */
    public GrowthPolicy policy() {
        return GrowthPolicy.builder()
                .when(GrowthTrigger.everyEpochs(1))   // growNow ignores the trigger
                .where(SiteSelector.layers(layer()))
                .howMuch(GrowthAmount.add(added()))
                .initializer(UnitInitializer.gradMax(1.0))
                .seed(3)
                .build();
    }

    @Setup(Level.Trial)
    public void setUpTrial() {
        System.setProperty(SvdEngines.ENGINE_PROPERTY, svdEngine);
        trained = trainedNetwork();
        growthBatch = growthData();
        steady = trained.clone();
        policy = policy();
        // Sanity check, not timed: the event happens, grows the layer, and uses the requested engine.
        int width = NetworkRewrite.width(trained, layer());
        setUpInvocation();
        GrowthEvent event = controller.growNow(net).orElseThrow(() -> new IllegalStateException("no growth"));
        if (NetworkRewrite.width(net, layer()) != width + added()) {
            throw new IllegalStateException(layer() + " did not grow to " + (width + added()) + ": " + event);
        }
        if (!svdEngine.equals(event.svdEngine())) {
            throw new IllegalStateException("growth event does not name SVD engine " + svdEngine + ": " + event);
        }
    }

    @Setup(Level.Invocation)
    public void setUpInvocation() {
        net = trained.clone();
        // Validated here, untimed, as a listener's controller is at its first callback before any
        // growth (and a driver's by validate()): the check's forward and backward pass on a private
        // copy is not part of an event.
        controller = policy.newController().growthData(Digits.iterator(growthBatch, growthBatch.numExamples()), 1)
                .validate(net);
    }

    @Benchmark
    public Optional<GrowthEvent> gradMaxGrowth() {
        return controller.growNow(net);
    }

    /**
     * One training iteration of the same network on the growth minibatch, in the same run: what the
     * event is compared with (issue "Performance II": an event within two iterations). On one network
 * kept for the whole trial, so that the figure is a steady iteration, not a fresh clone's first.
     */
    @Benchmark
    public MultiLayerNetwork trainingIteration() {
        steady.fit(growthBatch);
        return steady;
    }
}
