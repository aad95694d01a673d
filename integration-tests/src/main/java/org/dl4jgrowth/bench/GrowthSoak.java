package org.dl4jgrowth.bench;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.dl4jgrowth.DeviceReport;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.activation.ActivationGrowthReLU;
import org.dl4jgrowth.data.Digits;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.network.NetworkAdapter;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.when.GrowthTrigger;
import org.dl4jgrowth.where.GrowthAmount;
import org.dl4jgrowth.where.SiteSelector;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Memory over a long run of growth (issue "Performance I", goal 5): one {@code fit()} call in which
 * the network grows by one unit at every iteration, 1,000 times, with memory read at growth events
 * 1, 100, 200, ..., 1,000.
 *
 * <p>The run: a digits MLP 64-16-16-10 (ActivationGrowthReLU hidden layers, softmax output, Adam
 * 1e-3, FLOAT), minibatches of 32 of the bundled digits data (40 per epoch), a GrowthListener with
 * {@code everyIterations(1).and(maxGrowths(1000))}, {@code roundRobin("h1", "h2")},
 * {@code add(1)}, function-preserving units: h1 and h2 end at 516 units each, about 300,000
 * parameters. 26 epochs (1,040 iterations) in one {@code fit(iterator, 26)}.
 *
 * <p>Read at each checkpoint, in the growth callback (after the event's rewrite, whose time the event
 * has recorded already, so the readings cost the rewrite nothing): the heap used after
 * {@code System.gc()} (repeated, each after a short pause for ND4J's deallocator threads, until two
 * readings agree within 256 KB, the least taken: a single reading is now and then tens of MB high); the process's resident
 * set ({@code VmRSS} of {@code /proc/self/status}, what the C allocator holds, not only what is in
 * use); the ND4J workspaces of the training thread, each one's id and current size; the network's
 * parameters; the
 * event's rewrite time and the mean over the events since the last checkpoint.
 *
 * <p>The comparison, event 1,000 against event 100: each reading's growth less what the parameters'
 * own growth explains, as a share of the reading at event 100. What the parameters take is
 * {@link Checkpoint#parameterBytes()}: with memory reuse on (the default) the buffers the rewrite
 * keeps, as {@code NetworkRewrite.keptBufferBytes} counts them (parameters, gradient and Adam's two
 * moments, a live and a spare generation, each with headroom); with it off,
 * {@code params × 4 arrays × 4 bytes}. The heap holds no parameters (ND4J's arrays are
 * off-heap), so for the heap the raw growth is also shown.
 *
 * <p>Run with {@code mvn -B -q -o -Pgrowth-soak -pl integration-tests -am -DskipTests verify}
 * (a JVM of its own, -Xmx2g); with {@code MALLOC_MMAP_THRESHOLD_=65536} before the command to see
 * glibc's allocator without its heap trimming threshold games. Options through {@code -Dsoak.args}:
 * {@code --events N} (default 1000), {@code --every K} (checkpoint interval, default 100).
 */
public final class GrowthSoak {
    /** Bytes per parameter the training keeps: the parameter, its gradient, Adam's m and v, in FLOAT. */
    public static final long BYTES_PER_PARAM = 4L * 4;

    private GrowthSoak() {
    }

    /** One reading. */
    public static final class Checkpoint {
        public final int event;
        public final long iteration;
        public final long params;
        public final long heapBytes;
        /** -1 where /proc/self/status is not there. */
        public final long rssBytes;
        /** Workspace id to current size, sorted by id. */
        public final Map<String, Long> workspaces;
        public final double rewriteMillis;
        public final double meanRewriteMillis;
        /** Sum of h1's and h2's widths, for what activations take. */
        public final long hiddenUnits;
        /** {@code NetworkRewrite.keptBufferBytes}: both generations of the rewrite's buffers; 0 with reuse off. */
        public final long keptBytes;

        Checkpoint(int event, long iteration, long params, long heapBytes, long rssBytes,
                   Map<String, Long> workspaces, double rewriteMillis, double meanRewriteMillis, long hiddenUnits,
                   long keptBytes) {
            this.keptBytes = keptBytes;
            this.event = event;
            this.iteration = iteration;
            this.params = params;
            this.heapBytes = heapBytes;
            this.rssBytes = rssBytes;
            this.workspaces = workspaces;
            this.rewriteMillis = rewriteMillis;
            this.meanRewriteMillis = meanRewriteMillis;
            this.hiddenUnits = hiddenUnits;
        }

        /**
         * The parameter-shaped native memory: with memory reuse, the buffers the rewrites keep (the
         * live generation, a spare one and headroom: up to 2 x 1.25 x {@value #BYTES_PER_PARAM}
         * bytes per parameter); without, {@value #BYTES_PER_PARAM} bytes per parameter.
         */
        public long parameterBytes() {
            return keptBytes > 0 ? keptBytes : params * BYTES_PER_PARAM;
        }

        public long workspaceBytes() {
            return workspaces.values().stream().mapToLong(Long::longValue).sum();
        }
    }

    /** A whole run: the readings, the events (all and those seen inside the one fit() call), its wall time. */
    public static final class Run {
        public final List<Checkpoint> checkpoints;
        public final int events;
        /** Events whose callback ran inside {@code fit()}. */
        public final int eventsInsideFit;
        public final long fitNanos;
        public final long iterations;

        Run(List<Checkpoint> checkpoints, int events, int eventsInsideFit, long fitNanos, long iterations) {
            this.checkpoints = checkpoints;
            this.events = events;
            this.eventsInsideFit = eventsInsideFit;
            this.fitNanos = fitNanos;
            this.iterations = iterations;
        }

        public Checkpoint at(int event) {
            for (Checkpoint c : checkpoints) {
                if (c.event == event) {
                    return c;
                }
            }
            throw new IllegalArgumentException("no checkpoint at event " + event);
        }
    }

    public static MultiLayerNetwork network() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder()
                .seed(3).dataType(DataType.FLOAT).updater(new Adam(1e-3)).list()
                .layer(new DenseLayer.Builder().name("h1").nIn(Digits.NUM_FEATURES).nOut(16)
                        .activation(new ActivationGrowthReLU()).build())
                .layer(new DenseLayer.Builder().name("h2").nIn(16).nOut(16)
                        .activation(new ActivationGrowthReLU()).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name("out").nIn(16)
                        .nOut(Digits.NUM_CLASSES).activation(Activation.SOFTMAX).build())
                .build());
        net.init();
        return net;
    }

    public static GrowthPolicy policy(int events) {
        return GrowthPolicy.builder()
                .when(GrowthTrigger.everyIterations(1).and(GrowthTrigger.maxGrowths(events)))
                .where(SiteSelector.roundRobin("h1", "h2"))
                .howMuch(GrowthAmount.add(1))
                .maxWidth(4096)
                .initializer(UnitInitializer.functionPreserving())
                .seed(42)
                .build();
    }

    /**
     * Grows {@link #network()} {@code events} times in one {@code fit()} call, reading memory at event
     * 1 and every {@code every}-th event.
     */
    public static Run run(int events, int every) {
        // On a thread of its own: ND4J's workspaces are per thread and by name, shared by every network
        // trained on a thread, so on a test runner's thread they would start at another test's sizes.
        Run[] out = new Run[1];
        Throwable[] failed = new Throwable[1];
        Thread t = new Thread(() -> {
            try {
                out[0] = runHere(events, every);
            } catch (Throwable x) {
                failed[0] = x;
            }
        }, "growth-soak");
        t.start();
        try {
            t.join();
        } catch (InterruptedException x) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", x);
        }
        if (failed[0] instanceof RuntimeException) {
            throw (RuntimeException) failed[0];
        }
        if (failed[0] != null) {
            throw new IllegalStateException(failed[0]);
        }
        return out[0];
    }

    private static Run runHere(int events, int every) {
        int batch = 32;
        int perEpoch = 40;
        DataSet all = Digits.load(DataType.FLOAT);
        List<DataSet> batches = new ArrayList<>();
        for (int i = 0; i < perEpoch; i++) {
            batches.add(all.getRange(i * batch, (i + 1) * batch).copy());
        }
        // everyIterations(1) fires from iteration 1 on: events + 1 iterations at least.
        int epochs = (events + 1 + perEpoch - 1) / perEpoch;
        MultiLayerNetwork net = network();
        List<Checkpoint> checkpoints = new ArrayList<>();
        RuntimeException[] failure = new RuntimeException[1];
        double[] rewriteSum = new double[1];
        int[] since = new int[1];
        int[] insideFit = new int[1];
        GrowthListener growth = GrowthListener.builder().policy(policy(events)).onGrowth(e -> {
            // The event is seen from inside DL4J's fit(), not after it (the stack says).
            if (NetworkAdapter.insideFit(Thread.currentThread())) {
                insideFit[0]++;
            }
            rewriteSum[0] += e.rewriteMillis();
            since[0]++;
            int n = e.index() + 1;
            if (n == 1 || n % every == 0) {
                try {
                    checkpoints.add(read(net, e, rewriteSum[0] / since[0]));
                } catch (RuntimeException x) {
                    // The controller logs and swallows a callback's exception: keep it for after fit().
                    failure[0] = x;
                }
                rewriteSum[0] = 0;
                since[0] = 0;
            }
        }).build();
        net.setListeners(growth);
        long t = System.nanoTime();
        net.fit(ListenerOverhead.iterator(batches), epochs);
        long fit = System.nanoTime() - t;
        if (failure[0] != null) {
            throw failure[0];
        }
        return new Run(checkpoints, growth.history().size(), insideFit[0], fit, NetworkAdapter.of(net).iterationCount());
    }

    static Checkpoint read(Model net, GrowthEvent e, double meanRewrite) {
        long heap = heapAfterGc();
        Map<String, Long> ws = new TreeMap<>();
        for (MemoryWorkspace w : Nd4j.getWorkspaceManager().getAllWorkspacesForCurrentThread()) {
            ws.merge(w.getId(), w.getCurrentSize(), Long::sum);
        }
        NetworkAdapter a = NetworkAdapter.of(net);
        long hidden = a.paramTable("h1").get("W").size(1) + a.paramTable("h2").get("W").size(1);
        return new Checkpoint(e.index() + 1, e.iteration(), net.numParams(), heap, rssBytes(), ws, e.rewriteMillis(), meanRewrite, hidden,
                NetworkRewrite.keptBufferBytes(net));
    }

    /** Heap in use after full collections; the pause lets ND4J's deallocator threads free what the GC found. */
    public static long heapAfterGc() {
        // Collections until two readings agree within 256 KB (at most eight): a single one now and then
        // reads tens of MB high, while the objects of a growth still in flight are being released.
        long least = Long.MAX_VALUE;
        long previous = -1;
        for (int i = 0; i < 8; i++) {
            System.gc();
            try {
                Thread.sleep(30);
            } catch (InterruptedException x) {
                Thread.currentThread().interrupt();
            }
            long used = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
            least = Math.min(least, used);
            if (previous >= 0 && Math.abs(used - previous) < 256 * 1024) {
                break;
            }
            previous = used;
        }
        return least;
    }

    /** VmRSS of /proc/self/status in bytes, -1 if unreadable (not Linux). */
    public static long rssBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException x) {
            return -1;
        }
        return -1;
    }

    /** Growth from {@code a} to {@code b} beyond the parameters' own, as a share of {@code a}'s reading. */
    public static double excess(long readingA, long readingB, Checkpoint a, Checkpoint b) {
        return (double) (readingB - readingA - (b.parameterBytes() - a.parameterBytes())) / readingA;
    }

    private static double mb(long bytes) {
        return bytes / 1048576.0;
    }

    public static String table(Run run) {
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "%6s %6s %9s %7s %9s %9s %9s %10s %10s%n", "event", "iter", "params",
                "hidden", "heap MB", "RSS MB", "WS MB", "rewrite ms", "mean ms"));
        for (Checkpoint c : run.checkpoints) {
            s.append(String.format(Locale.ROOT, "%6d %6d %9d %7d %9.2f %9.1f %9.3f %10.2f %10.2f%n", c.event,
                    c.iteration, c.params, c.hiddenUnits, mb(c.heapBytes), mb(c.rssBytes),
                    mb(c.workspaceBytes()), c.rewriteMillis, c.meanRewriteMillis));
        }
        s.append("Workspaces (current size, MB):\n");
        for (Checkpoint c : run.checkpoints) {
            s.append(String.format(Locale.ROOT, "  event %4d:", c.event));
            c.workspaces.forEach((id, size) -> s.append(String.format(Locale.ROOT, " %s %.3f;", id, mb(size))));
            s.append('\n');
        }
        return s.toString();
    }

    public static String ratios(Run run, int from, int to) {
        Checkpoint a = run.at(from);
        Checkpoint b = run.at(to);
        long paramBytes = b.parameterBytes() - a.parameterBytes();
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "Event %d vs event %d: parameters %d -> %d, their own growth %.2f MB "
                + "(%s)%n", to, from, a.params, b.params, mb(paramBytes), b.keptBytes > 0
                ? String.format(Locale.ROOT, "the rewrite's kept buffers, %.2f -> %.2f MB: parameters, gradient, Adam "
                        + "m and v, twice, with headroom", mb(a.keptBytes), mb(b.keptBytes))
                : "x " + BYTES_PER_PARAM + " bytes: parameters, gradient, Adam m and v, FLOAT"));
        s.append(String.format(Locale.ROOT, "  heap: %.2f -> %.2f MB, raw %+.1f%%, beyond the parameters %+.1f%%%n",
                mb(a.heapBytes), mb(b.heapBytes), 100.0 * (b.heapBytes - a.heapBytes) / a.heapBytes,
                100 * excess(a.heapBytes, b.heapBytes, a, b)));
        if (a.rssBytes > 0) {
            s.append(String.format(Locale.ROOT, "  RSS: %.1f -> %.1f MB, raw %+.1f%%, beyond the parameters %+.1f%%%n",
                    mb(a.rssBytes), mb(b.rssBytes), 100.0 * (b.rssBytes - a.rssBytes) / a.rssBytes,
                    100 * excess(a.rssBytes, b.rssBytes, a, b)));
        }
        s.append(String.format(Locale.ROOT, "  workspaces: %.3f -> %.3f MB (x%.2f); hidden units %d -> %d (x%.2f)%n",
                mb(a.workspaceBytes()), mb(b.workspaceBytes()), (double) b.workspaceBytes() / a.workspaceBytes(),
                a.hiddenUnits, b.hiddenUnits, (double) b.hiddenUnits / a.hiddenUnits));
        return s.toString();
    }

    public static void main(String[] args) {
        int events = 1000;
        int every = 100;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--events":
                    events = Integer.parseInt(args[++i]);
                    break;
                case "--every":
                    every = Integer.parseInt(args[++i]);
                    break;
                default:
                    throw new IllegalArgumentException("Unknown argument " + args[i] + " (known: --events N, --every K)");
            }
        }
        System.out.println(DeviceReport.current());
        System.out.println("MALLOC_MMAP_THRESHOLD_=" + System.getenv().getOrDefault("MALLOC_MMAP_THRESHOLD_", "(unset)")
                + ", max heap " + Runtime.getRuntime().maxMemory() / 1048576 + " MB");
        Run run = run(events, every);
        System.out.printf(Locale.ROOT, "%d growth events (%d seen inside fit()) in one fit() call, %d iterations, "
                + "%.1f s%n", run.events, run.eventsInsideFit, run.iterations, run.fitNanos / 1e9);
        System.out.print(table(run));
        if (events >= every && run.checkpoints.size() > 2) {
            System.out.print(ratios(run, every, run.checkpoints.get(run.checkpoints.size() - 1).event));
        }
    }
}
