package org.dl4jgrowth.bench.jmh;

import java.util.concurrent.TimeUnit;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.dl4jgrowth.GrowthController;
import org.dl4jgrowth.bench.CountingTrigger;
import org.dl4jgrowth.bench.ListenerOverhead;
import org.dl4jgrowth.network.NetworkAdapter;
import org.dl4jgrowth.when.GrowthTrigger;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;
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
 * One evaluation of a signal trigger against one training iteration (issue "Performance II": an
 * evaluation within one iteration), on {@link ListenerOverhead}'s 784-512-512-10 MLP and its first
 * minibatch of 128: {@code evaluation} is one {@code onIteration} call of a controller whose trigger,
 * {@code everyIterations(1).and(singularValueAbove(1e9, "h1"))}, asks for the top singular value of
 * h1's GradMax statistic on that minibatch at every call and never fires; {@code trainingIteration}
 * is one {@code fit} of the same network on the same minibatch. Both network types. The tear-down
 * fails the benchmark unless every evaluation really computed the signal and none grew.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx4g")
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class SignalEvaluationBench {
    @Param({"mln", "cg"})
    public String type;

    private Model net;
    private DataSet batch;
    private MultiDataSet multi;
    private CountingTrigger counted;
    private GrowthController controller;
    private long iteration;
    private long calls;

    @Setup(Level.Trial)
    public void setUp() {
        net = ListenerOverhead.network(ListenerOverhead.Net.MLP784,
                ListenerOverhead.Type.valueOf(type.toUpperCase(java.util.Locale.ROOT)), 7);
        batch = ListenerOverhead.batches(ListenerOverhead.Net.MLP784).get(0);
        multi = NetworkAdapter.toMulti(batch);
        counted = ListenerOverhead.neverSignal();
        controller = ListenerOverhead.policy(GrowthTrigger.everyIterations(1).and(counted)).newController()
                .validate(net);
        trainingIteration();
    }

    @Benchmark
    public boolean evaluation() {
        calls++;
        return controller.onIteration(net, ++iteration, 0, multi).isPresent();
    }

    @Benchmark
    public Model trainingIteration() {
        if (net instanceof MultiLayerNetwork) {
            ((MultiLayerNetwork) net).fit(batch);
        } else {
            ((ComputationGraph) net).fit(batch);
        }
        return net;
    }

    @TearDown(Level.Trial)
    public void check() {
        if (counted.evaluations() != calls) {
            throw new IllegalStateException(calls + " calls but " + counted.evaluations() + " signal evaluations");
        }
        if (counted.fired() != 0 || controller.history().events().size() != 0) {
            throw new IllegalStateException("the never-firing signal trigger grew the network");
        }
    }
}
