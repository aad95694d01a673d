package org.dl4jgrowth.bench;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.dl4jgrowth.DeviceReport;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.activation.ActivationGrowthReLU;
import org.dl4jgrowth.data.Digits;
import org.dl4jgrowth.data.FashionMnist;
import org.dl4jgrowth.firefly.FireflyPlanner;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.plan.ReplayPlanner;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.when.GrowthTrigger;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.Function;

/**
 * Firefly against other ways of starting the same new units (issue "Firefly II", point 4; results
 * and discussion in {@code docs/firefly-comparison.md}). On each task and seed Firefly (Wu et al.
 * 2020) decides every growth: which layers, how many units, split or new. The baselines then train
 * the same initial network on the same data in the same order and replay Firefly's schedule through
 * a {@link ReplayPlanner} (same layers, same amounts, same iterations) with their own initialisers:
 * GradMax (zero fan-in, fan-out from the gradient statistic), random (the layer's own weight
 * initialisation for fan-in and fan-out) and function-preserving (random fan-in, zero fan-out).
 *
 * <p>Reported per task, mean ± std over seeds: the mean training loss (DL4J's minibatch score,
 * taken before each update) over the {@value #WINDOW} iterations after each growth, the final test
 * accuracy (test MSE for the teacher-student task, which has no classes), and the wall time of the
 * run's growth events as they record it (signals, which for Firefly include candidate training,
 * plus the rewrite).
 *
 * <p>Where the replay departs from Firefly's run: GradMax cannot grow a layer and its consumer in
 * one event (its statistic is taken over the consumer's current weights), so when Firefly grew a
 * chain of layers at iteration t, GradMax grows the chain's last layer at t, the one before it at
 * t + 1, and so on. Firefly's splits are replayed as fresh units.
 *
 * <p>Run it with {@code mvn -B -q -Pfirefly-comparison -pl integration-tests -am -DskipTests verify};
 * arguments (through {@code -Dexec.args}): {@code --seeds N} (default 3) and {@code --tasks a,b}
 * (default {@code digits,teacher-student,fashion-cnn}). Without Fashion-MNIST its task is skipped
 * with the install command.
 */
public final class FireflyComparison {
    /** Iterations after each growth over which the training loss is averaged. */
    public static final int WINDOW = 100;

    /** The four ways of starting the new units. */
    public enum Method {
        FIREFLY("Firefly", null),
        GRADMAX("GradMax (replay)", UnitInitializer.gradMax()),
        RANDOM("random (replay)", UnitInitializer.random()),
        FUNCTION_PRESERVING("functionPreserving (replay)", UnitInitializer.functionPreserving());

        final String label;
        final UnitInitializer init;

        Method(String label, UnitInitializer init) {
            this.label = label;
            this.init = init;
        }
    }

    /** One task: a network, its data, when growth happens and how much Firefly may add each time. */
    public static final class Task {
        final String name;
        final String description;
        final Function<Integer, MultiLayerNetwork> network;
        final Function<Integer, DataSet> train;
        final Function<Integer, DataSet> test;
        final Function<Integer, DataSet> growthData;
        final int batchSize;
        final int growthBatch;
        final int iterations;
        final long[] growthAt;
        final int count;
        final int newNeurons;
        final int steps;
        final boolean classification;
        final int threads;

        Task(String name, String description, Function<Integer, MultiLayerNetwork> network,
             Function<Integer, DataSet> train, Function<Integer, DataSet> test,
             Function<Integer, DataSet> growthData, int batchSize, int growthBatch,
             int iterations, long[] growthAt, int count, int newNeurons, int steps, boolean classification,
             int threads) {
            this.name = name;
            this.description = description;
            this.network = network;
            this.train = train;
            this.test = test;
            this.growthData = growthData;
            this.batchSize = batchSize;
            this.growthBatch = growthBatch;
            this.iterations = iterations;
            this.growthAt = growthAt;
            this.count = count;
            this.newNeurons = newNeurons;
            this.steps = steps;
            this.classification = classification;
            this.threads = threads;
        }

        public String name() {
            return name;
        }
    }

