package org.dl4jgrowth;

import org.nd4j.shade.guava.base.Preconditions;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.deeplearning4j.optimize.listeners.Checkpoint;
import org.deeplearning4j.optimize.listeners.CheckpointListener;
import org.deeplearning4j.util.ModelSerializer;
import org.dl4jgrowth.network.NetworkAdapter;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Grows a {@code MultiLayerNetwork} or {@code ComputationGraph} while it trains: attach it with
 * {@code net.addListeners(...)} and call {@code fit()} as usual. A thin adapter: each
 * {@code onForwardPass} (the minibatch being trained on), {@code iterationDone} and
 * {@code onEpochEnd} is passed to a {@link GrowthController}, which holds the policy, the history,
 * the history file and the growth callback.
 *
 * <pre>{@code
 * GrowthListener growth = GrowthListener.builder()
 *     .policy(GrowthPolicy.builder()
 *         .when(GrowthTrigger.everyEpochs(2).and(GrowthTrigger.maxGrowths(3)))
 *         .where(SiteSelector.layers("hidden"))
 *         .howMuch(GrowthAmount.add(8))
 *         .build())
 *     .historyFile(Path.of("growth-history.json"))
 *     .build();
 * net.addListeners(growth);
 * net.fit(trainIterator, 10);
 * growth.history().events().forEach(System.out::println);
 * }</pre>
 *
 * <p>One listener grows one network; attached to a second network it throws rather than mix their
 * histories. The network object stays the same, but {@code Layer} objects taken from it before a
 * growth are stale afterwards.
 *
 * <p>Checked before training changes anything: at its first callback ({@code onEpochStart}, or
 * else the first {@code onForwardPass}) the listener refuses an uninitialised network, a second
 * attachment of itself or another GrowthListener on the same network, and every static
 * misconfiguration of the policy ({@link GrowthController}: layer names, caps, amounts, the
 * initialiser against the layers it may grow, memory, growth data shapes).
 *
 * <p>Threads: the listener runs on the thread that calls {@code fit()}, and so does every growth
 * (DL4J's networks are not thread-safe). While {@code fit()} runs, a growth asked of the
 * controller from any other thread is refused with an error naming the training thread.
 *
 * <p>Distributed engines: not on ParallelWrapper's or Spark's workers. Found there (the
 * wrapper's builder moves the model's listeners onto every worker) it fails at its first callback,
 * naming the driver to use instead ({@code org.dl4jgrowth.parallel.ParallelGrowth},
 * {@code org.dl4jgrowth.spark.SparkGrowth}), which grows the master between rounds. A listener
 * added to the model after its {@code ParallelWrapper} was built is silently dropped by DL4J at the
 * next {@code ParallelWrapper.fit()} (worker 0 replaces the model's listeners with the wrapper's):
 * no growth and no error, which no listener can detect; ParallelGrowth refuses a GrowthListener it
 * finds on the model at each round.
 *
 * <p>Listener order: listeners before this one see the network before a growth at that iteration,
 * listeners after it see the grown network. A listener placed before it that changes the network's
 * minibatch in its own {@code onForwardPass} changes the default growth data too; give
 * {@link Builder#growthData} then.
 */
public final class GrowthListener extends BaseTrainingListener implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    private final transient GrowthController controller;
    private final transient CheckpointListener checkpoints;
    /** The network's connection masks ({@link GrowthController#masks()}). */
    public org.dl4jgrowth.mask.ConnectionMasks masks() {
        return controller.masks();
    }

    /** Masks a layer's weights; see {@link GrowthController#setMask}. */
    public void setMask(Model net, String layer, org.nd4j.linalg.api.ndarray.INDArray mask) {
        controller.setMask(net, layer, mask);
    }

    /** Checkpoint files seen so far: those there before training, and those already given our state. */
    private Set<String> seenCheckpoints;
    private boolean epochStarted;
    /** The thread last found not to be a distributed engine's worker; -1 before any callback. */
    private volatile long checkedThread = -1;
    private boolean warnedNoEpochs;

    public GrowthListener(GrowthPolicy policy) {
        this(policy.newController(), null);
    }

    private GrowthListener(GrowthController controller, CheckpointListener checkpoints) {
        this.controller = controller;
        this.checkpoints = checkpoints;
    }

    public static Builder builder() {
        return new Builder();
    }

    public GrowthController controller() {
        return controller;
    }

    public GrowthHistory history() {
        return controller.history();
    }

    /**
     * Saves {@code net} and this listener's growth state in one {@code ModelSerializer} file; see
     * {@link GrowthController#writeModel}. Resume with {@link #restoreState(java.io.File)} on a new
     * listener of the same policy, attached to the network restored from the same file.
     */
    public void writeModel(Model net, java.io.File file, boolean saveUpdater) {
        controller.writeModel(net, file, saveUpdater);
    }

    /** Carries on from the growth state saved in {@code file} by {@link #writeModel}. */
    public GrowthListener restoreState(java.io.File file) {
        controller.restore(GrowthController.stateFrom(file));
        return this;
    }

    /**
     * DL4J calls this during {@code computeGradientAndScore()}, when the network holds exactly the
     * minibatch it trains on (set by {@code fit()}, with its masks); a listener's {@code output()}
     * call in {@code iterationDone} replaces it later in the iteration.
     */
    @Override
    public void onForwardPass(Model model, List<INDArray> activations) {
        started(model);
        controller.captureTrainingBatch(model);
    }

    @Override
    public void onForwardPass(Model model, Map<String, INDArray> activations) {
        started(model);
        controller.captureTrainingBatch(model);
    }

    /**
     * The first callback of an epoch or iteration, before DL4J updates anything: the policy is
     * checked against the network here (once), the listener's attachment too, and the controller
     * learns which thread trains.
     */
    private void started(Model model) {
        // Reading the stack costs 60-90 us (docs/soak-and-overhead-notes.md), more than the rest of
        // a callback: once per thread is enough, since a worker thread of ParallelWrapper is one for
        // its whole life, and Spark's executors never get this object (see writeReplace).
        // Ids are never reused within a JVM, and keeping an id does not keep a dead thread alive.
        long current = Thread.currentThread().getId();
        if (current != checkedThread) {
            refuseDistributedWorkers();
            checkedThread = current;
        }
        noteExistingCheckpoints();
        // Every time (a few listeners to look at): a loop may add this listener again before each fit().
        checkAttachment(model);
        controller.attach(model);
    }

    /**
     * DL4J's distributed engines copy a model's listeners onto every worker: ParallelWrapper calls
     * the same listener from each worker thread with a different replica, Spark calls a copy on each
     * executor. Growth decided there would differ per replica and be averaged away or break the
     * engine (its buffers are sized for the old network), so it is refused at the first callback,
     * before anything trains, naming the driver that grows between rounds instead.
     */
    private static void refuseDistributedWorkers() {
        for (StackTraceElement f : Thread.currentThread().getStackTrace()) {
            String c = f.getClassName();
            String engine = c.startsWith("org.deeplearning4j.parallelism.") ? "ParallelWrapper"
                    : c.startsWith("org.deeplearning4j.spark.") ? "Spark" : null;
            if (engine != null) {
                String driver = engine.equals("Spark") ? "org.dl4jgrowth.spark.SparkGrowth"
                        : "org.dl4jgrowth.parallel.ParallelGrowth";
                throw new IllegalStateException("A GrowthListener was called on a " + engine + " worker (thread '"
                        + Thread.currentThread().getName() + "'): " + engine + " copies a model's listeners onto every "
                        + "worker, so each would grow its own replica. Growth is decided once, on the master, between "
                        + "rounds: remove the GrowthListener from the model and the " + engine + " wrapper, and train "
                        + "with " + driver + " and the same policy (GrowthPolicy.newController())");
            }
        }
    }

    /**
     * Spark serialises the training master's listeners to its executors (and ND4J's listeners must be
     * serialisable to get there). A serialised GrowthListener becomes a stand-in that refuses at its
     * first callback, with the same message as on ParallelWrapper's workers, rather than Spark's
     * "Task not serializable" naming a field of the controller.
     */
    private Object writeReplace() {
        return new SerialisedCopy();
    }

    /** What a GrowthListener becomes in another JVM: it refuses to train. */
    private static final class SerialisedCopy extends BaseTrainingListener implements java.io.Serializable {
        private static final long serialVersionUID = 1L;

        private static IllegalStateException refusal() {
            return new IllegalStateException("A GrowthListener was serialised to a worker (thread '"
                    + Thread.currentThread().getName() + "'; Spark sends the training master's listeners to every "
                    + "executor), where each copy would grow its own replica. Growth is decided once, on the driver, "
                    + "between rounds: remove the GrowthListener from the Spark wrapper and the network, and train "
                    + "with org.dl4jgrowth.spark.SparkGrowth and the same policy (GrowthPolicy.newController())");
        }

        @Override
        public void onEpochStart(Model model) {
            throw refusal();
        }

        @Override
        public void onForwardPass(Model model, List<INDArray> activations) {
            throw refusal();
        }

        @Override
        public void onForwardPass(Model model, Map<String, INDArray> activations) {
            throw refusal();
        }

        @Override
        public void iterationDone(Model model, int iteration, int epoch) {
            throw refusal();
        }
    }

    /** Attached twice (or beside another GrowthListener), every trigger would grow the network twice. */
    private void checkAttachment(Model model) {
        int self = 0;
        int others = 0;
        for (org.deeplearning4j.optimize.api.TrainingListener l : NetworkAdapter.of(model).listeners()) {
            if (l == this) {
                self++;
            } else if (l instanceof GrowthListener) {
                others++;
            }
        }
        if (self > 1) {
            throw new IllegalStateException("This GrowthListener is attached " + self + " times to the network: it "
                    + "would grow it " + self + " times per trigger. Attach it once (setListeners/addListeners)");
        }
        if (others > 0) {
            throw new IllegalStateException("The network has " + (others + 1) + " GrowthListeners: each would grow "
                    + "it on its own trigger, with histories that disagree. Use one GrowthListener per network (a "
                    + "planner or a combined trigger decides everything one policy grows)");
        }
    }

    /** DL4J calls this after the gradient and before the updater: the planner's per-step hook. */
    @Override
    public void onGradientCalculation(Model model) {
        controller.onGradient(model);
    }

    @Override
    public void onEpochStart(Model model) {
        epochStarted = true;
        started(model);
    }

    @Override
    public void iterationDone(Model model, int iteration, int epoch) {
        if (!epochStarted && !warnedNoEpochs) {
            // fit(DataSet), fit(INDArray...) and hand-written loops call no epoch callbacks.
            warnedNoEpochs = true;
            org.slf4j.LoggerFactory.getLogger(GrowthListener.class).warn("Training without epoch callbacks "
                    + "(fit(DataSet) or a loop of its own): epoch-based triggers (atEpochs, everyEpochs) fire only "
                    + "if the loop calls growthListener.controller().onEpochEnd(net, epoch) at each epoch's end");
        }
        stampCheckpoints();
        controller.onIteration(model, iteration, epoch);
    }

    /** Inside {@code fit()} DL4J calls this before it advances the epoch count: the count is the epoch that ends. */
    @Override
    public void onEpochEnd(Model model) {
        stampCheckpoints();
        controller.onEpochEnd(model, NetworkAdapter.of(model).epochCount());
    }

    private synchronized void noteExistingCheckpoints() {
        if (checkpoints != null && seenCheckpoints == null) {
            // Checkpoints from before this training carry someone else's state: never stamp them.
            seenCheckpoints = new HashSet<>();
            for (Checkpoint c : checkpoints.availableCheckpoints()) {
                seenCheckpoints.add(c.getFilename());
            }
        }
    }

    /**
     * Adds the growth state to every checkpoint the {@link Builder#checkpoints CheckpointListener}
     * wrote since the last call, once per file. Called at the start of this listener's
     * {@code iterationDone} and {@code onEpochEnd}, before any growth, so a checkpoint and its state
     * describe the same moment. With the CheckpointListener placed before this listener every
     * checkpoint is stamped in the callback that wrote it; placed after, call this once more when
     * training ends.
     */
    public synchronized void stampCheckpoints() {
        if (checkpoints == null) {
            return;
        }
        noteExistingCheckpoints();
        for (Checkpoint c : checkpoints.availableCheckpoints()) {
            java.io.File f = checkpoints.getFileForCheckpoint(c);
            if (seenCheckpoints.add(c.getFilename()) && f.exists()
                    && !ModelSerializer.listObjectsInFile(f).contains(GrowthController.MODEL_FILE_KEY)) {
                ModelSerializer.addObjectToFile(f, GrowthController.MODEL_FILE_KEY, controller.state().toJson());
            }
        }
    }

    public static final class Builder {
        private GrowthPolicy policy;
        private Path historyFile;
        private Consumer<GrowthEvent> onGrowth = e -> { };
        private org.nd4j.linalg.dataset.api.iterator.DataSetIterator growthData;
        private int growthBatches;
        private CheckpointListener checkpoints;
        private BadGrowthAction onBadGrowth = BadGrowthAction.SKIP;

        private Builder() {
        }

        /**
         * What happens when the growth data or its statistic is unusable at growth time (NaN,
         * infinity, all zero) or the growth would not fit in memory: {@link BadGrowthAction#SKIP}
         * by default (WARN, a {@link GrowthSkip} in the history, training goes on), or
         * {@link BadGrowthAction#FAIL}. See {@link GrowthController#onBadGrowth}.
         */
        public Builder onBadGrowth(BadGrowthAction action) {
            this.onBadGrowth = Preconditions.checkNotNull(action, "onBadGrowth(action): action must not be null");
            return this;
        }

        public Builder policy(GrowthPolicy policy) {
            this.policy = Preconditions.checkNotNull(policy, "policy(policy): policy must not be null");
            return this;
        }

        /**
         * Rewrites this JSON file with the whole history after every growth; its directory must exist
         * and be writable (checked here). Later write failures are logged and retried, never thrown
         * out of {@code fit()}; see {@link GrowthController#historyFile}.
         */
        public Builder historyFile(Path file) {
            Preconditions.checkNotNull(file, "historyFile(file): file must not be null");
            GrowthController.checkWritable(file);
            this.historyFile = file;
            return this;
        }

        /**
         * Data for GradMax's statistic: up to {@code batches} minibatches of an iterator of its own
         * (not the training iterator). Without it, the minibatch trained on in the current iteration
         * is used, with its masks; at an epoch end that is the epoch's last minibatch, which may be
         * partial, so for growth at epoch ends this is the better choice.
         */
        public Builder growthData(org.nd4j.linalg.dataset.api.iterator.DataSetIterator data, int batches) {
            Preconditions.checkNotNull(data, "growthData(data, batches): data must not be null");
            Preconditions.checkArgument(batches >= 1,
                    "growthData(data, batches): batches must be at least 1 (got: %s)", batches);
            this.growthData = data;
            this.growthBatches = batches;
            return this;
        }

        /**
         * Adds the growth state to each checkpoint {@code listener} writes, so that a run resumed
         * from {@code CheckpointListener.lastCheckpoint(dir)} restores both network and growth
         * ({@link #restoreState}). Attach the CheckpointListener to the network before this listener.
         */
        public Builder checkpoints(CheckpointListener listener) {
            this.checkpoints = Preconditions.checkNotNull(listener, "checkpoints(listener): listener must not be null");
            return this;
        }

        /**
         * Called with each event right after the growth (on the training thread: keep it short). If
         * it throws, the exception is logged at WARN and training goes on: the growth has happened.
         */
        public Builder onGrowth(Consumer<GrowthEvent> callback) {
            this.onGrowth = Preconditions.checkNotNull(callback, "onGrowth(callback): callback must not be null");
            return this;
        }

        public GrowthListener build() {
            if (policy == null) {
                throw new IllegalStateException("GrowthListener: policy(...) is required, built with "
                        + "GrowthPolicy.builder()");
            }
            GrowthController c = policy.newController().onGrowth(onGrowth).onBadGrowth(onBadGrowth);
            if (historyFile != null) {
                c.historyFile(historyFile);
            }
            if (growthData != null) {
                c.growthData(growthData, growthBatches);
            }
            return new GrowthListener(c, checkpoints);
        }
    }
}
