package org.dl4jgrowth.bench;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.activation.ActivationGrowthReLU;
import org.dl4jgrowth.data.FashionMnist;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.rewrite.NetworkRewrite;
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
 * The Fashion-MNIST CNN of issue "Performance II": c1(3x3, 8) -> BN -> act -> max-pool -> c2(3x3, 16)
 * -> BN -> act -> max-pool -> d(32) -> 10, batch 64, Adam 1e-3, FLOAT, grown with GradMax on c1 and d
 * inside {@code fit()} by a {@link GrowthListener} (+4 units each, at the end of epochs 0 and 1), as a
 * ComputationGraph and as a MultiLayerNetwork. Prints, per growth event, the statistic's time and
 * route and the rewrite's time (which holds the SVD), and per epoch its wall time, the widths and the
 * test accuracy. c1 reaches c2 through batch norm, activation and max pooling (the direct statistic
 * walks them); d feeds the output layer.
 *
 * <p>Run it with {@code mvn -B -q -o -Pfashion-cnn-growth -pl integration-tests -am -DskipTests
 * verify}; arguments through {@code -Dexec.args}: {@code --train-per-class N} (default 1200: 12,000
 * class-balanced training examples, 188 iterations an epoch), {@code --test-per-class N} (default
 * 200), {@code --epochs E} (default 3), {@code --networks graph,mln} (default both). Without
 * Fashion-MNIST it prints the install command and stops.
 */
public final class FashionCnnGrowth {
    public static final int BATCH = 64;
    public static final int ADD = 4;

    private FashionCnnGrowth() {
    }

    /** One growth event as the runner reports it. */
    public static final class Event {
        public final int epoch;
        public final long iteration;
        public final String grown;
        public final String routes;
        public final double signalMillis;
        public final double rewriteMillis;

        Event(GrowthEvent e) {
            this.epoch = e.epoch();
            this.iteration = e.iteration();
            StringBuilder g = new StringBuilder();
            StringBuilder r = new StringBuilder();
            for (GrowthEvent.LayerGrowth lg : e.layers()) {
                g.append(g.length() == 0 ? "" : ", ").append(lg.layer()).append(' ').append(lg.before()).append("->")
                        .append(lg.after());
                Object route = e.notes().getOrDefault(lg.layer(), java.util.Map.of()).get("statisticRoute");
                r.append(r.length() == 0 ? "" : ", ").append(lg.layer()).append(' ').append(route);
            }
            this.grown = g.toString();
            this.routes = r.toString();
            this.signalMillis = e.signalMillis();
            this.rewriteMillis = e.rewriteMillis();
        }
    }

    /** One epoch: its wall time (growth at its end included), the widths after it and the test accuracy. */
    public static final class Epoch {
        public final int epoch;
        public final double seconds;
        public final int c1;
        public final int d;
        public final double accuracy;

        Epoch(int epoch, double seconds, int c1, int d, double accuracy) {
            this.epoch = epoch;
            this.seconds = seconds;
            this.c1 = c1;
            this.d = d;
            this.accuracy = accuracy;
        }
    }

    /** What one network's run recorded. */
    public static final class Run {
        public final String network;
        public final int iterationsPerEpoch;
        public final List<Event> events = new ArrayList<>();
        public final List<Epoch> epochs = new ArrayList<>();

        Run(String network, int iterationsPerEpoch) {
            this.network = network;
            this.iterationsPerEpoch = iterationsPerEpoch;
        }
    }