    /** What one training run gave. */
    public static final class Run {
        public final Method method;
        public final int seed;
        public final List<GrowthEvent> events;
        /** Mean loss over the {@value #WINDOW} iterations after each of Firefly's growth moments. */
        public final double[] lossAfter;
        public final double metric;
        public final double growthMillis;
        public final double runMillis;
        public final Map<String, Integer> widths;
        public final long params;

        Run(Method method, int seed, List<GrowthEvent> events, double[] lossAfter, double metric,
            double growthMillis, double runMillis, Map<String, Integer> widths, long params) {
            this.method = method;
            this.seed = seed;
            this.events = events;
            this.lossAfter = lossAfter;
            this.metric = metric;
            this.growthMillis = growthMillis;
            this.runMillis = runMillis;
            this.widths = widths;
            this.params = params;
        }
    }

    private FireflyComparison() {
    }

    public static void main(String[] args) {
        int seeds = 3;
        List<String> names = List.of("digits", "teacher-student", "fashion-cnn");
        for (int i = 0; i < args.length; i++) {
            if ("--seeds".equals(args[i]) && i + 1 < args.length) {
                seeds = Integer.parseInt(args[++i]);
            } else if ("--tasks".equals(args[i]) && i + 1 < args.length) {
                names = List.of(args[++i].split(","));
            } else {
                throw new IllegalArgumentException("FireflyComparison: unknown argument '" + args[i]
                        + "'; use --seeds N and --tasks digits,teacher-student,fashion-cnn");
            }
        }
        long start = System.nanoTime();
        System.out.println("Firefly comparison: " + seeds + " seeds, tasks " + names);
        System.out.println(DeviceReport.current());
        final int n = seeds;
        BenchTables.run(names, FireflyComparison::task, task -> table(task, run(task, n)), start);
    }

    /** The named task, or null when its data is not installed. */
    public static Task task(String name) {
        switch (name) {
            case "digits":
                return digits(450, new long[]{99, 199, 299}, 8, 70, 100);
            case "teacher-student":
                return teacherStudent(1200, 200, 100);
            case "fashion-cnn":
                return FashionMnist.available() ? fashionCnn(400, 100, 500, new long[]{99, 199, 299}, 6, 10, 100)
                        : null;
            default:
                throw new IllegalArgumentException("FireflyComparison: unknown task '" + name
                        + "'; tasks: digits, teacher-student, fashion-cnn");
        }
    }

    /** Every method on every seed of {@code task}, printing progress. */
    public static List<Run> run(Task task, int seeds) {
        Nd4j.getEnvironment().setMaxThreads(task.threads);
        Nd4j.getEnvironment().setMaxMasterThreads(task.threads);
        System.out.println();
        System.out.println("== " + task.name + ": " + task.description);
        List<Run> out = new ArrayList<>();
        for (int seed = 0; seed < seeds; seed++) {
            Run firefly = train(task, seed, Method.FIREFLY, null);
            out.add(firefly);
            for (Method m : new Method[]{Method.GRADMAX, Method.RANDOM, Method.FUNCTION_PRESERVING}) {
                out.add(train(task, seed, m, replaySteps(task, seed, m, firefly.events)));
            }
        }
        return out;
    }

    /**
     * Firefly's schedule for {@code method}: as recorded, except that GradMax grows a chain of
     * layers (a layer and its consumer) in consecutive iterations, consumer first.
     */
    static List<ReplayPlanner.Step> replaySteps(Task task, int seed, Method method, List<GrowthEvent> events) {
        List<ReplayPlanner.Step> steps = new ArrayList<>();
        MultiLayerNetwork shape = method == Method.GRADMAX ? task.network.apply(seed) : null;
        for (GrowthEvent e : events) {
            ReplayPlanner.Step step = ReplayPlanner.stepOf(e);
            if (shape == null) {
                steps.add(step);
                continue;
            }
            Map<String, Integer> remaining = new LinkedHashMap<>(step.added());
            long iteration = e.iteration();
            boolean atEnd = e.atEpochEnd();
            while (!remaining.isEmpty()) {
                Map<String, Integer> now = new LinkedHashMap<>();
                for (Map.Entry<String, Integer> r : remaining.entrySet()) {
                    // The layers whose fan-in are this layer's units (through batch norms, activations, pooling).
                    Set<String> consumers = new HashSet<>();
                    NetworkRewrite.of(shape).grow(r.getKey(), 1).plan().site(r.getKey()).consumers()
                            .forEach(c -> consumers.add(c.layer()));
                    consumers.retainAll(remaining.keySet());
                    if (consumers.isEmpty()) {
                        now.put(r.getKey(), r.getValue());
                    }
                }
                steps.add(new ReplayPlanner.Step(iteration, atEnd, now));
                now.keySet().forEach(remaining::remove);
                iteration++;
                atEnd = false;
            }
        }
        return steps;
    }

