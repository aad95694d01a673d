package org.dl4jgrowth.bench;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.dl4jgrowth.DeviceReport;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.data.Digits;
import org.dl4jgrowth.data.FashionMnist;
import org.dl4jgrowth.nest.NestDetails;
import org.dl4jgrowth.nest.NestSchedule;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * NeST's compression report (issue "NeST II", point 3; results in {@code docs/nest-compression.md}):
 * LeNet-300-100 synthesised three ways on the same data with the same training budget, over seeds.
 * <ul>
 *   <li><b>dense</b>: the full network trained for all {@code epochs + pruneEpochs} epochs;</li>
 *   <li><b>magnitude pruning</b> (Han et al. 2015): the dense network trained for {@code epochs},
 *       then pruned iteratively to the target densities over {@code pruneEpochs}, twice an epoch,
 *       with training between steps and a last epoch of training only ({@link NestSchedule#builder()}
 *       {@code .pruneTo}), units left without input or output removed after every prune (as Han et
 *       al. do);</li>
 *   <li><b>NeST</b> (Dai, Yin, Jha 2018): a sparse seed (a fraction of each layer's connections,
 *       drawn at random), connection growth by gradient twice an epoch for {@code epochs}, then the
 *       same pruning phase as magnitude pruning.</li>
 * </ul>
 * Both pruned methods reach the same per-layer densities (Han et al.'s for LeNet-300-100: 8%, 9%
 * and 26%), so their compactness differs only by the units NeST's removal takes; the question the
 * report answers is what each keeps of the dense network's accuracy.
 *
 * <p>Counted per network: parameters = non-zero weights + the biases of the units left; FLOPs per
 * example = 2 per non-zero weight (multiply and add) + 1 per bias (activations not counted).
 *
 * <p>Where we depart from the paper: the paper grows neurons too and its phases run until the
 * accuracy stops improving; here the seed keeps the full widths, only connections grow, and every
 * phase has a fixed budget in epochs so that the three methods train equally long.
 *
 * <p>Run it with {@code mvn -B -q -Pnest-compression -pl integration-tests -am -DskipTests verify};
 * arguments (through {@code -Dexec.args}): {@code --seeds N} (default 3), {@code --tasks a,b}
 * (default {@code fashion,digits}), {@code --epochs E} and {@code --prune-epochs P} (override the
 * task's), {@code --methods dense,pruning,nest} (default all three) and {@code --densities h1,h2,out}
 * (default Han et al.'s 0.08,0.09,0.26). Without Fashion-MNIST its task is skipped with the install
 * command.
 */
public final class NestCompression {
    /** Han et al.'s per-layer densities for LeNet-300-100 (8%, 9%, 26% of the weights left). */
    public static final Map<String, Double> DENSITIES = Map.of("h1", 0.08, "h2", 0.09, "out", 0.26);

    public enum Method {
        DENSE("dense"), PRUNING("magnitude pruning"), NEST("NeST");

        final String label;

        Method(String label) {
            this.label = label;
        }
    }

    /** One task: the data, the batch size and the budget. */
    public static final class Task {
        final String name;
        final DataSet train;
        final DataSet test;
        final int batch;
        final int epochs;
        final int pruneEpochs;
        final double seedDensity;
        final double growPercentile;
        final Map<String, Double> densities;

        Task(String name, DataSet train, DataSet test, int batch, int epochs, int pruneEpochs, double seedDensity,
             double growPercentile) {
            this(name, train, test, batch, epochs, pruneEpochs, seedDensity, growPercentile, DENSITIES);
        }

        Task(String name, DataSet train, DataSet test, int batch, int epochs, int pruneEpochs, double seedDensity,
             double growPercentile, Map<String, Double> densities) {
            this.densities = densities;
            this.name = name;
            this.train = train;
            this.test = test;
            this.batch = batch;
            this.epochs = epochs;
            this.pruneEpochs = pruneEpochs;
            this.seedDensity = seedDensity;
            this.growPercentile = growPercentile;
        }

        Task withBudget(int epochs, int pruneEpochs) {
            return new Task(name, train, test, batch, epochs, pruneEpochs, seedDensity, growPercentile, densities);
        }

        /** The same task pruned to other per-layer densities (h1, h2, out). */
        Task withDensities(Map<String, Double> densities) {
            return new Task(name, train, test, batch, epochs, pruneEpochs, seedDensity, growPercentile, densities);
        }

        int iterationsPerEpoch() {
            return (int) ((train.numExamples() + batch - 1) / batch);
        }
    }

    /** What one run gave. */
    public static final class Run {
        public final Method method;
        public final int seed;
        public final long nonZeroWeights;
        public final long biases;
        public final double accuracy;
        public final Map<String, String> layers;
        public final List<GrowthEvent> events;
        public final double seconds;

        Run(Method method, int seed, long nonZeroWeights, long biases, double accuracy, Map<String, String> layers,
            List<GrowthEvent> events, double seconds) {
            this.method = method;
            this.seed = seed;
            this.nonZeroWeights = nonZeroWeights;
            this.biases = biases;
            this.accuracy = accuracy;
            this.layers = layers;
            this.events = events;
            this.seconds = seconds;
        }

        public long params() {
            return nonZeroWeights + biases;
        }

        public long flops() {
            return 2 * nonZeroWeights + biases;
        }
    }

    private NestCompression() {
    }

    public static void main(String[] args) {
        int seeds = 3;
        List<String> names = List.of("fashion", "digits");
        int epochs = -1;
        int pruneEpochs = -1;
        List<Method> methods = List.of(Method.values());
        Map<String, Double> densities = DENSITIES;
        for (int i = 0; i < args.length; i++) {
            if ("--seeds".equals(args[i]) && i + 1 < args.length) {
                seeds = Integer.parseInt(args[++i]);
            } else if ("--tasks".equals(args[i]) && i + 1 < args.length) {
                names = List.of(args[++i].split(","));
            } else if ("--epochs".equals(args[i]) && i + 1 < args.length) {
                epochs = Integer.parseInt(args[++i]);
            } else if ("--prune-epochs".equals(args[i]) && i + 1 < args.length) {
                pruneEpochs = Integer.parseInt(args[++i]);
            } else if ("--methods".equals(args[i]) && i + 1 < args.length) {
                List<Method> ms = new ArrayList<>();
                for (String m : args[++i].split(",")) {
                    ms.add(Method.valueOf(m.trim().toUpperCase(Locale.ROOT)));
                }
                methods = ms;
            } else if ("--densities".equals(args[i]) && i + 1 < args.length) {
                String[] d = args[++i].split(",");
                if (d.length != 3) {
                    throw new IllegalArgumentException("NestCompression: --densities takes three fractions, for h1, "
                            + "h2 and out (got: " + String.join(",", d) + ")");
                }
                densities = Map.of("h1", Double.parseDouble(d[0]), "h2", Double.parseDouble(d[1]), "out",
                        Double.parseDouble(d[2]));
            } else {
                throw new IllegalArgumentException("NestCompression: unknown argument '" + args[i] + "'; use --seeds N, "
                        + "--tasks fashion,digits, --epochs E, --prune-epochs P, --methods dense,pruning,nest, "
                        + "--densities h1,h2,out");
            }
        }
        long start = System.nanoTime();
        System.out.println("NeST compression report: LeNet-300-100, " + seeds + " seeds, tasks " + names);
        System.out.println(DeviceReport.current());
        final int n = seeds;
        final int e = epochs;
        final int p = pruneEpochs;
        final List<Method> ms = methods;
        final Map<String, Double> ds = densities;
        BenchTables.run(names, NestCompression::task, task -> {
            Task t = task.withBudget(e > 0 ? e : task.epochs, p > 1 ? p : task.pruneEpochs).withDensities(ds);
            List<Run> runs = new ArrayList<>();
            for (int seed = 1; seed <= n; seed++) {
                for (Method m : ms) {
                    runs.add(run(t, m, seed));
                }
            }
            return table(t, runs);
        }, start);
    }

    /** The named task with its default budget, or null when its data are not installed. */
    public static Task task(String name) {
        switch (name) {
            case "fashion":
                if (!FashionMnist.available()) {
                    return null;
                }
                return new Task("fashion", FashionMnist.load(true, DataType.FLOAT, 0),
                        FashionMnist.load(false, DataType.FLOAT, 0), 100, 6, 6, 0.1, 95);
            case "digits":
                Digits.Split split = Digits.split(DataType.FLOAT, 0.8, 4);
                return new Task("digits", split.train(), split.test(), 32, 15, 15, 0.1, 95);
            default:
                throw new IllegalArgumentException("NestCompression: unknown task '" + name + "'; tasks: fashion, "
                        + "digits");
        }
    }

    /** LeNet-300-100 for {@code inputs} features. */
    static MultiLayerNetwork lenet300100(int inputs, int seed) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(seed)
                .dataType(DataType.FLOAT).updater(new Adam(1e-3)).weightInit(WeightInit.RELU).list()
                .layer(new DenseLayer.Builder().name("h1").nOut(300).activation(Activation.RELU).build())
                .layer(new DenseLayer.Builder().name("h2").nOut(100).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder().name("out").nOut(10).activation(Activation.SOFTMAX)
                        .lossFunction(LossFunctions.LossFunction.MCXENT).build())
                .setInputType(InputType.feedForward(inputs)).build());
        net.init();
        return net;
    }

    /** The method's schedule for {@code task}, or null for the dense network. */
    public static NestSchedule schedule(Task task, Method method) {
        if (method == Method.DENSE) {
            return null;
        }
        long ipe = task.iterationsPerEpoch();
        long half = Math.max(1, ipe / 2);
        long pruneFrom = task.epochs * ipe;
        // The last epoch trains only: the pruning events end one epoch before the budget does.
        long pruneUntil = (task.epochs + task.pruneEpochs - 1) * ipe;
        NestSchedule.Builder b = NestSchedule.builder().layers("h1", "h2", "out");
        if (method == Method.NEST) {
            b.seed(task.seedDensity, 1.0).growConnections(half, pruneFrom, half, task.growPercentile);
        }
        return b.pruneTo(pruneFrom, pruneUntil, half, task.densities).build();
    }

    public static Run run(Task task, Method method, int seed) {
        long start = System.nanoTime();
        MultiLayerNetwork net = lenet300100((int) task.train.getFeatures().size(1), seed);
        DataSet train = (DataSet) task.train.copy();
        train.shuffle(seed);
        GrowthListener growth = null;
        NestSchedule schedule = schedule(task, method);
        if (schedule != null) {
            // Connection growth takes its gradient over 2000 training examples, not one minibatch.
            DataSet sample = (DataSet) train.getRange(0, (int) Math.min(2000, train.numExamples()));
            growth = GrowthListener.builder().policy(GrowthPolicy.builder().planner(schedule).seed(seed).build())
                    .growthData(Digits.iterator(sample, 500), 4).build();
            net.setListeners(growth);
        }
        DataSetIterator it = Digits.iterator(train, task.batch);
        int total = task.epochs + task.pruneEpochs;
        for (int e = 0; e < total; e++) {
            net.fit(it);
            if ((e + 1) % Math.max(1, total / 4) == 0 || e == total - 1) {
                System.out.printf(Locale.ROOT, "  %s %s seed %d: epoch %d/%d, score %.4f, %s, %.0f s%n", task.name,
                        method.label, seed, e + 1, total, net.score(), counts(net).layers,
                        (System.nanoTime() - start) / 1e9);
            }
        }
        double accuracy = net.evaluate(Digits.iterator(task.test, 1000)).accuracy();
        Counts c = counts(net);
        Run r = new Run(method, seed, c.nonZero, c.biases, accuracy, c.layers,
                growth == null ? List.of() : growth.history().events(), (System.nanoTime() - start) / 1e9);
        System.out.printf(Locale.ROOT, "%s %s seed %d: %d parameters (%d non-zero weights + %d biases), accuracy "
                        + "%.4f, %d events, %.0f s%n", task.name, method.label, seed, r.params(), r.nonZeroWeights,
                r.biases, accuracy, r.events.size(), r.seconds);
        return r;
    }

    static final class Counts {
        long nonZero;
        long biases;
        final Map<String, String> layers = new LinkedHashMap<>();
    }

    /** Non-zero weights and biases per layer, with each layer's width and density. */
    static Counts counts(MultiLayerNetwork net) {
        Counts c = new Counts();
        for (int i = 0; i < net.getnLayers(); i++) {
            INDArray w = net.getLayer(i).getParam("W");
            INDArray b = net.getLayer(i).getParam("b");
            long nz = w.neq(0.0).castTo(DataType.INT64).sumNumber().longValue();
            c.nonZero += nz;
            c.biases += b.length();
            c.layers.put(net.getLayer(i).conf().getLayer().getLayerName(), String.format(Locale.ROOT, "%dx%d %.3f",
                    w.size(0), w.size(1), nz / (double) w.length()));
        }
        return c;
    }

    /** Dense parameter count of LeNet-300-100 on {@code inputs} features: every weight and bias. */
    static long denseParams(long inputs) {
        return inputs * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10;
    }

    /** The report's table for one task: mean ± std over seeds per method, then per-seed rows. */
    public static String table(Task task, List<Run> runs) {
        StringBuilder s = new StringBuilder();
        long inputs = task.train.getFeatures().size(1);
        long dense = denseParams(inputs);
        s.append(String.format(Locale.ROOT, "### %s: LeNet-300-100 (%d-300-100-10), %d train / %d test examples, "
                        + "batch %d, %d + %d epochs, target densities %s%n%n", task.name, inputs,
                task.train.numExamples(), task.test.numExamples(), task.batch, task.epochs, task.pruneEpochs,
                new java.util.TreeMap<>(task.densities)));
        s.append("| method | parameters | compression | FLOPs per example | test accuracy | seconds per run |\n");
        s.append("|---|---|---|---|---|---|\n");
        for (Method m : Method.values()) {
            List<Run> rs = new ArrayList<>();
            for (Run r : runs) {
                if (r.method == m) {
                    rs.add(r);
                }
            }
            if (rs.isEmpty()) {
                continue;
            }
            double[] params = rs.stream().mapToDouble(Run::params).toArray();
            double[] ratio = rs.stream().mapToDouble(r -> dense / (double) r.params()).toArray();
            double[] flops = rs.stream().mapToDouble(Run::flops).toArray();
            double[] acc = rs.stream().mapToDouble(r -> 100 * r.accuracy).toArray();
            double[] secs = rs.stream().mapToDouble(r -> r.seconds).toArray();
            s.append(String.format(Locale.ROOT, "| %s | %s | %s× | %s | %s%% | %.0f |%n", m.label,
                    FireflyComparison.meanStd(params, 0), FireflyComparison.meanStd(ratio, 1),
                    FireflyComparison.meanStd(flops, 0), FireflyComparison.meanStd(acc, 2),
                    java.util.Arrays.stream(secs).average().orElse(0)));
        }
        s.append(String.format(Locale.ROOT, "%nDense parameter count %d; per run (layer: weights shape, density "
                + "of non-zero weights):%n%n", dense));
        for (Run r : runs) {
            long removed = 0;
            for (GrowthEvent e : r.events) {
                if (e.details() instanceof NestDetails && "removeUnits".equals(((NestDetails) e.details()).operation())) {
                    for (NestDetails.Layer l : ((NestDetails) e.details()).layers().values()) {
                        removed += l.unitsRemoved();
                    }
                }
            }
            s.append(String.format(Locale.ROOT, "- %s seed %d: %d parameters, accuracy %.2f%%, %s, %d events, %d "
                            + "units removed%n", r.method.label, r.seed, r.params(), 100 * r.accuracy, r.layers,
                    r.events.size(), removed));
        }
        return s.toString();
    }
}
