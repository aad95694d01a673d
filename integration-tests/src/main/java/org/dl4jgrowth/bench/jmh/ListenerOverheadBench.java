package org.dl4jgrowth.bench.jmh;

import java.util.List;
import java.util.concurrent.TimeUnit;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.bench.CountingTrigger;
import org.dl4jgrowth.bench.ListenerOverhead;
import org.dl4jgrowth.network.NetworkAdapter;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
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
 * A/B of a GrowthListener that does not grow (issue "Performance I", goal 4): one {@code fit} of a
 * fixed number of minibatches, {@code trigger} = {@code none} (no listener: the A), {@code schedule}
 * or {@code signal} (a GrowthListener with {@link ListenerOverhead}'s policies: the B). The network
 * keeps training across invocations, as in {@code RewriteBench.fitIteration}, so the signal trigger
 * is evaluated every 100th iteration of the trial on average, whatever the invocation length.
 * <ul>
 *   <li>{@code net = digits}: 64-32-32-10, one invocation = {@code fit(iterator, 5)} over 20
 *       minibatches of 32, 100 iterations;</li>
 *   <li>{@code net = mlp784}: 784-512-512-10, one invocation = {@code fit(iterator, 2)} over 10
 *       minibatches of 128 random inputs, 20 iterations.</li>
 * </ul>
 * Both network types. The overhead is the difference of the {@code none} row and a listener row
 * of the same net and type, with the two errors combined. No growth may happen during a trial:
 * after every measurement iteration and at the end of the trial the listener's history must be
 * empty (no event, no skip), or the tear-down throws and JMH reports the benchmark as failed.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx4g")
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class ListenerOverheadBench {
    @Param({"digits", "mlp784"})
    public String net;
    @Param({"mln", "cg"})
    public String type;
    @Param({"none", "schedule", "signal"})
    public String trigger;

    private Model model;
    private DataSetIterator iterator;
    private int epochs;
    private GrowthListener listener;
    private CountingTrigger counted;
    private long startWidth;

    @Setup(Level.Trial)
    public void setUp() {
        ListenerOverhead.Net n = ListenerOverhead.Net.valueOf(net.toUpperCase(java.util.Locale.ROOT));
        ListenerOverhead.Type t = ListenerOverhead.Type.valueOf(type.toUpperCase(java.util.Locale.ROOT));
        ListenerOverhead.Trigger kind = ListenerOverhead.Trigger.valueOf(trigger.toUpperCase(java.util.Locale.ROOT));
        model = ListenerOverhead.network(n, t, 7);
        List<DataSet> batches = ListenerOverhead.batches(n);
        iterator = ListenerOverhead.iterator(batches);
        epochs = n == ListenerOverhead.Net.DIGITS ? 5 : 2;
        if (kind != ListenerOverhead.Trigger.NONE) {
            counted = kind == ListenerOverhead.Trigger.SIGNAL ? ListenerOverhead.neverSignal() : null;
            listener = new GrowthListener(ListenerOverhead.policy(kind, counted));
            model.setListeners(listener);
        }
        startWidth = NetworkAdapter.of(model).paramTable("h1").get("W").size(1);
    }

    @Benchmark
    public Model fit() {
        if (model instanceof MultiLayerNetwork) {
            ((MultiLayerNetwork) model).fit(iterator, epochs);
        } else {
            ((ComputationGraph) model).fit(iterator, epochs);
        }
        return model;
    }

    /** Fails the benchmark, loudly, if anything grew or was skipped: then it measured something else. */
    @TearDown(Level.Iteration)
    public void noGrowth() {
        long width = NetworkAdapter.of(model).paramTable("h1").get("W").size(1);
        if (width != startWidth) {
            throw new IllegalStateException("h1 grew from " + startWidth + " to " + width + " units during the "
                    + "measurement of " + trigger + ": this benchmark is of iterations without growth");
        }
        if (listener != null && (listener.history().size() != 0 || !listener.history().skips().isEmpty())) {
            throw new IllegalStateException("The listener recorded " + listener.history().size() + " growth events "
                    + "and " + listener.history().skips().size() + " skips during the measurement of " + trigger
                    + ": this benchmark is of iterations without growth");
        }
    }

    @TearDown(Level.Trial)
    public void report() {
        noGrowth();
        long iterations = NetworkAdapter.of(model).iterationCount();
        if (counted != null) {
            if (counted.evaluations() == 0 || counted.fired() != 0) {
                throw new IllegalStateException("The signal trigger was evaluated " + counted.evaluations()
                        + " times and fired " + counted.fired() + " times in " + iterations + " iterations");
            }
            System.out.printf(java.util.Locale.ROOT, "%n%s %s signal: %d iterations, %d signal evaluations, "
                    + "%.1f ms each%n", net, type, iterations, counted.evaluations(),
                    counted.nanos() / 1e6 / counted.evaluations());
        }
    }
}
