package org.dl4jgrowth.network;

import org.nd4j.shade.guava.base.Preconditions;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.api.Updater;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.updater.BaseMultiLayerUpdater;
import org.deeplearning4j.nn.updater.MultiLayerUpdater;
import org.deeplearning4j.nn.updater.graph.ComputationGraphUpdater;
import org.deeplearning4j.optimize.Solver;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.dl4jgrowth.rewrite.RewriteStep;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * What differs between DL4J's two network types, for the code that grows them: counts, listeners,
 * layer configurations, the minibatch a network holds, gradients on a given minibatch, and private
 * copies. Growth code outside this class (and the rewrite's swap) does not ask which type it has.
 *
 * <p>Private copies ({@link #privateCopy()}) are built from a cloned configuration and duplicated
 * parameters, never with the networks' {@code clone()}: in DL4J 1.0.0-M2.1
 * {@code ComputationGraph.clone()} hands the copy the original's listener collection by reference,
 * so anything done to the copy's listeners (or any fit of the copy) reaches the user's.
 */
public abstract class NetworkAdapter {

    NetworkAdapter() {
    }

    /** The adapter of {@code model}, a {@link MultiLayerNetwork} or a {@link ComputationGraph}. */
    public static NetworkAdapter of(Model model) {
        Preconditions.checkNotNull(model, "network");
        if (model instanceof MultiLayerNetwork) {
            return new MlnAdapter((MultiLayerNetwork) model);
        }
        if (model instanceof ComputationGraph) {
            return new GraphAdapter((ComputationGraph) model);
        }
        throw new IllegalArgumentException("Only MultiLayerNetwork and ComputationGraph can grow (got: "
                + model.getClass().getName() + ")");
    }

    public abstract Model model();

    /**
     * Whether {@code thread} is inside a DL4J network's {@code fit} right now (read from its stack;
     * alive threads only). The growth controller refuses growth from other threads while it is: the
     * network is mid-step there, and between two listener callbacks DL4J still writes its counts and
     * applies constraints. A fit() that ended, normally or by an exception, no longer shows.
     */
    public static boolean insideFit(Thread thread) {
        if (thread == null || !thread.isAlive()) {
            return false;
        }
        for (StackTraceElement f : thread.getStackTrace()) {
            String c = f.getClassName();
            if ((c.startsWith("org.deeplearning4j.nn.multilayer.") || c.startsWith("org.deeplearning4j.nn.graph."))
                    && f.getMethodName().startsWith("fit")) {
                return true;
            }
        }
        return false;
    }

    /** "MultiLayerNetwork" or "ComputationGraph", for messages. */
    public abstract String typeName();

    /** Whether {@code init()} has run: before it there are no layers and no parameters to grow. */
    public abstract boolean initialised();

    /** Iterations trained so far (DL4J's count, kept in the configuration). */
    public abstract long iterationCount();

    /** Epochs trained so far; inside {@code fit(DataSetIterator)} the index of the current epoch. */
    public abstract int epochCount();

    /** The network's own listener collection (not a copy). */
    public abstract Collection<TrainingListener> listeners();

    /**
     * Sets the epoch count. For drivers whose training does not advance it: ParallelWrapper and
     * Spark train with {@code fit(DataSet)} per minibatch, which never counts epochs.
     */
    public abstract void setEpochCount(int epochs);

    /**
     * The network's updater, made now if it has none: DL4J otherwise makes it lazily inside
     * {@code fit()}, holding the network's lock, which ParallelWrapper's workers need to copy the
     * master's updater.
     */
    public abstract BaseMultiLayerUpdater<?> ensureUpdater();

    /**
     * Installs {@code updater} (made for this network, with its state) as the network's own, e.g.
     * after DL4J's {@code clear()} dropped the solver that held it.
     */
    public abstract void setUpdater(BaseMultiLayerUpdater<?> updater);

    /** The configuration as DL4J's JSON, with the counts: what a replica elsewhere is built from. */
    public abstract String configurationJson();

    /**
     * The result of {@code mln} or {@code graph}, whichever matches this network: for a driver that
     * must make an engine's own per-type wrapper (SparkDl4jMultiLayer or SparkComputationGraph).
     */
    public abstract <T> T match(java.util.function.Function<MultiLayerNetwork, T> mln,
                                java.util.function.Function<ComputationGraph, T> graph);

    /**
     * A new, initialised network of type {@code typeName} ({@link #typeName()}) from
     * {@link #configurationJson()} and a copy of {@code params}: a replica on another thread or
     * machine, with no listeners and no optimizer state.
     */
    public static NetworkAdapter replica(String typeName, String configurationJson, INDArray params) {
        INDArray p = params == null ? null : params.dup();
        if ("MultiLayerNetwork".equals(typeName)) {
            MultiLayerNetwork m = new MultiLayerNetwork(MultiLayerConfiguration.fromJson(configurationJson));
            m.init(p, false);
            return of(m);
        }
        if ("ComputationGraph".equals(typeName)) {
            ComputationGraph g = new ComputationGraph(ComputationGraphConfiguration.fromJson(configurationJson));
            g.init(p, false);
            return of(g);
        }
        throw new IllegalArgumentException("replica(typeName, ...): MultiLayerNetwork or ComputationGraph (got: "
                + typeName + ")");
    }

    /** A deep copy of the configuration, with the iteration and epoch counts (which {@code clone()} drops). */
    public abstract Object cloneConfiguration();

    /**
     * {@link #cloneConfiguration()} with DL4J's workspaces off for training and inference: a
     * network built on it keeps every array its layers cache in a forward pass (batch norm's batch
     * statistics, for one) valid for a backward walk made layer by layer afterwards, and opens no
     * workspace of its own inside the training network's callbacks.
     */
    public abstract Object cloneConfigurationWithoutWorkspaces();

    /**
     * The configuration of {@code layer} as the network holds it (the object its layer was built
     * from: changing it changes the network). Unknown names are refused with the known ones listed.
     */
    public abstract Layer layerConfiguration(String layer);

    /** The names of the network's layers, in the network's order. */
    public abstract List<String> layerNames();

    /**
     * The minibatch the network holds now, as DL4J's {@code fit()} set it: features, labels and
     * their masks (the arrays themselves, not copies); {@code null} when it holds no features or no
     * labels. Read it during the iteration that set it: DL4J's {@code output()} methods replace the
     * features and masks and do not restore them.
     */
    public abstract MultiDataSet heldBatch();

    /**
     * A network of the same configuration and parameters that shares nothing with this one: its
     * configuration is a clone, its parameters a copy, and it has no listeners and no updater. No
     * random generator is touched.
     */
    public abstract NetworkAdapter privateCopy();

    /**
     * {@link #privateCopy()} that opens no workspace of its own, for use inside the training
     * network's callbacks ({@code onForwardPass}): DL4J's workspaces are per thread and by name, and
     * the training pass holds the ones a copy would open.
     */
    public abstract NetworkAdapter privateCopyWithoutWorkspaces();

    /**
     * A private copy in which the named layers' configurations are replaced (each keeps its name);
     * every other layer's parameters are copied, the replaced layers' are as the new configuration
     * initialises them, for the caller to set. Firefly folds batch norms into their convolution
     * this way, so that its private copy computes inference-mode statistics in a gradient pass.
     */
    public abstract NetworkAdapter copyReplacing(Map<String, Layer> replacements);

    /** Copies the parameters of every layer of {@code from} whose shapes match into this network. */
    void copyParamsFrom(NetworkAdapter from, java.util.Set<String> except) {
        for (String layer : layerNames()) {
            if (except.contains(layer)) {
                continue;
            }
            Map<String, INDArray> dst = paramTable(layer);
            Map<String, INDArray> src = from.paramTable(layer);
            for (Map.Entry<String, INDArray> e : dst.entrySet()) {
                INDArray s = src.get(e.getKey());
                if (s != null && java.util.Arrays.equals(s.shape(), e.getValue().shape())) {
                    e.getValue().assign(s);
                }
            }
        }
    }

    /**
     * Sets {@code batch} (features, labels, masks) on the network and computes gradient and score
     * with DL4J's own forward and backward pass, in training mode. Meant for private copies: it
     * replaces the network's minibatch and gradient.
     */
    public abstract void computeGradient(MultiDataSet batch);

    /** The gradient of parameter {@code param} ("W", "b", ...) of {@code layer} from the last {@link #computeGradient}. */
    public abstract INDArray gradient(String layer, String param);

    /**
     * {@code batch} with every array that lives in a workspace copied out of it, so it can be kept
     * past the iteration that produced it (DL4J's asynchronous iterators fill a cyclic workspace);
     * arrays outside workspaces are kept as they are, without a copy.
     */
    public static MultiDataSet detached(MultiDataSet batch) {
        // The controller keeps every training minibatch this way: nothing is allocated when, as with
        // most iterators, no array is in a workspace.
        if (!attached(batch.getFeatures()) && !attached(batch.getLabels())
                && !attached(batch.getFeaturesMaskArrays()) && !attached(batch.getLabelsMaskArrays())) {
            return batch;
        }
        return new org.nd4j.linalg.dataset.MultiDataSet(detach(batch.getFeatures()), detach(batch.getLabels()),
                detach(batch.getFeaturesMaskArrays()), detach(batch.getLabelsMaskArrays()));
    }

    private static boolean attached(INDArray[] arrays) {
        if (arrays != null) {
            for (INDArray a : arrays) {
                if (a != null && a.isAttached()) {
                    return true;
                }
            }
        }
        return false;
    }

    private static INDArray[] detach(INDArray[] arrays) {
        if (arrays == null) {
            return null;
        }
        INDArray[] out = new INDArray[arrays.length];
        for (int i = 0; i < arrays.length; i++) {
            out[i] = arrays[i] == null ? null : arrays[i].detach();
        }
        return out;
    }

    /**
     * True when every array of {@code batch} can still be read: none lives in a workspace. After
     * {@code fit(DataSetIterator)} has returned, the minibatch a network still holds may point into
     * the asynchronous iterator's workspace, which DL4J has destroyed.
     */
    public static boolean outsideWorkspaces(MultiDataSet batch) {
        for (INDArray[] arrays : new INDArray[][]{batch.getFeatures(), batch.getLabels(),
                batch.getFeaturesMaskArrays(), batch.getLabelsMaskArrays()}) {
            if (arrays != null) {
                for (INDArray a : arrays) {
                    if (a != null && (a.isAttached() || a.wasClosed())) {
                        return false;
                    }
                }
            }
        }
        return true;
    }

    /** A single-input, single-output {@code DataSet} as a {@code MultiDataSet}, masks included. */
    public static MultiDataSet toMulti(org.nd4j.linalg.dataset.api.DataSet ds) {
        return new org.nd4j.linalg.dataset.MultiDataSet(new INDArray[]{ds.getFeatures()},
                new INDArray[]{ds.getLabels()},
                ds.getFeaturesMaskArray() == null ? null : new INDArray[]{ds.getFeaturesMaskArray()},
                ds.getLabelsMaskArray() == null ? null : new INDArray[]{ds.getLabelsMaskArray()});
    }

    // ---- For the rewrite (org.dl4jgrowth.rewrite): building and swapping in a new network state ----

    /** The configuration object the network holds now (every rewrite replaces it). */
    public abstract Object liveConfiguration();

    /** The number of parameters a network on {@code conf} (of this network's type) has. */
    public abstract long numParams(Object conf);

    /** A new network on {@code conf}, with zero parameters and a gradient view; no random generator is touched. */
    public NetworkAdapter scratch(Object conf) {
        return scratch(conf, null, null);
    }

    /**
     * A new network on {@code conf} whose flat parameter vector is {@code params} and whose flat
     * gradient view is {@code gradient} (both [1, n] rows, used as they are, not copied; their
     * contents are kept); null for either allocates it as DL4J does (parameters zero). No random
     * generator is touched.
     */
    public abstract NetworkAdapter scratch(Object conf, INDArray params, INDArray gradient);

    /**
     * Makes {@code flat} (a [1, n] row, n the network's parameter count) the network's flat gradient
     * array and each layer's or vertex's gradient view a slice of it, as DL4J's
     * {@code initGradientsView()} does with an array it allocates.
     */
    abstract void installGradientsView(INDArray flat);

    /** A new updater on this network over {@code state}, used as it is (DL4J does not initialise a given state). */
    public abstract BaseMultiLayerUpdater<?> newUpdater(INDArray state);

    /**
     * The length of the optimizer state an updater on this network has: the sum over every
     * parameter of its updater's state size (the order of the blocks does not change the sum).
     */
    public long updaterStateSize() {
        long n = 0;
        for (String layer : layerNames()) {
            org.deeplearning4j.nn.api.Layer l = layer(layer);
            Map<String, INDArray> table = l.paramTable(false);
            if (table == null) {
                continue;
            }
            for (Map.Entry<String, INDArray> e : table.entrySet()) {
                n += l.getConfig().getUpdaterByParam(e.getKey()).stateSize(e.getValue().length());
            }
        }
        return n;
    }

    /** The network's layer object (not its configuration) called {@code name}. */
    abstract org.deeplearning4j.nn.api.Layer layer(String name);

    /** The runtime layer named {@code name} (its parameters, input and gradient views); unknown names are refused. */
    public org.deeplearning4j.nn.api.Layer runtimeLayer(String name) {
        return layer(name);
    }

    /**
     * A layer on the way from a consumer to the loss, with the preprocessor DL4J applies to its input
     * (null if none) and, for the output layer, the index of its labels in a minibatch (-1 otherwise).
     */
    public static final class Link {
        public final org.deeplearning4j.nn.api.Layer layer;
        public final org.deeplearning4j.nn.conf.InputPreProcessor preProcessor;
        public final int labelsIndex;

        Link(org.deeplearning4j.nn.api.Layer layer, org.deeplearning4j.nn.conf.InputPreProcessor preProcessor,
             int labelsIndex) {
            this.layer = layer;
            this.preProcessor = preProcessor;
            this.labelsIndex = labelsIndex;
        }
    }

    /**
     * The layers after {@code consumer}, in order, up to and including the output layer its output
     * reaches, when they form a chain (each fed by the one before alone, feeding the next alone);
     * empty when {@code consumer} is itself an output layer. What the direct gradient statistic walks
     * back through with DL4J's own {@code backpropGradient}.
     *
     * @throws UnsupportedOperationException with the reason, when the way to the loss is not such a chain
     */
    public abstract List<Link> chainToLoss(String consumer);

    /**
     * One training-mode forward pass over {@code batch} with its features, labels and masks set as
     * {@code fit()} sets them, leaving every layer's input in place for a backward walk, and the
     * gradient views allocated. Writes the network's inputs, masks and, in a backward walk, its
     * gradient: for private copies only.
     */
    public abstract void forwardKeepingInputs(MultiDataSet batch);

    /** The layers in the order their parameters lie in the flat parameter vector. */
    abstract List<org.deeplearning4j.nn.api.Layer> layersInParameterOrder();

    /**
     * Where each parameter starts in the flat parameter vector (and, alike, in the flat gradient),
     * keyed {@code layer + "\u0000" + param}: layers in the flattening order, each layer's parameters
     * in its table's order, which is how DL4J lays them out (its updater relies on the same order).
     * Null if the layout does not add up to the network's parameter count.
     */
    public Map<String, Long> paramOffsets() {
        Map<String, Long> out = new java.util.HashMap<>();
        long offset = 0;
        for (org.deeplearning4j.nn.api.Layer l : layersInParameterOrder()) {
            Map<String, INDArray> table = l.paramTable(false);
            if (table == null) {
                continue;
            }
            String name = l.getConfig().getLayerName();
            for (Map.Entry<String, INDArray> e : table.entrySet()) {
                out.put(name + "\u0000" + e.getKey(), offset);
                offset += e.getValue().length();
            }
        }
        return offset == model().numParams() ? out : null;
    }

    /** The parameters of {@code layer} by name, as views into the network's flat parameter vector. */
    public abstract Map<String, INDArray> paramTable(String layer);

    /** The network's flat gradient array, or null. */
    public abstract INDArray gradientsView();

    /**
     * The last computed gradient of {@code layer}'s parameters by name (views shaped like the
     * parameters); empty when the network holds no gradient.
     */
    public abstract Map<String, INDArray> gradientTable(String layer);

    /** {@code layer}'s parameter-shaped views into the network's flat gradient array. */
    public abstract Map<String, INDArray> gradientViews(String layer);

    /** The network's updater, a new one on this network when {@code create}, or null when training has not made one yet. */
    public abstract BaseMultiLayerUpdater<?> updater(boolean create);

    /**
     * Puts a new configuration, parameter vector and updater state into the network, telling
     * {@code stepDone} after each of {@link RewriteStep#CONFIGURATION}, {@link RewriteStep#INITIALISATION}
     * and {@link RewriteStep#UPDATER}. Not atomic by itself: the rewrite snapshots the network's
     * fields around it and restores them on failure, with {@link #solverUpdaterRestorer()}.
     */
    public abstract void swap(Object conf, INDArray params, INDArray updaterState, INDArray gradient,
                              boolean gradientHeld, Consumer<RewriteStep> stepDone);

    /**
     * Installs {@code flat} as the re-initialised network's gradient array (used as it is, not
     * copied) and, when the network held a gradient before the swap, hands it a gradient over that
     * array, so listeners after a growth (StatsListener reads {@code model.gradient()} in
     * {@code iterationDone}) see one of the new shape.
     */
    void installGradient(INDArray flat, boolean held) {
        installGradientsView(flat);
        if (!held) {
            return;
        }
        INDArray view = gradientsView();
        org.deeplearning4j.nn.gradient.DefaultGradient g = new org.deeplearning4j.nn.gradient.DefaultGradient(view);
        for (String layer : layerNames()) {
            for (Map.Entry<String, INDArray> e : gradientViews(layer).entrySet()) {
                g.setGradientFor(gradientKey(layer, e.getKey()), e.getValue());
            }
        }
        setGradient(g);
    }

    static void checkGradientLength(INDArray flat, long params) {
        if (flat.length() != params) {
            throw new IllegalStateException("A gradient array of length " + flat.length() + " for a network with "
                    + params + " parameters");
        }
    }

    /** The key of a parameter in the network's {@code Gradient}: layer index or name, "_", parameter. */
    abstract String gradientKey(String layer, String param);

    abstract void setGradient(org.deeplearning4j.nn.gradient.Gradient g);

    Map<String, INDArray> gradientTableOf(org.deeplearning4j.nn.gradient.Gradient g, String layer) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        if (g == null) {
            return out;
        }
        String prefix = gradientKey(layer, "");
        for (Map.Entry<String, INDArray> e : g.gradientForVariable().entrySet()) {
            if (e.getKey().startsWith(prefix)) {
                out.put(e.getKey().substring(prefix.length()), e.getValue());
            }
        }
        return out;
    }

    /**
     * An action that puts the updater the network's optimizer holds now back into it (the optimizer
     * keeps its own reference, outside the network's fields); a no-op before training made one.
     */
    public abstract Runnable solverUpdaterRestorer();

    static void setField(Object target, Class<?> owner, String name, Object value) {
        try {
            java.lang.reflect.Field f = owner.getDeclaredField(name);
            f.setAccessible(true);
            f.set(target, value);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("This DL4J version lacks field " + owner.getSimpleName() + "." + name
                    + ": dl4j-growth supports DL4J 1.0.0-M2.1", e);
        }
    }

    static Object readField(Object target, Class<?> owner, String name) {
        try {
            java.lang.reflect.Field f = owner.getDeclaredField(name);
            f.setAccessible(true);
            return f.get(target);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("This DL4J version lacks field " + owner.getSimpleName() + "." + name
                    + ": dl4j-growth supports DL4J 1.0.0-M2.1", e);
        }
    }

    /** An error for an unknown layer name, listing the known ones. */
    IllegalArgumentException unknownLayer(String layer) {
        return new IllegalArgumentException("No layer named '" + layer + "' in this " + typeName() + "; layers: "
                + layerNames());
    }

    private static final class MlnAdapter extends NetworkAdapter {
        private final MultiLayerNetwork net;

        MlnAdapter(MultiLayerNetwork net) {
            this.net = net;
        }

        @Override
        public Model model() {
            return net;
        }

        @Override
        public String typeName() {
            return "MultiLayerNetwork";
        }

        @Override
        public boolean initialised() {
            return Boolean.TRUE.equals(readField(net, MultiLayerNetwork.class, "initCalled"));
        }

        @Override
        public long iterationCount() {
            return net.getLayerWiseConfigurations().getIterationCount();
        }

        @Override
        public int epochCount() {
            return net.getLayerWiseConfigurations().getEpochCount();
        }

        @Override
        public void setEpochCount(int epochs) {
            net.getLayerWiseConfigurations().setEpochCount(epochs);
        }

        @Override
        public String configurationJson() {
            return net.getLayerWiseConfigurations().toJson();
        }

        @Override
        public BaseMultiLayerUpdater<?> ensureUpdater() {
            return (BaseMultiLayerUpdater<?>) net.getUpdater(true);
        }

        @Override
        public void setUpdater(BaseMultiLayerUpdater<?> updater) {
            net.setUpdater((MultiLayerUpdater) updater);
        }

        @Override
        public <T> T match(java.util.function.Function<MultiLayerNetwork, T> mln,
                           java.util.function.Function<ComputationGraph, T> graph) {
            return mln.apply(net);
        }

        @Override
        public Collection<TrainingListener> listeners() {
            return net.getListeners();
        }

        @Override
        public Object cloneConfiguration() {
            MultiLayerConfiguration old = net.getLayerWiseConfigurations();
            MultiLayerConfiguration c = old.clone();
            c.setIterationCount(old.getIterationCount());
            c.setEpochCount(old.getEpochCount());
            return c;
        }

        @Override
        public Layer layerConfiguration(String layer) {
            return net.getLayerWiseConfigurations().getConf(index(layer)).getLayer();
        }

        @Override
        public List<String> layerNames() {
            MultiLayerConfiguration c = net.getLayerWiseConfigurations();
            String[] names = new String[c.getConfs().size()];
            for (int i = 0; i < names.length; i++) {
                names[i] = c.getConf(i).getLayer().getLayerName();
            }
            return List.of(names);
        }

        private int index(String layer) {
            int i = layerNames().indexOf(layer);
            if (i < 0) {
                throw unknownLayer(layer);
            }
            return i;
        }

        @Override
        public MultiDataSet heldBatch() {
            INDArray x = net.getInput();
            INDArray y = net.getLabels();
            if (x == null || y == null) {
                return null;
            }
            // fit() hands the features mask to the layers (MultiLayerNetwork keeps no field for it).
            // A first dense layer without a preprocessor holds it exactly as given; other layers
            // hold a transformed mask (or none: a convolution only passes it on), so a masked
            // minibatch there cannot be reconstructed and is refused rather than used unmasked.
            INDArray featuresMask = null;
            org.deeplearning4j.nn.api.Layer[] layers = net.getLayers();
            for (int i = 0; i < layers.length - 1; i++) {
                if (layers[i].getMaskArray() != null) {
                    boolean exact = i == 0 && net.getLayerWiseConfigurations().getInputPreProcess(0) == null
                            && layers[0].conf().getLayer() instanceof org.deeplearning4j.nn.conf.layers.DenseLayer;
                    if (!exact) {
                        throw new IllegalStateException("The minibatch this MultiLayerNetwork trains on has a features "
                                + "mask that cannot be read back from layer '" + layers[i].conf().getLayer().getLayerName()
                                + "' (only a first DenseLayer without an input preprocessor holds it as given): give "
                                + "the growth data explicitly with growthData(...)");
                    }
                    featuresMask = layers[0].getMaskArray();
                    break;
                }
            }
            INDArray labelsMask = net.getOutputLayer().getMaskArray();
            return new org.nd4j.linalg.dataset.MultiDataSet(new INDArray[]{x}, new INDArray[]{y},
                    featuresMask == null ? null : new INDArray[]{featuresMask},
                    labelsMask == null ? null : new INDArray[]{labelsMask});
        }

        @Override
        public NetworkAdapter privateCopy() {
            return copy(false);
        }

        @Override
        public NetworkAdapter privateCopyWithoutWorkspaces() {
            return copy(true);
        }

        @Override
        public Object cloneConfigurationWithoutWorkspaces() {
            MultiLayerConfiguration conf = (MultiLayerConfiguration) cloneConfiguration();
            conf.setTrainingWorkspaceMode(org.deeplearning4j.nn.conf.WorkspaceMode.NONE);
            conf.setInferenceWorkspaceMode(org.deeplearning4j.nn.conf.WorkspaceMode.NONE);
            return conf;
        }

        private NetworkAdapter copy(boolean noWorkspaces) {
            Object c = noWorkspaces ? cloneConfigurationWithoutWorkspaces() : cloneConfiguration();
            MultiLayerConfiguration conf = (MultiLayerConfiguration) c;
            MultiLayerNetwork copy = new MultiLayerNetwork(conf);
            copy.init(net.params().dup(), false);
            return new MlnAdapter(copy);
        }

        @Override
        public NetworkAdapter copyReplacing(Map<String, Layer> replacements) {
            MultiLayerConfiguration conf = (MultiLayerConfiguration) cloneConfiguration();
            for (Map.Entry<String, Layer> e : replacements.entrySet()) {
                int at = -1;
                for (int i = 0; i < conf.getConfs().size(); i++) {
                    if (e.getKey().equals(conf.getConf(i).getLayer().getLayerName())) {
                        at = i;
                    }
                }
                Preconditions.checkArgument(at >= 0, "No layer named '%s' to replace", e.getKey());
                Layer l = e.getValue().clone();
                l.setLayerName(e.getKey());
                conf.getConf(at).setLayer(l);
            }
            MultiLayerNetwork copy = new MultiLayerNetwork(conf);
            copy.init();
            MlnAdapter out = new MlnAdapter(copy);
            out.copyParamsFrom(this, replacements.keySet());
            return out;
        }

        @Override
        public void computeGradient(MultiDataSet batch) {
            setBatch(batch);
            net.computeGradientAndScore();
        }

        /** Features, labels and masks set as {@code fit()} sets them. */
        private void setBatch(MultiDataSet batch) {
            if (batch.numFeatureArrays() != 1 || batch.numLabelsArrays() != 1) {
                throw new IllegalArgumentException("A MultiLayerNetwork takes one features and one labels array per "
                        + "minibatch (got: " + batch.numFeatureArrays() + " and " + batch.numLabelsArrays() + ")");
            }
            net.setInput(batch.getFeatures(0));
            net.setLabels(batch.getLabels(0));
            net.clearLayerMaskArrays();
            net.setLayerMaskArrays(batch.getFeaturesMaskArray(0), batch.getLabelsMaskArray(0));
        }

        @Override
        public INDArray gradient(String layer, String param) {
            return net.gradient().getGradientFor(gradientKey(layer, param));
        }

        @Override
        public Object liveConfiguration() {
            return net.getLayerWiseConfigurations();
        }

        @Override
        public long numParams(Object conf) {
            long n = 0;
            for (NeuralNetConfiguration nnc : ((MultiLayerConfiguration) conf).getConfs()) {
                n += nnc.getLayer().initializer().numParams(nnc);
            }
            return n;
        }

        @Override
        public NetworkAdapter scratch(Object conf, INDArray params, INDArray gradient) {
            MultiLayerConfiguration c = (MultiLayerConfiguration) conf;
            MultiLayerNetwork s = new MultiLayerNetwork(c);
            s.init(params != null ? params : Nd4j.zeros(c.getDataType(), 1, numParams(c)), false);
            MlnAdapter a = new MlnAdapter(s);
            if (gradient != null) {
                a.installGradientsView(gradient);
            } else {
                s.initGradientsView();
            }
            return a;
        }

        @Override
        public Map<String, INDArray> paramTable(String layer) {
            index(layer);
            return net.getLayer(layer).paramTable(false);
        }

        @Override
        public INDArray gradientsView() {
            return net.getFlattenedGradients();
        }

        @Override
        public BaseMultiLayerUpdater<?> updater(boolean create) {
            return create ? new MultiLayerUpdater(net) : (BaseMultiLayerUpdater<?>) net.getUpdater(false);
        }

        @Override
        public BaseMultiLayerUpdater<?> newUpdater(INDArray state) {
            return new MultiLayerUpdater(net, state);
        }

        @Override
        org.deeplearning4j.nn.api.Layer layer(String name) {
            index(name);
            return net.getLayer(name);
        }

        @Override
        public List<Link> chainToLoss(String consumer) {
            org.deeplearning4j.nn.api.Layer[] layers = net.getLayers();
            List<Link> out = new java.util.ArrayList<>();
            for (int i = index(consumer) + 1; i < layers.length; i++) {
                out.add(new Link(layers[i], net.getLayerWiseConfigurations().getInputPreProcess(i),
                        i == layers.length - 1 ? 0 : -1));
            }
            org.deeplearning4j.nn.api.Layer last = layers[layers.length - 1];
            if (!(last instanceof org.deeplearning4j.nn.api.layers.IOutputLayer)) {
                throw new UnsupportedOperationException("the network's last layer '" + last.conf().getLayer()
                        .getLayerName() + "' is a " + last.getClass().getSimpleName() + ", not an output layer");
            }
            return out;
        }

        @Override
        public void forwardKeepingInputs(MultiDataSet batch) {
            setBatch(batch);
            if (net.getFlattenedGradients() == null) {
                net.initGradientsView();
            }
            net.feedForward(true, false);
        }

        @Override
        List<org.deeplearning4j.nn.api.Layer> layersInParameterOrder() {
            return java.util.Arrays.asList(net.getLayers());
        }

        @Override
        void installGradientsView(INDArray flat) {
            // As MultiLayerNetwork.initGradientsView(), over the given array: layers in order, each
            // taking as many entries as it has parameters.
            setField(net, MultiLayerNetwork.class, "flattenedGradients", flat);
            INDArray row = flat.reshape(flat.length());
            long offset = 0;
            for (org.deeplearning4j.nn.api.Layer l : net.getLayers()) {
                long n = l.numParams();
                if (n > 0) {
                    l.setBackpropGradientsViewArray(row.get(NDArrayIndex.interval(offset, offset + n)));
                }
                offset += n;
            }
            checkGradientLength(flat, offset);
        }

        @Override
        public Map<String, INDArray> gradientTable(String layer) {
            return gradientTableOf(net.gradient(), layer);
        }

        @Override
        public Map<String, INDArray> gradientViews(String layer) {
            org.deeplearning4j.nn.api.Layer l = net.getLayer(layer);
            return l.getGradientsViewArray() == null ? Map.of()
                    : l.conf().getLayer().initializer().getGradientsFromFlattened(l.conf(), l.getGradientsViewArray());
        }

        @Override
        String gradientKey(String layer, String param) {
            return index(layer) + "_" + param;
        }

        @Override
        void setGradient(org.deeplearning4j.nn.gradient.Gradient g) {
            net.setGradient(g);
        }

        @Override
        public void swap(Object conf, INDArray params, INDArray updaterState, INDArray gradient,
                         boolean gradientHeld, Consumer<RewriteStep> stepDone) {
            net.setLayerWiseConfigurations((MultiLayerConfiguration) conf);
            stepDone.accept(RewriteStep.CONFIGURATION);
            setField(net, MultiLayerNetwork.class, "initCalled", false);
            setField(net, MultiLayerNetwork.class, "layers", null);
            setField(net, MultiLayerNetwork.class, "layerMap", new LinkedHashMap<>());
            setField(net, MultiLayerNetwork.class, "flattenedGradients", null);
            net.setGradient(null);
            net.init(params, false);
            installGradient(gradient, gradientHeld);
            stepDone.accept(RewriteStep.INITIALISATION);
            net.setUpdater(new MultiLayerUpdater(net, updaterState));
            stepDone.accept(RewriteStep.UPDATER);
        }

        @Override
        public Runnable solverUpdaterRestorer() {
            Solver solver = (Solver) readField(net, MultiLayerNetwork.class, "solver");
            if (solver == null) {
                return () -> { };
            }
            Updater old = solver.getOptimizer().getUpdater(false);
            return () -> solver.getOptimizer().setUpdater(old);
        }
    }

    private static final class GraphAdapter extends NetworkAdapter {
        private final ComputationGraph graph;

        GraphAdapter(ComputationGraph graph) {
            this.graph = graph;
        }

        @Override
        public Model model() {
            return graph;
        }

        @Override
        public String typeName() {
            return "ComputationGraph";
        }

        @Override
        public boolean initialised() {
            return Boolean.TRUE.equals(readField(graph, ComputationGraph.class, "initCalled"));
        }

        @Override
        public long iterationCount() {
            return graph.getConfiguration().getIterationCount();
        }

        @Override
        public int epochCount() {
            return graph.getConfiguration().getEpochCount();
        }

        @Override
        public void setEpochCount(int epochs) {
            graph.getConfiguration().setEpochCount(epochs);
        }

        @Override
        public String configurationJson() {
            return graph.getConfiguration().toJson();
        }

        @Override
        public BaseMultiLayerUpdater<?> ensureUpdater() {
            return graph.getUpdater(true);
        }

        @Override
        public void setUpdater(BaseMultiLayerUpdater<?> updater) {
            graph.setUpdater((ComputationGraphUpdater) updater);
        }

        @Override
        public <T> T match(java.util.function.Function<MultiLayerNetwork, T> mln,
                           java.util.function.Function<ComputationGraph, T> graph) {
            return graph.apply(this.graph);
        }

        @Override
        public Collection<TrainingListener> listeners() {
            return graph.getListeners();
        }

        @Override
        public Object cloneConfiguration() {
            ComputationGraphConfiguration old = graph.getConfiguration();
            ComputationGraphConfiguration c = old.clone();
            c.setIterationCount(old.getIterationCount());
            c.setEpochCount(old.getEpochCount());
            return c;
        }

        @Override
        public Layer layerConfiguration(String layer) {
            Object v = graph.getConfiguration().getVertices().get(layer);
            if (!(v instanceof LayerVertex)) {
                throw unknownLayer(layer);
            }
            return ((LayerVertex) v).getLayerConf().getLayer();
        }

        @Override
        public List<String> layerNames() {
            return List.copyOf(graph.getConfiguration().getVertices().entrySet().stream()
                    .filter(e -> e.getValue() instanceof LayerVertex).map(java.util.Map.Entry::getKey)
                    .collect(java.util.stream.Collectors.toList()));
        }

        @Override
        public MultiDataSet heldBatch() {
            INDArray[] x = graph.getInputs();
            INDArray[] y = labels(graph);
            if (x == null || y == null || java.util.Arrays.asList(x).contains(null)
                    || java.util.Arrays.asList(y).contains(null)) {
                return null;
            }
            return new org.nd4j.linalg.dataset.MultiDataSet(x.clone(), y.clone(), copyOf(graph.getInputMaskArrays()),
                    copyOf(graph.getLabelMaskArrays()));
        }

        private static INDArray[] copyOf(INDArray[] a) {
            return a == null ? null : a.clone();
        }

        /** ComputationGraph keeps the current minibatch's labels in a private field without a getter. */
        private static INDArray[] labels(ComputationGraph g) {
            return (INDArray[]) readField(g, ComputationGraph.class, "labels");
        }

        @Override
        public NetworkAdapter privateCopy() {
            return copy(false);
        }

        @Override
        public NetworkAdapter privateCopyWithoutWorkspaces() {
            return copy(true);
        }

        @Override
        public Object cloneConfigurationWithoutWorkspaces() {
            ComputationGraphConfiguration conf = (ComputationGraphConfiguration) cloneConfiguration();
            conf.setTrainingWorkspaceMode(org.deeplearning4j.nn.conf.WorkspaceMode.NONE);
            conf.setInferenceWorkspaceMode(org.deeplearning4j.nn.conf.WorkspaceMode.NONE);
            return conf;
        }

        private NetworkAdapter copy(boolean noWorkspaces) {
            Object c = noWorkspaces ? cloneConfigurationWithoutWorkspaces() : cloneConfiguration();
            ComputationGraphConfiguration conf = (ComputationGraphConfiguration) c;
            ComputationGraph copy = new ComputationGraph(conf);
            copy.init(graph.params().dup(), false);
            return new GraphAdapter(copy);
        }

        @Override
        public NetworkAdapter copyReplacing(Map<String, Layer> replacements) {
            ComputationGraphConfiguration conf = (ComputationGraphConfiguration) cloneConfiguration();
            for (Map.Entry<String, Layer> e : replacements.entrySet()) {
                org.deeplearning4j.nn.conf.graph.GraphVertex v = conf.getVertices().get(e.getKey());
                Preconditions.checkArgument(v instanceof org.deeplearning4j.nn.conf.graph.LayerVertex,
                        "No layer named '%s' to replace", e.getKey());
                Layer l = e.getValue().clone();
                l.setLayerName(e.getKey());
                ((org.deeplearning4j.nn.conf.graph.LayerVertex) v).getLayerConf().setLayer(l);
            }
            ComputationGraph copy = new ComputationGraph(conf);
            copy.init();
            GraphAdapter out = new GraphAdapter(copy);
            out.copyParamsFrom(this, replacements.keySet());
            return out;
        }

        @Override
        public void computeGradient(MultiDataSet batch) {
            setBatch(batch);
            graph.computeGradientAndScore();
        }

        /** Inputs, labels and masks set as {@code fit()} sets them. */
        private void setBatch(MultiDataSet batch) {
            graph.setInputs(batch.getFeatures());
            graph.setLabels(batch.getLabels());
            graph.setLayerMaskArrays(batch.getFeaturesMaskArrays(), batch.getLabelsMaskArrays());
        }

        @Override
        public INDArray gradient(String layer, String param) {
            layerConfiguration(layer);
            return graph.gradient().getGradientFor(layer + "_" + param);
        }

        @Override
        public Object liveConfiguration() {
            return graph.getConfiguration();
        }

        @Override
        public long numParams(Object conf) {
            long n = 0;
            for (GraphVertex v : ((ComputationGraphConfiguration) conf).getVertices().values()) {
                n += v.numParams(true);
            }
            return n;
        }

        @Override
        public NetworkAdapter scratch(Object conf, INDArray params, INDArray gradient) {
            ComputationGraphConfiguration c = (ComputationGraphConfiguration) conf;
            ComputationGraph s = new ComputationGraph(c);
            s.init(params != null ? params : Nd4j.zeros(c.getDataType(), 1, numParams(c)), false);
            GraphAdapter a = new GraphAdapter(s);
            if (gradient != null) {
                a.installGradientsView(gradient);
            } else {
                s.initGradientsView();
            }
            return a;
        }

        @Override
        public Map<String, INDArray> paramTable(String layer) {
            layerConfiguration(layer);
            return graph.getLayer(layer).paramTable(false);
        }

        @Override
        public INDArray gradientsView() {
            return graph.getFlattenedGradients();
        }

        @Override
        public BaseMultiLayerUpdater<?> updater(boolean create) {
            return create ? new ComputationGraphUpdater(graph) : graph.getUpdater(false);
        }

        @Override
        public BaseMultiLayerUpdater<?> newUpdater(INDArray state) {
            return new ComputationGraphUpdater(graph, state);
        }

        @Override
        org.deeplearning4j.nn.api.Layer layer(String name) {
            layerConfiguration(name);
            return graph.getLayer(name);
        }

        @Override
        public List<Link> chainToLoss(String consumer) {
            layerConfiguration(consumer);
            org.deeplearning4j.nn.graph.vertex.GraphVertex[] vertices = graph.getVertices();
            org.deeplearning4j.nn.graph.vertex.GraphVertex v = graph.getVertex(consumer);
            List<Link> out = new java.util.ArrayList<>();
            while (!v.isOutputVertex()) {
                org.deeplearning4j.nn.graph.vertex.VertexIndices[] next = v.getOutputVertices();
                if (next == null || next.length != 1) {
                    throw new UnsupportedOperationException("vertex '" + v.getVertexName() + "' feeds "
                            + (next == null ? 0 : next.length) + " vertices, not one");
                }
                org.deeplearning4j.nn.graph.vertex.GraphVertex n = vertices[next[0].getVertexIndex()];
                if (!(n instanceof org.deeplearning4j.nn.graph.vertex.impl.LayerVertex) || n.getNumInputArrays() != 1) {
                    throw new UnsupportedOperationException("vertex '" + n.getVertexName() + "' after '"
                            + v.getVertexName() + "' is a " + n.getClass().getSimpleName() + " with "
                            + n.getNumInputArrays() + " inputs, not a layer with one");
                }
                out.add(new Link(n.getLayer(), ((org.deeplearning4j.nn.graph.vertex.impl.LayerVertex) n)
                        .getLayerPreProcessor(), n.isOutputVertex() ? labelsIndex(n.getVertexName()) : -1));
                v = n;
            }
            if (!(v.getLayer() instanceof org.deeplearning4j.nn.api.layers.IOutputLayer)) {
                throw new UnsupportedOperationException("output vertex '" + v.getVertexName() + "' is a "
                        + v.getLayer().getClass().getSimpleName() + ", not an output layer");
            }
            return out;
        }

        /** The index of the labels of output layer {@code layer} in a minibatch. */
        private int labelsIndex(String layer) {
            int i = graph.getConfiguration().getNetworkOutputs().indexOf(layer);
            if (i < 0) {
                throw new IllegalArgumentException("Layer '" + layer + "' is not an output of the graph (outputs: "
                        + graph.getConfiguration().getNetworkOutputs() + ")");
            }
            return i;
        }

        @Override
        public void forwardKeepingInputs(MultiDataSet batch) {
            setBatch(batch);
            if (graph.getFlattenedGradients() == null) {
                graph.initGradientsView();
            }
            graph.feedForward(batch.getFeatures(), true, false);
        }

        @Override
        List<org.deeplearning4j.nn.api.Layer> layersInParameterOrder() {
            // As ComputationGraph.init() flattens: vertices in topological order.
            List<org.deeplearning4j.nn.api.Layer> out = new java.util.ArrayList<>();
            org.deeplearning4j.nn.graph.vertex.GraphVertex[] vertices = graph.getVertices();
            for (int idx : graph.topologicalSortOrder()) {
                if (vertices[idx].hasLayer()) {
                    out.add(vertices[idx].getLayer());
                } else if (vertices[idx].numParams() > 0) {
                    return List.of();   // parameters outside layers: the sum check refuses the layout
                }
            }
            return out;
        }

        @Override
        void installGradientsView(INDArray flat) {
            // As ComputationGraph.initGradientsView(), over the given array: vertices in topological
            // order, each taking as many entries as it has parameters.
            setField(graph, ComputationGraph.class, "flattenedGradients", flat);
            INDArray row = flat.reshape(flat.length());
            org.deeplearning4j.nn.graph.vertex.GraphVertex[] vertices = graph.getVertices();
            long offset = 0;
            for (int idx : graph.topologicalSortOrder()) {
                org.deeplearning4j.nn.graph.vertex.GraphVertex v = vertices[idx];
                long n = v.numParams();
                if (n > 0) {
                    v.setBackpropGradientsViewArray(row.get(NDArrayIndex.interval(offset, offset + n)));
                }
                offset += n;
            }
            checkGradientLength(flat, offset);
        }

        @Override
        public Map<String, INDArray> gradientTable(String layer) {
            return gradientTableOf(graph.gradient(), layer);
        }

        @Override
        public Map<String, INDArray> gradientViews(String layer) {
            org.deeplearning4j.nn.api.Layer l = graph.getLayer(layer);
            return l.getGradientsViewArray() == null ? Map.of()
                    : l.conf().getLayer().initializer().getGradientsFromFlattened(l.conf(), l.getGradientsViewArray());
        }

        @Override
        String gradientKey(String layer, String param) {
            return layer + "_" + param;
        }

        @Override
        void setGradient(org.deeplearning4j.nn.gradient.Gradient g) {
            graph.setGradient(g);
        }

        @Override
        public void swap(Object conf, INDArray params, INDArray updaterState, INDArray gradient,
                         boolean gradientHeld, Consumer<RewriteStep> stepDone) {
            ComputationGraphConfiguration c = (ComputationGraphConfiguration) conf;
            setField(graph, ComputationGraph.class, "configuration", c);
            setField(graph, ComputationGraph.class, "defaultConfiguration", c.getDefaultConfiguration());
            stepDone.accept(RewriteStep.CONFIGURATION);
            setField(graph, ComputationGraph.class, "initCalled", false);
            setField(graph, ComputationGraph.class, "flattenedGradients", null);
            graph.setGradient(null);
            graph.init(params, false);
            installGradient(gradient, gradientHeld);
            stepDone.accept(RewriteStep.INITIALISATION);
            graph.setUpdater(new ComputationGraphUpdater(graph, updaterState));
            stepDone.accept(RewriteStep.UPDATER);
        }

        @Override
        public Runnable solverUpdaterRestorer() {
            Solver solver = (Solver) readField(graph, ComputationGraph.class, "solver");
            if (solver == null) {
                return () -> { };
            }
            ComputationGraphUpdater old = solver.getOptimizer().getComputationGraphUpdater(false);
            return () -> solver.getOptimizer().setUpdaterComputationGraph(old);
        }
    }
}
