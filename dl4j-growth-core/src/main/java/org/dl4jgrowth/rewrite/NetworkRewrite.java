package org.dl4jgrowth.rewrite;

import org.nd4j.shade.guava.base.Preconditions;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.updater.BaseMultiLayerUpdater;
import org.deeplearning4j.nn.updater.UpdaterBlock;
import org.dl4jgrowth.how.NewUnits;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.how.WeightBlock;
import org.dl4jgrowth.network.NetworkAdapter;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Changes the width of layers of an existing {@link MultiLayerNetwork} or {@link ComputationGraph}
 * in place, keeping what the network learned: old units keep their weights and their optimizer
 * state, fresh units are set by a {@link UnitInitializer}, and the network object stays the same.
 *
 * <pre>{@code
 * NetworkRewrite.of(net)
 *     .grow("hidden1", 8)                                   // 8 fresh units at the end
 *     .unitMap("hidden2", UnitMap.split(32, 0, 5))          // split units 0 and 5
 *     .initializer(UnitInitializer.functionPreserving())
 *     .apply();
 * }</pre>
 *
 * <p>The rewrite is a pure build followed by a guarded swap: {@link #prepare()} builds the new
 * configuration (on a clone), the new parameters and the new updater state without touching the
 * network; {@link PreparedRewrite#apply()} swaps them in, and restores the network exactly if
 * anything fails. Unlike DL4J's {@code TransferLearning.nOutReplace}, widened layers keep their
 * weights and optimizer state.
 *
 * <p>Optimizer state: for every parameter (not by flat offset: DL4J's updater blocks span layers),
 * copied units carry their state unchanged; a split copy carries the state of the unit it copies,
 * unscaled (Adam's step m/√v is invariant to the gradient's scale, and the fan-out gradient of a
 * split half equals the original's). Fresh units start with the state the updater gives a freshly
 * initialised parameter: zeros for Adam, AdaMax, Nadam, AMSGrad, Nesterovs and AdaDelta, epsilon
 * for AdaGrad and RMSProp. Iteration and epoch counts carry over, so Adam's bias correction for a
 * fresh unit is that of the current iteration. The global ND4J random generator is never reseeded.
 */
public final class NetworkRewrite {
    private final ModelHandle handle;
    private final Map<String, UnitMap> maps = new LinkedHashMap<>();
    private final Map<String, UnitInitializer> perLayer = new HashMap<>();
    private UnitInitializer defaultInit = UnitInitializer.functionPreserving();
    private RewriteObserver observer = RewriteObserver.NONE;
    private org.nd4j.linalg.api.rng.Random random;
    private org.dl4jgrowth.how.StatisticSource statistics = org.dl4jgrowth.how.StatisticSource.NONE;
    private CompanionArrays companions;
    /** The plan on a cloned configuration, kept from {@link #plan()} for {@link #prepare()}; reset by every edit. */
    private Planned planned;

    /** A plan: the cloned configuration with its new widths, its wiring, and the geometry. */
    private static final class Planned {
        final Object conf;
        final Topology topology;
        final RewritePlan plan;
        final RewriteGeometry geometry;
        /** What the network was when planned: a plan of a network trained or rewritten since is stale. */
        final Object liveConf;
        final long iteration;

        Planned(Object conf, Topology topology, RewritePlan plan, RewriteGeometry geometry, Object liveConf,
                long iteration) {
            this.liveConf = liveConf;
            this.iteration = iteration;
            this.conf = conf;
            this.topology = topology;
            this.plan = plan;
            this.geometry = geometry;
        }
    }

    private NetworkRewrite(Model network) {
        this.handle = ModelHandle.of(network);
        // Before init() DL4J's params() and numParams() still answer (from the configuration), so ask for init itself.
        if (!handle.adapter().initialised()) {
            throw new IllegalArgumentException("This " + handle.adapter().typeName() + " is not initialised: call "
                    + "init() before growing it (or attaching a GrowthListener)");
        }
    }

    /** Starts a rewrite of {@code network}, a {@link MultiLayerNetwork} or {@link ComputationGraph}. */
    public static NetworkRewrite of(Model network) {
        Preconditions.checkNotNull(network, "network");
        return new NetworkRewrite(network);
    }

    /**
     * The layers of {@code network} that a rewrite could grow now: growable classes whose whole
     * path to their consumers is supported, in the network's layer order.
     */
    public static List<String> growableLayers(Model network) {
        ModelHandle h = ModelHandle.of(network);
        List<String> out = new ArrayList<>();
        for (String name : h.topology(h.liveConfiguration()).layerNames()) {
            Topology t = h.topology(h.cloneConfiguration());
            Layer l = t.layer(name);
            LayerKind kind = LayerKind.of(l);
            if (kind == null || !kind.growable() || t.isOutput(name)) {
                continue;
            }
            int width = Math.toIntExact(((FeedForwardLayer) l).getNOut());
            try {
                RewritePlan.plan(t, Map.of(name, UnitMap.identity(width)), Map.of());
                out.add(name);
            } catch (IllegalArgumentException notGrowable) {
                // a refusal is the answer: this layer cannot be grown
            }
        }
        return out;
    }

    /** The vertices (layers or others) that take {@code layer}'s output directly, in the network's order. */
    public static List<String> directConsumers(Model network, String layer) {
        ModelHandle h = ModelHandle.of(network);
        Topology t = h.topology(h.liveConfiguration());
        t.requireLayer(layer);
        return t.consumers(layer);
    }

    /**
     * The optimizer-state components of parameter {@code param} of {@code layer} (Adam: m, then v),
     * each a flat view into the updater's state in the order of the parameter's own view, so writes
     * go to the state the updater uses; empty when training has made no updater yet or the updater
     * keeps no state (SGD).
     */
    public static List<INDArray> optimizerState(Model network, String layer, String param) {
        BaseMultiLayerUpdater<?> updater = NetworkAdapter.of(network).updater(false);
        if (updater == null || updater.getStateViewArray() == null) {
            return List.of();
        }
        for (UpdaterBlock block : updater.getUpdaterBlocks()) {
            if (block.getUpdaterView() == null) {
                continue;
            }
            for (UpdaterBlock.ParamState ps : block.getLayersAndVariablesInBlock()) {
                if (ps.getLayer().getConfig().getLayerName().equals(layer) && ps.getParamName().equals(param)) {
                    return stateSlices(block, ps);
                }
            }
        }
        return List.of();
    }

    /**
     * The native memory, in bytes, that rewrites keep for {@code network} with memory reuse on
     * ({@code -Ddl4jgrowth.rewrite.reuseMemory}): the buffers its parameters, gradient and optimizer
     * state are views of, a spare generation of them, each with headroom, and the remaps'
     * temporaries. 0 before its first growth or with reuse off. For memory accounting: this is
     * parameter-shaped memory the library chose to keep, not a leak.
     */
    public static long keptBufferBytes(Model network) {
        return RewriteBuffers.keptBytes(network);
    }

    /** The current width (nOut) of a growable layer; the error names the layer if it is not one. */
    public static int width(Model network, String layer) {
        return Math.toIntExact(of(network).currentWidth(layer));
    }

    /** Rebuilds the units of {@code layer} as {@code map} says. */
    public NetworkRewrite unitMap(String layer, UnitMap map) {
        Preconditions.checkNotNull(map, "unit map for layer '%s'", layer);
        long width = currentWidth(layer);
        if (width != map.oldWidth()) {
            throw new IllegalArgumentException("The unit map for layer '" + layer + "' starts from " + map.oldWidth()
                    + " units, but the layer has nOut=" + width);
        }
        Preconditions.checkArgument(!maps.containsKey(layer), "Layer '%s' already has a unit map in this rewrite",
                layer);
        maps.put(layer, map);
        planned = null;
        return this;
    }

    /** Appends fresh units to {@code layer} until it has {@code newWidth} units. */
    public NetworkRewrite widen(String layer, int newWidth) {
        int width = Math.toIntExact(currentWidth(layer));
        if (newWidth < width) {
            throw new IllegalArgumentException("widen('" + layer + "', " + newWidth + "): the new width must be at "
                    + "least the current width " + width + " (got: " + newWidth + "); use unitMap with "
                    + "UnitMap.keep/drop to narrow");
        }
        requireFeasible(handle.model(), Map.of(layer, (long) newWidth));
        return unitMap(layer, UnitMap.widen(width, newWidth));
    }

    /** Appends {@code added} fresh units to {@code layer}. */
    public NetworkRewrite grow(String layer, int added) {
        if (added < 1) {
            throw new IllegalArgumentException("grow('" + layer + "', n): n must be at least 1 (got: " + added + ")");
        }
        long width = currentWidth(layer);
        requireFeasible(handle.model(), Map.of(layer, width + added));
        return unitMap(layer, UnitMap.grow(Math.toIntExact(width), added));
    }

    /**
     * Refuses, before anything is allocated (not even the unit maps, which hold an entry per unit),
     * new widths a layer cannot have ({@link UnitMap#MAX_WIDTH}) or whose network would not fit in
     * the memory the backend can still allocate: its parameters, gradient and optimizer state, and
     * the rewrite's copies of them. The parameter count is estimated layer by layer from a one-unit
     * plan; the exact count is checked again when the rewrite is planned.
     *
     * @return the estimated parameter count after the growth
     * @throws InfeasibleGrowthException naming the layer, the requested width and the limit
     */
    public static long requireFeasible(Model network, Map<String, Long> newWidths) {
        return requireFeasible(network, newWidths, Long.MAX_VALUE);
    }

    /**
     * {@link #requireFeasible(Model, Map)} for a growth under a parameter cap: one estimated above
     * {@code maxParams} is left alone (the cap skips it quietly, which is the policy's answer), only
     * the width limit applies to it.
     *
     * @return the estimated parameter count after the growth (a lower bound: layers grown together
     *         add the weights between their new units on top)
     */
    public static long requireFeasible(Model network, Map<String, Long> newWidths, long maxParams) {
        NetworkRewrite probe = of(network);
        long params = network.numParams();
        String largest = null;
        long largestAdded = 0;
        for (Map.Entry<String, Long> e : newWidths.entrySet()) {
            String layer = e.getKey();
            long width = probe.currentWidth(layer);
            long target = e.getValue();
            if (target > UnitMap.MAX_WIDTH) {
                throw new InfeasibleGrowthException(layer, target, UnitMap.MAX_WIDTH, "Layer '" + layer
                        + "' cannot grow from " + width + " to " + target + " units: the largest width a layer can have "
                        + "is " + UnitMap.MAX_WIDTH + " (a Java array's limit)");
            }
            if (target <= width) {
                continue;
            }
            long perUnit = probe.paramsPerUnit(layer, width);
            long added = target - width;
            params = saturatedAdd(params, saturatedMultiply(added, perUnit));
            if (largest == null || added > largestAdded) {
                largest = layer;
                largestAdded = added;
            }
        }
        if (largest != null && params <= maxParams) {
            probe.requireMemory(params, largest, newWidths.get(largest));
        }
        return params;
    }

    /** Parameters one more unit of {@code layer} adds (its fan-in, bias, norm and its consumers' fan-out). */
    private long paramsPerUnit(String layer, long width) {
        Object conf = handle.cloneConfiguration();
        // Any initialiser will do: only the widths matter to the count.
        RewritePlan.plan(handle.topology(conf), Map.of(layer, UnitMap.grow(Math.toIntExact(width), 1)),
                Map.of(layer, UnitInitializer.zeros()));
        return handle.adapter().numParams(conf) - handle.model().numParams();
    }

    /** Bytes a network of {@code params} parameters needs per parameter while a rewrite builds it. */
    private double bytesPerParam() {
        long n = Math.max(1, handle.model().numParams());
        BaseMultiLayerUpdater<?> u = handle.adapter().updater(false);
        // Optimizer state per parameter: measured when the updater exists, else Adam's two.
        double state = u == null || u.getStateViewArray() == null ? 2.0 : (double) u.getStateViewArray().length() / n;
        // What the rewrite allocates for the new network: its parameters (the scratch network's, kept),
        // the scratch gradient view, the new gradient view, and the optimizer state built once for the
        // remap and once more by the updater. The old network's arrays are already allocated, so
        // they are not in the free memory this is compared with.
        return handle.model().params().dataType().width() * (3 + 2 * state);
    }

    /** Below this the backend is not asked: every machine running DL4J has it free. */
    private static final long ALWAYS_FITS_BYTES = 64L << 20;

    private void requireMemory(long paramsAfter, String layer, Long requestedWidth) {
        double perParam = bytesPerParam();
        double need = paramsAfter * perParam;
        if (need <= ALWAYS_FITS_BYTES) {
            return;
        }
        long free = org.dl4jgrowth.DeviceReport.allocatableBytes();
        if (free < 0 || need <= free) {
            return;
        }
        // JavaCPP counts off-heap arrays not yet collected; it would collect before failing, so do we.
        System.gc();
        free = org.dl4jgrowth.DeviceReport.allocatableBytes();
        if (free < 0 || need <= free) {
            return;
        }
        long width = currentWidth(layer);
        long perUnit = paramsPerUnit(layer, width);
        long limit = width + Math.max(0, (long) ((free / perParam - handle.model().numParams()) / Math.max(1, perUnit)));
        String requested = requestedWidth == null ? "" : " to " + requestedWidth + " units";
        throw new InfeasibleGrowthException(layer, requestedWidth == null ? -1 : requestedWidth, limit,
                "Growing layer '" + layer + "'" + requested + " would leave the network with about " + paramsAfter
                        + " parameters, which with their gradient, optimizer state and the rewrite's copies need about "
                        + gib(need) + ", above the " + gib(free) + " this ND4J backend can still allocate ("
                        + "DeviceReport.allocatableBytes()): with this memory '" + layer + "' can reach about "
                        + limit + " units; lower the amount or cap it with maxWidth(\"" + layer + "\", units)");
    }

    private static String gib(double bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f GiB", bytes / (1L << 30));
    }

    private static long saturatedAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
    }

    private static long saturatedMultiply(long a, long b) {
        long hi = Math.multiplyHigh(a, b);
        long lo = a * b;
        return (hi == 0 && lo >= 0) ? lo : Long.MAX_VALUE;
    }

    /** The initialiser of fresh units for every layer without its own (default: function-preserving). */
    public NetworkRewrite initializer(UnitInitializer init) {
        this.defaultInit = Preconditions.checkNotNull(init, "initializer");
        planned = null;
        return this;
    }

    /** The initialiser of the fresh units of {@code layer}. */
    public NetworkRewrite initializer(String layer, UnitInitializer init) {
        currentWidth(layer);
        perLayer.put(layer, Preconditions.checkNotNull(init, "initializer for layer '%s'", layer));
        planned = null;
        return this;
    }

    /**
     * Draws fresh units' random weights from a generator seeded with {@code seed} instead of ND4J's
     * global one: growth becomes reproducible from this seed, and training's own random stream
     * (dropout, weight noise) is left exactly where it was.
     */
    public NetworkRewrite seed(long seed) {
        return random(Nd4j.getRandomFactory().getNewRandomInstance(seed));
    }

    /**
     * Draws fresh units' random weights from {@code rng} (see {@link #seed(long)}); a growth
     * controller passes its own generator so that successive growths continue one stream.
     */
    public NetworkRewrite random(org.nd4j.linalg.api.rng.Random rng) {
        this.random = Preconditions.checkNotNull(rng, "random generator");
        return this;
    }

    /**
     * Where initialisers that need a training signal (GradMax) get it; computed on the network as it
     * is before this rewrite.
     */
    public NetworkRewrite statistics(org.dl4jgrowth.how.StatisticSource source) {
        this.statistics = Preconditions.checkNotNull(source, "statistic source");
        return this;
    }

    /** Arrays shaped like parameters that follow this rewrite's unit maps (see {@link CompanionArrays}). */
    public NetworkRewrite companions(CompanionArrays arrays) {
        this.companions = Preconditions.checkNotNull(arrays, "companion arrays");
        return this;
    }

    NetworkRewrite observer(RewriteObserver observer) {
        this.observer = observer;
        return this;
    }

    /**
     * Plans the rewrite without building or initialising anything: checks the unit maps against the
     * network's wiring, applies the widths to a cloned configuration, and returns the geometry (unit
     * axes, fan-in and fan-out block shapes, parameter counts). Cheap: no array is allocated. A
     * following {@link #prepare()} builds on this plan.
     */
    public RewriteGeometry plan() {
        return planned().geometry;
    }

    private Planned planned() {
        Preconditions.checkState(!maps.isEmpty(), "Nothing to rewrite: give at least one unit map");
        if (planned != null && planned.liveConf == handle.liveConfiguration()
                && planned.iteration == handle.iterationCount()) {
            return planned;
        }
        try {
            Object conf = handle.cloneConfiguration();
            Topology topology = handle.topology(conf);
            Map<String, UnitInitializer> inits = new HashMap<>();
            for (String layer : maps.keySet()) {
                inits.put(layer, perLayer.getOrDefault(layer, defaultInit));
            }
            RewritePlan plan = RewritePlan.plan(topology, maps, inits);
            List<RewriteGeometry.Site> sites = new ArrayList<>();
            for (RewritePlan.Site site : plan.sites()) {
                int k = site.map.freshCount();
                long[] w = site.kind.weightShape(topology.layer(site.layer));
                int unitAxis = site.kind.unitAxis("W", w.length);
                List<RewriteGeometry.Consumer> consumers = new ArrayList<>();
                for (RewritePlan.Edge e : site.consumers) {
                    long[] cw = e.kind.weightShape(topology.layer(e.consumer));
                    int axis = e.kind.inputAxis("W");
                    consumers.add(new RewriteGeometry.Consumer(e.consumer, axis, e.block,
                            resized(cw, axis, (long) k * e.block)));
                }
                Layer l = topology.layer(site.layer);
                sites.add(new RewriteGeometry.Site(site.layer, site.map, unitAxis, resized(w, unitAxis, k), consumers,
                        l instanceof BaseLayer ? ((BaseLayer) l).getActivationFn() : null));
            }
            RewriteGeometry geometry = new RewriteGeometry(sites, handle.model().numParams(),
                    handle.adapter().numParams(conf));
            // Refusals that need no array: the initialisers', then memory, before anything is allocated.
            for (RewriteGeometry.Site site : geometry.sites()) {
                if (site.unitMap().freshCount() > 0) {
                    inits.get(site.layer()).check(geometry, site);
                }
            }
            if (geometry.paramsAfter() > geometry.paramsBefore()) {
                requireMemory(geometry.paramsAfter(), maps.keySet().iterator().next(), null);
            }
            planned = new Planned(conf, topology, plan, geometry, handle.liveConfiguration(), handle.iterationCount());
            return planned;
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (RuntimeException | Error e) {
            throw new RewriteException(RewriteStep.PLAN, String.valueOf(e.getMessage()), e);
        }
    }

    /** Builds everything the rewrite needs without touching the network. */
    public PreparedRewrite prepare() {
        Preconditions.checkState(!maps.isEmpty(), "Nothing to rewrite: give at least one unit map");
        long start = System.nanoTime();
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            Planned p = planned();
            // The swap takes the cloned configuration: a second prepare plans on a new clone.
            planned = null;
            Object conf = p.conf;
            Topology topology = p.topology;
            RewritePlan plan = p.plan;
            RewriteStep step = RewriteStep.PLAN;
            Model scratch = null;
            RewriteBuffers buffers = RewriteBuffers.of(handle.model());
            RewriteBuffers.Lease lease = null;
            boolean prepared = false;
            try {
                observer.stepDone(step);

                step = RewriteStep.PARAMETERS;
                if (buffers != null) {
                    lease = buffers.lease(handle, handle.buffersInUse());
                    DataType type = handle.model().params().dataType();
                    long n = p.geometry.paramsAfter();
                    scratch = handle.scratch(conf, lease.params(type, n), lease.gradient(type, n));
                } else {
                    scratch = handle.scratch(conf);
                }
                RewriteBuffers.Temps temps = lease == null ? RewriteBuffers.Temps.FRESH : lease.temps();
                Layout layout = new Layout(handle.adapter().paramOffsets(), NetworkAdapter.of(scratch).paramOffsets());
                Map<String, NewUnits> fresh = runInitializers(plan, topology, scratch);
                for (String layer : topology.layerNames()) {
                    rebuildParams(layer, topology, plan, fresh, scratch, temps, layout);
                }
                observer.stepDone(step);

                step = RewriteStep.UPDATER_STATE;
                INDArray state = rebuildUpdaterState(plan, topology, scratch, lease, temps);
                // The last gradient follows the same remap (fresh units: zero), for listeners after us;
                // the scratch's gradient array is the one the swap installs.
                boolean gradientHeld = rebuildGradient(plan, topology, scratch, temps, layout);
                INDArray gradient = handle.gradientsView(scratch);
                Map<String, INDArray> companionsAfter = rebuildCompanions(plan, topology, scratch);
                observer.stepDone(step);

                Map<String, int[]> widths = new LinkedHashMap<>();
                Map<String, Map<String, Object>> notes = new LinkedHashMap<>();
                Map<String, String> engines = new LinkedHashMap<>();
                for (RewritePlan.Site s : plan.sites()) {
                    widths.put(s.layer, new int[]{s.map.oldWidth(), s.map.newWidth(), s.map.freshCount()});
                    NewUnits units = fresh.get(s.layer);
                    if (units != null && !units.notes().isEmpty()) {
                        notes.put(s.layer, units.notes());
                    }
                    if (units != null && units.svdEngine() != null) {
                        engines.put(s.layer, units.svdEngine());
                    }
                }
                PreparedRewrite out = new PreparedRewrite(handle, conf, scratch.params(), state, gradient, gradientHeld,
                        lease, widths, notes, observer, System.nanoTime() - start, companions, companionsAfter, engines);
                prepared = true;
                return out;
            } catch (IllegalArgumentException e) {
                throw e;
            } catch (RuntimeException | Error e) {
                throw new RewriteException(step, String.valueOf(e.getMessage()), e);
            } finally {
                // The scratch network is dropped here; its parameter and gradient arrays live on in the
                // prepared rewrite. Failed, the spare goes back, and arrays DL4J allocated go at once.
                if (!prepared) {
                    if (lease != null) {
                        lease.giveBack();
                    } else if (scratch != null) {
                        Remap.release(handle.gradientsView(scratch));
                    }
                }
            }
        }
    }

    /** Prepares and swaps in one go; see {@link PreparedRewrite#apply()}. */
    public RewriteResult apply() {
        return prepare().apply();
    }

    private long currentWidth(String layer) {
        Preconditions.checkNotNull(layer, "layer name");
        // Read-only look-up: the live configuration is not modified here.
        Topology t = handle.topology(handle.liveConfiguration());
        Layer l = t.requireLayer(layer);
        LayerKind kind = LayerKind.of(l);
        if (kind == null || !kind.growable()) {
            throw new IllegalArgumentException("Layer '" + layer + "' (" + l.getClass().getSimpleName()
                    + ") cannot be grown: growable layers are " + LayerKind.GROWABLE_LIST);
        }
        return ((FeedForwardLayer) l).getNOut();
    }

    private Map<String, NewUnits> runInitializers(RewritePlan plan, Topology t, Model scratch) {
        Map<String, NewUnits> out = new HashMap<>();
        for (RewritePlan.Site site : plan.sites()) {
            int k = site.map.freshCount();
            int[] perturbed = site.map.perturbedSources();
            if (k == 0 && perturbed.length == 0) {
                continue;
            }
            Layer layer = t.layer(site.layer);
            Map<String, INDArray> table = handle.paramTable(scratch, site.layer);
            INDArray w = table.get("W");
            int unitAxis = site.kind.unitAxis("W", w.rank());
            double[] fans = fans(layer);
            INDArray oldW = handle.paramTable(handle.model(), site.layer).get("W");
            WeightBlock fanIn = new WeightBlock(site.layer, Nd4j.zeros(w.dataType(), resized(w.shape(), unitAxis, k)),
                    unitAxis, 1, ((BaseLayer) layer).getWeightInitFn(), fans[0], fans[1],
                    () -> Remap.meanUnitNorm(oldW, unitAxis, 1), () -> Remap.meanAbsNonZero(oldW));
            INDArray bias = table.containsKey("b") ? Nd4j.zeros(w.dataType(), k) : null;
            List<WeightBlock> fanOut = new ArrayList<>();
            for (RewritePlan.Edge e : site.consumers) {
                Layer cl = t.layer(e.consumer);
                INDArray cw = handle.paramTable(scratch, e.consumer).get("W");
                int axis = e.kind.inputAxis("W");
                double[] cf = fans(cl);
                INDArray oldCw = handle.paramTable(handle.model(), e.consumer).get("W");
                fanOut.add(new WeightBlock(e.consumer, Nd4j.zeros(cw.dataType(), resized(cw.shape(), axis, k * e.block)),
                        axis, e.block, ((BaseLayer) cl).getWeightInitFn(), cf[0], cf[1],
                        () -> Remap.meanUnitNorm(oldCw, axis, e.block), () -> Remap.meanAbsNonZero(oldCw)));
            }
            NewUnits units = new NewUnits(site.layer, layer, site.map.freshUnits(), site.map.newWidth(), fanIn, bias,
                    ((BaseLayer) layer).getBiasInit(), fanOut, statistics);
            if (perturbed.length > 0) {
                units.withPerturbation(perturbed, new WeightBlock(site.layer,
                        Nd4j.zeros(w.dataType(), resized(w.shape(), unitAxis, perturbed.length)), unitAxis, 1,
                        ((BaseLayer) layer).getWeightInitFn(), fans[0], fans[1], () -> Remap.meanUnitNorm(oldW, unitAxis, 1),
                        () -> Double.NaN));
            }
            RandomScope.run(random, () -> {
                if (k > 0) {
                    site.initializer.initialize(units);
                }
                if (perturbed.length > 0) {
                    site.initializer.perturb(units);
                }
            });
            out.put(site.layer, units);
        }
        return out;
    }

    /** Fan-in and fan-out as DL4J's own parameter initialisers compute them for the weight init. */
    private static double[] fans(Layer layer) {
        FeedForwardLayer ff = (FeedForwardLayer) layer;
        if (layer instanceof ConvolutionLayer) {
            ConvolutionLayer c = (ConvolutionLayer) layer;
            int[] k = c.getKernelSize();
            int[] s = c.getStride();
            return new double[]{ff.getNIn() * k[0] * k[1], ff.getNOut() * k[0] * k[1] / ((double) s[0] * s[1])};
        }
        return new double[]{ff.getNIn(), ff.getNOut()};
    }

    private static long[] resized(long[] shape, int axis, long n) {
        long[] s = shape.clone();
        s[axis] = n;
        return s;
    }

    /**
     * Where every parameter starts in the old and the new flat vectors (null maps: unknown, so the
     * remaps take the general route through private copies).
     */
    private static final class Layout {
        final Map<String, Long> before;
        final Map<String, Long> after;

        Layout(Map<String, Long> before, Map<String, Long> after) {
            this.before = before;
            this.after = after;
        }

        /** {old offset, new offset} of {@code layer}'s {@code param}, or null. */
        long[] of(String layer, String param) {
            if (before == null || after == null) {
                return null;
            }
            Long a = before.get(layer + "\u0000" + param);
            Long b = after.get(layer + "\u0000" + param);
            return a == null || b == null ? null : new long[]{a, b};
        }
    }

    /** The row (axis 0) and column (axis 1) maps of a matrix whose unit and input axes are given (-1: none). */
    private static UnitMap[] rowsAndColumns(int uAxis, UnitMap unitMap, int iAxis, UnitMap inputMap) {
        return new UnitMap[]{uAxis == 0 ? unitMap : iAxis == 0 ? inputMap : null,
                uAxis == 1 ? unitMap : iAxis == 1 ? inputMap : null};
    }

    private void rebuildParams(String layer, Topology t, RewritePlan plan, Map<String, NewUnits> fresh, Model scratch,
                               RewriteBuffers.Temps temps, Layout layout) {
        Map<String, INDArray> newTable = handle.paramTable(scratch, layer);
        Map<String, INDArray> oldTable = handle.paramTable(handle.model(), layer);
        LayerKind kind = LayerKind.of(t.layer(layer));
        UnitMap unitMap = plan.unitMap(layer);
        RewritePlan.Edge edge = plan.inputEdge(layer);
        for (Map.Entry<String, INDArray> e : newTable.entrySet()) {
            String key = e.getKey();
            INDArray dst = e.getValue();
            INDArray src = oldTable.get(key);
            if (!plan.touches(layer)) {
                dst.assign(src);
                continue;
            }
            int uAxis = unitMap == null ? -1 : kind.unitAxis(key, dst.rank());
            int iAxis = edge == null ? -1 : kind.inputAxis(key);
            long[] at = layout.of(layer, key);
            boolean weights = "W".equals(key);
            boolean batchNorm = plan.isBatchNorm(layer);
            // Dense weights ('f' order) and biases are written in place in the new flat vector. Others
            // are built in a private array and assigned once: slicing the views DL4J hands out
            // (sub-views of the flat parameter vector) misbehaves in ND4J M2.1; in the parameter's own
            // order, so that copying in and out is a straight copy rather than a transpose.
            boolean direct = (weights || "b".equals(key)) && at != null && !batchNorm
                    && FlatMatrix.fits(scratch.params(), dst, at[1]) && FlatMatrix.fits(handle.model().params(), src, at[0]);
            FlatMatrix flat = direct ? FlatMatrix.at(scratch.params(), at[1], dst.shape()) : null;
            INDArray buf = direct ? null : temps.zeros(0, dst.dataType(), dst.ordering(), dst.shape());
            Cells cells = direct ? flat : Cells.of(buf);
            // Every cell is written (a reused buffer holds stale values until then): fresh units'
            // fan-in or bias and fresh inputs' fan-out from the initialiser's blocks, the rest kept.
            if (weights && iAxis >= 0 && edge.map.freshCount() > 0) {
                NewUnits units = fresh.get(edge.site.layer);
                cells.placeFresh(iAxis, edge.map, units.fanOut().get(edge.site.consumers.indexOf(edge)).weights());
            }
            if (uAxis >= 0 && unitMap.freshCount() > 0) {
                NewUnits units = fresh.get(layer);
                if (batchNorm) {
                    cells.fillFresh(uAxis, unitMap, freshBatchNormValue(t.layer(layer), key));
                } else if (weights) {
                    cells.placeFresh(uAxis, unitMap, units.fanIn().weights());
                } else if (units.hasBias()) {
                    cells.placeFresh(uAxis, unitMap, units.bias().reshape(dst.rank() == 2
                            ? new long[]{1, units.count()} : new long[]{units.count()}));
                } else {
                    cells.fillFresh(uAxis, unitMap, 0.0);
                }
            }
            INDArray copy = null;
            if (direct) {
                UnitMap[] rc = rowsAndColumns(uAxis, unitMap, iAxis, edge == null ? null : edge.map);
                FlatMatrix.copyRuns(FlatMatrix.at(handle.model().params(), at[0], src.shape()), flat, rc[0], rc[1]);
            } else {
                copy = temps.copyOf(1, src);
                Remap.gatherInto(copy, buf, uAxis, unitMap, iAxis, edge == null ? null : edge.map);
            }
            // The fan-out scales of copied inputs, on kept cells only (the fresh units' own fan-in
            // keeps what the initialiser gave it).
            if (iAxis >= 0) {
                cells.scaleKept(iAxis, edge.map, uAxis, unitMap);
            }
            if (weights && uAxis >= 0 && unitMap.perturbedSources().length > 0 && !batchNorm) {
                addPerturbations(cells, uAxis, unitMap, fresh.get(layer));
            }
            if (!direct) {
                dst.assign(buf);
                temps.done(buf, copy);
            }
        }
    }

    /** Copies with a fan-in perturbation get w ± δ: δ's row for their source, times their sign. */
    private static void addPerturbations(Cells cells, int uAxis, UnitMap map, NewUnits units) {
        int[] rows = units.perturbedSources();
        INDArray delta = units.perturbation().weights();
        for (int j = 0; j < map.newWidth(); j++) {
            int sign = map.perturbation(j);
            if (sign == 0) {
                continue;
            }
            int row = java.util.Arrays.binarySearch(rows, map.source(j));
            INDArrayIndex[] from = all(delta.rank());
            from[uAxis] = NDArrayIndex.point(row);
            cells.addAt(uAxis, j, delta.get(from), sign);
        }
    }

    private static INDArrayIndex[] all(int rank) {
        INDArrayIndex[] idx = new INDArrayIndex[rank];
        for (int i = 0; i < rank; i++) {
            idx[i] = NDArrayIndex.all();
        }
        return idx;
    }

    /** What batch normalisation starts a fresh channel with: its configured gamma and beta, mean 0, variance 1. */
    private static double freshBatchNormValue(Layer layer, String key) {
        org.deeplearning4j.nn.conf.layers.BatchNormalization bn =
                (org.deeplearning4j.nn.conf.layers.BatchNormalization) layer;
        switch (key) {
            case "gamma":
                return bn.getGamma();
            case "beta":
                return bn.getBeta();
            case "var":
                return 1.0;
            default: // mean, and log10 of a standard deviation of 1
                return 0.0;
        }
    }

    private INDArray rebuildUpdaterState(RewritePlan plan, Topology t, Model scratch, RewriteBuffers.Lease lease,
                                         RewriteBuffers.Temps temps) {
        BaseMultiLayerUpdater<?> old = handle.updater(handle.model(), false);
        boolean hasOldState = old != null && old.getStateViewArray() != null;
        // With an old state to copy from, only fresh cells need starting values (set below, per
        // component); without one, every cell does.
        FreshUpdater made = freshUpdater(scratch, lease, !hasOldState);
        BaseMultiLayerUpdater<?> fresh = made.updater();
        INDArray newState = fresh.getStateViewArray();
        if (newState == null) {
            return null;
        }
        if (!hasOldState) {
            return newState;
        }
        Map<String, INDArray> oldParams = new HashMap<>();
        Map<String, long[]> oldOffsets = new HashMap<>();
        Map<String, List<INDArray>> oldStates = statesByParam(old, handle.model(), oldParams, oldOffsets);
        INDArray oldState = old.getStateViewArray();
        for (UpdaterBlock block : fresh.getUpdaterBlocks()) {
            if (block.getUpdaterView() == null) {
                continue;
            }
            double[] starts = made.initialised() ? null : startValues(block);
            if (!made.initialised() && starts == null) {
                block.getGradientUpdater().getConfig().instantiate(block.getUpdaterView(), true);
            }
            for (UpdaterBlock.ParamState ps : block.getLayersAndVariablesInBlock()) {
                String layer = ps.getLayer().getConfig().getLayerName();
                String key = ps.getParamName();
                List<INDArray> olds = oldStates.get(layer + "\u0000" + key);
                if (olds == null) {
                    throw new IllegalStateException("No optimizer state found for parameter " + key + " of layer '"
                            + layer + "' in the original network");
                }
                INDArray param = handle.paramTable(scratch, layer).get(key);
                List<INDArray> slices = stateSlices(block, ps);
                if (slices.size() != olds.size()) {
                    throw new IllegalStateException("Parameter " + key + " of layer '" + layer + "' has "
                            + olds.size() + " optimizer-state components before and " + slices.size() + " after");
                }
                LayerKind kind = LayerKind.of(t.layer(layer));
                UnitMap unitMap = plan.unitMap(layer);
                RewritePlan.Edge edge = plan.inputEdge(layer);
                INDArray oldParam = oldParams.get(layer + "\u0000" + key);
                long[] oldAt = oldOffsets.get(layer + "\u0000" + key);
                long[] newAt = stateOffsets(block, ps);
                for (int c = 0; c < slices.size(); c++) {
                    INDArray oldFlat = olds.get(c);
                    INDArray flat = slices.get(c);
                    if (!plan.touches(layer)) {
                        // Same length and element order on both sides: a flat copy, no reshape.
                        flat.assign(oldFlat);
                        continue;
                    }
                    int uAxis = unitMap == null ? -1 : kind.unitAxis(key, param.rank());
                    int iAxis = edge == null ? -1 : kind.inputAxis(key);
                    if (FlatMatrix.fits(oldState, oldFlat, oldAt[c], oldParam)
                            && FlatMatrix.fits(newState, flat, newAt[c], param)) {
                        // One pass, old state to new, straight between the flat arrays; fresh cells get
                        // the updater's starting value.
                        UnitMap[] rc = rowsAndColumns(uAxis, unitMap, iAxis, edge == null ? null : edge.map);
                        FlatMatrix to = FlatMatrix.at(newState, newAt[c], param.shape());
                        if (starts != null) {
                            for (int axis = 0; axis < 2; axis++) {
                                if (rc[axis] != null && rc[axis].freshCount() > 0) {
                                    to.fillFresh(axis, rc[axis], starts[c]);
                                }
                            }
                        }
                        FlatMatrix.copyRuns(FlatMatrix.at(oldState, oldAt[c], oldParam.shape()), to, rc[0], rc[1]);
                        continue;
                    }
                    if (starts != null) {
                        flat.assign(starts[c]);   // dst below starts as the fresh state
                    }
                    // Private copies, each in its parameter's own order (so reshaping back to flat is a
                    // view): ND4J M2.1 returns views without a data buffer when slicing a reshaped
                    // sub-view of the updater's state. dst starts as the fresh state; the kept cells
                    // are written straight from the old state.
                    INDArray oldComp = temps.copyOf(0, oldFlat, oldParam.ordering(), oldParam.shape());
                    INDArray dst = temps.copyOf(1, flat, param.ordering(), param.shape());
                    Remap.gatherInto(oldComp, dst, uAxis, unitMap, iAxis, edge == null ? null : edge.map);
                    temps.copyFlatInto(dst, flat);
                    temps.done(oldComp, dst);
                }
            }
        }
        return newState;
    }

    /**
     * An updater on the scratch network, in the lease's buffer when there is one. With
     * {@code initialise} its state holds each parameter's starting values (Adam: zeros; AdaGrad:
     * epsilon): DL4J initialises only a state array it allocates itself, so on a given buffer each
     * block's updater is instantiated once more with initialisation. Without, a lease's buffer is
     * left as it is and the result says so.
     */
    private FreshUpdater freshUpdater(Model scratch, RewriteBuffers.Lease lease, boolean initialise) {
        NetworkAdapter s = NetworkAdapter.of(scratch);
        long size = lease == null ? 0 : s.updaterStateSize();
        if (size == 0) {
            return new FreshUpdater(handle.updater(scratch, true), true);
        }
        INDArray view = lease.state(scratch.params().dataType(), size);
        BaseMultiLayerUpdater<?> fresh = s.newUpdater(view);
        long end = 0;
        for (UpdaterBlock block : fresh.getUpdaterBlocks()) {
            end = Math.max(end, block.getUpdaterViewOffsetEnd());
        }
        if (end != size || fresh.getStateViewArray() != view) {
            // A layout the count does not know (a wrapper layer, say): DL4J allocates the state, as
            // it does without reuse.
            return new FreshUpdater(handle.updater(scratch, true), true);
        }
        if (!initialise) {
            // The caller gives fresh cells their starting values and copies the rest: writing the
            // whole state first would be a pass over it for nothing.
            return new FreshUpdater(fresh, false);
        }
        for (UpdaterBlock block : fresh.getUpdaterBlocks()) {
            if (block.getUpdaterView() != null) {
                block.getGradientUpdater().getConfig().instantiate(block.getUpdaterView(), true);
            }
        }
        return new FreshUpdater(fresh, true);
    }

    /** An updater on the scratch network, and whether its whole state holds starting values. */
    private record FreshUpdater(BaseMultiLayerUpdater<?> updater, boolean initialised) {
    }

    /**
     * What each state component of a block's updater starts a fresh parameter at (Adam: 0, 0;
     * AdaGrad: epsilon), read from the updater initialising the state of a single parameter; null
     * if that cannot be done (the caller then initialises the whole block). DL4J's updaters start
     * every cell of a component at one value.
     */
    private static double[] startValues(UpdaterBlock block) {
        try {
            IUpdater u = block.getGradientUpdater().getConfig();
            int components = Math.toIntExact(u.stateSize(1));
            INDArray one = Nd4j.create(block.getUpdaterView().dataType(), 1, components);
            one.assign(Double.NaN);
            u.instantiate(one, true);
            double[] v = one.toDoubleVector();
            for (double x : v) {
                if (Double.isNaN(x)) {
                    return null;   // not initialised by the updater: no starting value to copy
                }
            }
            return v;
        } catch (RuntimeException notOnOne) {
            return null;
        }
    }

    /**
     * Writes the network's last gradient, remapped to the new layout, into the scratch network's
     * gradient array; false when the network holds none (before its first iteration).
     */
    private boolean rebuildGradient(RewritePlan plan, Topology t, Model scratch, RewriteBuffers.Temps temps,
                                    Layout layout) {
        NetworkAdapter old = handle.adapter();
        if (old.model().gradient() == null || old.gradientsView() == null) {
            return false;
        }
        NetworkAdapter fresh = NetworkAdapter.of(scratch);
        for (String layer : t.layerNames()) {
            Map<String, INDArray> oldGrad = old.gradientTable(layer);
            for (Map.Entry<String, INDArray> e : fresh.gradientViews(layer).entrySet()) {
                INDArray src = oldGrad.get(e.getKey());
                if (src == null) {
                    continue;
                }
                long[] at = layout.of(layer, e.getKey());
                if (at != null && plan.touches(layer) && FlatMatrix.fits(old.gradientsView(), src, at[0])
                        && FlatMatrix.fits(fresh.gradientsView(), e.getValue(), at[1])) {
                    // Straight between the flat gradients; fresh cells keep the zeros they start with.
                    LayerKind kind = LayerKind.of(t.layer(layer));
                    UnitMap unitMap = plan.unitMap(layer);
                    RewritePlan.Edge edge = plan.inputEdge(layer);
                    UnitMap[] rc = rowsAndColumns(unitMap == null ? -1 : kind.unitAxis(e.getKey(), src.rank()), unitMap,
                            edge == null ? -1 : kind.inputAxis(e.getKey()), edge == null ? null : edge.map);
                    FlatMatrix.copyRuns(FlatMatrix.at(old.gradientsView(), at[0], src.shape()),
                            FlatMatrix.at(fresh.gradientsView(), at[1], e.getValue().shape()), rc[0], rc[1]);
                    continue;
                }
                remapInto(layer, e.getKey(), src, e.getValue(), t, plan, temps);
            }
        }
        return true;
    }

    /** Each registered companion array in the new layout; fresh cells hold its fresh value. */
    private Map<String, INDArray> rebuildCompanions(RewritePlan plan, Topology t, Model scratch) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        if (companions == null) {
            return out;
        }
        for (Map.Entry<String, CompanionArrays.Entry> e : companions.snapshot().entrySet()) {
            CompanionArrays.Entry c = e.getValue();
            INDArray oldParam = handle.paramTable(handle.model(), c.layer()).get(c.param());
            if (oldParam == null || !java.util.Arrays.equals(oldParam.shape(), c.array().shape())) {
                throw new IllegalArgumentException("Companion array '" + e.getKey() + "' is registered for parameter "
                        + c.param() + " of layer '" + c.layer() + "' with shape "
                        + java.util.Arrays.toString(c.array().shape()) + ", but the parameter "
                        + (oldParam == null ? "does not exist" : "has shape " + java.util.Arrays.toString(oldParam.shape())));
            }
            INDArray newParam = handle.paramTable(scratch, c.layer()).get(c.param());
            INDArray dst = Nd4j.valueArrayOf(newParam.shape(), c.freshValue(), c.array().dataType());
            remapInto(c.layer(), c.param(), c.array(), dst, t, plan, RewriteBuffers.Temps.FRESH);
            out.put(e.getKey(), dst);
        }
        return out;
    }

    /**
     * Writes {@code src}, an array shaped like parameter {@code key} of {@code layer} before the
     * rewrite, into {@code dst}, shaped like it after: kept and copied units take their source's
     * values, fresh units keep what {@code dst} holds. The one remap for everything shaped like a
     * parameter apart from the parameters themselves (whose fresh units the initialisers fill).
     */
    private static void remapInto(String layer, String key, INDArray src, INDArray dst, Topology t, RewritePlan plan,
                                  RewriteBuffers.Temps temps) {
        if (!plan.touches(layer)) {
            dst.assign(src.reshape(dst.shape()));
            return;
        }
        LayerKind kind = LayerKind.of(t.layer(layer));
        UnitMap unitMap = plan.unitMap(layer);
        RewritePlan.Edge edge = plan.inputEdge(layer);
        int uAxis = unitMap == null ? -1 : kind.unitAxis(key, dst.rank());
        int iAxis = edge == null ? -1 : kind.inputAxis(key);
        INDArray from = temps.copyOf(0, src);
        INDArray to = temps.copyOf(1, dst);
        Remap.gatherInto(from, to, uAxis, unitMap, iAxis, edge == null ? null : edge.map);
        dst.assign(to);
        temps.done(from, to);
    }

    /**
     * Per parameter, its optimizer-state components as flat slices of the old updater's state (views,
     * not copies); {@code params} receives each parameter, for its shape and order.
     */
    private Map<String, List<INDArray>> statesByParam(BaseMultiLayerUpdater<?> updater, Model model,
                                                      Map<String, INDArray> params, Map<String, long[]> offsets) {
        Map<String, List<INDArray>> out = new HashMap<>();
        for (UpdaterBlock block : updater.getUpdaterBlocks()) {
            if (block.getUpdaterView() == null) {
                continue;
            }
            for (UpdaterBlock.ParamState ps : block.getLayersAndVariablesInBlock()) {
                String layer = ps.getLayer().getConfig().getLayerName();
                String id = layer + "\u0000" + ps.getParamName();
                params.put(id, handle.paramTable(model, layer).get(ps.getParamName()));
                out.put(id, stateSlices(block, ps));
                offsets.put(id, stateOffsets(block, ps));
            }
        }
        return out;
    }

    /**
     * The flat slices of a block's state that belong to one parameter. A block's state is
     * {@code [component 0 over the whole block | component 1 | ...]} (Adam: m then v), each
     * component laid out like the block's parameters.
     */
    /** Where each of {@link #stateSlices}'s slices starts in the updater's whole state array. */
    static long[] stateOffsets(UpdaterBlock block, UpdaterBlock.ParamState ps) {
        long blockLen = block.getParamOffsetEnd() - block.getParamOffsetStart();
        long components = (block.getUpdaterViewOffsetEnd() - block.getUpdaterViewOffsetStart()) / blockLen;
        long off = ps.getParamOffsetStart() - block.getParamOffsetStart();
        long[] out = new long[(int) components];
        for (int c = 0; c < out.length; c++) {
            out[c] = block.getUpdaterViewOffsetStart() + c * blockLen + off;
        }
        return out;
    }

    static List<INDArray> stateSlices(UpdaterBlock block, UpdaterBlock.ParamState ps) {
        INDArray view = block.getUpdaterView();
        view = view.reshape(view.length());
        long blockLen = block.getParamOffsetEnd() - block.getParamOffsetStart();
        long components = view.length() / blockLen;
        if (components * blockLen != view.length()) {
            throw new IllegalStateException("Updater state of length " + view.length()
                    + " is not a whole number of components over " + blockLen + " parameters");
        }
        long off = ps.getParamOffsetStart() - block.getParamOffsetStart();
        long len = ps.getParamOffsetEnd() - ps.getParamOffsetStart();
        List<INDArray> out = new ArrayList<>();
        for (long c = 0; c < components; c++) {
            long a = c * blockLen + off;
            out.add(view.get(NDArrayIndex.interval(a, a + len)));
        }
        return out;
    }
}
