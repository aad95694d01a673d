package org.dl4jgrowth.bench;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.distribution.UniformDistribution;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.activation.ActivationGrowthReLU;
import org.dl4jgrowth.data.Digits;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.signal.GradientStatistic;
import org.dl4jgrowth.when.GrowthTrigger;
import org.dl4jgrowth.where.GrowthAmount;
import org.dl4jgrowth.where.SiteSelector;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * GradMax's teacher-student experiment (Evci et al. 2022, "GradMax: Growing Neural Networks Using
 * Gradient Information", section 5.1) on DL4J: a 10-5-10 student learns a 10-10-10 teacher and grows
 * its hidden layer by one unit every {@code stepsPerPhase} full-batch SGD steps, through a
 * {@link GrowthListener}, with GradMax, GradMax-Opt (its optimisation variant), its random-fan-out
 * baseline and zeros.
 *
 * <p>Per growth it records the gain (norm of the loss gradient on the new unit's fan-in right after
 * the growth) and the mean training loss over the following phase. The random baseline's gain is
 * the best of several draws made on clones of the very network GradMax grew, so that the two are
 * compared on the same pre-growth state. GradMax-Opt's gain is measured the same way, on a clone of
 * GradMax's pre-growth network, so that the two solutions of one problem are compared; its loss comes
 * from its own training run.
 */
public final class TeacherStudent {
    public static final int IN = 10;
    public static final int OUT = 10;
    public static final int TEACHER_HIDDEN = 10;
    public static final int START_HIDDEN = 5;
    public static final int GROWTHS = 5;
    public static final int EXAMPLES = 1000;
    public static final double LEARNING_RATE = 0.1;
    public static final double SCALE = 1.0;
    static final String HIDDEN = "h";

    public enum Method {
        GRADMAX(UnitInitializer.gradMax(SCALE)),
        GRADMAX_OPT(UnitInitializer.gradMaxOptimized(SCALE)),
        RANDOM_FAN_OUT(UnitInitializer.randomFanOut(SCALE)),
        ZEROS(UnitInitializer.zeros());

        final UnitInitializer init;

        Method(UnitInitializer init) {
            this.init = init;
        }
    }

    /** Experiment size: the main uses the values; the test may pass smaller ones. */
    public static final class Config {
        final int seeds;
        final int stepsPerPhase;
        final int randomDraws;

        public Config(int seeds, int stepsPerPhase, int randomDraws) {
            if (seeds < 1 || stepsPerPhase < 1 || randomDraws < 1) {
                throw new IllegalArgumentException("seeds, stepsPerPhase and randomDraws must be at least 1");
            }
            this.seeds = seeds;
            this.stepsPerPhase = stepsPerPhase;
            this.randomDraws = randomDraws;
        }

        public static Config paper() {
            return new Config(10, 200, 5);
        }
    }

    /** One growth of one seed. Gains are norms of the gradient of the mean loss. */
    public static final class Growth {
        public final int seed;
        public final int index;
        public final double gainGradMax;
        /** GradMax replayed by NetworkRewrite on the clone the random draws used: must equal {@link #gainGradMax}. */
        public final double gainGradMaxReplay;
        public final double[] gainRandomDraws;
        /** GradMax-Opt on the same clone, grown with the growth's seed. */
        public final double gainGradMaxOpt;
        public final double gainZeros;
        public final double lossGradMax;
        public final double lossGradMaxOpt;
        public final double lossRandom;
        public final double lossZeros;

        Growth(int seed, int index, double gainGradMax, double gainGradMaxReplay, double[] gainRandomDraws,
               double gainGradMaxOpt, double gainZeros, double lossGradMax, double lossGradMaxOpt, double lossRandom,
               double lossZeros) {
            this.seed = seed;
            this.index = index;
            this.gainGradMax = gainGradMax;
            this.gainGradMaxReplay = gainGradMaxReplay;
            this.gainRandomDraws = gainRandomDraws;
            this.gainGradMaxOpt = gainGradMaxOpt;
            this.gainZeros = gainZeros;
            this.lossGradMax = lossGradMax;
            this.lossGradMaxOpt = lossGradMaxOpt;
            this.lossRandom = lossRandom;
            this.lossZeros = lossZeros;
        }

        public double gainBestRandom() {
            double best = 0;
            for (double g : gainRandomDraws) {
                best = Math.max(best, g);
            }
            return best;
        }

        public boolean gradMaxBeatsBestRandom() {
            return gainGradMax > gainBestRandom();
        }