    static Run train(Task task, int seed, Method method, List<ReplayPlanner.Step> replay) {
        long t0 = System.nanoTime();
        long growthSeed = 1_000L + seed;
        GrowthPolicy policy;
        if (method == Method.FIREFLY) {
            policy = GrowthPolicy.builder().planner(FireflyPlanner.builder()
                            .when(GrowthTrigger.atIterations(task.growthAt)).count(task.count)
                            .newNeurons(task.newNeurons).steps(task.steps).build())
                    .seed(growthSeed).build();
        } else {
            policy = GrowthPolicy.builder().planner(new ReplayPlanner(replay)).initializer(method.init)
                    .seed(growthSeed).build();
        }
        DataSet growthData = task.growthData.apply(seed);
        GrowthListener growth = GrowthListener.builder().policy(policy)
                .growthData(Digits.iterator(growthData, task.growthBatch),
                        (int) Math.ceil(growthData.numExamples() / (double) task.growthBatch))
                .build();
        MultiLayerNetwork net = task.network.apply(seed);
        double[] scores = new double[task.iterations];
        // Before the growth listener: DL4J's score of the step just taken, by the network that took it.
        BaseTrainingListener recorder = new BaseTrainingListener() {
            @Override
            public void iterationDone(Model model, int iteration, int epoch) {
                if (iteration < scores.length) {
                    scores[iteration] = model.score();
                }
            }
        };
        net.setListeners(recorder, growth);
        DataSet train = task.train.apply(seed);
        DataSetIterator it = Digits.iterator(train, task.batchSize);
        int perEpoch = (int) Math.ceil(train.numExamples() / (double) task.batchSize);
        int epochs = (int) Math.ceil(task.iterations / (double) perEpoch);
        net.fit(it, epochs);
        double[] after = new double[task.growthAt.length];
        for (int g = 0; g < after.length; g++) {
            double sum = 0;
            int n = 0;
            for (long i = task.growthAt[g] + 1; i <= task.growthAt[g] + WINDOW && i < scores.length; i++) {
                sum += scores[(int) i];
                n++;
            }
            after[g] = n == 0 ? Double.NaN : sum / n;
        }
        double metric = metric(task, net, task.test.apply(seed));
        List<GrowthEvent> events = growth.history().events();
        double growthMillis = 0;
        for (GrowthEvent e : events) {
            growthMillis += e.signalMillis() + e.rewriteMillis();
        }
        Map<String, Integer> widths = new LinkedHashMap<>();
        for (String layer : NetworkRewrite.growableLayers(net)) {
            widths.put(layer, NetworkRewrite.width(net, layer));
        }
        double runMillis = (System.nanoTime() - t0) / 1e6;
        System.out.printf(Locale.ROOT, "  %s seed %d %-28s %d events, widths %s, %s %.4f, growth %.1f s, run %.1f s%n",
                task.name, seed, method.label, events.size(), widths, task.classification ? "test accuracy"
                        : "test MSE", metric, growthMillis / 1e3, runMillis / 1e3);
        return new Run(method, seed, events, after, metric, growthMillis, runMillis, widths, net.numParams());
    }

    static double metric(Task task, MultiLayerNetwork net, DataSet test) {
        if (task.classification) {
            return net.evaluate(Digits.iterator(test, 256)).accuracy();
        }
        INDArray out = net.output(test.getFeatures(), false);
        double d = out.distance2(test.getLabels());
        return d * d / test.getLabels().length();
    }

