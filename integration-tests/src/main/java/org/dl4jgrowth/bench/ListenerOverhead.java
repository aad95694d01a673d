package org.dl4jgrowth.bench;

import org.deeplearning4j.datasets.iterator.ExistingDataSetIterator;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.dl4jgrowth.DeviceReport;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.data.Digits;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.when.GrowthTrigger;
import org.dl4jgrowth.where.GrowthAmount;
import org.dl4jgrowth.where.SiteSelector;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What a {@code GrowthListener} costs training on iterations where it does not grow (issue
 * "Performance I", goal 4: at most 1% of fit time).
 *
 * <p>Measured: a network trains for a fixed number of iterations (1,000 by default) in one
 * {@code fit(iterator, epochs)} call, with the growth listener wrapped in a {@link TimedListener},
 * which sums {@code System.nanoTime()} spent inside each of the listener's callbacks. The share is
 * that sum over the wall time of the whole {@code fit()} call. The policy's trigger never fires in
 * the window, so every iteration is a "no growth" iteration:
 * <ul>
 *   <li><b>schedule</b>: {@code everyIterations(2^31-1)}, the same code path as any iteration
 *       schedule on an iteration where it says no;</li>
 *   <li><b>signal</b>: {@code everyIterations(100).and(singularValueAbove(1e9, "h1"))}: every 100th
 *       iteration the controller computes GradMax's statistic for h1 on the training minibatch
 *       (a forward and backward pass of a probe copy) and its top singular value, which never
 *       reaches 1e9. The evaluations are counted and timed by a {@link CountingTrigger}.</li>
 * </ul>
 * A run without any listener ({@code none}) gives the fit time the listener is added to; the
 * difference of two fit times is noisy, so the A/B comparison with an error is
 * {@code bench.jmh.ListenerOverheadBench}. Each network and type is warmed up first (one fit of
 * a fifth of the iterations with the signal policy, not counted).
 *
 * <p>Networks, both as {@code MultiLayerNetwork} and as the equivalent {@code ComputationGraph}
 * (ActivationGrowthReLU hidden layers, softmax output, Adam 1e-3, FLOAT):
 * <ul>
 *   <li><b>digits</b> 64-32-32-10 on the bundled digits data, minibatches of 32 (an epoch of 20
 *       minibatches): about a millisecond per iteration, the worst case for a relative overhead;</li>
 *   <li><b>mlp784</b> 784-512-512-10 as in {@code RewriteBench}, minibatches of 128 random inputs
 *       (an epoch of 10 minibatches).</li>
 * </ul>
 *
 * <p>Run with {@code mvn -B -q -o -Plistener-overhead -pl integration-tests -am -DskipTests verify};
 * options through {@code -Dexec.args}: {@code --iterations N} (default 1000, a multiple of both
 * epoch lengths), {@code --warmup N} (iterations of the warm-up fit, default a fifth of
 * {@code --iterations}; a short warm-up leaves the listener's code interpreted for much of the
 * run, as in a user's first thousand iterations), {@code --repeats R} (runs of each trigger after
 * the one warm-up, with the median share printed), {@code --nets digits,mlp784},
 * {@code --types mln,cg}.
 */
public final class ListenerOverhead {
    /** The two networks of the comparison. */
    public enum Net {
        DIGITS("digits 64-32-32-10", 64, 32, 32, 10, 32, 20),
        MLP784("784-512-512-10", 784, 512, 512, 10, 128, 10);

        public final String label;
        final int in;
        final int h1;
        final int h2;
        final int out;
        public final int batch;
        /** Minibatches per epoch. */
        public final int batches;

        Net(String label, int in, int h1, int h2, int out, int batch, int batches) {
            this.label = label;
            this.in = in;
            this.h1 = h1;
            this.h2 = h2;
            this.out = out;
            this.batch = batch;
            this.batches = batches;
        }
    }

    public enum Type { MLN, CG }

