package org.dl4jgrowth.bench.jmh;

import java.util.List;
import java.util.concurrent.TimeUnit;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.dl4jgrowth.GrowthController;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.data.Digits;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.linalg.SvdEngine;
import org.dl4jgrowth.linalg.SvdEngines;
import org.dl4jgrowth.linalg.TopSvd;
import org.dl4jgrowth.signal.GradientStatistic;
import org.dl4jgrowth.when.GrowthTrigger;
import org.dl4jgrowth.where.GrowthAmount;
import org.dl4jgrowth.where.SiteSelector;
import org.nd4j.linalg.api.ndarray.INDArray;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Performance I, goal 3: a GradMax growth of a 2048-wide dense layer with default settings. A
 * 2048-4096-4096-10 MLP (FLOAT, Adam, one Adam step taken) grows h1 by 16; its statistic is 2048 x
 * 4096, from 256 growth examples. {@code growNow} is single-shot on a fresh clone per invocation
 * (clone not timed). No engine property is set, so the default engine runs and the set-up check
 * fails unless the event names the one it expects ("randomized", above the size-aware limit).
 *
 * <p>The tear-down prints the parts an event's own timings do not separate: the statistic alone, the
 * default engine's top-16 SVD of it (three calls), and its largest relative error against the exact
 * engine on the same statistic (one exact call, about a minute here, not timed by JMH).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx10g")
@Warmup(iterations = 1)
@Measurement(iterations = 3)
public class WideGradMaxBench {
    static final int IN = 2048;
    static final int HIDDEN = 4096;
    static final int EXAMPLES = 256;
    static final int ADDED = 16;

    private MultiLayerNetwork trained;
    private DataSet growthBatch;
    private GrowthPolicy policy;
    private MultiLayerNetwork net;
    private GrowthController controller;
    private GrowthEvent last;

    @Setup(Level.Trial)
    public void setUpTrial() {
        if (System.getProperty(SvdEngines.ENGINE_PROPERTY) != null) {
            throw new IllegalStateException("run without -D" + SvdEngines.ENGINE_PROPERTY + ": this measures the default");
        }
        trained = BenchData.mlp(IN, HIDDEN, HIDDEN, 10, 1);
        trained.fit(BenchData.randomBatch(EXAMPLES, IN, 10, 1));
        growthBatch = BenchData.randomBatch(EXAMPLES, IN, 10, 2);
        policy = GrowthPolicy.builder()
                .when(GrowthTrigger.everyEpochs(1))   // growNow ignores the trigger
                .where(SiteSelector.layers("h1"))
                .howMuch(GrowthAmount.add(ADDED))
                .initializer(UnitInitializer.gradMax(1.0))
                .seed(3)
                .build();
    }

    @Setup(Level.Invocation)
    public void setUpInvocation() {
        net = trained.clone();
        controller = policy.newController().growthData(Digits.iterator(growthBatch, EXAMPLES), 1);
    }

    @Benchmark
    public GrowthEvent gradMaxGrowth() {
        last = controller.growNow(net).orElseThrow(() -> new IllegalStateException("no growth"));
        if (!"randomized".equals(last.svdEngine()) || net.getLayer("h1").getParam("W").columns() != HIDDEN + ADDED) {
            throw new IllegalStateException("unexpected growth: " + last);
        }
        return last;
    }

    @TearDown(Level.Trial)
    public void report() {
        System.out.println(System.lineSeparator() + "WIDE-GRADMAX last event: " + last);
        long t0 = System.nanoTime();
        INDArray stat = GradientStatistic.compute(trained, "h1", List.of(growthBatch));
        System.out.printf("WIDE-GRADMAX statistic %s alone: %.0f ms%n", java.util.Arrays.toString(stat.shape()),
                (System.nanoTime() - t0) / 1e6);
        SvdEngine engine = SvdEngines.best();
        TopSvd svd = null;
        for (int i = 0; i < 3; i++) {
            long t = System.nanoTime();
            svd = engine.top(stat, ADDED);
            System.out.printf("WIDE-GRADMAX %s top-%d: %.0f ms (ran: %s)%n", engine.name(), ADDED,
                    (System.nanoTime() - t) / 1e6, svd.engine());
        }
        long t = System.nanoTime();
        TopSvd exact = SvdEngines.named("exact").top(stat, ADDED);
        double exactMillis = (System.nanoTime() - t) / 1e6;
        double worst = maxRelativeError(svd, exact);
        System.out.printf("WIDE-GRADMAX exact top-%d: %.0f ms; max relative error of %s against it: %.2e%n", ADDED,
                exactMillis, svd.engine(), worst);
        // Why the default converges: the fixed two-iteration engine on the same statistic.
        TopSvd fixed = SvdEngines.named("randomized").top(stat, ADDED);
        System.out.printf("WIDE-GRADMAX fixed-iteration %s: max relative error against exact %.2e%n",
                SvdEngines.named("randomized"), maxRelativeError(fixed, exact));
        for (int i = 0; i < 3; i++) {
            long t1 = System.nanoTime();
            TopSvd one = engine.top(stat, 1);
            double e = exact.singularValues().getDouble(0);
            System.out.printf("WIDE-GRADMAX %s top-1 alone: %.0f ms (ran: %s), relative error %.2e%n", engine.name(),
                    (System.nanoTime() - t1) / 1e6, one.engine(), Math.abs(one.singularValues().getDouble(0) - e) / e);
        }
    }

    private static double maxRelativeError(TopSvd svd, TopSvd exact) {
        double worst = 0;
        for (int i = 0; i < exact.rank(); i++) {
            double e = exact.singularValues().getDouble(i);
            worst = Math.max(worst, Math.abs(svd.singularValues().getDouble(i) - e) / e);
        }
        return worst;
    }
}