        /** GradMax-Opt's gain relative to GradMax's on the same network: 1 at the optimum. */
        public double optRatio() {
            return gainGradMaxOpt / gainGradMax;
        }
    }

    /** What one training run saw: gains at each growth (if measured) and mean loss after each. */
    static final class Run {
        final double[] gain = new double[GROWTHS];
        final double[] replay = new double[GROWTHS];
        final double[] optGains = new double[GROWTHS];
        final double[][] randomGains = new double[GROWTHS][];
        final double[] postGrowthLoss = new double[GROWTHS];
    }

    private TeacherStudent() {
    }

    public static void main(String[] args) {
        // Optional arguments (seeds, steps per phase) only for quick looks; the documented run uses none.
        Config config = args.length == 0 ? Config.paper()
                : new Config(Integer.parseInt(args[0]), args.length > 1 ? Integer.parseInt(args[1]) : 200, 5);
        long start = System.nanoTime();
        List<Growth> growths = run(config);
        System.out.print(report(growths, config));
        System.out.printf(Locale.ROOT, "wall time %.1f s (backend %s)%n", (System.nanoTime() - start) / 1e9,
                Nd4j.getBackend().getClass().getSimpleName());
    }

    public static List<Growth> run(Config config) {
        // 10x10 matrices: OpenMP's worker threads cost far more than they save, and on a busy 2-core
        // machine their spinning made a run take minutes instead of seconds.
        Nd4j.getEnvironment().setMaxThreads(1);
        Nd4j.getEnvironment().setMaxMasterThreads(1);
        List<Growth> out = new ArrayList<>();
        for (int seed = 0; seed < config.seeds; seed++) {
            DataSet data = data(seed);
            Run gradMax = train(Method.GRADMAX, seed, data, config, true);
            Run opt = train(Method.GRADMAX_OPT, seed, data, config, false);
            Run random = train(Method.RANDOM_FAN_OUT, seed, data, config, false);
            Run zeros = train(Method.ZEROS, seed, data, config, true);
            System.err.printf(Locale.ROOT, "seed %d done%n", seed);
            for (int g = 0; g < GROWTHS; g++) {
                out.add(new Growth(seed, g, gradMax.gain[g], gradMax.replay[g], gradMax.randomGains[g],
                        gradMax.optGains[g], zeros.gain[g], gradMax.postGrowthLoss[g], opt.postGrowthLoss[g],
                        random.postGrowthLoss[g], zeros.postGrowthLoss[g]));
            }
        }
        return out;
    }

    /**
     * The seed handed to DL4J and to the growth generators for experiment seed {@code seed}. Never 0:
     * DL4J 1.0.0-M2.1 does not reseed its generator for a configuration seed of 0, so a student
     * built with seed 0 got different weights on every call.
     */
    static long dl4jSeed(int seed) {
        return 1_000L + seed;
    }

    /** 1000 N(0,1) inputs and the teacher's outputs for them. */
    static DataSet data(int seed) {
        Random rng = new Random(7919L * seed + 17);
        double[][] x = new double[EXAMPLES][IN];
        for (double[] row : x) {
            for (int j = 0; j < IN; j++) {
                row[j] = rng.nextGaussian();
            }
        }
        INDArray features = Nd4j.create(x).castTo(DataType.DOUBLE);
        INDArray labels = teacher(seed).output(features).dup();
        return new DataSet(features, labels);
    }