    public enum Trigger {
        NONE("none (no listener)"),
        SCHEDULE("schedule: everyIterations(2^31-1)"),
        SIGNAL("signal: every 100 its, singularValueAbove(1e9, h1)");

        public final String label;

        Trigger(String label) {
            this.label = label;
        }
    }

    /** The signal threshold: far above any top singular value of a mean gradient statistic. */
    public static final double NEVER = 1e9;
    /** How often the signal trigger is evaluated. */
    public static final int SIGNAL_EVERY = 100;

    private ListenerOverhead() {
    }

    /** The network, initialised, seeded. */
    public static Model network(Net n, Type type, long seed) {
        NeuralNetConfiguration.Builder b = new NeuralNetConfiguration.Builder()
                .seed(seed).dataType(DataType.FLOAT).updater(new Adam(1e-3));
        DenseLayer h1 = new DenseLayer.Builder().name("h1").nIn(n.in).nOut(n.h1)
                .activation(new org.dl4jgrowth.activation.ActivationGrowthReLU()).build();
        DenseLayer h2 = new DenseLayer.Builder().name("h2").nIn(n.h1).nOut(n.h2)
                .activation(new org.dl4jgrowth.activation.ActivationGrowthReLU()).build();
        OutputLayer out = new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name("out").nIn(n.h2)
                .nOut(n.out).activation(Activation.SOFTMAX).build();
        if (type == Type.MLN) {
            MultiLayerNetwork net = new MultiLayerNetwork(b.list().layer(h1).layer(h2).layer(out).build());
            net.init();
            return net;
        }
        ComputationGraph graph = new ComputationGraph(b.graphBuilder().addInputs("in")
                .addLayer("h1", h1, "in").addLayer("h2", h2, "h1").addLayer("out", out, "h2")
                .setOutputs("out").setInputTypes(InputType.feedForward(n.in)).build());
        graph.init();
        return graph;
    }

    /** One epoch's minibatches, fixed: digits' first examples in file order, or uniform random inputs. */
    public static List<DataSet> batches(Net n) {
        List<DataSet> out = new ArrayList<>();
        if (n == Net.DIGITS) {
            DataSet all = Digits.load(DataType.FLOAT);
            for (int i = 0; i < n.batches; i++) {
                out.add(all.getRange(i * n.batch, (i + 1) * n.batch).copy());
            }
            return out;
        }
        for (int i = 0; i < n.batches; i++) {
            out.add(org.dl4jgrowth.bench.jmh.BenchData.randomBatch(n.batch, n.in, n.out, 100 + i));
        }
        return out;
    }

    /** A resettable iterator over the minibatches, as a user's would be (DL4J may prefetch it asynchronously). */
    public static DataSetIterator iterator(List<DataSet> batches) {
        return new ExistingDataSetIterator(batches);
    }

    /**
     * The policy of a trigger kind that never fires in a run (grows h1 by 16 function-preserving
     * units if it did); {@code counted} is put around the signal part ({@code null}: a new one).
     */
    public static GrowthPolicy policy(Trigger t, CountingTrigger counted) {
        GrowthTrigger when;
        switch (t) {
            case SCHEDULE:
                when = GrowthTrigger.everyIterations(Integer.MAX_VALUE);
                break;
            case SIGNAL:
                when = GrowthTrigger.everyIterations(SIGNAL_EVERY).and(counted);
                break;
            default:
                throw new IllegalArgumentException("no policy for " + t);
        }
        return policy(when);
    }

    /** h1 by 16 function-preserving units when {@code when} fires. */
    public static GrowthPolicy policy(GrowthTrigger when) {
        return GrowthPolicy.builder().when(when).where(SiteSelector.layers("h1")).howMuch(GrowthAmount.add(16))
                .maxWidth(4096).initializer(UnitInitializer.functionPreserving()).seed(42).build();
    }

    /** The signal part of the signal trigger: counted {@code singularValueAbove(1e9, "h1")}. */
    public static CountingTrigger neverSignal() {
        return new CountingTrigger(GrowthTrigger.singularValueAbove(NEVER, "h1"));
    }

