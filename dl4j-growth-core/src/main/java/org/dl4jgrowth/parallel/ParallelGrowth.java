package org.dl4jgrowth.parallel;

import org.nd4j.shade.guava.base.Preconditions;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.deeplearning4j.parallelism.ParallelWrapper;
import org.dl4jgrowth.GrowthController;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.GrowthHistory;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.network.NetworkAdapter;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Trains a {@code MultiLayerNetwork} or {@code ComputationGraph} with DL4J's
 * {@link ParallelWrapper} (several devices of one machine) and grows it between rounds: each round
 * is one {@code ParallelWrapper.fit} over the training iterator (one epoch), after which the
 * {@link GrowthController} decides and applies growth on the master model, exactly as it would at
 * the end of an epoch of {@code fit()} with a {@link GrowthListener}. The same policy, history,
 * growth state, file and callback; no growth logic of its own.
 *
 * <pre>{@code
 * GrowthController growth = policy.newController();
 * ParallelGrowth.builder(net, growth)
 *     .workers(4)                                             // one per GPU
 *     .trainingMode(ParallelWrapper.TrainingMode.SHARED_GRADIENTS)
 *     .statisticOnWorkers(growthIterator, 8)                  // GradMax's statistic, split over the workers
 *     .roundListener(new RoundListener() {
 *         public void roundEnded(int epoch, Model m, Optional<GrowthEvent> e) {
 *             growth.writeModel(m, new File("round-" + epoch + ".zip"), true);
 *         }
 *     })
 *     .build()
 *     .fit(trainIterator, 10);
 * }</pre>
 *
 * <p>Why between rounds: ParallelWrapper copies a model's listeners onto every worker, so a
 * {@code GrowthListener} would grow each replica on its own (it refuses, naming this class), and
 * DL4J rebuilds every replica from the master at each {@code fit()}: a master grown between two
 * calls is what the next round trains (measured in AVERAGING and SHARED_GRADIENTS mode).
 *
 * <p>What this driver takes care of, each measured to fail without it:
 * <ul>
 *   <li>In SHARED_GRADIENTS mode the wrapper's gradient accumulator is sized from the parameter
 *   count when the wrapper is built, and fails a round after the network grows; a new wrapper is
 *   built after every growth. In AVERAGING mode the wrapper is kept (nothing in it is sized).</li>
 *   <li>The master's optimizer is made before each round: a worker copying the master's updater
 *   while worker 0 (which trains the master object itself) creates it inside {@code fit()}
 *   deadlocks in SHARED_GRADIENTS mode, both waiting on the master.</li>
 *   <li>At the end of every {@code fit()} ParallelWrapper calls {@code clear()} on the master, which
 *   drops its solver and so the optimizer state (Adam's moments) the round trained: the next round,
 *   or a growth, would start from a fresh optimizer. The driver puts the round's updater back.</li>
 *   <li>ParallelWrapper never counts epochs; the driver advances the master's epoch count after
 *   each round, so epoch triggers, saved models and resumes see the right epoch.</li>
 *   <li>The model's listeners (ScoreIterationListener, StatsListener, ...) are handed to each new
 *   wrapper, as its builder does, and put back on the model when {@link #fit} returns or throws.</li>
 * </ul>
 *
 * <p>Resume: save with {@code controller.writeModel(master, file, true)} in
 * {@link RoundListener#roundEnded}; restore the network with {@code ModelSerializer}, a new
 * controller of the same policy with {@code restore(GrowthController.stateFrom(file))}, and call
 * {@link #fit} for the remaining rounds: round numbers continue from the saved epoch count.
 *
 * <p>Growth data: {@link Builder#growthData} (the controller reads it on the driver thread) or
 * {@link Builder#statisticOnWorkers} (GradMax's statistic summed over the workers, each on its own
 * device and replica). Without either, the controller uses the last minibatch the master held.
 */
public final class ParallelGrowth {
    private static final Logger log = LoggerFactory.getLogger(ParallelGrowth.class);

    private final Model master;
    private final NetworkAdapter adapter;
    private final GrowthController controller;
    private final int workers;
    private final ParallelWrapper.TrainingMode mode;
    private final int averagingFrequency;
    private final int prefetchBuffer;
    private final WorkspaceMode workspaceMode;
    private final RoundListener rounds;

    private ParallelGrowth(Builder b) {
        this.master = b.master;
        this.adapter = NetworkAdapter.of(b.master);
        this.controller = b.controller;
        this.workers = b.workers;
        this.mode = b.mode;
        this.averagingFrequency = b.averagingFrequency;
        this.prefetchBuffer = b.prefetchBuffer;
        this.workspaceMode = b.workspaceMode;
        this.rounds = b.rounds;
    }

    /** A driver for {@code master} grown by {@code controller} (one controller per network). */
    public static Builder builder(Model master, GrowthController controller) {
        return new Builder(master, controller);
    }

    /** A driver for {@code master} grown by a new controller of {@code policy}. */
    public static Builder builder(Model master, GrowthPolicy policy) {
        Preconditions.checkNotNull(policy, "ParallelGrowth.builder(master, policy): policy must not be null");
        return new Builder(master, policy.newController());
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
     * Trains {@code rounds} rounds (epochs) of {@code train} with ParallelWrapper, growing the master
     * between them as the policy says. Round numbers are the master's epoch count, so a resumed
     * network carries on from the epoch it was saved at.
     */
    public void fit(DataSetIterator train, int rounds) {
        Preconditions.checkNotNull(train, "fit(train, rounds): train must not be null");
        Preconditions.checkArgument(rounds >= 1, "fit(train, rounds): rounds must be at least 1 (got: %s)", rounds);
        List<TrainingListener> listeners = new ArrayList<>(adapter.listeners());
        refuseGrowthListeners(listeners);
        ParallelWrapper wrapper = null;
        long builtFor = -1;
        try {
            for (int r = 0; r < rounds; r++) {
                int epoch = adapter.epochCount();
                // The model's listeners as the user set them; a GrowthListener added since is refused.
                refuseGrowthListeners(adapter.listeners());
                // Made before the wrapper reads it (see the class comment), and kept: worker 0 trains
                // the master with this updater, then DL4J's clear() at the end of fit() drops the
                // master's solver and, with it, the optimizer state of the whole round.
                org.deeplearning4j.nn.updater.BaseMultiLayerUpdater<?> updater = adapter.ensureUpdater();
                if (wrapper == null || (mode == ParallelWrapper.TrainingMode.SHARED_GRADIENTS
                        && master.numParams() != builtFor)) {
                    if (wrapper != null) {
                        wrapper.shutdown();
                    }
                    master.setListeners(listeners);
                    wrapper = build();
                    builtFor = master.numParams();
                }
                if (train.resetSupported()) {
                    train.reset();
                }
                wrapper.fit(train);
                if (adapter.updater(false) != updater) {
                    adapter.setUpdater(updater);
                }
                // Worker 0 trained the master with the wrapper's listeners; the user's go back on.
                master.setListeners(listeners);
                this.rounds.roundTrained(epoch, master);
                Optional<GrowthEvent> growth = controller.onEpochEnd(master, epoch);
                adapter.setEpochCount(epoch + 1);
                growth.ifPresent(e -> log.info("Round {}: {}", epoch, e));
                this.rounds.roundEnded(epoch, master, growth);
            }
        } finally {
            if (wrapper != null) {
                wrapper.shutdown();
            }
            master.setListeners(listeners);
        }
    }

    private ParallelWrapper build() {
        return new ParallelWrapper.Builder<>(master)
                .workers(workers)
                .trainingMode(mode)
                .averagingFrequency(averagingFrequency)
                .prefetchBuffer(prefetchBuffer)
                .workspaceMode(workspaceMode)
                .build();
    }

    private static void refuseGrowthListeners(java.util.Collection<TrainingListener> listeners) {
        for (TrainingListener l : listeners) {
            if (l instanceof GrowthListener) {
                throw new IllegalStateException("The model has a GrowthListener: ParallelWrapper would copy it onto "
                        + "every worker. ParallelGrowth grows the master itself between rounds; remove the "
                        + "GrowthListener from the model and give its policy or controller to ParallelGrowth.builder");
            }
        }
    }

    public static final class Builder {
        private final Model master;
        private final GrowthController controller;
        private int workers = 2;
        private ParallelWrapper.TrainingMode mode = ParallelWrapper.TrainingMode.AVERAGING;
        private int averagingFrequency = 1;
        private int prefetchBuffer = 2;
        private WorkspaceMode workspaceMode = WorkspaceMode.ENABLED;
        private RoundListener rounds = new RoundListener() { };

        private Builder(Model master, GrowthController controller) {
            Preconditions.checkNotNull(master, "ParallelGrowth.builder(master, ...): master must not be null");
            Preconditions.checkNotNull(controller, "ParallelGrowth.builder(master, controller): controller must not be null");
            NetworkAdapter a = NetworkAdapter.of(master);
            if (!a.initialised()) {
                throw new IllegalArgumentException("ParallelGrowth: this " + a.typeName() + " is not initialised; "
                        + "call init() first");
            }
            this.master = master;
            this.controller = controller;
        }

        /** Worker threads, one per device as a rule (ParallelWrapper binds worker i to device i % devices). */
        public Builder workers(int workers) {
            Preconditions.checkArgument(workers >= 1, "ParallelGrowth.workers(n): n must be at least 1 (got: %s)", workers);
            this.workers = workers;
            return this;
        }

        /**
         * AVERAGING (the default) or SHARED_GRADIENTS. CUSTOM is refused: its accumulator is the
         * user's, built for one parameter count, and cannot follow a growth.
         */
        public Builder trainingMode(ParallelWrapper.TrainingMode mode) {
            Preconditions.checkNotNull(mode, "ParallelGrowth.trainingMode(mode): mode must not be null");
            if (mode == ParallelWrapper.TrainingMode.CUSTOM) {
                throw new IllegalArgumentException("ParallelGrowth.trainingMode(CUSTOM): a custom GradientsAccumulator "
                        + "is sized for one parameter count and cannot follow a growth; use AVERAGING or SHARED_GRADIENTS");
            }
            this.mode = mode;
            return this;
        }

        /** Iterations between parameter averagings in AVERAGING mode (ParallelWrapper's averagingFrequency). */
        public Builder averagingFrequency(int iterations) {
            Preconditions.checkArgument(iterations >= 1,
                    "ParallelGrowth.averagingFrequency(n): n must be at least 1 (got: %s)", iterations);
            this.averagingFrequency = iterations;
            return this;
        }

        /** Minibatches ParallelWrapper prefetches per worker (0: none). */
        public Builder prefetchBuffer(int size) {
            Preconditions.checkArgument(size >= 0, "ParallelGrowth.prefetchBuffer(n): n must be at least 0 (got: %s)", size);
            this.prefetchBuffer = size;
            return this;
        }

        public Builder workspaceMode(WorkspaceMode mode) {
            this.workspaceMode = Preconditions.checkNotNull(mode, "ParallelGrowth.workspaceMode(mode): mode must not be null");
            return this;
        }

        /**
         * Growth data read by the controller on the driver thread: up to {@code batches} minibatches of
         * an iterator of its own ({@link GrowthController#growthData}).
         */
        public Builder growthData(DataSetIterator data, int batches) {
            controller.growthData(data, batches);
            return this;
        }

        /**
         * GradMax's statistic summed over the workers: the first {@code batches} minibatches of
         * {@code data} are dealt out to the workers in turn, each computes its share on its own replica
         * and device, and the sums are added on the driver. Equal to the statistic of the same
         * minibatches on one device (to rounding).
         */
        public Builder statisticOnWorkers(DataSetIterator data, int batches) {
            Preconditions.checkNotNull(data, "statisticOnWorkers(data, batches): data must not be null");
            Preconditions.checkArgument(batches >= 1,
                    "statisticOnWorkers(data, batches): batches must be at least 1 (got: %s)", batches);
            this.statisticData = data;
            this.statisticBatches = batches;
            return this;
        }

        private DataSetIterator statisticData;
        private int statisticBatches;

        /** Told about each round: after training, and after the growth (save there to resume). */
        public Builder roundListener(RoundListener listener) {
            this.rounds = Preconditions.checkNotNull(listener, "roundListener(listener): listener must not be null");
            return this;
        }

        public ParallelGrowth build() {
            if (statisticData != null) {
                controller.statisticProvider(new WorkerStatistics(statisticData, statisticBatches, workers),
                        "the statistic iterator, split over " + workers + " ParallelGrowth workers");
            }
            return new ParallelGrowth(this);
        }
    }
}