    /** The task's results as a Markdown table, mean ± std over seeds. */
    public static String table(Task task, List<Run> runs) {
        StringBuilder sb = new StringBuilder();
        sb.append("### ").append(task.name).append("\n\n").append(task.description).append("\n\n");
        sb.append("| method |");
        for (int g = 0; g < task.growthAt.length; g++) {
            sb.append(" loss, ").append(WINDOW).append(" it. after growth ").append(g + 1).append(" |");
        }
        sb.append(task.classification ? " test accuracy |" : " test MSE |").append(" growth events, s (total) |")
                .append(" final widths (seed 0) |\n|---|");
        for (int g = 0; g <= task.growthAt.length + 2; g++) {
            sb.append("---|");
        }
        sb.append('\n');
        for (Method m : Method.values()) {
            List<Run> of = new ArrayList<>();
            for (Run r : runs) {
                if (r.method == m) {
                    of.add(r);
                }
            }
            if (of.isEmpty()) {
                continue;
            }
            sb.append("| ").append(m.label).append(" |");
            for (int g = 0; g < task.growthAt.length; g++) {
                final int gg = g;
                sb.append(' ').append(meanStd(of.stream().mapToDouble(r -> r.lossAfter[gg]).toArray(), 4)).append(" |");
            }
            sb.append(' ').append(meanStd(of.stream().mapToDouble(r -> r.metric).toArray(), 4)).append(" |");
            sb.append(' ').append(meanStd(of.stream().mapToDouble(r -> r.growthMillis / 1e3).toArray(), 2))
                    .append(" |");
            sb.append(' ').append(of.get(0).widths).append(" |\n");
        }
        return sb.toString();
    }

    static String meanStd(double[] v, int digits) {
        double mean = 0;
        for (double x : v) {
            mean += x;
        }
        mean /= v.length;
        double var = 0;
        for (double x : v) {
            var += (x - mean) * (x - mean);
        }
        double std = v.length > 1 ? Math.sqrt(var / (v.length - 1)) : 0;
        return String.format(Locale.ROOT, "%." + digits + "f ± %." + digits + "f", mean, std);
    }

    // ---- tasks ----

    /**
     * The bundled digits (80/20 split, seed 42), 64 -> h1(8) -> h2(8) -> 10, growth ReLU, Adam 5e-3,
     * minibatches of 32; Firefly's candidates train on 256 training examples.
     */
    public static Task digits(int iterations, long[] growthAt, int count, int newNeurons, int steps) {
        Digits.Split split = Digits.split(DataType.FLOAT, 0.8, 42);
        DataSet growthData = (DataSet) split.train().getRange(0, 256);
        return new Task("digits", "scikit-learn digits (1437 train / 360 test), MLP 64 -> h1(8) -> h2(8) -> 10, "
                + "Adam 5e-3, batch 32, " + iterations + " iterations, growths after iterations "
                + java.util.Arrays.toString(growthAt) + ", Firefly adds " + count + " units per growth (K = "
                + newNeurons + " new-neuron candidates per layer, " + steps + " candidate steps on 256 examples)",
                FireflyComparison::mlp, seed -> split.train(), seed -> split.test(), seed -> growthData, 32, 64, iterations, growthAt,
                count, newNeurons, steps, true, 1);
    }

