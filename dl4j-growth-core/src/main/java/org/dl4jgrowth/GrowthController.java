package org.dl4jgrowth;

import com.google.common.base.Preconditions;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.rewrite.PreparedRewrite;
import org.dl4jgrowth.rewrite.RewriteResult;
import org.dl4jgrowth.when.TrainingProgress;
import org.nd4j.linalg.api.rng.Random;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Grows one network by a {@link GrowthPolicy}: asks the policy when, where and how much, performs
 * the growth through {@link NetworkRewrite} (in place, optimizer state kept), and records a
 * {@link GrowthEvent}. Free of listener assumptions: {@link GrowthListener} calls it from DL4J's
 * training callbacks, and a distributed driver can call {@link #onEpochEnd} or {@link #growNow}
 * between rounds.
 *
 * <p>A controller belongs to the first network it sees and refuses any other: its history, counts
 * and random generator describe that network alone. Use one controller per network
 * ({@link GrowthPolicy#newController()}).
 */
public final class GrowthController {
    private static final Logger log = LoggerFactory.getLogger(GrowthController.class);
    /** The note key under which initialisers that compute an SVD name its engine. */
    private static final String SVD_ENGINE_NOTE = "svdEngine";

    private final GrowthPolicy policy;
    private final GrowthHistory history = new GrowthHistory();
    private Random random;
    private Model network;
    private org.nd4j.linalg.dataset.api.iterator.DataSetIterator growthData;
    private int growthBatches;
    private long lastGrowthIteration = -1;
    private int lastGrowthEpoch = -1;

    GrowthController(GrowthPolicy policy) {
        this.policy = Preconditions.checkNotNull(policy, "policy");
    }

    /**
     * Data for initialisers that need a training signal (GradMax): up to {@code batches} minibatches
     * of {@code data}, reset before each growth. Give an iterator of its own, not the one being
     * trained on. Without it, the minibatch the network is training on is used.
     */
    public synchronized GrowthController growthData(org.nd4j.linalg.dataset.api.iterator.DataSetIterator data,
                                                    int batches) {
        Preconditions.checkNotNull(data, "growthData(data, batches): data must not be null");
        Preconditions.checkArgument(batches >= 1, "growthData(data, batches): batches must be at least 1 (got: %s)",
                batches);
        this.growthData = data;
        this.growthBatches = batches;
        return this;
    }

    public GrowthPolicy policy() {
        return policy;
    }

    public GrowthHistory history() {
        return history;
    }

    /** Called after each training iteration; grows if the trigger says so. */
    public synchronized Optional<GrowthEvent> onIteration(Model net, long iteration, int epoch) {
        return consider(net, iteration, epoch, false);
    }

    /** Called at the end of each epoch (before DL4J increments its epoch count); grows if the trigger says so. */
    public synchronized Optional<GrowthEvent> onEpochEnd(Model net) {
        return consider(net, iterationCount(net), epochCount(net), true);
    }

    /** Grows now, whatever the trigger says (still within the caps). */
    public synchronized Optional<GrowthEvent> growNow(Model net) {
        bind(net);
        return grow(net, progress(iterationCount(net), epochCount(net), false), signals(net));
    }

    private Optional<GrowthEvent> consider(Model net, long iteration, int epoch, boolean atEpochEnd) {
        bind(net);
        TrainingProgress p = progress(iteration, epoch, atEpochEnd);
        org.dl4jgrowth.signal.StatisticSignals signals = signals(net);
        if (!policy.when().shouldGrow(p, signals)) {
            return Optional.empty();
        }
        return grow(net, p, signals);
    }

    /** Lazy: nothing is computed unless a trigger, selector or initialiser asks. */
    private org.dl4jgrowth.signal.StatisticSignals signals(Model net) {
        return new org.dl4jgrowth.signal.StatisticSignals(net, () -> growthBatches(net),
                () -> NetworkRewrite.growableLayers(net));
    }

    private TrainingProgress progress(long iteration, int epoch, boolean atEpochEnd) {
        return TrainingProgress.builder().iteration(iteration).epoch(epoch).atEpochEnd(atEpochEnd)
                .growthHistory(history.size(), lastGrowthIteration, lastGrowthEpoch).build();
    }

    /** Ties the controller to its network and checks the policy's layer names against it once. */
    private void bind(Model net) {
        Preconditions.checkNotNull(net, "network");
        if (network == null) {
            List<String> growable = NetworkRewrite.growableLayers(net);
            for (String layer : policy.where().namedLayers()) {
                NetworkRewrite.width(net, layer);   // unknown or unsupported class: a clear error
                if (!growable.contains(layer)) {
                    throw new IllegalArgumentException("Layer '" + layer + "' named by the growth policy cannot be "
                            + "grown in this network (its path to its consumers is not supported); growable layers: "
                            + growable);
                }
            }
            network = net;
        } else if (network != net) {
            throw new IllegalStateException("This growth controller already grows another network ("
                    + network.getClass().getSimpleName() + "@" + Integer.toHexString(System.identityHashCode(network))
                    + "): its history and random generator belong to that network. Use one GrowthListener or "
                    + "GrowthPolicy.newController() per network.");
        }
    }

    private Optional<GrowthEvent> grow(Model net, TrainingProgress p, org.dl4jgrowth.signal.StatisticSignals signals) {
        // Layers already at their cap are no candidates, so signal-driven selectors look elsewhere.
        List<String> growable = new ArrayList<>();
        for (String layer : signals.growable()) {
            if (NetworkRewrite.width(net, layer) < policy.maxWidth(layer)) {
                growable.add(layer);
            }
        }
        List<String> chosen = policy.where().select(growable, history.size(), signals);
        Map<String, int[]> widths = new LinkedHashMap<>();
        for (String layer : chosen) {
            int width = NetworkRewrite.width(net, layer);
            int target = Math.min(policy.howMuch().grownWidth(width), policy.maxWidth(layer));
            if (target > width) {
                widths.put(layer, new int[]{width, target});
            }
        }
        if (widths.isEmpty()) {
            log.debug("No growth at iteration {}: {} already at their maximum width", p.iteration(), chosen);
            return Optional.empty();
        }
        NetworkRewrite rewrite = NetworkRewrite.of(net).initializer(policy.initializer()).random(random())
                .statistics(signals);
        widths.forEach((layer, w) -> rewrite.widen(layer, w[1]));
        PreparedRewrite prepared = rewrite.prepare();
        if (prepared.numParamsAfter() > policy.maxParams()) {
            log.info("Growth skipped at iteration {}: {} would leave {} parameters, above maxParams {}",
                    p.iteration(), widths.keySet(), prepared.numParamsAfter(), policy.maxParams());
            return Optional.empty();
        }
        double score = net.score();
        RewriteResult r = prepared.apply();
        List<GrowthEvent.LayerGrowth> layers = new ArrayList<>();
        widths.forEach((layer, w) -> layers.add(new GrowthEvent.LayerGrowth(layer, w[0], w[1])));
        GrowthEvent event = new GrowthEvent(history.size(), p.iteration(), p.epoch(), p.atEpochEnd(), layers,
                policy.initializer(), r.paramsBefore(), r.paramsAfter(), score, r.nanos() / 1e6,
                DeviceReport.currentBackend(), svdEngines(r.notes()), r.notes());
        history.add(event);
        lastGrowthIteration = p.iteration();
        lastGrowthEpoch = p.epoch();
        log.info("{}", event);
        return Optional.of(event);
    }

    /**
     * The SVD engines the initialiser noted for the grown layers ({@code svdEngine}, as GradMax notes
     * it), distinct names in layer order joined with ","; {@code null} if no layer used one.
     */
    static String svdEngines(Map<String, Map<String, Object>> notes) {
        Set<String> engines = new LinkedHashSet<>();
        for (Map<String, Object> layerNotes : notes.values()) {
            Object engine = layerNotes.get(SVD_ENGINE_NOTE);
            if (engine != null) {
                engines.add(engine.toString());
            }
        }
        return engines.isEmpty() ? null : String.join(",", engines);
    }

    private List<org.nd4j.linalg.dataset.DataSet> growthBatches(Model net) {
        List<org.nd4j.linalg.dataset.DataSet> out = new ArrayList<>();
        if (growthData != null) {
            if (growthData.resetSupported()) {
                growthData.reset();
            }
            while (out.size() < growthBatches && growthData.hasNext()) {
                out.add(growthData.next());
            }
            return out;
        }
        org.nd4j.linalg.api.ndarray.INDArray x;
        org.nd4j.linalg.api.ndarray.INDArray y;
        if (net instanceof MultiLayerNetwork) {
            x = ((MultiLayerNetwork) net).getInput();
            y = ((MultiLayerNetwork) net).getLabels();
        } else {
            ComputationGraph g = (ComputationGraph) net;
            org.nd4j.linalg.api.ndarray.INDArray[] labels = graphLabels(g);
            boolean single = g.getInputs() != null && g.getInputs().length == 1 && labels != null
                    && labels.length == 1;
            x = single ? g.getInputs()[0] : null;
            y = single ? labels[0] : null;
        }
        if (x == null || y == null) {
            throw new IllegalStateException("The initializer needs growth data, and the network holds no current "
                    + "minibatch (or has several inputs or outputs): give data with GrowthListener.builder()"
                    + ".growthData(...) or GrowthController.growthData(...)");
        }
        out.add(new org.nd4j.linalg.dataset.DataSet(x, y));
        return out;
    }

    /** ComputationGraph keeps the current minibatch's labels in a private field without a getter. */
    private static org.nd4j.linalg.api.ndarray.INDArray[] graphLabels(ComputationGraph g) {
        try {
            java.lang.reflect.Field f = ComputationGraph.class.getDeclaredField("labels");
            f.setAccessible(true);
            return (org.nd4j.linalg.api.ndarray.INDArray[]) f.get(g);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("Cannot read the current labels of this ComputationGraph "
                    + "(dl4j-growth supports DL4J 1.0.0-M2.1); give growth data explicitly", e);
        }
    }

    /** One generator for all of this network's growths, so successive growths continue one stream. */
    private Random random() {
        if (random == null) {
            random = Nd4j.getRandomFactory().getNewRandomInstance(policy.seed());
        }
        return random;
    }

    static long iterationCount(Model net) {
        if (net instanceof MultiLayerNetwork) {
            return ((MultiLayerNetwork) net).getIterationCount();
        }
        if (net instanceof ComputationGraph) {
            return ((ComputationGraph) net).getIterationCount();
        }
        throw new IllegalArgumentException("Only MultiLayerNetwork and ComputationGraph can grow (got: "
                + net.getClass().getName() + ")");
    }

    static int epochCount(Model net) {
        if (net instanceof MultiLayerNetwork) {
            return ((MultiLayerNetwork) net).getEpochCount();
        }
        if (net instanceof ComputationGraph) {
            return ((ComputationGraph) net).getEpochCount();
        }
        throw new IllegalArgumentException("Only MultiLayerNetwork and ComputationGraph can grow (got: "
                + net.getClass().getName() + ")");
    }
}