    private static List<Layer> layers() {
        return List.of(
                new ConvolutionLayer.Builder(3, 3).name("c1").nOut(8).activation(Activation.IDENTITY).build(),
                new BatchNormalization.Builder().name("bn1").build(),
                new ActivationLayer.Builder().name("a1").activation(new ActivationGrowthReLU()).build(),
                new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).name("p1").build(),
                new ConvolutionLayer.Builder(3, 3).name("c2").nOut(16).activation(Activation.IDENTITY).build(),
                new BatchNormalization.Builder().name("bn2").build(),
                new ActivationLayer.Builder().name("a2").activation(new ActivationGrowthReLU()).build(),
                new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).name("p2").build(),
                new DenseLayer.Builder().name("d").nOut(32).activation(new ActivationGrowthReLU()).build(),
                new OutputLayer.Builder().name("out").nOut(10).activation(Activation.SOFTMAX)
                        .lossFunction(LossFunctions.LossFunction.MCXENT).build());
    }

    private static NeuralNetConfiguration.Builder base() {
        return new NeuralNetConfiguration.Builder().seed(12).updater(new Adam(1e-3)).weightInit(WeightInit.RELU)
                .dataType(DataType.FLOAT);
    }

    /** The CNN as a ComputationGraph (a chain of layer vertices) or as a MultiLayerNetwork, initialised. */
    public static Model network(boolean graph) {
        InputType in = InputType.convolutional(FashionMnist.HEIGHT, FashionMnist.WIDTH, 1);
        if (graph) {
            org.deeplearning4j.nn.conf.ComputationGraphConfiguration.GraphBuilder b = base().graphBuilder()
                    .addInputs("in");
            String prev = "in";
            for (Layer l : layers()) {
                b.addLayer(l.getLayerName(), l, prev);
                prev = l.getLayerName();
            }
            ComputationGraph g = new ComputationGraph(b.setOutputs(prev).setInputTypes(in).build());
            g.init();
            return g;
        }
        NeuralNetConfiguration.ListBuilder b = base().list();
        for (Layer l : layers()) {
            b.layer(l);
        }
        MultiLayerNetwork net = new MultiLayerNetwork(b.setInputType(in).build());
        net.init();
        return net;
    }

    /** GradMax on c1 and d, +4 units each at the end of epochs 0 and 1, on the training minibatch. */
    public static GrowthPolicy policy() {
        return GrowthPolicy.builder().when(GrowthTrigger.atEpochs(0, 1)).where(SiteSelector.layers("c1", "d"))
                .howMuch(GrowthAmount.add(ADD)).initializer(UnitInitializer.gradMax()).seed(5).build();
    }

    /** Trains one network for {@code epochs} epochs with growth inside {@code fit()}, recording the run. */
    public static Run run(boolean graph, DataSet train, DataSet test, int epochs) {
        Model net = network(graph);
        DataSetIterator trainIt = FashionMnist.iterator(train, BATCH);
        DataSetIterator testIt = FashionMnist.iterator(test, 256);
        Run run = new Run(graph ? "ComputationGraph" : "MultiLayerNetwork",
                (train.numExamples() + BATCH - 1) / BATCH);
        GrowthListener growth = GrowthListener.builder().policy(policy()).onGrowth(e -> run.events.add(new Event(e)))
                .build();
        long[] started = new long[1];
        BaseTrainingListener clock = new BaseTrainingListener() {
            @Override
            public void onEpochStart(Model model) {
                started[0] = System.nanoTime();
            }
        };
        if (graph) {
            ((ComputationGraph) net).setListeners(clock, growth);
        } else {
            ((MultiLayerNetwork) net).setListeners(clock, growth);
        }
        for (int e = 0; e < epochs; e++) {
            // One epoch per fit(): the epoch-end growth runs inside it, in the growth listener's
            // onEpochEnd, and its time is part of the epoch's.
            if (graph) {
                ((ComputationGraph) net).fit(trainIt);
            } else {
                ((MultiLayerNetwork) net).fit(trainIt);
            }
            double seconds = (System.nanoTime() - started[0]) / 1e9;
            testIt.reset();
            double accuracy = graph ? ((ComputationGraph) net).evaluate(testIt).accuracy()
                    : ((MultiLayerNetwork) net).evaluate(testIt).accuracy();
            Epoch row = new Epoch(e, seconds, NetworkRewrite.width(net, "c1"), NetworkRewrite.width(net, "d"),
                    accuracy);
            run.epochs.add(row);
            System.out.printf(Locale.ROOT, "  %s epoch %d: %.1f s, c1 %d, d %d, test accuracy %.4f%n", run.network, e,
                    seconds, row.c1, row.d, accuracy);
        }
        return run;
    }

    public static void main(String[] args) {
        int trainPerClass = 1200;
        int testPerClass = 200;
        int epochs = 3;
        List<String> networks = List.of("graph", "mln");
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(a + " needs a value");
            }
            switch (a) {
                case "--train-per-class":
                    trainPerClass = positive(a, args[++i]);
                    break;
                case "--test-per-class":
                    testPerClass = positive(a, args[++i]);
                    break;
                case "--epochs":
                    epochs = positive(a, args[++i]);
                    break;
                case "--networks":
                    networks = List.of(args[++i].split(","));
                    for (String n : networks) {
                        if (!n.equals("graph") && !n.equals("mln")) {
                            throw new IllegalArgumentException("--networks " + n + ": allowed are graph and mln");
                        }
                    }
                    break;
                default:
                    throw new IllegalArgumentException("Unknown argument " + a + "; allowed: --train-per-class N, "
                            + "--test-per-class N, --epochs E, --networks graph,mln");
            }
        }
        if (!FashionMnist.available()) {
            System.out.println("Fashion-MNIST is not installed in " + FashionMnist.directory() + ": "
                    + FashionMnist.INSTALL_HINT);
            return;
        }
        DataSet train = FashionMnist.subset(FashionMnist.loadImages(true, DataType.FLOAT, 0), trainPerClass, 42);
        DataSet test = FashionMnist.subset(FashionMnist.loadImages(false, DataType.FLOAT, 0), testPerClass, 43);
        System.out.printf(Locale.ROOT, "Fashion-MNIST CNN, %d training and %d test examples, batch %d, %d epochs; "
                        + "GradMax on c1 and d (+%d each at the end of epochs 0 and 1) inside fit()%n%s%n",
                train.numExamples(), test.numExamples(), BATCH, epochs, ADD, machine());
        List<Run> runs = new ArrayList<>();
        for (String n : networks) {
            runs.add(run(n.equals("graph"), train, test, epochs));
        }
        for (Run r : runs) {
            System.out.printf(Locale.ROOT, "%n%s, %d iterations an epoch%n", r.network, r.iterationsPerEpoch);
            System.out.printf(Locale.ROOT, "| event | epoch | iteration | grown | statistic route | signal ms | "
                    + "rewrite ms (with SVD) |%n|---|---|---|---|---|---|---|%n");
            for (int i = 0; i < r.events.size(); i++) {
                Event e = r.events.get(i);
                System.out.printf(Locale.ROOT, "| %d | %d | %d | %s | %s | %.1f | %.1f |%n", i, e.epoch, e.iteration,
                        e.grown, e.routes, e.signalMillis, e.rewriteMillis);
            }
            System.out.printf(Locale.ROOT, "| epoch | seconds | c1 | d | test accuracy |%n|---|---|---|---|---|%n");
            for (Epoch e : r.epochs) {
                System.out.printf(Locale.ROOT, "| %d | %.1f | %d | %d | %.4f |%n", e.epoch, e.seconds, e.c1, e.d,
                        e.accuracy);
            }
        }
    }

    /** Cores and the load average before the run, for the record. */
    static String machine() {
        String load;
        try {
            load = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).trim();
        } catch (java.io.IOException | RuntimeException e) {
            load = "unknown";
        }
        return Runtime.getRuntime().availableProcessors() + " cores, load average (/proc/loadavg) " + load;
    }

    private static int positive(String option, String value) {
        int v;
        try {
            v = Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " " + value + ": give a positive whole number");
        }
        if (v < 1) {
            throw new IllegalArgumentException(option + " " + value + ": give a positive whole number");
        }
        return v;
    }
}
