package org.dl4jgrowth;

import org.nd4j.shade.guava.base.Preconditions;
import org.deeplearning4j.nn.api.Model;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.network.NetworkAdapter;
import org.dl4jgrowth.plan.GrowthPlanner;
import org.dl4jgrowth.plan.GrowthProposal;
import org.dl4jgrowth.plan.PlanningContext;
import org.dl4jgrowth.rewrite.CompanionArrays;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.rewrite.PreparedRewrite;
import org.dl4jgrowth.rewrite.RewriteGeometry;
import org.dl4jgrowth.rewrite.RewriteResult;
import org.dl4jgrowth.rewrite.UnitMap;
import org.dl4jgrowth.signal.SignalKind;
import org.dl4jgrowth.when.TrainingProgress;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.rng.Random;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Grows one network by a {@link GrowthPolicy}: asks the policy when, where and how much, performs
 * the growth through {@link NetworkRewrite} (in place, optimizer state kept), records a
 * {@link GrowthEvent}, writes the history file and calls the growth callback. Free of listener
 * assumptions: {@link GrowthListener} calls it from DL4J's training callbacks, and a distributed
 * driver calls {@link #onIteration}, {@link #onEpochEnd(Model, int)} or {@link #growNow} between
 * rounds, with the same history, file and callback.
 *
 * <p>Growth data for initialisers and signals that need a training signal (GradMax): the
 * iterator given to {@link #growthData}, or else the minibatch the network trained on in the
 * current iteration (at an epoch end: the epoch's last minibatch, which may be partial), as the
 * listener captured it in {@code onForwardPass} with its masks. Driven without a listener, the
 * controller falls back to the minibatch the network holds.
 *
 * <p>Before it first changes anything the controller checks the policy against the network
 * (see {@link #validate}, which a driver may call before training): static misconfiguration fails
 * there, not an epoch into training. At growth time, unusable growth data or a growth that would not fit in memory is skipped and recorded
 * ({@link GrowthHistory#skips()}) or thrown, as {@link #onBadGrowth} says; after a growth has been
 * swapped in, nothing is thrown (a failing history write or callback is logged at WARN).
 *
 * <p>Thread-safety: all public methods are synchronised, so one growth runs at a time per
 * controller (per network). While the listener reports {@code fit()} running on a thread, growth
 * requested from any other thread is refused ({@code IllegalStateException} naming the training
 * thread); drivers that train and grow on one thread, or grow between rounds, are unaffected.
 *
 * <p>A controller belongs to the first network it sees and refuses any other: its history, counts
 * and random generator describe that network alone. Use one controller per network
 * ({@link GrowthPolicy#newController()}).
 */
public final class GrowthController {
    private static final Logger log = LoggerFactory.getLogger(GrowthController.class);

    private final GrowthPolicy policy;
    private final GrowthPlanner planner;
    /** The key of the growth state's entry in a ModelSerializer file. */
    public static final String MODEL_FILE_KEY = "dl4j-growth-state";

    private GrowthHistory history;
    private final CompanionArrays companions = new CompanionArrays();
    private final org.dl4jgrowth.mask.ConnectionMasks masks = new org.dl4jgrowth.mask.ConnectionMasks(companions);
    private Random random;
    private Model network;
    private NetworkAdapter adapter;
    private DataSetIterator growthData;
    private int growthBatches;
    private Path historyFile;
    private Consumer<GrowthEvent> onGrowth = e -> { };
    /** The current (or, between epochs, the last) training minibatch, when no growth data was given. */
    private MultiDataSet trainingBatch;
    /** Growth data a driver gave with the current call; used first, for that call only. */
    private MultiDataSet callData;
    private Object growableFor;
    private List<String> growable;
    private Object widthsFor;
    private final Map<String, Integer> widths = new HashMap<>();
    /** Statistics a driver computed elsewhere (a sum over workers), for the next call only. */
    private final Map<String, Object[]> supplied = new LinkedHashMap<>();
    /** Where gradient statistics are computed when not from growth data (a driver's workers); null: here. */
    private org.dl4jgrowth.signal.StatisticProvider statisticProvider;
    private String statisticProviderName;
    private long lastGrowthIteration = -1;
    private int lastGrowthEpoch = -1;
    private BadGrowthAction onBadGrowth = BadGrowthAction.SKIP;
    /** The history file missed a write (the failure was logged); retried at the next growth and epoch end. */
    private boolean historyPending;
    /** The thread that last ran fit() with the listener (told by its callbacks); null before. */
    private volatile Thread trainingThread;

    GrowthController(GrowthPolicy policy) {
        this.policy = Preconditions.checkNotNull(policy, "policy");
        this.planner = policy.planner();
        this.history = new GrowthHistory(Provenance.of(policy));
    }

    /**
     * Data for initialisers that need a training signal (GradMax): up to {@code batches} minibatches
     * of {@code data}, reset before each growth. Give an iterator of its own, not the one being
     * trained on. Without it, the minibatch the network is training on is used.
     */
    public synchronized GrowthController growthData(DataSetIterator data, int batches) {
        Preconditions.checkNotNull(data, "growthData(data, batches): data must not be null");
        Preconditions.checkArgument(batches >= 1, "growthData(data, batches): batches must be at least 1 (got: %s)",
                batches);
        this.growthData = data;
        this.growthBatches = batches;
        this.trainingBatch = null;
        return this;
    }

    /**
     * Rewrites this JSON file with the whole history after every growth. Checked now: its directory
     * must exist and be writable, and the file, if it exists, must be a writable regular file. A
     * write that fails later (disk full, directory removed) is logged at WARN and retried at the
     * next growth and at each epoch end; it never ends training, and {@link #history()} stays right.
     */
    public synchronized GrowthController historyFile(Path file) {
        Preconditions.checkNotNull(file, "historyFile(file): file must not be null");
        checkWritable(file);
        this.historyFile = file;
        return this;
    }

    static void checkWritable(Path file) {
        Path abs = file.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir == null || !java.nio.file.Files.isDirectory(dir)) {
            throw new IllegalArgumentException("historyFile(" + file + "): the directory " + dir
                    + " does not exist (or is not a directory); create it first");
        }
        if (!java.nio.file.Files.isWritable(dir)) {
            throw new IllegalArgumentException("historyFile(" + file + "): the directory " + dir + " is not writable");
        }
        if (java.nio.file.Files.exists(abs) && (!java.nio.file.Files.isRegularFile(abs)
                || !java.nio.file.Files.isWritable(abs))) {
            throw new IllegalArgumentException("historyFile(" + file + "): " + abs
                    + " exists and is not a writable regular file");
        }
    }

    /**
     * What to do when, at growth time, the growth data or its statistic is unusable (NaN, infinity,
     * an all-zero statistic) or the growth would not fit in memory: {@link BadGrowthAction#SKIP}
     * (the default: WARN, a {@link GrowthSkip} in the history, training goes on) or
     * {@link BadGrowthAction#FAIL} (the refusal is thrown). The network is unchanged either way.
     */
    public synchronized GrowthController onBadGrowth(BadGrowthAction action) {
        this.onBadGrowth = Preconditions.checkNotNull(action, "onBadGrowth(action): action must not be null");
        return this;
    }

    /**
     * Called with each event right after the growth (on the training thread: keep it short). The
     * growth has happened by then: if the callback throws, the exception is logged at WARN with the
     * event and training goes on (the network and its history agree; the callback is called again
     * at the next growth).
     */
    public synchronized GrowthController onGrowth(Consumer<GrowthEvent> callback) {
        this.onGrowth = Preconditions.checkNotNull(callback, "onGrowth(callback): callback must not be null");
        return this;
    }

    public GrowthPolicy policy() {
        return policy;
    }

    public GrowthHistory history() {
        return history;
    }

    /**
     * Everything this controller must remember to resume exactly (history, last growth, growth
     * generator, companion arrays), as an immutable value.
     */
    public synchronized GrowthState state() {
        List<GrowthState.Companion> arrays = new ArrayList<>();
        for (String name : companions.names()) {
            CompanionArrays.Entry e = companions.entry(name);
            INDArray flat = e.array().castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE).dup('c');
            arrays.add(new GrowthState.Companion(name, e.layer(), e.param(), e.freshValue(), e.array().shape(),
                    flat.reshape('c', new long[]{flat.length()}).toDoubleVector(), e.array().dataType().name()));
        }
        return new GrowthState(GrowthState.FORMAT, history, lastGrowthIteration, lastGrowthEpoch,
                random == null ? null : random.rootState(), random == null ? null : random.nodeState(), arrays);
    }

    /**
     * Carries on from {@code state}, saved by a controller of the same policy: its history, last
     * growth, growth generator and companion arrays replace this controller's. Only before this
     * controller has grown anything; the policy must be the one the state was saved with.
     */
    public synchronized GrowthController restore(GrowthState state) {
        Preconditions.checkNotNull(state, "restore(state): state must not be null");
        requireTrainingThread("restore");
        if (history.size() > 0) {
            throw new IllegalStateException("restore(state): this controller has grown its network already ("
                    + history.size() + " events); restore into a fresh one");
        }
        Provenance saved = state.history().provenance();
        if (saved != null && !saved.policy().equals(policy)) {
            throw new IllegalArgumentException("restore(state): the state was saved with policy " + saved.policy()
                    + ", but this controller has " + policy + "; resume with the same policy");
        }
        history = new GrowthHistory(saved == null ? Provenance.of(policy) : saved, state.history().events(),
                state.history().skips());
        lastGrowthIteration = state.lastGrowthIteration();
        lastGrowthEpoch = state.lastGrowthEpoch();
        if (state.randomRoot() != null) {
            random().setStates(state.randomRoot(), state.randomNode());
        }
        for (String name : companions.names()) {
            companions.remove(name);
        }
        for (GrowthState.Companion c : state.companions()) {
            INDArray a = Nd4j.create(c.values(), c.shape(), 'c')
                    .castTo(org.nd4j.linalg.api.buffer.DataType.valueOf(c.dataType()));
            companions.register(c.name(), c.layer(), c.param(), a, c.freshValue());
        }
        return this;
    }

    /**
     * Writes {@code net} with {@code ModelSerializer} (with its updater state if {@code saveUpdater})
     * and this controller's state as one entry ({@link #MODEL_FILE_KEY}, a JSON string, so plain
     * DL4J still loads the file). One write per file: DL4J rewrites the whole zip to add an entry.
     */
    public synchronized void writeModel(Model net, java.io.File file, boolean saveUpdater) {
        Preconditions.checkNotNull(net, "writeModel(net, file, saveUpdater): net must not be null");
        Preconditions.checkNotNull(file, "writeModel(net, file, saveUpdater): file must not be null");
        try {
            org.deeplearning4j.util.ModelSerializer.writeModel(net, file, saveUpdater);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("Cannot write the model to " + file, e);
        }
        org.deeplearning4j.util.ModelSerializer.addObjectToFile(file, MODEL_FILE_KEY, state().toJson());
    }

    /** The growth state in a model file written by {@link #writeModel}; refuses files without one. */
    public static GrowthState stateFrom(java.io.File file) {
        Preconditions.checkNotNull(file, "stateFrom(file): file must not be null");
        if (!org.deeplearning4j.util.ModelSerializer.listObjectsInFile(file).contains(MODEL_FILE_KEY)) {
            throw new IllegalArgumentException("Model file " + file + " carries no growth state (entry '"
                    + MODEL_FILE_KEY + "'): it was not written by GrowthController/GrowthListener.writeModel");
        }
        String json = org.deeplearning4j.util.ModelSerializer.getObjectFromFile(file, MODEL_FILE_KEY);
        return GrowthState.fromJson(json);
    }

    /** Arrays shaped like parameters that follow every growth of this network (a method's masks). */
    public CompanionArrays companions() {
        return companions;
    }

    /** The connection masks of this network's layers (companion arrays of this controller). */
    public synchronized org.dl4jgrowth.mask.ConnectionMasks masks() {
        return masks;
    }

    /**
     * Masks {@code layer} of {@code net} with {@code mask} (1 active, 0 dormant) and applies it at once;
     * from then on its dormant weights, their gradient and optimizer state stay exactly 0 (see
     * {@link org.dl4jgrowth.mask.ConnectionMasks}). Between {@code fit()} calls or from a listener on
     * the training thread; everything is checked before anything changes.
     */
    public synchronized void setMask(Model net, String layer, INDArray mask) {
        requireTrainingThread("setMask");
        bind(net);
        masks.set(adapter, layer, mask);
    }

    /** Called after each training iteration; grows if the trigger says so. */
    public synchronized Optional<GrowthEvent> onIteration(Model net, long iteration, int epoch) {
        Optional<GrowthEvent> event = consider(net, iteration, epoch, false);
        // Kept for a growth at the epoch's end; an asynchronous iterator recycles its workspace.
        if (trainingBatch != null) {
            trainingBatch = NetworkAdapter.detached(trainingBatch);
        }
        return event;
    }

    /**
     * Called after an epoch of training outside a listener, for example when
     * {@code fit(DataSetIterator)} has returned: DL4J has then advanced the epoch count, so the
     * epoch that ended is the count less one (epoch 0 for a network that has not counted one yet).
     * Drivers whose training does not advance the count use {@link #onEpochEnd(Model, int)}.
     */
    public synchronized Optional<GrowthEvent> onEpochEnd(Model net) {
        return onEpochEnd(net, Math.max(0, NetworkAdapter.of(net).epochCount() - 1));
    }

    /** Called at the end of epoch {@code epoch} (0-based); grows if the trigger says so. */
    public synchronized Optional<GrowthEvent> onEpochEnd(Model net, int epoch) {
        Preconditions.checkArgument(epoch >= 0, "onEpochEnd(net, epoch): epoch must be at least 0 (got: %s)", epoch);
        if (historyPending) {
            writeHistory();
        }
        return consider(net, NetworkAdapter.of(net).iterationCount(), epoch, true);
    }

    /**
     * {@link #onIteration(Model, long, int)} with the minibatch the driver trained on as this call's
     * growth data (several inputs and outputs allowed: a multi-input graph can grow).
     */
    public synchronized Optional<GrowthEvent> onIteration(Model net, long iteration, int epoch, MultiDataSet data) {
        return withCallData(data, () -> onIteration(net, iteration, epoch));
    }

    /** {@link #onEpochEnd(Model, int)} with {@code data} as this call's growth data. */
    public synchronized Optional<GrowthEvent> onEpochEnd(Model net, int epoch, MultiDataSet data) {
        return withCallData(data, () -> onEpochEnd(net, epoch));
    }

    /** {@link #growNow(Model)} with {@code data} as this call's growth data. */
    public synchronized Optional<GrowthEvent> growNow(Model net, MultiDataSet data) {
        return withCallData(data, () -> growNow(net));
    }

    /** {@link #onIteration(Model, long, int, MultiDataSet)} for a single-input, single-output minibatch. */
    public synchronized Optional<GrowthEvent> onIteration(Model net, long iteration, int epoch,
                                                       org.nd4j.linalg.dataset.api.DataSet data) {
        return onIteration(net, iteration, epoch, NetworkAdapter.toMulti(data));
    }

    /** {@link #onEpochEnd(Model, int, MultiDataSet)} for a single-input, single-output minibatch. */
    public synchronized Optional<GrowthEvent> onEpochEnd(Model net, int epoch, org.nd4j.linalg.dataset.api.DataSet data) {
        return onEpochEnd(net, epoch, NetworkAdapter.toMulti(data));
    }

    /** {@link #growNow(Model, MultiDataSet)} for a single-input, single-output minibatch. */
    public synchronized Optional<GrowthEvent> growNow(Model net, org.nd4j.linalg.dataset.api.DataSet data) {
        return growNow(net, NetworkAdapter.toMulti(data));
    }

    private Optional<GrowthEvent> withCallData(MultiDataSet data, java.util.function.Supplier<Optional<GrowthEvent>> call) {
        Preconditions.checkNotNull(data, "growth data must not be null");
        Preconditions.checkArgument(data.numFeatureArrays() >= 1 && data.numLabelsArrays() >= 1,
                "growth data needs features and labels (got %s features and %s labels arrays)",
                data.numFeatureArrays(), data.numLabelsArrays());
        callData = data;
        try {
            return call.get();
        } finally {
            callData = null;
        }
    }

    /**
     * GradMax's statistic for {@code layer}, computed elsewhere, for the next call
     * ({@code onIteration}, {@code onEpochEnd} or {@code growNow}) only: {@code sum} is
     * G = Σ h δᵀ over {@code examples} examples, for instance the sum of
     * {@link org.dl4jgrowth.signal.GradientStatistic#computeMulti} over workers' minibatches on
     * replicas of this network. Triggers, selectors and initialisers use it exactly as a statistic
     * computed here, and no growth data is read for that layer.
     */
    public synchronized GrowthController supplyStatistic(String layer, INDArray sum, long examples) {
        Preconditions.checkArgument(layer != null && !layer.isEmpty(), "supplyStatistic(layer, ...): give a layer name");
        Preconditions.checkNotNull(sum, "supplyStatistic(\"%s\", sum, ...): sum must not be null", layer);
        Preconditions.checkArgument(examples >= 1,
                "supplyStatistic(\"%s\", sum, examples): examples must be at least 1 (got: %s)", layer, examples);
        if (!org.dl4jgrowth.signal.StatisticSignals.finite(sum)) {
            throw new IllegalArgumentException("supplyStatistic(\"" + layer + "\", sum, " + examples + "): the sum "
                    + "holds NaN or infinite values (a worker's statistic overflowed, or its data was bad)");
        }
        supplied.put(layer, new Object[]{sum, examples});
        return this;
    }

    /**
     * Computes every gradient statistic a growth needs with {@code provider} (on a driver's workers
     * or executors, over their data) instead of from growth data; {@code description} names it in
     * messages ("Spark, over 4 partitions of the statistic RDD"). Called at the signals step for the
     * planned sites only. Null clears it. A statistic given with {@link #supplyStatistic} still comes
     * first; other signals (weight gradients, Firefly's scores) still read growth data.
     */
    public synchronized GrowthController statisticProvider(org.dl4jgrowth.signal.StatisticProvider provider,
                                                           String description) {
        this.statisticProvider = provider;
        this.statisticProviderName = provider == null ? null
                : Preconditions.checkNotNull(description, "statisticProvider(provider, description): give a description");
        return this;
    }

    /**
     * Ties this controller to {@code net} and checks now what its first callback would check
     * otherwise: the policy against the network (layers named, growths possible, initialiser
     * accepted) and the growth data against its inputs and outputs, with one forward and backward
     * pass on a private copy. A driver or launcher calls it before a long {@code fit()} to fail fast,
     * and so that the first growth event does not pay for the check. Once per network; later calls
     * only confirm it is the same network.
     *
     * @throws IllegalArgumentException naming what to change, the network untouched
     * @throws IllegalStateException if this controller already grows another network
     */
    public synchronized GrowthController validate(Model net) {
        bind(net);
        return this;
    }

    /**
     * Grows now, whatever the trigger says (still within the caps). Not while {@code fit()} runs on
     * another thread: DL4J's networks are not thread-safe (their {@code fit(DataSet)} is not even
     * synchronised), so such a call is refused naming the training thread. From the training thread
     * (a listener, a callback) or between {@code fit()} calls it is fine.
     */
    public synchronized Optional<GrowthEvent> growNow(Model net) {
        requireTrainingThread("growNow");
        bind(net);
        return consider(net, progress(adapter.iterationCount(), adapter.epochCount(), false), true);
    }

    /**
     * Called each iteration between the gradient computation and the update (the listener's
     * {@code onGradientCalculation}): the planner's per-step hook, e.g. NeST's gradient masks.
     */
    public synchronized void onGradient(Model net) {
        if (network != null && network != net) {
            return;
        }
        bind(net);
        masks.enforce(adapter, true);
        planner.onGradient(adapter, companions);
    }

    /**
     * Notes the minibatch {@code net} is training on, as it holds it during the forward pass of
     * this iteration (features, labels, masks), as the default growth data. Ignored for any network
     * other than the one this controller grows, and when growth data was given.
     */
    synchronized void captureTrainingBatch(Model net) {
        if (growthData != null || (network != null && network != net)) {
            return;
        }
        bind(net);
        trainingBatch = adapter.heldBatch();
    }

    /**
     * The listener tells the controller, at its first callback of an epoch or iteration, which
     * thread trains. While that thread is inside {@code fit()}, growth from any other is refused.
     */
    synchronized void attach(Model net) {
        bind(net);
        trainingThread = Thread.currentThread();
    }

    /**
     * Refuses a call from any thread but the one training, while that one is inside {@code fit()}
     * (its stack tells: no flag to be left set by a fit() that threw).
     */
    private void requireTrainingThread(String call) {
        Thread t = trainingThread;
        if (t != null && t != Thread.currentThread() && NetworkAdapter.insideFit(t)) {
            throw new IllegalStateException(call + "(...) was called on thread '" + Thread.currentThread().getName()
                    + "' while fit() runs on thread '" + t.getName() + "': a network can only change shape on the "
                    + "thread that trains it. Grow from a listener or the onGrowth callback, or after fit() returns");
        }
    }

    /** The minibatch kept as default growth data (tests check it is outside workspaces). */
    synchronized MultiDataSet keptTrainingBatch() {
        return trainingBatch;
    }

    private Optional<GrowthEvent> consider(Model net, long iteration, int epoch, boolean atEpochEnd) {
        requireTrainingThread(atEpochEnd ? "onEpochEnd" : "onIteration");
        bind(net);
        return consider(net, progress(iteration, epoch, atEpochEnd), false);
    }

    /**
     * One growth event, as one path: planner (when, where, how much) → plan (geometry; caps) →
     * the initialisers' signals → initialisers and rewrite (a pure build) → atomic swap → event.
     * Signals the planner asked for are computed on demand and cached, and reused by initialisers.
     */
    private Optional<GrowthEvent> consider(Model net, TrainingProgress p, boolean forced) {
        try {
            return decide(net, p, forced);
        } catch (org.dl4jgrowth.signal.GrowthDataException | org.dl4jgrowth.rewrite.InfeasibleGrowthException
                 | org.dl4jgrowth.rewrite.RewriteException e) {
            // All are refused before the network is touched (a rewrite failure at the signals step
            // happened on private copies): skipping leaves it exactly as it was.
            boolean signalsFailed = e instanceof org.dl4jgrowth.rewrite.RewriteException;
            if (onBadGrowth == BadGrowthAction.FAIL || (signalsFailed
                    && ((org.dl4jgrowth.rewrite.RewriteException) e).step() != org.dl4jgrowth.rewrite.RewriteStep.SIGNALS)) {
                throw e;
            }
            String layer = e instanceof org.dl4jgrowth.signal.GrowthDataException
                    ? ((org.dl4jgrowth.signal.GrowthDataException) e).layer()
                    : e instanceof org.dl4jgrowth.rewrite.InfeasibleGrowthException
                    ? ((org.dl4jgrowth.rewrite.InfeasibleGrowthException) e).layer() : null;
            GrowthSkip skip = new GrowthSkip(p.iteration(), p.epoch(), p.atEpochEnd(),
                    layer == null ? List.of() : List.of(layer), e.getClass().getSimpleName(), e.getMessage());
            if (history.addSkip(skip)) {
                log.warn("Growth skipped at iteration {} (epoch {}), network unchanged: {}", p.iteration(), p.epoch(),
                        e.getMessage());
                writeHistory();
            } else {
                // The same refusal again (a trigger asking every iteration): counted, written at the epoch end.
                log.debug("Growth skipped again at iteration {}: {}", p.iteration(), e.getMessage());
                historyPending = historyFile != null;
            }
            return Optional.empty();
        } finally {
            supplied.clear();
        }
    }

    private Optional<GrowthEvent> decide(Model net, TrainingProgress p, boolean forced) {
        org.dl4jgrowth.signal.StatisticSignals signals = signals(net);
        supplied.forEach((layer, v) -> signals.supply(layer, (INDArray) v[0], (Long) v[1]));
        Optional<GrowthProposal> proposal = planner.propose(new PlanningContext(adapter, p, signals,
                history.events(), policy::maxWidth, policy.maxParams(), random(), forced, companions, this::width));
        if (proposal.isEmpty()) {
            return Optional.empty();
        }
        return grow(net, p, signals, proposal.get());
    }

    /** Lazy: nothing is computed unless a trigger, selector or initialiser asks. */
    private org.dl4jgrowth.signal.StatisticSignals signals(Model net) {
        long iteration = adapter.iterationCount();
        String source = statisticProvider != null && callData == null ? statisticProviderName
                : callData != null ? "the growth data given with this call"
                : growthData != null ? "the growthData(...) iterator" : null;
        return new org.dl4jgrowth.signal.StatisticSignals(net, this::growthBatches, this::growableLayers, random())
                .describedAs(source != null ? () -> source : () -> "the training minibatch of iteration " + iteration)
                .provider(callData == null ? statisticProvider : null);
    }

    /**
     * The layers the network can grow, worked out once per configuration: the planner asks at every
     * iteration, and finding them plans a rewrite of each layer. Every rewrite installs a new
     * configuration object, which is what invalidates the answer.
     */
    private List<String> growableLayers() {
        Object conf = adapter.liveConfiguration();
        if (conf != growableFor) {
            growable = NetworkRewrite.growableLayers(network);
            growableFor = conf;
        }
        return growable;
    }

    /**
     * A layer's current width, kept per configuration object like {@link #growableLayers()}: the
     * planner asks for every layer at every iteration, and each reading builds the topology.
     */
    private int width(String layer) {
        Object conf = adapter.liveConfiguration();
        if (conf != widthsFor) {
            widths.clear();
            widthsFor = conf;
        }
        Integer w = widths.get(layer);
        if (w == null) {
            w = NetworkRewrite.width(network, layer);   // an unknown layer throws and is not kept
            widths.put(layer, w);
        }
        return w;
    }

    private TrainingProgress progress(long iteration, int epoch, boolean atEpochEnd) {
        return TrainingProgress.builder().iteration(iteration).epoch(epoch).atEpochEnd(atEpochEnd)
                .growthHistory(history.size(), lastGrowthIteration, lastGrowthEpoch).build();
    }

    /**
     * Ties the controller to its network, checking once, before training changes anything, all
     * that can be checked without training ({@link #checkBeforeTraining}).
     */
    private void bind(Model net) {
        Preconditions.checkNotNull(net, "network");
        if (network == null) {
            checkBeforeTraining(net);
            network = net;
            adapter = NetworkAdapter.of(net);
        } else if (network != net) {
            throw new IllegalStateException("This growth controller already grows another network ("
                    + network.getClass().getSimpleName() + "@" + Integer.toHexString(System.identityHashCode(network))
                    + "): its history and random generator belong to that network. Use one GrowthListener or "
                    + "GrowthPolicy.newController() per network.");
        }
    }

    /**
     * Everything about the policy and the network that can be known before training: the network
     * is initialised; every layer the policy names (selector, trigger, per-layer caps) exists and
     * can grow; the growths the planner may make first are possible (widths within
     * {@link UnitMap#MAX_WIDTH} and within the memory the backend can allocate) and acceptable to
     * the initialiser (activation, consumer, layers grown together, flattens); the policy can grow
     * something at all; growth data given with {@link #growthData} fits the network. Each failure
     * is an {@code IllegalArgumentException} that says what to change; the network is not touched.
     */
    private void checkBeforeTraining(Model net) {
        NetworkAdapter a = NetworkAdapter.of(net);
        if (!a.initialised()) {
            throw new IllegalArgumentException("This " + a.typeName() + " is not initialised: call init() before "
                    + "fit() with a GrowthListener (or before driving a GrowthController)");
        }
        List<String> growable = NetworkRewrite.growableLayers(net);
        List<String> names = a.layerNames();
        // Restored masks must still fit: the layer exists, takes a mask, and has the mask's shape.
        for (String layer : masks.layers()) {
            if (!names.contains(layer)) {
                throw new IllegalArgumentException("The growth state masks layer '" + layer + "', which this "
                        + "network does not have; layers: " + names);
            }
            org.dl4jgrowth.mask.ConnectionMasks.requireMaskable(a, layer);
            long[] w = a.paramTable(layer).get("W").shape();
            if (!java.util.Arrays.equals(w, masks.get(layer).shape())) {
                throw new IllegalArgumentException("The growth state's mask of layer '" + layer + "' has shape "
                        + java.util.Arrays.toString(masks.get(layer).shape()) + ", but the layer's weights have "
                        + java.util.Arrays.toString(w) + ": restore the growth state with the network saved with it");
            }
        }
        for (String layer : planner.namedLayers()) {
            NetworkRewrite.width(net, layer);   // unknown or unsupported class: a clear error
            if (!growable.contains(layer)) {
                throw new IllegalArgumentException("Layer '" + layer + "' named by the growth policy cannot be "
                        + "grown in this network (its path to its consumers is not supported); growable layers: "
                        + growable);
            }
        }
        for (Map.Entry<String, Integer> cap : policy.maxWidths().entrySet()) {
            if (!names.contains(cap.getKey())) {
                throw new IllegalArgumentException("maxWidth(\"" + cap.getKey() + "\", " + cap.getValue()
                        + ") names no layer of this " + a.typeName() + ": its layers are " + names
                        + " (growable: " + growable + ")");
            }
            if (!growable.contains(cap.getKey())) {
                throw new IllegalArgumentException("maxWidth(\"" + cap.getKey() + "\", " + cap.getValue()
                        + ") caps a layer that cannot grow; growable layers: " + growable);
            }
        }
        java.util.function.ToIntFunction<String> width = layer -> NetworkRewrite.width(net, layer);
        List<Map<String, Long>> first = planner.firstGrowths(growable, width, policy::maxWidth,
                layer -> org.dl4jgrowth.signal.GradientStatistic.supports(net, layer));
        // The layer-wise planner widens its candidates up to their caps and nothing else, so with every
        // candidate at its cap it never grows (a method's own planner may narrow: no such conclusion).
        if (history.size() == 0 && planner instanceof org.dl4jgrowth.plan.LayerwisePlanner) {
            StringBuilder why = new StringBuilder();
            boolean any = false;
            // The selector's names only: a trigger may name layers it watches but does not grow.
            List<String> named = ((org.dl4jgrowth.plan.LayerwisePlanner) planner).where().namedLayers();
            for (String layer : growable) {
                if (!named.isEmpty() && !named.contains(layer)) {
                    continue;
                }
                any |= width.applyAsInt(layer) < policy.maxWidth(layer);
                why.append(why.length() == 0 ? "" : ", ").append("'").append(layer).append("' has ")
                        .append(width.applyAsInt(layer)).append(" units and maxWidth ").append(policy.maxWidth(layer));
            }
            if (!any) {
                throw new IllegalArgumentException("This growth policy can never grow this network: "
                        + (why.length() == 0 ? "it has no growable layer" : why + "") + ". Raise maxWidth above the "
                        + "current widths (or choose other layers)");
            }
        }
        if (history.size() == 0 && planner instanceof org.dl4jgrowth.plan.LayerwisePlanner
                && policy.maxParams() <= net.numParams()) {
            throw new IllegalArgumentException("This growth policy can never grow this network: maxParams "
                    + policy.maxParams() + " is not above the " + net.numParams() + " parameters it has already; "
                    + "raise maxParams");
        }
        for (Map<String, Long> group : first) {
            // The widths one growth may reach: possible at all, and in memory (refused before any allocation).
            NetworkRewrite.requireFeasible(net, group, policy.maxParams());
            // The initialiser sees the same geometry a real growth of these layers would have.
            NetworkRewrite trial = NetworkRewrite.of(net).initializer(policy.initializer());
            for (String layer : group.keySet()) {
                trial.grow(layer, 1);
            }
            trial.plan();
        }
        if (growthData != null) {
            checkGrowthData(a);
        }
    }

    /** One minibatch of the growth data, shaped like the network's inputs and outputs. */
    private void checkGrowthData(NetworkAdapter a) {
        if (!growthData.resetSupported()) {
            return;   // peeking would lose a minibatch: checked when used
        }
        growthData.reset();
        if (!growthData.hasNext()) {
            throw new IllegalArgumentException("The growth data given to growthData(...) is empty ("
                    + growthData.getClass().getSimpleName() + " has no minibatch after reset())");
        }
        MultiDataSet batch;
        NetworkAdapter copy;
        // Copies made here must not land in a workspace the training pass has open on this thread.
        try (org.nd4j.linalg.api.memory.MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            batch = NetworkAdapter.detached(NetworkAdapter.toMulti(growthData.next()));
            copy = a.privateCopyWithoutWorkspaces();
        }
        growthData.reset();
        try {
            // One forward and backward pass on a private copy: DL4J's own checks of every shape. Its
            // dropout draws from a throw-away generator: neither training's stream nor growth's moves.
            Runnable pass = () -> org.dl4jgrowth.rewrite.RandomScope.run(
                    Nd4j.getRandomFactory().getNewRandomInstance(policy.seed()), () -> copy.computeGradient(batch));
            if (Nd4j.getWorkspaceManager().anyWorkspaceActiveForCurrentThread()) {
                // Inside the training pass (onForwardPass of fit(DataSet)) its workspaces are open on this
                // thread and DL4J refuses to run another network here: run the check on a thread of its
                // own, on the same device.
                onOwnThread(pass);
            } else {
                pass.run();
            }
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("The growth data given to growthData(...) does not fit this "
                    + a.typeName() + ": a minibatch with features " + shapes(batch.getFeatures()) + " and labels "
                    + shapes(batch.getLabels()) + " fails in the network: " + e.getMessage(), e);
        }
    }

    private static void onOwnThread(Runnable body) {
        Integer device = Nd4j.getAffinityManager().getDeviceForCurrentThread();
        Throwable[] failure = new Throwable[1];
        Thread t = new Thread(() -> {
            try {
                // The copy's arrays live on the training thread's device: compute there.
                Nd4j.getAffinityManager().unsafeSetDevice(device);
                body.run();
            } catch (Throwable e) {
                failure[0] = e;
            }
        }, "dl4j-growth-data-check");
        t.start();
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while checking the growth data", e);
        }
        if (failure[0] instanceof Error) {
            throw (Error) failure[0];
        }
        if (failure[0] != null) {
            throw (RuntimeException) failure[0];
        }
    }

    private static String shapes(INDArray[] arrays) {
        List<String> out = new ArrayList<>();
        for (INDArray x : arrays) {
            out.add(x == null ? "null" : java.util.Arrays.toString(x.shape()));
        }
        return out.toString();
    }

    private Optional<GrowthEvent> grow(Model net, TrainingProgress p, org.dl4jgrowth.signal.StatisticSignals signals,
                                       GrowthProposal proposal) {
        if (proposal.changesConnections()) {
            return connect(net, p, signals, proposal);
        }
        NetworkRewrite rewrite = NetworkRewrite.of(net).initializer(policy.initializer()).random(random())
                .companions(companions);
        Map<String, UnitInitializer> inits = new LinkedHashMap<>();
        for (Map.Entry<String, UnitMap> e : proposal.unitMaps().entrySet()) {
            String layer = e.getKey();
            int cap = policy.maxWidth(layer);
            if (e.getValue().newWidth() > cap && e.getValue().newWidth() > e.getValue().oldWidth()) {
                throw new IllegalStateException("The planner " + planner + " proposed layer '" + layer + "' at "
                        + e.getValue().newWidth() + " units, above its maxWidth " + cap
                        + " (PlanningContext.maxWidth tells the cap)");
            }
            rewrite.unitMap(layer, e.getValue());
            UnitInitializer init = proposal.initializer(layer).orElse(policy.initializer());
            rewrite.initializer(layer, init);
            inits.put(layer, init);
        }
        // The plan is geometry only: the cap is checked before any signal or initialiser runs.
        RewriteGeometry geometry = rewrite.plan();
        // A change that does not add parameters (a prune) is never refused by the cap.
        if (geometry.paramsAfter() > policy.maxParams() && geometry.paramsAfter() > geometry.paramsBefore()) {
            log.info("Growth skipped at iteration {}: {} would leave {} parameters, above maxParams {}",
                    p.iteration(), proposal.unitMaps().keySet(), geometry.paramsAfter(), policy.maxParams());
            return Optional.empty();
        }
        // The initialisers' signals, for the planned sites only (the triggers' are cached and reused),
        // computed together first: the direct route takes them from one pass.
        List<String> statisticSites = new ArrayList<>();
        for (RewriteGeometry.Site site : geometry.sites()) {
            if (site.unitMap().freshCount() > 0
                    && inits.get(site.layer()).signals().contains(SignalKind.GRADIENT_STATISTIC)) {
                statisticSites.add(site.layer());
            }
        }
        signals.prepareStatistics(statisticSites);
        for (RewriteGeometry.Site site : geometry.sites()) {
            if (site.unitMap().freshCount() > 0
                    && inits.get(site.layer()).signals().contains(SignalKind.GRADIENT_STATISTIC)) {
                INDArray g = signals.gradientStatistic(site.layer());
                if (g.amaxNumber().doubleValue() == 0) {
                    throw new org.dl4jgrowth.signal.GrowthDataException(site.layer(), "The gradient statistic of "
                            + "layer '" + site.layer() + "' is zero everywhere on this growth data: the loss does not "
                            + "depend on new units there (dead units downstream, every label masked), so "
                            + inits.get(site.layer()) + " has nothing to follow; the network was not changed");
                }
            }
        }
        rewrite.statistics(signals.computed());
        PreparedRewrite prepared = rewrite.prepare();
        double score = net.score();
        RewriteResult r = prepared.apply();
        // A split's fan-in perturbation or an initialiser may have written dormant entries.
        masks.enforce(adapter, false);
        List<GrowthEvent.LayerGrowth> layers = new ArrayList<>();
        for (RewriteGeometry.Site site : geometry.sites()) {
            // A planner's own initialiser for a layer is recorded there; the event's is the policy's.
            UnitInitializer own = proposal.initializer(site.layer()).orElse(null);
            layers.add(GrowthEvent.LayerGrowth.of(site.layer(), site.unitMap())
                    .withInitializer(policy.initializer().equals(own) ? null : own));
        }
        return record(new GrowthEvent(history.size(), p.iteration(), p.epoch(), p.atEpochEnd(), layers,
                policy.initializer(), r.paramsBefore(), r.paramsAfter(), score, r.nanos() / 1e6,
                DeviceReport.currentBackend(), svdEngines(r.svdEngines()),
                withRoutes(r.notes(), signals.statisticRoutes(), layers), signals.nanos() / 1e6,
                signals.passes(), signals.examples(), proposal.details()), p);
    }

    /**
     * The rewrite's notes with, under each grown layer whose gradient statistic was computed, the
     * route that computed it ({@code "statisticRoute"}: "direct" or "probes (why)"). Statistics of
     * layers a selector looked at but did not grow are not noted: the notes are per grown layer.
     */
    private static Map<String, Map<String, Object>> withRoutes(Map<String, Map<String, Object>> notes,
                                                              Map<String, String> routes,
                                                              List<GrowthEvent.LayerGrowth> grown) {
        if (routes.isEmpty()) {
            return notes;
        }
        Map<String, Map<String, Object>> out = new java.util.LinkedHashMap<>();
        notes.forEach((layer, n) -> out.put(layer, new java.util.LinkedHashMap<>(n)));
        for (GrowthEvent.LayerGrowth lg : grown) {
            String route = routes.get(lg.layer());
            if (route != null) {
                out.computeIfAbsent(lg.layer(), l -> new java.util.LinkedHashMap<>()).put("statisticRoute", route);
            }
        }
        return out;
    }

    /**
     * A connection event (NeST's connection growth and pruning): the masks wake the proposed dormant
     * connections, whose weights and optimizer state are 0 already, and put the proposed active ones
     * to sleep, whose weights and optimizer state become 0 at once; widths and parameter counts stay.
     * Every index is checked before any mask changes.
     */
    private Optional<GrowthEvent> connect(Model net, TrainingProgress p,
                                          org.dl4jgrowth.signal.StatisticSignals signals, GrowthProposal proposal) {
        Map<String, long[]> wakes = proposal.wakes();
        Map<String, long[]> prunes = proposal.prunes();
        for (Map.Entry<String, long[]> e : wakes.entrySet()) {
            masks.requireWakeable(e.getKey(), e.getValue());
        }
        for (Map.Entry<String, long[]> e : prunes.entrySet()) {
            masks.requirePrunable(adapter, e.getKey(), e.getValue());
        }
        long start = System.nanoTime();
        double score = net.score();
        List<GrowthEvent.LayerGrowth> layers = new ArrayList<>();
        Map<String, long[]> all = new LinkedHashMap<>(wakes);
        all.putAll(prunes);
        for (Map.Entry<String, long[]> e : all.entrySet()) {
            if (wakes.containsKey(e.getKey())) {
                masks.wake(e.getKey(), e.getValue());
            } else {
                masks.prune(adapter, e.getKey(), e.getValue());
            }
            // Output layers take masks but are not growable: the width is the layer's nOut.
            int width = Math.toIntExact(((org.deeplearning4j.nn.conf.layers.FeedForwardLayer)
                    adapter.layerConfiguration(e.getKey())).getNOut());
            layers.add(new GrowthEvent.LayerGrowth(e.getKey(), width, width));
        }
        // Pruned entries: weights and optimizer state to 0 now, not at the next step's gradient.
        masks.enforce(adapter, false);
        long params = net.numParams();
        return record(new GrowthEvent(history.size(), p.iteration(), p.epoch(), p.atEpochEnd(), layers,
                policy.initializer(), params, params, score, (System.nanoTime() - start) / 1e6,
                DeviceReport.currentBackend(), null, null, signals.nanos() / 1e6, signals.passes(),
                signals.examples(), proposal.details()), p);
    }

    private Optional<GrowthEvent> record(GrowthEvent event, TrainingProgress p) {
        history.add(event);
        lastGrowthIteration = p.iteration();
        lastGrowthEpoch = p.epoch();
        log.info("{}", event);
        // From here on the growth has happened: nothing below may throw out of fit().
        writeHistory();
        try {
            onGrowth.accept(event);
        } catch (RuntimeException e) {
            log.warn("The onGrowth callback threw for growth event {} (the growth stands, training goes on): {}",
                    event.index(), e.toString(), e);
        }
        return Optional.of(event);
    }

    /** Writes the history file if there is one; a failure is logged and retried later, never thrown. */
    private void writeHistory() {
        if (historyFile == null) {
            return;
        }
        try {
            history.writeJson(historyFile);
            if (historyPending) {
                log.info("Growth history written to {} again after an earlier failure", historyFile);
            }
            historyPending = false;
        } catch (RuntimeException e) {
            historyPending = true;
            log.warn("Could not write the growth history to {} ({}); the history in memory is complete and the "
                    + "write is retried at the next growth and epoch end", historyFile, e.getMessage());
        }
    }

    /** Whether the last write of the history file failed (it is retried). */
    public synchronized boolean historyWritePending() {
        return historyPending;
    }

    /**
     * The SVD engines the initialisers of the grown layers used, distinct names in layer order
     * joined with ","; {@code null} if no layer used one.
     */
    static String svdEngines(Map<String, String> perLayer) {
        Set<String> engines = new LinkedHashSet<>(perLayer.values());
        return engines.isEmpty() ? null : String.join(",", engines);
    }

    private List<MultiDataSet> growthBatches() {
        List<MultiDataSet> out = new ArrayList<>();
        if (callData != null) {
            out.add(callData);
            return out;
        }
        if (growthData != null) {
            if (growthData.resetSupported()) {
                growthData.reset();
            }
            while (out.size() < growthBatches && growthData.hasNext()) {
                out.add(NetworkAdapter.toMulti(growthData.next()));
            }
            if (out.isEmpty()) {
                throw new org.dl4jgrowth.signal.GrowthDataException(null, "The growth data iterator given to "
                        + "growthData(...) has no minibatch left and cannot be reset ("
                        + growthData.getClass().getSimpleName() + "): give one that supports reset()");
            }
            return out;
        }
        MultiDataSet batch = trainingBatch;
        if (batch == null) {
            batch = adapter.heldBatch();
            if (batch != null && !NetworkAdapter.outsideWorkspaces(batch)) {
                throw new IllegalStateException("The growth policy needs growth data, and the minibatch this "
                        + adapter.typeName() + " still holds lived in its training iterator's workspace, which DL4J "
                        + "has released since (driven without a GrowthListener, after fit() returned): give data "
                        + "with GrowthController.growthData(...)");
            }
        }
        if (batch == null) {
            throw new IllegalStateException("The growth policy needs growth data, and no training minibatch was seen "
                    + "(the GrowthListener notes it during fit(); driven directly, the " + adapter.typeName()
                    + " holds none): give data with GrowthListener.builder().growthData(...) or "
                    + "GrowthController.growthData(...)");
        }
        out.add(batch);
        return out;
    }

    /** One generator for all of this network's growths, so successive growths continue one stream. */
    private Random random() {
        if (random == null) {
            random = Nd4j.getRandomFactory().getNewRandomInstance(policy.seed());
        }
        return random;
    }
}