    /** One measured run. */
    public static final class Result {
        public final Net net;
        public final Type type;
        public final String trigger;
        public final long iterations;
        public final long fitNanos;
        /** Inside the listener's callbacks; 0 without one. */
        public final long listenerNanos;
        /** Evaluations of the signal trigger (0 for the others), and their time (part of listenerNanos). */
        public final long signalEvaluations;
        public final long signalNanos;
        public final int growths;
        public final TimedListener timed;
        public final Model model;
        public final GrowthListener listener;

        Result(Net net, Type type, String trigger, long iterations, long fitNanos, TimedListener timed,
               CountingTrigger counted, GrowthListener listener, Model model) {
            this.net = net;
            this.type = type;
            this.trigger = trigger;
            this.iterations = iterations;
            this.fitNanos = fitNanos;
            this.timed = timed;
            this.listenerNanos = timed == null ? 0 : timed.totalNanos();
            this.signalEvaluations = counted == null ? 0 : counted.evaluations();
            this.signalNanos = counted == null ? 0 : counted.nanos();
            this.growths = listener == null ? 0 : listener.history().size();
            this.listener = listener;
            this.model = model;
        }

        public double share() {
            return (double) listenerNanos / fitNanos;
        }
    }

    /**
     * Trains a fresh network of {@code n} and {@code type} for {@code iterations} (a multiple of the
     * epoch length) in one {@code fit()} call, with a GrowthListener of {@code policy} behind a
     * {@link TimedListener}, or no listener if {@code policy} is null.
     */
    public static Result run(Net n, Type type, String trigger, GrowthPolicy policy, CountingTrigger counted,
                             List<DataSet> batches, long iterations) {
        if (iterations % batches.size() != 0) {
            throw new IllegalArgumentException(iterations + " iterations is not a whole number of epochs of "
                    + batches.size() + " minibatches");
        }
        int epochs = Math.toIntExact(iterations / batches.size());
        Model model = network(n, type, 7);
        GrowthListener listener = policy == null ? null : new GrowthListener(policy);
        TimedListener timed = listener == null ? null : new TimedListener(listener);
        if (timed != null) {
            model.setListeners(timed);
        }
        DataSetIterator it = iterator(batches);
        long t = System.nanoTime();
        if (model instanceof MultiLayerNetwork) {
            ((MultiLayerNetwork) model).fit(it, epochs);
        } else {
            ((ComputationGraph) model).fit(it, epochs);
        }
        long fit = System.nanoTime() - t;
        return new Result(n, type, trigger, iterations, fit, timed, counted, listener, model);
    }

    /** {@link #run(Net, Type, String, GrowthPolicy, CountingTrigger, List, long)} for a trigger kind. */
    public static Result run(Net n, Type type, Trigger t, List<DataSet> batches, long iterations) {
        CountingTrigger counted = t == Trigger.SIGNAL ? neverSignal() : null;
        GrowthPolicy policy = t == Trigger.NONE ? null : policy(t, counted);
        return run(n, type, t.label, policy, counted, batches, iterations);
    }

    public static String header() {
        return String.format(Locale.ROOT, "%-20s %-4s %-50s %6s %9s %12s %8s %6s %10s %7s%n", "network", "type",
                "trigger", "iters", "fit s", "listener s", "share %", "evals", "signal s", "grown");
    }

    public static String row(Result r) {
        return String.format(Locale.ROOT, "%-20s %-4s %-50s %6d %9.3f %12.4f %8.3f %6d %10.4f %7d%n", r.net.label,
                r.type, r.trigger, r.iterations, r.fitNanos / 1e9, r.listenerNanos / 1e9, 100 * r.share(),
                r.signalEvaluations, r.signalNanos / 1e9, r.growths);
    }

