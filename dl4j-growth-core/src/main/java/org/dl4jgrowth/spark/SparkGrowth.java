package org.dl4jgrowth.spark;

import org.nd4j.shade.guava.base.Preconditions;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.deeplearning4j.spark.api.TrainingMaster;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.dl4jgrowth.GrowthController;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.GrowthHistory;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.network.NetworkAdapter;
import org.dl4jgrowth.parallel.RoundListener;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Trains a {@code MultiLayerNetwork} or {@code ComputationGraph} on a Spark cluster with DL4J's
 * {@code SparkDl4jMultiLayer} / {@code SparkComputationGraph} and grows it between rounds: each
 * round is one {@code fit(JavaRDD<DataSet>)} (one epoch), after which the {@link GrowthController}
 * decides and applies growth on the driver's network, as at the end of an epoch of {@code fit()}
 * with a {@link GrowthListener}. GradMax's statistic is computed on the executors over their
 * partitions and merged with {@code treeAggregate} ({@link SparkStatistics}); no data is collected.
 *
 * <pre>{@code
 * GrowthController growth = policy.newController();
 * SparkGrowth.builder(sc, net, growth)
 *     .trainingMaster(() -> new ParameterAveragingTrainingMaster.Builder(32)
 *             .batchSizePerWorker(32).averagingFrequency(5).saveUpdater(true).build())
 *     .statisticData(train.sample(false, 0.05, 7))   // GradMax's statistic, on the executors
 *     .build()
 *     .fit(train, 10);
 * }</pre>
 *
 * <p>What this driver takes care of (read in dl4j-spark 1.0.0-M2, and measured):
 * <ul>
 *   <li>Parameter averaging broadcasts the driver network's configuration, parameters and optimizer
 *   state at every fit and averages them back into it, so a network grown between fits trains. The
 *   optimizer state comes back only with {@code saveUpdater(true)} (the builder's default is false
 *   despite its Javadoc): a master without it is refused.</li>
 *   <li>{@code SparkDl4jMultiLayer} and {@code SparkComputationGraph} cache a clone of the
 *   configuration when made: a new one is made after every growth, with a new training master from
 *   the supplier.</li>
 *   <li>Listeners of the driver's network never fire in Spark training: executors run the training
 *   master's listeners on their replicas, so a GrowthListener there is refused at its first
 *   callback, naming this class.</li>
 * </ul>
 *
 * <p>Not supported: {@code SharedTrainingMaster} (gradient sharing). Its model broadcast, the
 * executors' training-wrapper singleton and the parameter server are made once per master and hold
 * the old parameter array; a new master per growth should work, but needs
 * {@code dl4j-spark-parameterserver} and Aeron, and has not been run here. It is refused rather
 * than left to fail on the cluster.
 *
 * <p>Resume: save with {@code controller.writeModel(master, file, true)} in
 * {@link RoundListener#roundEnded}; restore with {@code ModelSerializer} and
 * {@code GrowthController.restore(GrowthController.stateFrom(file))}, and call {@link #fit} for the
 * remaining rounds.
 */
public final class SparkGrowth {
    private static final Logger log = LoggerFactory.getLogger(SparkGrowth.class);

    private final JavaSparkContext sc;
    private final Model master;
    private final NetworkAdapter adapter;
    private final GrowthController controller;
    private final Supplier<? extends TrainingMaster<?, ?>> masters;
    private final RoundListener rounds;
    private final List<TrainingListener> listeners;

    private SparkGrowth(Builder b) {
        this.sc = b.sc;
        this.master = b.master;
        this.adapter = NetworkAdapter.of(b.master);
        this.controller = b.controller;
        this.masters = b.masters;
        this.rounds = b.rounds;
        this.listeners = b.listeners;
    }

    public static Builder builder(JavaSparkContext sc, Model master, GrowthController controller) {
        return new Builder(sc, master, controller);
    }

    public static Builder builder(JavaSparkContext sc, Model master, GrowthPolicy policy) {
        Preconditions.checkNotNull(policy, "SparkGrowth.builder(sc, master, policy): policy must not be null");
        return new Builder(sc, master, policy.newController());
    }

    public GrowthController controller() {
        return controller;
    }

    public GrowthHistory history() {
        return controller.history();
    }

    public Model model() {
        return master;
    }

    /**
     * Trains {@code rounds} rounds (epochs) of {@code train} on the cluster, growing the driver's
     * network between them as the policy says. Round numbers are the network's epoch count.
     */
    public void fit(JavaRDD<DataSet> train, int rounds) {
        Preconditions.checkNotNull(train, "fit(train, rounds): train must not be null");
        Preconditions.checkArgument(rounds >= 1, "fit(train, rounds): rounds must be at least 1 (got: %s)", rounds);
        Consumer<JavaRDD<DataSet>> wrapper = null;
        for (int r = 0; r < rounds; r++) {
            refuseGrowthListeners();
            int epoch = adapter.epochCount();
            if (wrapper == null) {
                wrapper = wrap(checked(masters.get()));
            }
            wrapper.accept(train);
            // As inside fit(): growth is decided with the count at the epoch that ends (the Spark
            // wrappers have already advanced it), and the count moves on after.
            adapter.setEpochCount(epoch);
            this.rounds.roundTrained(epoch, master);
            Optional<GrowthEvent> growth = controller.onEpochEnd(master, epoch);
            adapter.setEpochCount(epoch + 1);
            if (growth.isPresent()) {
                log.info("Round {}: {}", epoch, growth.get());
                // The wrapper caches the old configuration: a new one (and training master) next round.
                wrapper = null;
            }
            this.rounds.roundEnded(epoch, master, growth);
        }
    }

    private Consumer<JavaRDD<DataSet>> wrap(TrainingMaster<?, ?> tm) {
        return adapter.match(mln -> {
            SparkDl4jMultiLayer s = new SparkDl4jMultiLayer(sc, mln, tm);
            s.setListeners(listeners);
            return s::fit;
        }, graph -> {
            SparkComputationGraph s = new SparkComputationGraph(sc, graph, tm);
            s.setListeners(listeners);
            return s::fit;
        });
    }

    static TrainingMaster<?, ?> checked(TrainingMaster<?, ?> tm) {
        Preconditions.checkNotNull(tm, "SparkGrowth: the training master supplier returned null");
        if (tm instanceof ParameterAveragingTrainingMaster) {
            if (!((ParameterAveragingTrainingMaster) tm).isSaveUpdater()) {
                throw new IllegalArgumentException("SparkGrowth: the ParameterAveragingTrainingMaster has "
                        + "saveUpdater=false, so every round would throw the optimizer state away (and a growth would "
                        + "carry none); build it with .saveUpdater(true)");
            }
            return tm;
        }
        throw new IllegalArgumentException("SparkGrowth: " + tm.getClass().getName() + " is not supported; use "
                + "ParameterAveragingTrainingMaster. SharedTrainingMaster's parameter server and executor singletons "
                + "hold the old parameter array across a growth, and growing with it has not been verified");
    }

    private void refuseGrowthListeners() {
        for (TrainingListener l : adapter.listeners()) {
            if (l instanceof GrowthListener) {
                throw new IllegalStateException("The driver's network has a GrowthListener: in Spark training the "
                        + "driver's listeners never fire. SparkGrowth grows the network itself between rounds; remove "
                        + "the GrowthListener and give its policy or controller to SparkGrowth.builder");
            }
        }
    }

    public static final class Builder {
        private final JavaSparkContext sc;
        private final Model master;
        private final GrowthController controller;
        private Supplier<? extends TrainingMaster<?, ?>> masters;
        private RoundListener rounds = new RoundListener() { };
        private List<TrainingListener> listeners = List.of();

        private Builder(JavaSparkContext sc, Model master, GrowthController controller) {
            this.sc = Preconditions.checkNotNull(sc, "SparkGrowth.builder(sc, ...): sc must not be null");
            Preconditions.checkNotNull(master, "SparkGrowth.builder(sc, master, ...): master must not be null");
            this.controller = Preconditions.checkNotNull(controller,
                    "SparkGrowth.builder(sc, master, controller): controller must not be null");
            NetworkAdapter a = NetworkAdapter.of(master);
            if (!a.initialised()) {
                throw new IllegalArgumentException("SparkGrowth: this " + a.typeName() + " is not initialised; call "
                        + "init() first");
            }
            this.master = master;
        }

        /**
         * Makes the training master of each new Spark wrapper (the first, and one after every growth):
         * a {@code ParameterAveragingTrainingMaster} with {@code saveUpdater(true)}. Checked now.
         */
        public Builder trainingMaster(Supplier<? extends TrainingMaster<?, ?>> masters) {
            Preconditions.checkNotNull(masters, "trainingMaster(supplier): supplier must not be null");
            checked(masters.get());
            this.masters = masters;
            return this;
        }

        /**
         * GradMax's statistic computed on the executors over every minibatch (each DataSet) of
         * {@code data}, merged with treeAggregate. A sample of the training RDD does well; cache it.
         */
        public Builder statisticData(JavaRDD<DataSet> data) {
            Preconditions.checkNotNull(data, "statisticData(data): data must not be null");
            controller.statisticProvider(new SparkStatistics(sc, data, 2),
                    "Spark executors, over the " + data.getNumPartitions() + " partitions of the statistic RDD");
            return this;
        }

        /** Growth data read by the controller on the driver ({@link GrowthController#growthData}). */
        public Builder growthData(DataSetIterator data, int batches) {
            controller.growthData(data, batches);
            return this;
        }

        /**
         * DL4J listeners for the executors ({@code ScoreIterationListener}, {@code StatsListener}
         * with a remote router, ...): set on every Spark wrapper this driver makes, as
         * {@code SparkDl4jMultiLayer.setListeners} would, so they survive the new wrapper after a
         * growth. They are serialised to the executors and run on their replicas there.
         */
        public Builder listeners(TrainingListener... listeners) {
            Preconditions.checkNotNull(listeners, "listeners(...): listeners must not be null");
            List<TrainingListener> list = new ArrayList<>();
            for (int i = 0; i < listeners.length; i++) {
                TrainingListener l = Preconditions.checkNotNull(listeners[i],
                        "listeners(...): listener %s is null", i);
                if (l instanceof GrowthListener) {
                    throw new IllegalArgumentException("listeners(...): listener " + i + " is a GrowthListener; "
                            + "on the executors each copy would grow its own replica. SparkGrowth grows the driver's "
                            + "network between rounds: give its policy or controller to SparkGrowth.builder instead");
                }
                list.add(l);
            }
            this.listeners = List.copyOf(list);
            return this;
        }

        /** Told about each round: after training, and after the growth (save there to resume). */
        public Builder roundListener(RoundListener listener) {
            this.rounds = Preconditions.checkNotNull(listener, "roundListener(listener): listener must not be null");
            return this;
        }

        public SparkGrowth build() {
            if (masters == null) {
                throw new IllegalStateException("SparkGrowth: trainingMaster(...) is required, e.g. () -> new "
                        + "ParameterAveragingTrainingMaster.Builder(32).batchSizePerWorker(32).saveUpdater(true).build()");
            }
            return new SparkGrowth(this);
        }
    }
}