    static MultiLayerNetwork mlp(int seed) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder()
                .seed(1_000L + seed).updater(new Adam(5e-3)).weightInit(WeightInit.RELU).dataType(DataType.FLOAT)
                .list()
                .layer(new DenseLayer.Builder().name("h1").nOut(8).activation(new ActivationGrowthReLU()).build())
                .layer(new DenseLayer.Builder().name("h2").nOut(8).activation(new ActivationGrowthReLU()).build())
                .layer(new OutputLayer.Builder().name("out").nOut(10).activation(Activation.SOFTMAX)
                        .lossFunction(LossFunctions.LossFunction.MCXENT).build())
                .setInputType(InputType.feedForward(Digits.NUM_FEATURES)).build());
        net.init();
        return net;
    }

    /**
     * GradMax's teacher-student task ({@link TeacherStudent}): student 10 -> h(5) -> 10, full-batch SGD
     * 0.1, one unit per growth every {@code phase} steps; test MSE on 1000 fresh inputs of the
     * same teacher. Firefly's candidates train on the whole training batch.
     */
    public static Task teacherStudent(int iterations, int phase, int steps) {
        int growths = Math.min(TeacherStudent.GROWTHS, iterations / phase - 1);
        long[] at = new long[growths];
        for (int g = 0; g < growths; g++) {
            at[g] = (long) (g + 1) * phase - 1;
        }
        return new Task("teacher-student", "GradMax's teacher-student task: teacher 10 -> 10 -> 10, student "
                + "10 -> h(5) -> 10 (growth ReLU, no biases, MSE), full-batch SGD 0.1, " + iterations
                + " steps, one unit per growth after steps " + java.util.Arrays.toString(at)
                + "; Firefly: K = 70 new-neuron candidates, " + steps + " candidate steps on the training batch; "
                + "test MSE on 1000 fresh inputs of each seed's teacher",
                TeacherStudent::student, TeacherStudent::data, FireflyComparison::teacherTest, TeacherStudent::data,
                TeacherStudent.EXAMPLES, TeacherStudent.EXAMPLES, iterations, at, 1, 70, steps, false, 1);
    }

    static DataSet teacherTest(int seed) {
        Random rng = new Random(104_729L * seed + 3);
        double[][] x = new double[TeacherStudent.EXAMPLES][TeacherStudent.IN];
        for (double[] row : x) {
            for (int j = 0; j < row.length; j++) {
                row[j] = rng.nextGaussian();
            }
        }
        INDArray features = Nd4j.create(x).castTo(DataType.DOUBLE);
        return new DataSet(features, TeacherStudent.teacher(seed).output(features).dup());
    }

    /**
     * A small CNN with batch norm on a class-balanced Fashion-MNIST subset: c1(3x3, 4) -> BN -> act
     * -> max-pool -> c2(3x3, 8) -> BN -> act -> global average pool -> d(16) -> 10, Adam 3e-3,
     * minibatches of 64; Firefly's candidates train on 256 training examples.
     */
    public static Task fashionCnn(int trainPerClass, int testPerClass, int iterations, long[] growthAt, int count,
                                  int newNeurons, int steps) {
        DataSet train = FashionMnist.subset(FashionMnist.loadImages(true, DataType.FLOAT, 0), trainPerClass, 42);
        DataSet test = FashionMnist.subset(FashionMnist.loadImages(false, DataType.FLOAT, 0), testPerClass, 43);
        DataSet growthData = (DataSet) train.getRange(0, 256);
        return new Task("fashion-cnn", "Fashion-MNIST subset (" + train.numExamples() + " train / "
                + test.numExamples() + " test, class-balanced), CNN c1(3x3, 4) -> BN -> act -> max-pool -> "
                + "c2(3x3, 8) -> BN -> act -> global avg pool -> d(16) -> 10, Adam 3e-3, batch 64, " + iterations
                + " iterations, growths after iterations " + java.util.Arrays.toString(growthAt) + ", Firefly adds "
                + count + " units per growth (K = " + newNeurons + ", " + steps + " candidate steps on 256 examples)",
                FireflyComparison::cnn, seed -> train, seed -> test, seed -> growthData, 64, 64, iterations, growthAt, count,
                newNeurons, steps, true, 2);
    }

    static MultiLayerNetwork cnn(int seed) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder()
                .seed(1_000L + seed).updater(new Adam(3e-3)).weightInit(WeightInit.RELU).dataType(DataType.FLOAT)
                .list()
                .layer(new ConvolutionLayer.Builder(3, 3).name("c1").nOut(4).activation(Activation.IDENTITY).build())
                .layer(new BatchNormalization.Builder().name("bn1").build())
                .layer(new ActivationLayer.Builder().name("a1").activation(new ActivationGrowthReLU()).build())
                .layer(new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).name("pool")
                        .build())
                .layer(new ConvolutionLayer.Builder(3, 3).name("c2").nOut(8).activation(Activation.IDENTITY).build())
                .layer(new BatchNormalization.Builder().name("bn2").build())
                .layer(new ActivationLayer.Builder().name("a2").activation(new ActivationGrowthReLU()).build())
                .layer(new GlobalPoolingLayer.Builder(PoolingType.AVG).name("gp").build())
                .layer(new DenseLayer.Builder().name("d").nOut(16).activation(new ActivationGrowthReLU()).build())
                .layer(new OutputLayer.Builder().name("out").nOut(10).activation(Activation.SOFTMAX)
                        .lossFunction(LossFunctions.LossFunction.MCXENT).build())
                .setInputType(InputType.convolutional(FashionMnist.HEIGHT, FashionMnist.WIDTH, 1)).build());
        net.init();
        return net;
    }
}
