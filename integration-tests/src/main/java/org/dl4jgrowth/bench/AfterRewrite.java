package org.dl4jgrowth.bench;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.dl4jgrowth.bench.jmh.BenchData;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.nd4j.linalg.dataset.DataSet;

import java.util.Arrays;

/**
 * The first training iteration after a rewrite against steady ones (issue "Performance I", goal
 * 2: median over 20 rewrites at most 1.2x the steady median), on the 784-512-512-10 MLP of
 * RewriteBench (FLOAT, Adam, batch 128). Each round trains {@code steady} iterations, of which the
 * last half are timed as steady, grows h1 by 16 with the default (function-preserving) rewrite,
 * and times the next {@code fit}, then the one after it. Also prints each rewrite's time against
 * the steady iteration of its round (goal 1 in a training loop, where the network keeps its
 * buffers between growths), and how much DL4J's workspaces grew in that first iteration (a
 * workspace too small for the grown activations takes fresh memory for the rest of the iteration,
 * then grows). A runner, not JMH: what is measured is one iteration at a moment
 * JMH cannot pick (right after a rewrite).
 *
 * <p>{@code mvn -B -q -o -Pafter-rewrite -pl integration-tests -am -DskipTests verify
 * [-Dexec.args="--rounds 20 --steady 10"]}; with {@code -Ddl4jgrowth.rewrite.reuseMemory=false}
 * in {@code MAVEN_OPTS} for the figures without buffer reuse.
 */
public final class AfterRewrite {
    private AfterRewrite() {
    }

    /** What one run measured, in nanoseconds, per round. */
    public static final class Result {
        public final long[] steady;
        public final long[] first;
        public final long[] second;
        public final long[] rewrite;
        public final int[] width;
        /**
         * How much DL4J's workspaces on this thread grew in the first iteration after the rewrite
         * (their summed current size, after less before): a workspace grows when what an iteration
         * needed did not fit, and ND4J then took fresh memory for the rest of that iteration.
         */
        public final long[] workspaceGrowth;

        Result(int rounds) {
            workspaceGrowth = new long[rounds];
            steady = new long[rounds];
            first = new long[rounds];
            second = new long[rounds];
            rewrite = new long[rounds];
            width = new int[rounds];
        }
    }

    /** Runs {@code rounds} rounds on a network {@code in-h-h-10}, growing h1 by {@code added} each. */
    public static Result run(int in, int hidden, int batchSize, int rounds, int steadyIterations, int added) {
        MultiLayerNetwork net = BenchData.mlp(in, hidden, hidden, 10, 11);
        DataSet batch = BenchData.randomBatch(batchSize, in, 10, 12);
        for (int i = 0; i < 20; i++) {
            net.fit(batch);   // JIT and workspaces warm before anything is timed
        }
        Result r = new Result(rounds);
        for (int round = 0; round < rounds; round++) {
            long[] t = new long[steadyIterations];
            for (int i = 0; i < steadyIterations; i++) {
                long s = System.nanoTime();
                net.fit(batch);
                t[i] = System.nanoTime() - s;
            }
            r.steady[round] = median(Arrays.copyOfRange(t, steadyIterations / 2, steadyIterations));
            long s = System.nanoTime();
            NetworkRewrite.of(net).grow("h1", added).apply();
            r.rewrite[round] = System.nanoTime() - s;
            long workspacesBefore = workspaceBytes();
            s = System.nanoTime();
            net.fit(batch);
            r.first[round] = System.nanoTime() - s;
            r.workspaceGrowth[round] = workspaceBytes() - workspacesBefore;
            s = System.nanoTime();
            net.fit(batch);
            r.second[round] = System.nanoTime() - s;
            r.width[round] = NetworkRewrite.width(net, "h1");
        }
        return r;
    }

    /** The summed current size of this thread's workspaces (ND4J resets its spill counters every cycle). */
    static long workspaceBytes() {
        long sum = 0;
        for (org.nd4j.linalg.api.memory.MemoryWorkspace w
                : org.nd4j.linalg.factory.Nd4j.getWorkspaceManager().getAllWorkspacesForCurrentThread()) {
            sum += w.getCurrentSize();
        }
        return sum;
    }

    static long median(long[] a) {
        long[] s = a.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    static double[] ratios(long[] a, long[] b) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = (double) a[i] / b[i];
        }
        return out;
    }

    static String spread(double[] x) {
        double[] s = x.clone();
        Arrays.sort(s);
        return String.format("median %.2f (quartiles %.2f-%.2f, range %.2f-%.2f)", s[s.length / 2],
                s[s.length / 4], s[(3 * s.length) / 4], s[0], s[s.length - 1]);
    }

    public static String report(Result r) {
        StringBuilder b = new StringBuilder();
        b.append(String.format("%-6s %6s %10s %10s %10s %10s %12s%n", "round", "h1", "steady ms", "rewrite ms",
                "first ms", "second ms", "WS grew KB"));
        for (int i = 0; i < r.steady.length; i++) {
            b.append(String.format("%-6d %6d %10.1f %10.1f %10.1f %10.1f %12.1f%n", i + 1, r.width[i],
                    r.steady[i] / 1e6, r.rewrite[i] / 1e6, r.first[i] / 1e6, r.second[i] / 1e6,
                    r.workspaceGrowth[i] / 1024.0));
        }
        b.append(String.format("steady iteration: median %.1f ms; rewrite: median %.1f ms%n", median(r.steady) / 1e6,
                median(r.rewrite) / 1e6));
        b.append("first iteration after a rewrite / steady of its round: ").append(spread(ratios(r.first, r.steady)))
                .append('\n');
        b.append("second iteration after / steady: ").append(spread(ratios(r.second, r.steady))).append('\n');
        b.append("median first / median steady: ").append(String.format("%.2f", (double) median(r.first)
                / median(r.steady))).append('\n');
        b.append("rewrite / steady of its round: ").append(spread(ratios(r.rewrite, r.steady))).append('\n');
        return b.toString();
    }

    public static void main(String[] args) {
        int rounds = 20;
        int steady = 10;
        for (int i = 0; i < args.length; i += 2) {
            switch (args[i]) {
                case "--rounds":
                    rounds = Integer.parseInt(args[i + 1]);
                    break;
                case "--steady":
                    steady = Integer.parseInt(args[i + 1]);
                    break;
                default:
                    throw new IllegalArgumentException("Unknown option " + args[i] + "; options: --rounds N, --steady N");
            }
        }
        if (rounds < 1 || steady < 2) {
            throw new IllegalArgumentException("--rounds must be at least 1 and --steady at least 2, got " + rounds
                    + " and " + steady);
        }
        System.out.println("784-512-512-10 MLP, FLOAT, Adam, batch 128, h1 +16 per round; buffer reuse "
                + System.getProperty("dl4jgrowth.rewrite.reuseMemory", "true") + "; "
                + Runtime.getRuntime().availableProcessors() + " cores");
        System.out.print(report(run(784, 512, 128, rounds, steady, 16)));
    }
}