    /** Per callback: calls and microseconds per call, to see where the listener's time goes. */
    public static String breakdown(Result r) {
        if (r.timed == null) {
            return "";
        }
        StringBuilder s = new StringBuilder("    " + r.net.label + " " + r.type + " " + r.trigger + ":");
        for (TimedListener.Callback c : TimedListener.Callback.values()) {
            long calls = r.timed.calls(c);
            if (calls > 0) {
                s.append(String.format(Locale.ROOT, " %s %d x %.1f us;", c.name().toLowerCase(Locale.ROOT), calls,
                        r.timed.nanos(c) / 1e3 / calls));
            }
        }
        return s.append('\n').toString();
    }

    public static void main(String[] args) {
        long iterations = 1000;
        List<Net> nets = List.of(Net.DIGITS, Net.MLP784);
        List<Type> types = List.of(Type.MLN, Type.CG);
        long warmup = -1;
        int repeats = 1;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--iterations":
                    iterations = Long.parseLong(args[++i]);
                    break;
                case "--nets":
                    nets = new ArrayList<>();
                    for (String s : args[++i].split(",")) {
                        nets.add(Net.valueOf(s.trim().toUpperCase(Locale.ROOT)));
                    }
                    break;
                case "--warmup":
                    warmup = Long.parseLong(args[++i]);
                    break;
                case "--repeats":
                    repeats = Integer.parseInt(args[++i]);
                    break;
                case "--types":
                    types = new ArrayList<>();
                    for (String s : args[++i].split(",")) {
                        types.add(Type.valueOf(s.trim().toUpperCase(Locale.ROOT)));
                    }
                    break;
                default:
                    throw new IllegalArgumentException("Unknown argument " + args[i]
                            + " (known: --iterations N, --warmup N, --repeats R, --nets digits,mlp784, --types mln,cg)");
            }
        }
        if (repeats < 1 || warmup < -1 || iterations < 1) {
            throw new IllegalArgumentException("--iterations must be at least 1, --repeats at least 1 and --warmup at "
                    + "least 0 (got: " + iterations + ", " + repeats + ", " + warmup + ")");
        }
        System.out.println(DeviceReport.current());
        List<Result> results = new ArrayList<>();
        for (Net n : nets) {
            List<DataSet> batches = batches(n);
            for (Type type : types) {
                // Warm-up: JIT, workspaces and the statistic's path, on a network of its own.
                long w = warmup >= 0 ? warmup : iterations / 5;
                run(n, type, Trigger.SIGNAL, batches, Math.max(batches.size(), w / batches.size() * batches.size()));
                for (int rep = 0; rep < repeats; rep++) {
                    for (Trigger t : Trigger.values()) {
                        Result r = run(n, type, t, batches, iterations);
                        if (r.growths != 0) {
                            throw new IllegalStateException(r.trigger + " grew the network " + r.growths
                                    + " times: the measurement is of iterations without growth");
                        }
                        results.add(r);
                        System.out.print(header() + row(r));
                    }
                }
            }
        }
        System.out.println();
        System.out.print(header());
        results.forEach(r -> System.out.print(row(r)));
        System.out.println();
        if (repeats > 1) {
            System.out.println("Median listener share over " + repeats + " runs (min - max):");
            java.util.Map<String, List<Double>> shares = new java.util.LinkedHashMap<>();
            for (Result r : results) {
                if (r.timed != null) {
                    shares.computeIfAbsent(r.net.label + " " + r.type + " " + r.trigger, k -> new ArrayList<>())
                            .add(100 * r.share());
                }
            }
            shares.forEach((k, v) -> {
                java.util.Collections.sort(v);
                double median = v.size() % 2 == 1 ? v.get(v.size() / 2)
                        : (v.get(v.size() / 2 - 1) + v.get(v.size() / 2)) / 2;
                System.out.printf(Locale.ROOT, "    %-90s %.3f %% (%.3f - %.3f)%n", k, median, v.get(0),
                        v.get(v.size() - 1));
            });
            System.out.println();
        }
        System.out.println("Listener time per callback (calls x mean):");
        results.forEach(r -> System.out.print(breakdown(r)));
    }
}