    static MultiLayerNetwork teacher(int seed) {
        MultiLayerNetwork t = new MultiLayerNetwork(new NeuralNetConfiguration.Builder()
                .seed(100_000L + seed).dataType(DataType.DOUBLE)
                .weightInit(new UniformDistribution(-1, 1))
                .list()
                .layer(new DenseLayer.Builder().name("th").nIn(IN).nOut(TEACHER_HIDDEN)
                        .activation(new ActivationGrowthReLU()).hasBias(false).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).name("tout").nIn(TEACHER_HIDDEN)
                        .nOut(OUT).activation(Activation.IDENTITY).hasBias(false).build())
                .build());
        t.init();
        return t;
    }

    /** The student, identical for every method of one seed: Glorot-uniform weights as in the reference. */
    static MultiLayerNetwork student(int seed) {
        MultiLayerNetwork s = new MultiLayerNetwork(new NeuralNetConfiguration.Builder()
                .seed(dl4jSeed(seed)).dataType(DataType.DOUBLE)
                .weightInit(WeightInit.XAVIER_UNIFORM)
                .updater(new Sgd(LEARNING_RATE))
                .list()
                .layer(new DenseLayer.Builder().name(HIDDEN).nIn(IN).nOut(START_HIDDEN)
                        .activation(new ActivationGrowthReLU()).hasBias(false).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).name("out").nIn(START_HIDDEN)
                        .nOut(OUT).activation(Activation.IDENTITY).hasBias(false).build())
                .build());
        s.init();
        return s;
    }

    /** DL4J's listener sees iteration i after the (i+1)-th step, so these grow after each full phase. */
    static long[] growthIterations(Config config) {
        long[] at = new long[GROWTHS];
        for (int g = 0; g < GROWTHS; g++) {
            at[g] = (long) (g + 1) * config.stepsPerPhase - 1;
        }
        return at;
    }

    static GrowthPolicy policy(Method method, int seed, Config config) {
        return GrowthPolicy.builder()
                .when(GrowthTrigger.atIterations(growthIterations(config)))
                .where(SiteSelector.layers(HIDDEN))
                .howMuch(GrowthAmount.add(1))
                .maxWidth(START_HIDDEN + GROWTHS)
                .initializer(method.init)
                .seed(dl4jSeed(seed))
                .build();
    }

    static Run train(Method method, int seed, DataSet data, Config config, boolean measureGains) {
        MultiLayerNetwork net = student(seed);
        GrowthListener growth = GrowthListener.builder()
                .policy(policy(method, seed, config))
                .growthData(Digits.iterator(data, EXAMPLES), 1)
                .build();
        Snapshot snapshot = new Snapshot(growthIterations(config));
        // The snapshot must come first: listeners run in order, and it has to see the network before the growth.
        net.setListeners(snapshot, growth);

        Run run = new Run();
        int steps = (GROWTHS + 1) * config.stepsPerPhase;
        double[] phaseLoss = new double[GROWTHS + 1];
        int seen = 0;
        for (int step = 0; step < steps; step++) {
            net.fit(data);
            // fit's score is the loss before its own update; a growth step's score belongs to the phase before.
            phaseLoss[step / config.stepsPerPhase] += net.score();
            if (growth.history().size() > seen) {
                if (measureGains) {
                    int width = NetworkRewrite.width(net, HIDDEN);
                    run.gain[seen] = newUnitGain(net, data, width - 1);
                    if (method == Method.GRADMAX) {
                        measureOnClones(run, seen, snapshot.taken, data, config, seed);
                    }
                }
                seen++;
            }
        }
        if (seen != GROWTHS) {
            throw new IllegalStateException(method + " seed " + seed + ": expected " + GROWTHS + " growths, saw "
                    + seen);
        }
        for (int g = 0; g < GROWTHS; g++) {
            run.postGrowthLoss[g] = phaseLoss[g + 1] / config.stepsPerPhase;
        }
        return run;
    }

    /**
     * Random draws, a GradMax replay and GradMax-Opt on copies of the pre-growth network, by the
     * controller's own calls.
     */
    private static void measureOnClones(Run run, int g, MultiLayerNetwork before, DataSet data, Config config,
                                        int seed) {
        List<DataSet> batches = List.of(data);
        int newUnit = NetworkRewrite.width(before, HIDDEN);
        run.randomGains[g] = new double[config.randomDraws];
        for (int d = 0; d < config.randomDraws; d++) {
            MultiLayerNetwork c = before.clone();
            NetworkRewrite.of(c).grow(HIDDEN, 1).initializer(Method.RANDOM_FAN_OUT.init)
                    .seed(1_000_003L * dl4jSeed(seed) + 1009L * g + d)
                    .statistics(layer -> GradientStatistic.compute(c, layer, batches)).apply();
            run.randomGains[g][d] = newUnitGain(c, data, newUnit);
        }
        MultiLayerNetwork c = before.clone();
        NetworkRewrite.of(c).grow(HIDDEN, 1).initializer(Method.GRADMAX.init).seed(dl4jSeed(seed))
                .statistics(layer -> GradientStatistic.compute(c, layer, batches)).apply();
        run.replay[g] = newUnitGain(c, data, newUnit);
        MultiLayerNetwork o = before.clone();
        NetworkRewrite.of(o).grow(HIDDEN, 1).initializer(Method.GRADMAX_OPT.init).seed(dl4jSeed(seed))
                .statistics(layer -> GradientStatistic.compute(o, layer, batches)).apply();
        run.optGains[g] = newUnitGain(o, data, newUnit);
    }

    /**
     * L2 norm of the gradient of the mean loss with respect to the fan-in of hidden unit {@code unit}.
     * DL4J's raw gradients are sums over the batch (its updater divides), hence the division.
     */
    static double newUnitGain(MultiLayerNetwork net, DataSet data, int unit) {
        net.setInput(data.getFeatures());
        net.setLabels(data.getLabels());
        net.computeGradientAndScore();
        INDArray w = net.gradient().getGradientFor("0_W");
        return w.getColumn(unit).norm2Number().doubleValue() / data.numExamples();
    }

    /** Clones the network at the growth iterations, before the growth listener (next in line) grows it. */
    private static final class Snapshot extends BaseTrainingListener {
        private final long[] at;
        MultiLayerNetwork taken;

        Snapshot(long[] at) {
            this.at = at;
        }

        @Override
        public void iterationDone(Model model, int iteration, int epoch) {
            for (long a : at) {
                if (a == iteration) {
                    taken = ((MultiLayerNetwork) model).clone();
                    taken.setListeners();
                }
            }
        }
    }

    // ---- summary ----

    public static int gradMaxWins(List<Growth> growths) {
        int n = 0;
        for (Growth g : growths) {
            n += g.gradMaxBeatsBestRandom() ? 1 : 0;
        }
        return n;
    }

    public static double meanLoss(List<Growth> growths, Method m) {
        double s = 0;
        for (Growth g : growths) {
            s += loss(g, m);
        }
        return s / growths.size();
    }

    static double loss(Growth g, Method m) {
        switch (m) {
            case GRADMAX:
                return g.lossGradMax;
            case GRADMAX_OPT:
                return g.lossGradMaxOpt;
            case RANDOM_FAN_OUT:
                return g.lossRandom;
            default:
                return g.lossZeros;
        }
    }

    /** The smallest and largest GradMax-Opt / GradMax gain ratio over all growths. */
    public static double[] optRatioRange(List<Growth> growths) {
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (Growth g : growths) {
            lo = Math.min(lo, g.optRatio());
            hi = Math.max(hi, g.optRatio());
        }
        return new double[]{lo, hi};
    }

    public static String report(List<Growth> growths, Config config) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "GradMax teacher-student: %d seeds, %d steps per phase, %d growths, "
                        + "best of %d random draws, SGD lr %.2f, scale %.1f%n",
                config.seeds, config.stepsPerPhase, GROWTHS, config.randomDraws, LEARNING_RATE, SCALE));
        sb.append(String.format(Locale.ROOT, "%-6s %-6s %11s %11s %11s %11s %8s %9s %12s %12s %12s %12s%n",
                "growth", "width", "gain gmax", "gain gopt*", "gain rand*", "gain zeros", "ratio", "gmax wins",
                "loss gmax", "loss gopt", "loss rand", "loss zeros"));
        for (int g = 0; g < GROWTHS; g++) {
            double gm = 0, go = 0, br = 0, z = 0, lg = 0, lo = 0, lr = 0, lz = 0;
            int wins = 0, n = 0;
            for (Growth x : growths) {
                if (x.index != g) {
                    continue;
                }
                n++;
                gm += x.gainGradMax;
                go += x.gainGradMaxOpt;
                br += x.gainBestRandom();
                z += x.gainZeros;
                lg += x.lossGradMax;
                lo += x.lossGradMaxOpt;
                lr += x.lossRandom;
                lz += x.lossZeros;
                wins += x.gradMaxBeatsBestRandom() ? 1 : 0;
            }
            sb.append(String.format(Locale.ROOT,
                    "%-6d %-6s %11.5f %11.5f %11.5f %11.5f %8.2f %6d/%-2d %12.5f %12.5f %12.5f %12.5f%n",
                    g, (START_HIDDEN + g) + "->" + (START_HIDDEN + g + 1), gm / n, go / n, br / n, z / n, gm / br,
                    wins, n, lg / n, lo / n, lr / n, lz / n));
        }
        sb.append("* on a clone of the network GradMax grew, at the same point; rand: best of the random draws\n");
        sb.append(String.format(Locale.ROOT, "gradMax beat the best random draw in %d of %d growths%n",
                gradMaxWins(growths), growths.size()));
        double[] range = optRatioRange(growths);
        sb.append(String.format(Locale.ROOT, "gradMaxOptimized gain / gradMax gain: %.9f to %.9f over %d growths%n",
                range[0], range[1], growths.size()));
        sb.append(String.format(Locale.ROOT,
                "mean post-growth loss: gradMax %.5f, gradMaxOptimized %.5f, randomFanOut %.5f, zeros %.5f%n",
                meanLoss(growths, Method.GRADMAX), meanLoss(growths, Method.GRADMAX_OPT),
                meanLoss(growths, Method.RANDOM_FAN_OUT), meanLoss(growths, Method.ZEROS)));
        return sb.toString();
    }
}
