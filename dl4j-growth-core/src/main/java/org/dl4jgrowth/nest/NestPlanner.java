package org.dl4jgrowth.nest;

import org.dl4jgrowth.mask.ConnectionMasks;
import org.dl4jgrowth.plan.GrowthPlanner;
import org.dl4jgrowth.plan.GrowthProposal;
import org.dl4jgrowth.plan.PlanningContext;
import org.dl4jgrowth.when.GrowthTrigger;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.shade.guava.base.Preconditions;
import org.nd4j.shade.guava.collect.ImmutableList;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * NeST's growth and pruning (Dai, Yin, Jha, "NeST: A Neural Network Synthesis Tool Based on a
 * Grow-and-Prune Paradigm", arXiv 1711.02017), as a planner over {@link ConnectionMasks}, one
 * operation per planner (a {@link NestSchedule} strings them together): connection growth
 * (the default, below), neuron growth by the bridging gradient ({@link Builder#growNeurons}),
 * feature-map growth ({@link Builder#growFeatureMaps}), magnitude pruning
 * ({@link Builder#pruneConnections}) and dead-unit removal ({@link Builder#removeDeadUnits}).
 *
 * <p>The paper's <b>connection growth</b>: when the trigger fires, every masked layer (or the named
 * ones) wakes the dormant connections w whose |Σ ∂L/∂w| over the growth data (the paper's
 * |(1/N)·Hᵀ·G|, up to the factor 1/N, which a percentile does not see) is at or above the
 * {@code percentile}-th percentile of that value over the layer's dormant connections: the
 * ⌈(1 − percentile/100)·n⌉ largest of its n dormant connections, with every tie at the threshold
 * woken too, and none whose gradient is exactly 0. Woken connections start at weight 0 with zero
 * optimizer state (the mask held both at 0), as in the paper.
 *
 * <p>The gradient comes from the signals step ({@code GrowthSignals.weightGradientSums}, all
 * layers from the same passes, on a private copy where no mask applies), so the event records its
 * time and passes. The event changes no width; its {@link NestDetails} give, per layer, the
 * connections added, the threshold and the sparsity after.
 *
 * <p>Where we depart from the paper: the paper grows connections of every layer in one pass over
 * the training set; here the growth data are the listener's growth data (by default the current
 * minibatch), so give {@code growthData(...)} a representative sample.
 */
public final class NestPlanner implements GrowthPlanner {
    private static final long serialVersionUID = 1L;
    private final GrowthTrigger when;
    private final List<String> layers;
    private final double percentile;
    private final int featureMaps;
    private final int kernels;
    private final double prunePercentile;
    private final boolean removeUnits;
    private final int neurons;

    public NestPlanner(GrowthTrigger when, List<String> layers, double percentile) {
        this(when, layers, percentile, 0, 0, 0, false, 0);
    }

    @JsonCreator
    public NestPlanner(@JsonProperty("when") GrowthTrigger when, @JsonProperty("layers") List<String> layers,
                       @JsonProperty("percentile") double percentile, @JsonProperty("featureMaps") int featureMaps,
                       @JsonProperty("kernels") int kernels, @JsonProperty("prunePercentile") double prunePercentile,
                       @JsonProperty("removeUnits") boolean removeUnits, @JsonProperty("neurons") int neurons) {
        this.when = Preconditions.checkNotNull(when, "nest: when(trigger) is required");
        this.layers = ImmutableList.copyOf(layers == null ? List.of() : layers);
        Preconditions.checkArgument(percentile >= 0 && percentile < 100,
                "nest: growConnections(percentile) must be in [0, 100) (got: %s); 90 wakes the top 10%% of each "
                        + "layer's dormant connections", percentile);
        Preconditions.checkArgument(featureMaps >= 0 && kernels >= 0 && (featureMaps == 0) == (kernels == 0),
                "nest: growFeatureMaps(channels, kernels) needs both at least 1 (got: %s, %s)", featureMaps, kernels);
        Preconditions.checkArgument(featureMaps == 0 || !this.layers.isEmpty(),
                "nest: growFeatureMaps(...) grows the convolution layers named with layers(...); name at least one");
        Preconditions.checkArgument(prunePercentile >= 0 && prunePercentile < 100,
                "nest: pruneConnections(percentile) must be in (0, 100) (got: %s); 1 prunes the smallest 1%% of "
                        + "each layer's active connections", prunePercentile);
        Preconditions.checkArgument(neurons >= 0, "nest: growNeurons(count) needs a count of at least 1 (got: %s)",
                neurons);
        Preconditions.checkArgument(neurons == 0 || !this.layers.isEmpty(),
                "nest: growNeurons(...) grows the dense layers named with layers(...); name at least one");
        int operations = (prunePercentile > 0 ? 1 : 0) + (featureMaps > 0 ? 1 : 0) + (removeUnits ? 1 : 0)
                + (neurons > 0 ? 1 : 0);
        Preconditions.checkArgument(operations <= 1, "nest: give one operation per planner (growConnections is the "
                + "default; or one of pruneConnections, growFeatureMaps, growNeurons, removeDeadUnits), got %s",
                operations);
        this.removeUnits = removeUnits;
        this.neurons = neurons;
        this.percentile = percentile;
        this.featureMaps = featureMaps;
        this.kernels = kernels;
        this.prunePercentile = prunePercentile;
    }

    /** The percentile of |w| pruned per event (0: this planner does not prune). */
    @JsonProperty("prunePercentile")
    public double prunePercentile() {
        return prunePercentile;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Whether this planner removes dead units (see {@link Builder#removeDeadUnits()}). */
    @JsonProperty("removeUnits")
    public boolean removeUnits() {
        return removeUnits;
    }

    /** New neurons per neuron growth (0: this planner does not grow neurons). */
    @JsonProperty("neurons")
    public int neurons() {
        return neurons;
    }

    @JsonProperty("when")
    public GrowthTrigger when() {
        return when;
    }

    @JsonProperty("layers")
    public List<String> layers() {
        return layers;
    }

    @JsonProperty("percentile")
    public double percentile() {
        return percentile;
    }

    /** New channels per feature-map growth (0: this planner grows connections). */
    @JsonProperty("featureMaps")
    public int featureMaps() {
        return featureMaps;
    }

    /** Random draws r tried per feature-map growth. */
    @JsonProperty("kernels")
    public int kernels() {
        return kernels;
    }

    /**
     * The trigger's layers, and for feature-map growth the layers it grows (checked as growable when
     * the controller binds); connection growth may name output layers, which propose checks.
     */
    @Override
    public List<String> namedLayers() {
        List<String> out = new ArrayList<>(featureMaps > 0 || neurons > 0 ? layers : List.of());
        for (String l : when.namedLayers()) {
            if (!out.contains(l)) {
                out.add(l);
            }
        }
        return out;
    }

    @Override
    public Optional<GrowthProposal> propose(PlanningContext context) {
        ConnectionMasks masks = new ConnectionMasks(context.companions());
        for (String l : layers) {
            // Output layers take masks but cannot grow, so the controller's check of growable layers
            // does not apply: a typo is refused here, before the network changes.
            if (!context.network().layerNames().contains(l)) {
                throw new IllegalArgumentException("nest: layer '" + l + "' named in layers(...) does not exist; "
                        + "layers: " + context.network().layerNames());
            }
        }
        if (featureMaps > 0) {
            return growFeatureMaps(context);
        }
        if (neurons > 0) {
            return growNeurons(context, masks);
        }
        if (removeUnits) {
            return removeDeadUnits(context, masks);
        }
        if (prunePercentile > 0) {
            return prune(context, masks);
        }
        List<String> sites = new ArrayList<>();
        for (String l : layers.isEmpty() ? masks.layers() : layers) {
            if (masks.has(l)) {
                sites.add(l);
            }
        }
        if (sites.isEmpty()) {
            return Optional.empty();   // nothing dormant anywhere: no signal worth computing
        }
        if (!context.forced() && !when.shouldGrow(context.progress(), context.signals())) {
            return Optional.empty();
        }
        Map<String, INDArray> grads = context.signals().weightGradientSums(sites);
        GrowthProposal.Builder b = GrowthProposal.builder();
        Map<String, NestDetails.Layer> record = new LinkedHashMap<>();
        for (String l : sites) {
            INDArray mask = masks.get(l);
            Selection s = select(grads.get(l), mask, percentile);
            if (s.indices.length == 0) {
                continue;
            }
            b.wake(l, s.indices);
            long active = mask.sumNumber().longValue() + s.indices.length;
            record.put(l, new NestDetails.Layer(s.indices.length, 0, active, mask.length(), s.threshold));
        }
        if (record.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(b.details(new NestDetails("connections", record)).build());
    }

    /**
     * Feature-map growth: the named convolution layers take turns (one per event, so that a layer
     * and its consumer never grow together and each trial copy has the shapes of the real growth).
     * The layer's {@code featureMaps} new channels are drawn r = {@code kernels} times, fan-in
     * kernels and fan-out alike from the layers' own weight initialisation, each draw with a seed of
     * its own on a private copy; the draw with the lowest mean loss on the growth data is kept, and
     * proposed as its seed ({@link org.dl4jgrowth.how.SeededInit}), so the rewrite places exactly
     * the kept draw. The copy's batch norms run in training mode, as in training.
     */
    private Optional<GrowthProposal> growFeatureMaps(PlanningContext context) {
        List<String> open = belowCap(context);
        if (open.isEmpty() || (!context.forced() && !when.shouldGrow(context.progress(), context.signals()))) {
            return Optional.empty();
        }
        String layer = open.get(context.past().size() % open.size());
        int width = context.width(layer);
        int target = Math.min(width + featureMaps, context.maxWidth(layer));
        long[] seeds = new long[kernels];
        for (int c = 0; c < kernels; c++) {
            seeds[c] = context.random().nextLong();
        }
        org.dl4jgrowth.network.NetworkAdapter net = context.network();
        List<? extends org.nd4j.linalg.dataset.api.MultiDataSet> data =
                context.signals().compute(0, 0, () -> context.signals().growthData());
        long examples = 0;
        for (org.nd4j.linalg.dataset.api.MultiDataSet ds : data) {
            examples += ds.getFeatures(0).size(0);
        }
        final long n = examples;
        double[] losses = context.signals().compute((long) kernels * data.size(), kernels * n, () -> {
            double[] out = new double[kernels];
            try (org.nd4j.linalg.api.memory.MemoryWorkspace ws =
                         org.nd4j.linalg.factory.Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                for (int c = 0; c < kernels; c++) {
                    org.dl4jgrowth.network.NetworkAdapter trial = net.privateCopyWithoutWorkspaces();
                    org.dl4jgrowth.rewrite.NetworkRewrite.of(trial.model()).grow(layer, target - width)
                            .initializer(new org.dl4jgrowth.how.SeededInit(
                                    org.dl4jgrowth.how.UnitInitializer.random(), seeds[c])).apply();
                    out[c] = meanLoss(trial, data, n);
                }
            }
            return out;
        });
        int best = 0;
        for (int c = 1; c < kernels; c++) {
            if (losses[c] < losses[best]) {
                best = c;
            }
        }
        List<Long> seedList = new ArrayList<>();
        List<Double> lossList = new ArrayList<>();
        for (int c = 0; c < kernels; c++) {
            seedList.add(seeds[c]);
            lossList.add(losses[c]);
        }
        NestDetails.Layer record = new NestDetails.Layer(target - width, 0, target, target, losses[best], seedList,
                lossList);
        return Optional.of(GrowthProposal.builder().widen(layer, width, target)
                .initializer(layer, new org.dl4jgrowth.how.SeededInit(org.dl4jgrowth.how.UnitInitializer.random(),
                        seeds[best]))
                .details(new NestDetails("featureMaps", Map.of(layer, record))).build());
    }

    /** The named layers that may still grow (below their width caps), in the order named. */
    private List<String> belowCap(PlanningContext context) {
        List<String> open = new ArrayList<>();
        for (String l : layers) {
            if (context.width(l) < context.maxWidth(l)) {
                open.add(l);
            }
        }
        return open;
    }

    /** The mean per-example loss over {@code data}: DL4J's minibatch mean score, weighted by batch size. */
    static double meanLoss(org.dl4jgrowth.network.NetworkAdapter net,
                           List<? extends org.nd4j.linalg.dataset.api.MultiDataSet> data, long examples) {
        double sum = 0;
        for (org.nd4j.linalg.dataset.api.MultiDataSet ds : data) {
            net.computeGradient(ds);
            sum += net.model().score() * ds.getFeatures(0).size(0);
        }
        return sum / examples;
    }

    /**
     * Magnitude pruning (Han et al. 2015, NeST's pruning phase): each masked layer (or the named
     * ones) puts to sleep the k = ⌈prunePercentile·n/100⌉ of its n active connections with the
     * smallest |w|, ties by the smaller flat index; their weights and optimizer state become 0 at
     * once. A layer with a batch norm folded into it is pruned by the folded weights'
     * magnitudes ({@link #prunedMagnitudes}).
     */
    private Optional<GrowthProposal> prune(PlanningContext context, ConnectionMasks masks) {
        List<String> sites = new ArrayList<>();
        for (String l : layers.isEmpty() ? masks.layers() : layers) {
            if (masks.has(l)) {
                sites.add(l);
            }
        }
        if (sites.isEmpty() || (!context.forced() && !when.shouldGrow(context.progress(), context.signals()))) {
            return Optional.empty();
        }
        GrowthProposal.Builder b = GrowthProposal.builder();
        Map<String, NestDetails.Layer> record = new LinkedHashMap<>();
        for (String l : sites) {
            INDArray mask = masks.get(l);
            Selection s = smallest(prunedMagnitudes(context.network(), l), mask, prunePercentile);
            if (s.indices.length == 0) {
                continue;
            }
            b.prune(l, s.indices);
            long active = mask.sumNumber().longValue() - s.indices.length;
            record.put(l, new NestDetails.Layer(0, s.indices.length, active, mask.length(), s.threshold));
        }
        if (record.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(b.details(new NestDetails("prune", record)).build());
    }

    /**
     * The weights whose magnitudes pruning compares: {@code layer}'s W, or, when a batch norm folds
     * into it ({@link org.dl4jgrowth.network.BatchNorms#foldable}), the folded weights a_j·w: a unit
     * that its batch norm scales down weighs less than its raw weights say.
     */
    static INDArray prunedMagnitudes(org.dl4jgrowth.network.NetworkAdapter net, String layer) {
        INDArray w = net.paramTable(layer).get("W");
        String bn = org.dl4jgrowth.network.BatchNorms.foldable(net, layer);
        if (bn == null) {
            return w;
        }
        INDArray a = org.dl4jgrowth.network.BatchNorms.scale(net, bn).castTo(w.dataType());
        INDArray folded = w.dup('c');
        org.nd4j.linalg.factory.Nd4j.getExecutioner().exec(new org.nd4j.linalg.api.ops.impl.broadcast.BroadcastMulOp(
                folded, a, folded, w.rank() == 4 ? 0 : 1));
        return folded;
    }

    /**
     * Removes the units of the masked layers (or the named ones) that pruning left with no active
     * output connection, or with no active input connection and a constant output of 0
     * ({@link UnitConnections#removable}): each through a unit map that drops them, so every other
     * unit keeps its parameters, optimizer state and mask exactly and the network computes the same
     * function. A layer keeps at least one unit.
     */
    private Optional<GrowthProposal> removeDeadUnits(PlanningContext context, ConnectionMasks masks) {
        if (!context.forced() && !when.shouldGrow(context.progress(), context.signals())) {
            return Optional.empty();
        }
        List<String> candidates = new ArrayList<>();
        for (String l : context.growableLayers()) {
            // Any growable layer may have lost its outputs (its consumer's mask) or inputs (its own).
            if (layers.isEmpty() || layers.contains(l)) {
                candidates.add(l);
            }
        }
        Map<String, int[]> dead = new LinkedHashMap<>();
        for (String l : candidates) {
            int[] d = UnitConnections.of(context.network(), masks, l).removable();
            if (d.length > 0) {
                dead.put(l, d);
            }
        }
        return dropUnits(context, masks, dead, "removeUnits");
    }

    /**
     * The proposal that drops {@code dropped} units of each layer through unit maps, recorded as
     * {@code operation}: per layer touched (the narrowed ones and their consumers) the connections
     * removed, the active and total connections after, and the units removed. Counted on the masks
     * (every weight of an unmasked layer is active), so a connection between two dropped units is
     * counted once. Empty when nothing is dropped.
     */
    static Optional<GrowthProposal> dropUnits(PlanningContext context, ConnectionMasks masks,
                                              Map<String, int[]> dropped, String operation) {
        if (dropped.isEmpty()) {
            return Optional.empty();
        }
        org.dl4jgrowth.rewrite.NetworkRewrite rw = org.dl4jgrowth.rewrite.NetworkRewrite.of(context.network().model());
        GrowthProposal.Builder b = GrowthProposal.builder();
        dropped.forEach((l, units) -> {
            org.dl4jgrowth.rewrite.UnitMap map = org.dl4jgrowth.rewrite.UnitMap.drop(context.width(l), units);
            rw.unitMap(l, map);
            b.unitMap(l, map);
        });
        org.dl4jgrowth.rewrite.RewriteGeometry g = rw.plan();
        List<String> touched = new ArrayList<>(dropped.keySet());
        for (org.dl4jgrowth.rewrite.RewriteGeometry.Site site : g.sites()) {
            for (org.dl4jgrowth.rewrite.RewriteGeometry.Consumer c : site.consumers()) {
                if (!touched.contains(c.layer())) {
                    touched.add(c.layer());
                }
            }
        }
        Map<String, NestDetails.Layer> record = new LinkedHashMap<>();
        for (String l : touched) {
            long total = context.network().paramTable(l).get("W").length();
            long totalAfter = weightsAfter(context, g, l);
            long active = masks.has(l) ? masks.active(l) : total;
            long activeAfter = masks.has(l) ? activeAfter(masks.get(l), g, l) : totalAfter;
            record.put(l, NestDetails.Layer.units(0, active - activeAfter, activeAfter, totalAfter, 0,
                    dropped.containsKey(l) ? dropped.get(l).length : 0));
        }
        return Optional.of(b.details(new NestDetails(operation, record)).build());
    }

    /** The active entries of {@code layer}'s mask that the rewrite {@code g} keeps (its own units and its inputs). */
    private static long activeAfter(INDArray mask, org.dl4jgrowth.rewrite.RewriteGeometry g, String layer) {
        long[] shape = mask.shape();
        boolean[][] gone = new boolean[shape.length][];
        if (g.rewrites(layer)) {
            int axis = g.site(layer).unitAxis();
            gone[axis] = droppedFlags(g.site(layer).unitMap(), 1, shape[axis]);
        }
        for (org.dl4jgrowth.rewrite.RewriteGeometry.Site s : g.sites()) {
            for (org.dl4jgrowth.rewrite.RewriteGeometry.Consumer c : s.consumers()) {
                if (c.layer().equals(layer)) {
                    gone[c.inputAxis()] = droppedFlags(s.unitMap(), c.block(), shape[c.inputAxis()]);
                }
            }
        }
        double[] m = mask.dup('c').reshape(mask.length()).toDoubleVector();
        long kept = 0;
        for (int i = 0; i < m.length; i++) {
            if (m[i] == 0.0) {
                continue;
            }
            long rest = i;
            boolean keep = true;
            for (int axis = shape.length - 1; axis >= 0; axis--) {
                int coordinate = (int) (rest % shape[axis]);
                rest /= shape[axis];
                keep &= gone[axis] == null || !gone[axis][coordinate];
            }
            kept += keep ? 1 : 0;
        }
        return kept;
    }

    /** Per index along an axis of {@code length} ({@code block} per unit): whether {@code map} drops its unit. */
    private static boolean[] droppedFlags(org.dl4jgrowth.rewrite.UnitMap map, int block, long length) {
        boolean[] keptUnit = new boolean[map.oldWidth()];
        for (int src : map.sources()) {
            if (src >= 0) {
                keptUnit[src] = true;
            }
        }
        boolean[] out = new boolean[(int) length];
        for (int i = 0; i < length; i++) {
            out[i] = !keptUnit[i / block];
        }
        return out;
    }

    /** {@code layer}'s weight count after the rewrite {@code g}: its own units and its inputs remapped. */
    static long weightsAfter(PlanningContext context, org.dl4jgrowth.rewrite.RewriteGeometry g, String layer) {
        // shape() hands out the array's own shape: changing it would change the live parameter view.
        long[] shape = context.network().paramTable(layer).get("W").shape().clone();
        if (g.rewrites(layer)) {
            shape[g.site(layer).unitAxis()] = g.site(layer).unitMap().newWidth();
        }
        for (org.dl4jgrowth.rewrite.RewriteGeometry.Site s : g.sites()) {
            for (org.dl4jgrowth.rewrite.RewriteGeometry.Consumer c : s.consumers()) {
                if (c.layer().equals(layer)) {
                    shape[c.inputAxis()] -= (long) (s.unitMap().oldWidth() - s.unitMap().newWidth()) * c.block();
                }
            }
        }
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /**
     * Neuron growth (the paper's bridging-gradient growth): the named dense layers take turns, one
     * per event, each gaining {@code neurons} neurons initialised by {@link org.dl4jgrowth.how.BridgingInit}.
     * With masks, the new neurons' connections start active (a mask's fresh value is 1), most of
     * them at weight 0: the paper connects a new neuron only where its bridging gradient is large;
     * here the others may grow by training and go again at the next pruning.
     */
    private Optional<GrowthProposal> growNeurons(PlanningContext context, ConnectionMasks masks) {
        List<String> open = belowCap(context);
        if (open.isEmpty() || (!context.forced() && !when.shouldGrow(context.progress(), context.signals()))) {
            return Optional.empty();
        }
        long turns = context.past().stream().filter(e -> e.details() instanceof NestDetails
                && "neurons".equals(((NestDetails) e.details()).operation())).count();
        String layer = open.get((int) (turns % open.size()));
        int width = context.width(layer);
        int target = Math.min(width + neurons, context.maxWidth(layer));
        org.dl4jgrowth.rewrite.RewriteGeometry.Site site = org.dl4jgrowth.rewrite.NetworkRewrite
                .of(context.network().model()).unitMap(layer, org.dl4jgrowth.rewrite.UnitMap.widen(width, target))
                .plan().site(layer);
        Map<String, NestDetails.Layer> record = new LinkedHashMap<>();
        long total = context.network().paramTable(layer).get("W").length();
        long fanIn = total / width * (target - width);
        long active = masks.has(layer) ? masks.active(layer) : total;
        record.put(layer, NestDetails.Layer.units(fanIn, 0, active + fanIn, total + fanIn, target - width, 0));
        for (org.dl4jgrowth.rewrite.RewriteGeometry.Consumer c : site.consumers()) {
            long ct = context.network().paramTable(c.layer()).get("W").length();
            long added = c.fanOutPerUnit() * (target - width);
            long ca = masks.has(c.layer()) ? masks.active(c.layer()) : ct;
            record.put(c.layer(), NestDetails.Layer.units(added, 0, ca + added, ct + added, 0, 0));
        }
        return Optional.of(GrowthProposal.builder().widen(layer, width, target)
                .initializer(layer, org.dl4jgrowth.how.UnitInitializer.bridging())
                .details(new NestDetails("neurons", record)).build());
    }

    /** The ⌈p·n/100⌉ active entries of {@code mask} with the smallest |w|, ties by flat index, in index order. */
    static Selection smallest(INDArray weights, INDArray mask, double percentile) {
        long active = mask.neq(0.0).castTo(org.nd4j.linalg.api.buffer.DataType.INT64).sumNumber().longValue();
        return smallestCount(weights, mask, (int) Math.ceil(percentile * active / 100.0 - 1e-9));
    }

    /** The {@code k} active entries of {@code mask} with the smallest |w|, ties by flat index, in index order. */
    static Selection smallestCount(INDArray weights, INDArray mask, int k) {
        double[] w = weights.dup('c').reshape(weights.length()).toDoubleVector();
        double[] m = mask.dup('c').reshape(mask.length()).toDoubleVector();
        List<Integer> active = new ArrayList<>();
        for (int i = 0; i < m.length; i++) {
            if (m[i] != 0.0) {
                active.add(i);
            }
        }
        k = Math.min(k, active.size());
        if (k <= 0) {
            return new Selection(new long[0], Double.NaN);
        }
        active.sort((x, y) -> {
            int c = Double.compare(Math.abs(w[x]), Math.abs(w[y]));
            return c != 0 ? c : Integer.compare(x, y);
        });
        long[] out = new long[k];
        for (int i = 0; i < k; i++) {
            out[i] = active.get(i);
        }
        Arrays.sort(out);
        return new Selection(out, Math.abs(w[active.get(k - 1)]));
    }

    /** The woken connections of one layer and the threshold they met. */
    static final class Selection {
        final long[] indices;
        final double threshold;

        Selection(long[] indices, double threshold) {
            this.indices = indices;
            this.threshold = threshold;
        }
    }

    /**
     * The dormant entries of {@code mask} whose |gradient| is at or above the percentile over the
     * dormant entries (see the class comment), as flat 'c'-order indices in increasing order.
     */
    static Selection select(INDArray gradientSum, INDArray mask, double percentile) {
        double[] g = gradientSum.dup('c').reshape(gradientSum.length()).toDoubleVector();
        double[] m = mask.dup('c').reshape(mask.length()).toDoubleVector();
        int dormant = 0;
        for (double v : m) {
            if (v == 0.0) {
                dormant++;
            }
        }
        if (dormant == 0) {
            return new Selection(new long[0], Double.NaN);
        }
        double[] values = new double[dormant];
        int k = 0;
        for (int i = 0; i < m.length; i++) {
            if (m[i] == 0.0) {
                values[k++] = Math.abs(g[i]);
            }
        }
        Arrays.sort(values);
        // (100 - p)·n / 100 in this order is exact for whole percentiles, where 1 - p/100 is not.
        int wake = (int) Math.ceil((100.0 - percentile) * dormant / 100.0 - 1e-9);
        double threshold = values[dormant - wake];
        List<Long> out = new ArrayList<>();
        for (int i = 0; i < m.length; i++) {
            double a = Math.abs(g[i]);
            if (m[i] == 0.0 && a >= threshold && a > 0) {
                out.add((long) i);
            }
        }
        return new Selection(out.stream().mapToLong(Long::longValue).toArray(), threshold);
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof NestPlanner)) {
            return false;
        }
        NestPlanner p = (NestPlanner) o;
        return when.equals(p.when) && layers.equals(p.layers) && Double.compare(percentile, p.percentile) == 0
                && featureMaps == p.featureMaps && kernels == p.kernels
                && Double.compare(prunePercentile, p.prunePercentile) == 0 && removeUnits == p.removeUnits
                && neurons == p.neurons;
    }

    @Override
    public int hashCode() {
        return Objects.hash(when, layers, percentile, featureMaps, kernels, prunePercentile, removeUnits, neurons);
    }

    @Override
    public String toString() {
        return "nest{when=" + when + (layers.isEmpty() ? "" : ", layers=" + layers) + (featureMaps > 0
                ? ", growFeatureMaps=" + featureMaps + " channels, best of " + kernels
                : prunePercentile > 0 ? ", pruneConnections=" + prunePercentile + "% smallest"
                : removeUnits ? ", removeDeadUnits"
                : neurons > 0 ? ", growNeurons=" + neurons + " (bridging)"
                : ", growConnections=" + percentile + "th percentile") + "}";
    }

    /** DL4J-style builder: {@code NestPlanner.builder().when(...).growConnections(90).build()}. */
    public static final class Builder {
        private GrowthTrigger when;
        private List<String> layers = List.of();
        private double percentile = 90;
        private int featureMaps;
        private int kernels;
        private double prunePercentile;
        private boolean removeUnits;
        private int neurons;

        private Builder() {
        }

        /**
         * Dead-unit removal instead of growth: each event removes the units (neurons, channels) of the
         * masked layers that have no active output connection, or no active input connection and a
         * constant output of 0, keeping the network's function exactly (the paper removes every
         * unit without input or output connections; a unit without inputs but with a nonzero
         * constant output act(b) stays here until pruning has taken its outputs too).
         */
        public Builder removeDeadUnits() {
            this.removeUnits = true;
            return this;
        }

        /**
         * Neuron growth instead of connection growth: each event adds {@code count} neurons to one of
         * the dense layers named with {@code layers(...)}, in turn, by the bridging gradient
         * ({@link org.dl4jgrowth.how.BridgingInit}).
         */
        public Builder growNeurons(int count) {
            Preconditions.checkArgument(count >= 1, "nest: growNeurons(count) needs a count of at least 1 (got: %s)",
                    count);
            this.neurons = count;
            return this;
        }

        /** When connections grow, e.g. {@code GrowthTrigger.everyEpochs(1)}. Required. */
        public Builder when(GrowthTrigger trigger) {
            this.when = trigger;
            return this;
        }

        /** Only these masked layers grow connections (default: every masked layer). */
        public Builder layers(String... names) {
            this.layers = List.of(names);
            return this;
        }

        /**
         * Dormant connections at or above this percentile of |Σ ∂L/∂w| wake (default 90: the top
         * 10% of each layer's dormant connections); in [0, 100).
         */
        public Builder growConnections(double percentile) {
            this.percentile = percentile;
            return this;
        }

        /**
         * Feature-map growth instead of connection growth: each event adds {@code channels} channels to
         * one of the named convolution layers, the best of {@code kernels} random draws by the loss
         * on the growth data (the paper's r).
         */
        public Builder growFeatureMaps(int channels, int kernels) {
            this.featureMaps = channels;
            this.kernels = kernels;
            return this;
        }

        /**
         * Magnitude pruning instead of growth: each event puts to sleep the smallest-|w|
         * {@code percentile}% of each masked layer's active connections (the paper: about 1 per step).
         */
        public Builder pruneConnections(double percentile) {
            Preconditions.checkArgument(percentile > 0 && percentile < 100, "nest: pruneConnections(percentile) "
                    + "must be in (0, 100) (got: %s); 1 prunes the smallest 1%% of each layer's active connections",
                    percentile);
            this.prunePercentile = percentile;
            return this;
        }

        public NestPlanner build() {
            return new NestPlanner(when, layers, percentile, featureMaps, kernels, prunePercentile, removeUnits,
                    neurons);
        }
    }
}
