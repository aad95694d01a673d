package org.dl4jgrowth.firefly;

import org.dl4jgrowth.network.NetworkAdapter;
import org.dl4jgrowth.plan.GrowthPlanner;
import org.dl4jgrowth.plan.GrowthProposal;
import org.dl4jgrowth.plan.PlanningContext;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.rewrite.RewriteGeometry;
import org.dl4jgrowth.rewrite.UnitMap;
import org.dl4jgrowth.when.GrowthTrigger;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.shade.guava.base.Preconditions;
import org.nd4j.shade.guava.collect.ImmutableList;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Firefly neural architecture descent (Wu, Liu, Stone and Liu, "Firefly Neural Architecture
 * Descent: a General Approach for Growing Neural Networks", NeurIPS 2020), for dense layers: a
 * growth {@link GrowthPlanner} that decides where and how much together, across all layers.
 *
 * <p>When the trigger fires, every eligible layer (a {@code DenseLayer} feeding one dense layer
 * directly, below its width cap) gets candidates: a split of each of its n units (fan-in w ± v,
 * half the fan-out each) and K new neurons (small fan-in and fan-out). All candidates are switched
 * in on a private copy of the network (an over-grown network built by the library's own rewrite),
 * and only the candidate tensors are trained on the growth data, base weights frozen, dropout off:
 * RMSProp with momentum and the reference's penalty 1e-2·(‖v‖² + 1e-2·‖w_in‖²). Each candidate's
 * score is the mean of ∂L/∂g for a gate g multiplying its perturbation (v for a split, the fan-out
 * for a new neuron), taken with every candidate at its trained size (at g = 0 a symmetric split's
 * first-order effect vanishes, so scoring there would never choose one), or optionally the
 * paper's integrated gradient (Simpson's rule over g = 0, ½, 1). One ranking of all candidates of
 * all layers: the most negative scores win, up to {@code growRatio} of the layers' total width (or
 * a fixed count), within each layer's cap. The chosen splits and new neurons are applied through
 * unit maps with {@link FireflyInit}: the halves of a split get w ± v (the trained v) and half the
 * fan-out each, new neurons their trained fan-in, bias 0 and trained fan-out.
 *
 * <p>Departures from the reference (klightz/Firefly, which covers convolutions only):
 * <ul>
 *   <li>Optimizer state: kept units keep theirs, both halves of a split carry the state of the
 *       unit they copy, new neurons start fresh. The reference recreates its optimizer at every
 *       growth and loses all momentum.</li>
 *   <li>Layers that feed each other are over-grown in separate copies (groups), so that a
 *       candidate's score never depends on the candidates of the layer it feeds, whose weights from
 *       it are not defined until both are applied; layers that do not feed each other share a
 *       copy. The ranking is global all the same: scores are derivatives of the same loss.</li>
 *   <li>Candidate training runs for {@code steps} minibatches of the growth data (cycling through
 *       it), not one pass over the training set: {@value #DEFAULT_STEPS} by default. The candidates
 *       start at the scale 1e-2 to 1e-1 and RMSProp moves each weight by about the learning rate
 *       (1e-3) per step, so about a hundred steps are needed to move them by their own size, at
 *       the cost of that many forward and backward passes of the over-grown copy; give
 *       {@code growthData(iterator, batches)} so they see more than one minibatch.</li>
 *   <li>Only candidates with a negative score (the loss falls) are chosen; the reference takes the
 *       best n whatever their sign.</li>
 * </ul>
 */
public final class FireflyPlanner implements GrowthPlanner {
    private static final long serialVersionUID = 1L;

    /** Candidate training steps by default; see the class comment for why. */
    public static final int DEFAULT_STEPS = 100;

    /** How candidates are scored. */
    public enum Score {
        /** ∂L/∂g at the trained size (g = 1), as the reference code does. */
        GATE,
        /** The paper's integrated gradient: Simpson's rule over g = 0, ½, 1 (three evaluations). */
        INTEGRATED
    }

    private final GrowthTrigger when;
    private final List<String> layers;
    private final int newNeurons;
    private final double fanInStd;
    private final double fanOutRange;
    private final double splitRange;
    private final int steps;
    private final double learningRate;
    private final double momentum;
    private final double alpha;
    private final double splitPenalty;
    private final double fanInPenaltyFactor;
    private final double growRatio;
    private final int count;
    private final Score score;
    private final int maxLayersPerCopy;

    @JsonCreator
    FireflyPlanner(@JsonProperty("when") GrowthTrigger when, @JsonProperty("layers") List<String> layers,
                   @JsonProperty("newNeurons") int newNeurons, @JsonProperty("fanInStd") double fanInStd,
                   @JsonProperty("fanOutRange") double fanOutRange, @JsonProperty("splitRange") double splitRange,
                   @JsonProperty("steps") int steps, @JsonProperty("learningRate") double learningRate,
                   @JsonProperty("momentum") double momentum, @JsonProperty("alpha") double alpha,
                   @JsonProperty("splitPenalty") double splitPenalty,
                   @JsonProperty("fanInPenaltyFactor") double fanInPenaltyFactor,
                   @JsonProperty("growRatio") double growRatio, @JsonProperty("count") int count,
                   @JsonProperty("score") Score score, @JsonProperty("maxLayersPerCopy") int maxLayersPerCopy) {
        Preconditions.checkArgument(maxLayersPerCopy >= 0,
                "firefly: maxLayersPerCopy(n) must be at least 1, or 0 for no limit (got: %s)", maxLayersPerCopy);
        this.maxLayersPerCopy = maxLayersPerCopy;
        Preconditions.checkArgument(when != null, "firefly: when(trigger) is required");
        this.layers = ImmutableList.copyOf(layers == null ? List.of() : layers);
        for (String l : this.layers) {
            Preconditions.checkArgument(l != null && !l.isEmpty(), "firefly: layers(...) names must be non-empty");
        }
        Preconditions.checkArgument(newNeurons >= 0, "firefly: newNeurons(k) must be at least 0 (got: %s)", newNeurons);
        check(fanInStd, "fanInStd", true);
        check(fanOutRange, "fanOutRange", true);
        check(splitRange, "splitRange", true);
        Preconditions.checkArgument(steps >= 0, "firefly: steps(n) must be at least 0 (got: %s)", steps);
        check(learningRate, "learningRate", false);
        Preconditions.checkArgument(momentum >= 0 && momentum < 1,
                "firefly: momentum must be in [0, 1) (got: %s)", momentum);
        Preconditions.checkArgument(alpha > 0 && alpha < 1, "firefly: alpha must be in (0, 1) (got: %s)", alpha);
        check(splitPenalty, "splitPenalty", true);
        check(fanInPenaltyFactor, "fanInPenaltyFactor", true);
        Preconditions.checkArgument(count >= 0, "firefly: count(n) must be at least 0 (got: %s)", count);
        Preconditions.checkArgument(count > 0 || (growRatio > 0 && Double.isFinite(growRatio)),
                "firefly: growRatio must be a finite number above 0 (got: %s), or give count(n)", growRatio);
        this.when = when;
        this.newNeurons = newNeurons;
        this.fanInStd = fanInStd;
        this.fanOutRange = fanOutRange;
        this.splitRange = splitRange;
        this.steps = steps;
        this.learningRate = learningRate;
        this.momentum = momentum;
        this.alpha = alpha;
        this.splitPenalty = splitPenalty;
        this.fanInPenaltyFactor = fanInPenaltyFactor;
        this.growRatio = growRatio;
        this.count = count;
        this.score = score == null ? Score.GATE : score;
    }

    private static void check(double v, String name, boolean zeroAllowed) {
        Preconditions.checkArgument(Double.isFinite(v) && (zeroAllowed ? v >= 0 : v > 0),
                "firefly: %s must be a finite number %s 0 (got: %s)", name, zeroAllowed ? ">=" : ">", v);
    }

    public static Builder builder() {
        return new Builder();
    }

    // --- settings
    public GrowthTrigger when() {
        return when;
    }

    public List<String> layers() {
        return layers;
    }

    public int newNeurons() {
        return newNeurons;
    }

    public double fanInStd() {
        return fanInStd;
    }

    public double fanOutRange() {
        return fanOutRange;
    }

    public double splitRange() {
        return splitRange;
    }

    public int steps() {
        return steps;
    }

    public double learningRate() {
        return learningRate;
    }

    public double momentum() {
        return momentum;
    }

    public double alpha() {
        return alpha;
    }

    public double splitPenalty() {
        return splitPenalty;
    }

    public double fanInPenaltyFactor() {
        return fanInPenaltyFactor;
    }

    public double growRatio() {
        return growRatio;
    }

    public int count() {
        return count;
    }

    public Score score() {
        return score;
    }

    /** The most layers over-grown in one private copy (0: as many as do not feed each other). */
    public int maxLayersPerCopy() {
        return maxLayersPerCopy;
    }

    @Override
    public List<String> namedLayers() {
        Set<String> names = new LinkedHashSet<>(layers);
        names.addAll(when.namedLayers());
        return List.copyOf(names);
    }

    /** Test hook: sees each over-grown copy after it was released. Never set in production. */
    static volatile java.util.function.Consumer<CandidateCopy> released = c -> { };

    @Override
    public Optional<GrowthProposal> propose(PlanningContext context) {
        NetworkAdapter net = context.network();
        // The trigger first: finding the eligible layers plans a rewrite of each, not worth doing at
        // every iteration (a signal trigger asked with no eligible layer computes for nothing, rarely).
        if (!context.forced() && !when.shouldGrow(context.progress(), context.signals())) {
            return Optional.empty();
        }
        // Eligible layers and their consumers, from the geometry of a one-unit plan (no arrays).
        Map<String, String> consumerOf = new LinkedHashMap<>();
        Map<String, Long> perUnit = new LinkedHashMap<>();
        for (String layer : context.growableLayers()) {
            if ((!layers.isEmpty() && !layers.contains(layer)) || context.width(layer) >= context.maxWidth(layer)) {
                continue;
            }
            RewriteGeometry g = NetworkRewrite.of(net.model()).grow(layer, 1).plan();
            RewriteGeometry.Site site = g.site(layer);
            if (site.consumers().size() != 1) {
                continue;   // several consumers: the split halves' fan-out would need more than one
            }
            RewriteGeometry.Consumer c = site.consumers().get(0);
            int rank = c.fanOutShape().length;
            if (c.block() != 1 || !((rank == 2 && c.inputAxis() == 0) || (rank == 4 && c.inputAxis() == 1))) {
                continue;   // through a flatten, or into something that is not a dense or convolution layer
            }
            // A unit costs its fan-in, its bias and its fan-out; a batch norm on the way adds four
            // (gamma, beta, mean, deviation). That one is folded into the layer in the candidates' copy
            // (see CandidateCopy), which needs it right after the layer, with the identity between.
            long fanIn = 1;
            for (long d : site.fanInShape()) {
                fanIn *= d;
            }
            long bare = fanIn + c.fanOutPerUnit();
            long cost = g.paramsAfter() - g.paramsBefore();
            boolean plain = cost == bare || cost == bare + 1;
            boolean batchNorm = (cost == bare + 4 || cost == bare + 5) && CandidateCopy.foldedBatchNorm(net, layer) != null;
            if (!plain && !batchNorm) {
                continue;
            }
            // Softmax ties the units together: a split half no longer computes half of its unit.
            if (site.activation() instanceof org.nd4j.linalg.activations.impl.ActivationSoftmax) {
                continue;
            }
            if (net.model().numParams() + cost > context.maxParams()) {
                continue;   // not even one more unit fits under maxParams: no candidate worth training
            }
            consumerOf.put(layer, c.layer());
            perUnit.put(layer, cost);
        }
        if (consumerOf.isEmpty()) {
            return Optional.empty();
        }
        // Read under the growth generator (an iterator that draws must not draw from training's).
        List<? extends MultiDataSet> data = context.signals().compute(0, 0, () -> context.signals().growthData());
        long examples = 0;
        for (MultiDataSet ds : data) {
            examples += ds.getFeatures(0).size(0);
        }
        List<Candidate> all = new ArrayList<>();
        Map<String, CandidateCopy.Site> trained = new LinkedHashMap<>();
        long perPass = examples / Math.max(1, data.size());
        // One seed per layer, in layer order, before any copy: a layer's candidates do not depend on
        // which layers share its copy (grouping only bounds memory).
        Map<String, Long> seeds = new LinkedHashMap<>();
        consumerOf.keySet().forEach(l -> seeds.put(l, context.random().nextLong()));
        for (List<String> group : groups(consumerOf, maxLayersPerCopy)) {
            List<String> consumers = new ArrayList<>();
            List<Long> groupSeeds = new ArrayList<>();
            group.forEach(l -> {
                consumers.add(consumerOf.get(l));
                groupSeeds.add(seeds.get(l));
            });
            int evaluations = score == Score.INTEGRATED ? 3 : 1;
            long passes = steps + (long) evaluations * data.size();
            context.signals().compute(passes, steps * perPass + evaluations * examples, () -> {
                // Everything here is private: nothing may land in a workspace training has open.
                try (org.nd4j.linalg.api.memory.MemoryWorkspace ws =
                             Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                    train(net, group, consumers, groupSeeds, data, all, trained);
                }
                return null;
            });
        }
        return select(context, consumerOf, perUnit, trained, all);
    }

    /** Over-grows one group on a private copy, trains its candidates, scores them, frees the copy. */
    private void train(NetworkAdapter net, List<String> group, List<String> consumers, List<Long> seeds,
                       List<? extends MultiDataSet> data, List<Candidate> all, Map<String, CandidateCopy.Site> trained) {
        CandidateCopy copy = CandidateCopy.build(this, net, group, consumers, seeds);
        try {
            for (int step = 0; step < steps; step++) {
                copy.train(data.get(step % data.size()));
            }
            score(copy, data, all);
            copy.sites().forEach(s -> trained.put(s.layer, s));
        } finally {
            copy.release();
            released.accept(copy);
        }
    }

    /** {@link #groups(Map, int)} without a size limit. */
    static List<List<String>> groups(Map<String, String> consumerOf) {
        return groups(consumerOf, 0);
    }

    /**
     * Layers in groups none of whose members feeds another, of at most {@code max} layers (0: no
     * limit): each group shares one over-grown copy, so the limit bounds the memory of the copy.
     */
    static List<List<String>> groups(Map<String, String> consumerOf, int max) {
        List<List<String>> groups = new ArrayList<>();
        for (String layer : consumerOf.keySet()) {
            List<String> home = null;
            for (List<String> g : groups) {
                if (max > 0 && g.size() >= max) {
                    continue;
                }
                boolean adjacent = false;
                for (String other : g) {
                    adjacent |= layer.equals(consumerOf.get(other)) || other.equals(consumerOf.get(layer));
                }
                if (!adjacent) {
                    home = g;
                    break;
                }
            }
            if (home == null) {
                home = new ArrayList<>();
                groups.add(home);
            }
            home.add(layer);
        }
        return groups;
    }

    /** One candidate: a split of unit {@code index}, or new neuron {@code index} of K. */
    static final class Candidate {
        final String layer;
        final boolean split;
        final int index;
        final double score;

        Candidate(String layer, boolean split, int index, double score) {
            this.layer = layer;
            this.split = split;
            this.index = index;
            this.score = score;
        }
    }

    void score(CandidateCopy copy, List<? extends MultiDataSet> data, List<Candidate> out) {
        int m = copy.sites().size();
        double[][] split = new double[m][];
        double[][] fresh = new double[m][];
        copy.gateDerivatives(data, 1.0, split, fresh);
        if (score == Score.INTEGRATED) {
            double[][] s0 = new double[m][];
            double[][] f0 = new double[m][];
            double[][] sh = new double[m][];
            double[][] fh = new double[m][];
            copy.gateDerivatives(data, 0.0, s0, f0);
            copy.gateDerivatives(data, 0.5, sh, fh);
            for (int i = 0; i < m; i++) {
                for (int u = 0; u < split[i].length; u++) {
                    split[i][u] = (s0[i][u] + 4 * sh[i][u] + split[i][u]) / 6;
                }
                for (int j = 0; j < fresh[i].length; j++) {
                    fresh[i][j] = (f0[i][j] + 4 * fh[i][j] + fresh[i][j]) / 6;
                }
            }
        }
        for (int i = 0; i < m; i++) {
            CandidateCopy.Site s = copy.sites().get(i);
            s.splitScores = split[i];
            s.newScores = fresh[i];
            for (int u = 0; u < s.n; u++) {
                out.add(new Candidate(s.layer, true, u, split[i][u]));
            }
            for (int j = 0; j < s.k; j++) {
                out.add(new Candidate(s.layer, false, j, fresh[i][j]));
            }
        }
    }

    private Optional<GrowthProposal> select(PlanningContext context, Map<String, String> consumerOf,
                                            Map<String, Long> perUnit, Map<String, CandidateCopy.Site> trained,
                                            List<Candidate> all) {
        long totalWidth = 0;
        Map<String, Integer> room = new LinkedHashMap<>();
        for (String layer : consumerOf.keySet()) {
            int w = context.width(layer);
            totalWidth += w;
            room.put(layer, context.maxWidth(layer) - w);
        }
        long wanted = count > 0 ? count : Math.max(1, (long) Math.floor(growRatio * totalWidth));
        all.sort(Comparator.comparingDouble(c -> c.score));
        Map<String, List<Candidate>> chosen = new LinkedHashMap<>();
        consumerOf.keySet().forEach(l -> chosen.put(l, new ArrayList<>()));
        Double bestRejected = null;
        long taken = 0;
        // The parameter cap, counted as candidates are taken: a unit costs its fan-in, bias and fan-out
        // at the current widths, plus one weight per unit already added to the layer it feeds or that
        // feeds it (so the total is exact), rather than a proposal the controller would then refuse.
        long params = context.network().model().numParams();
        for (Candidate c : all) {
            List<Candidate> mine = chosen.get(c.layer);
            long cost = perUnit.get(c.layer) + added(chosen, consumerOf.get(c.layer)) + addedBy(chosen, consumerOf,
                    c.layer);
            if (taken < wanted && c.score < 0 && mine.size() < room.get(c.layer)
                    && params + cost <= context.maxParams()) {
                mine.add(c);
                taken++;
                params += cost;
            } else if (bestRejected == null) {
                bestRejected = c.score;
            }
        }
        GrowthProposal.Builder b = GrowthProposal.builder();
        Map<String, UnitMap> maps = new LinkedHashMap<>();
        for (Map.Entry<String, List<Candidate>> e : chosen.entrySet()) {
            if (!e.getValue().isEmpty()) {
                maps.put(e.getKey(), unitMap(context.width(e.getKey()), e.getValue()));
            }
        }
        Map<String, FireflyDetails.Layer> records = new LinkedHashMap<>();
        for (String layer : consumerOf.keySet()) {
            List<Candidate> mine = chosen.get(layer);
            List<Integer> splits = new ArrayList<>();
            List<Integer> fresh = new ArrayList<>();
            List<Double> scores = new ArrayList<>();
            for (Candidate c : mine) {
                scores.add(c.score);
                (c.split ? splits : fresh).add(c.index);
            }
            splits.sort(null);
            fresh.sort(null);
            CandidateCopy.Site s = trained.get(layer);
            long extra = perUnit.get(layer) * (s.n + s.k);
            records.put(layer, new FireflyDetails.Layer(splits, fresh.size(), scores, extra, s.n + s.k, fresh,
                    extra * bytesPerParameter(context)));
        }
        if (maps.isEmpty()) {
            org.slf4j.LoggerFactory.getLogger(FireflyPlanner.class).info("Firefly at iteration {}: no candidate "
                    + "lowers the loss (best score {}), nothing grown", context.progress().iteration(),
                    all.isEmpty() ? "none" : all.get(0).score);
            return Optional.empty();
        }
        for (Map.Entry<String, UnitMap> e : maps.entrySet()) {
            String layer = e.getKey();
            b.unitMap(layer, e.getValue()).initializer(layer, new FireflyInit());
            record(context, layer, chosen.get(layer), trained.get(layer), maps, consumerOf);
        }
        return Optional.of(b.details(new FireflyDetails(records, bestRejected, steps,
                score == Score.GATE ? "gate" : "integrated")).build());
    }

    /**
     * Memory per extra parameter of the over-grown copy, an upper bound: the parameter and its
     * gradient in the copy, and as a candidate tensor its copy, its update and two RMSProp states
     * (biases carry none of the latter).
     */
    private static long bytesPerParameter(PlanningContext context) {
        return 6L * context.network().model().params().dataType().width();
    }

    private static long added(Map<String, List<Candidate>> chosen, String layer) {
        List<Candidate> c = layer == null ? null : chosen.get(layer);
        return c == null ? 0 : c.size();
    }

    /** Units added so far to the layers that feed {@code layer}. */
    private static long addedBy(Map<String, List<Candidate>> chosen, Map<String, String> consumerOf, String layer) {
        long n = 0;
        for (Map.Entry<String, String> e : consumerOf.entrySet()) {
            if (layer.equals(e.getValue())) {
                n += added(chosen, e.getKey());
            }
        }
        return n;
    }

    /** Old units first (split ones keep their place, +v), then a copy per split unit (-v), then new neurons. */
    static UnitMap unitMap(int n, List<Candidate> chosen) {
        List<Integer> splits = new ArrayList<>();
        int fresh = 0;
        for (Candidate c : chosen) {
            if (c.split) {
                splits.add(c.index);
            } else {
                fresh++;
            }
        }
        splits.sort(null);
        int width = n + splits.size() + fresh;
        int[] src = new int[width];
        double[] scale = new double[width];
        int[] sign = new int[width];
        for (int u = 0; u < n; u++) {
            boolean split = splits.contains(u);
            src[u] = u;
            scale[u] = split ? 0.5 : 1.0;
            sign[u] = split ? 1 : 0;
        }
        for (int i = 0; i < splits.size(); i++) {
            src[n + i] = splits.get(i);
            scale[n + i] = 0.5;
            sign[n + i] = -1;
        }
        for (int j = n + splits.size(); j < width; j++) {
            src[j] = UnitMap.FRESH;
            scale[j] = 1.0;
        }
        return UnitMap.of(n, src, scale, sign);
    }

    /**
     * Records, for {@link FireflyInit}, the trained tensors of the chosen candidates laid out for
     * the network after the growth: rows follow the producer's new units (a split half gets half of
     * its source's row, as the rewrite halves its outgoing weights; a new unit of the producer 0),
     * columns of the fan-out follow the consumer's new units (both halves of a split the value of
     * their source, new units 0).
     */
    private static void record(PlanningContext context, String layer, List<Candidate> chosen,
                               CandidateCopy.Site s, Map<String, UnitMap> maps, Map<String, String> consumerOf) {
        List<Integer> splits = new ArrayList<>();
        List<Integer> fresh = new ArrayList<>();
        for (Candidate c : chosen) {
            (c.split ? splits : fresh).add(c.index);
        }
        splits.sort(null);
        fresh.sort(null);
        UnitMap producer = null;
        for (Map.Entry<String, String> e : consumerOf.entrySet()) {
            if (layer.equals(e.getValue()) && maps.containsKey(e.getKey())) {
                producer = maps.get(e.getKey());
            }
        }
        UnitMap consumer = maps.get(consumerOf.get(layer));
        // Fan-in tensors: dense [inputs, units], convolution [units, inputs, kH, kW]; fan-out: dense
        // [units, consumer units], convolution [consumer units, units, kH, kW].
        int producerAxis = s.unitAxis == 0 ? 1 : 0;
        int consumerAxis = s.inputAxis == 1 ? 0 : 1;
        if (!fresh.isEmpty()) {
            INDArray in = pick(s.realFanIn(), s.unitAxis, fresh);
            INDArray out = pick(s.realFanOut(), s.inputAxis, fresh);
            context.signals().put(layer, FireflyInit.FAN_IN, relayout(in, producer, producerAxis, true));
            context.signals().put(layer, FireflyInit.FAN_OUT, relayout(out, consumer, consumerAxis, false));
        }
        if (!splits.isEmpty()) {
            context.signals().put(layer, FireflyInit.DIRECTIONS,
                    relayout(pick(s.realDirections(), s.unitAxis, splits), producer, producerAxis, true));
        }
    }

    private static INDArray pick(INDArray a, int axis, List<Integer> idx) {
        org.nd4j.linalg.indexing.INDArrayIndex[] at = CandidateCopy.all(a.rank());
        at[axis] = NDArrayIndex.indices(idx.stream().mapToLong(Integer::longValue).toArray());
        return a.get(at).dup('c');
    }

    /**
     * {@code a} laid out along {@code axis} for {@code map}'s new units: a copied unit takes its
     * source's slice (times its fan-out scale when {@code scaled}: the producer's split halves, whose
     * outgoing weights the rewrite halves), a new unit zeros. Null map: {@code a} as it is.
     */
    static INDArray relayout(INDArray a, UnitMap map, int axis, boolean scaled) {
        if (map == null) {
            return a;
        }
        long[] shape = a.shape();
        shape[axis] = map.newWidth();
        INDArray out = Nd4j.zeros(a.dataType(), shape);
        for (int r = 0; r < map.newWidth(); r++) {
            int src = map.source(r);
            if (src == UnitMap.FRESH) {
                continue;
            }
            org.nd4j.linalg.indexing.INDArrayIndex[] to = CandidateCopy.all(a.rank());
            to[axis] = NDArrayIndex.point(r);
            org.nd4j.linalg.indexing.INDArrayIndex[] from = CandidateCopy.all(a.rank());
            from[axis] = NDArrayIndex.point(src);
            INDArray value = a.get(from);
            out.get(to).assign(scaled ? value.mul(map.fanOutScale(r)) : value);
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof FireflyPlanner)) {
            return false;
        }
        FireflyPlanner p = (FireflyPlanner) o;
        return when.equals(p.when) && layers.equals(p.layers) && newNeurons == p.newNeurons
                && fanInStd == p.fanInStd && fanOutRange == p.fanOutRange && splitRange == p.splitRange
                && steps == p.steps && learningRate == p.learningRate && momentum == p.momentum && alpha == p.alpha
                && splitPenalty == p.splitPenalty && fanInPenaltyFactor == p.fanInPenaltyFactor
                && growRatio == p.growRatio && count == p.count && score == p.score
                && maxLayersPerCopy == p.maxLayersPerCopy;
    }

    @Override
    public int hashCode() {
        return Objects.hash(when, layers, newNeurons, fanInStd, fanOutRange, splitRange, steps, learningRate,
                momentum, alpha, splitPenalty, fanInPenaltyFactor, growRatio, count, score, maxLayersPerCopy);
    }

    @Override
    public String toString() {
        return "firefly{when=" + when + (layers.isEmpty() ? "" : ", layers=" + layers) + ", K=" + newNeurons
                + ", steps=" + steps + ", " + (count > 0 ? "count=" + count : "growRatio=" + growRatio)
                + ", score=" + score + (maxLayersPerCopy > 0 ? ", maxLayersPerCopy=" + maxLayersPerCopy : "") + "}";
    }

    /** Settings with the reference's defaults; {@link #when} is required. */
    public static final class Builder {
        private GrowthTrigger when;
        private List<String> layers = List.of();
        private int newNeurons = 70;
        private double fanInStd = 0.1;
        private double fanOutRange = 0.01;
        private double splitRange = 0.1;
        private int steps = DEFAULT_STEPS;
        private double learningRate = 1e-3;
        private double momentum = 0.1;
        private double alpha = 0.9;
        private double splitPenalty = 1e-2;
        private double fanInPenaltyFactor = 1e-2;
        private double growRatio = 0.35;
        private int count;
        private Score score = Score.GATE;
        private int maxLayersPerCopy;

        private Builder() {
        }

        /**
         * Over-grows at most {@code n} layers per private copy (default: every layer that does not
         * feed another in the same copy), to bound the copy's memory; the ranking stays global, and
         * each layer's candidates are drawn the same way whatever its group.
         */
        public Builder maxLayersPerCopy(int n) {
            Preconditions.checkArgument(n >= 1, "firefly: maxLayersPerCopy(n) must be at least 1 (got: %s)", n);
            this.maxLayersPerCopy = n;
            return this;
        }

        /** When to grow, e.g. {@code GrowthTrigger.everyEpochs(2)}. Required. */
        public Builder when(GrowthTrigger trigger) {
            this.when = Preconditions.checkNotNull(trigger, "firefly: when(trigger): trigger must not be null");
            return this;
        }

        /** Only these layers get candidates (default: every eligible dense layer). */
        public Builder layers(String... names) {
            this.layers = List.of(names);
            return this;
        }

        /** K, new-neuron candidates per layer (default 70, the reference's). */
        public Builder newNeurons(int k) {
            this.newNeurons = k;
            return this;
        }

        /** Candidates' starting scales: new fan-in N(0, σ), new fan-out U(-a, a), split v U(-b, b). */
        public Builder initialScales(double fanInStd, double fanOutRange, double splitRange) {
            this.fanInStd = fanInStd;
            this.fanOutRange = fanOutRange;
            this.splitRange = splitRange;
            return this;
        }

        /** Candidate training steps, one growth-data minibatch each (default {@value FireflyPlanner#DEFAULT_STEPS}). */
        public Builder steps(int n) {
            this.steps = n;
            return this;
        }

        /** RMSProp settings for candidate training (default the reference's: 1e-3, 0.1, 0.9). */
        public Builder rmsProp(double learningRate, double momentum, double alpha) {
            this.learningRate = learningRate;
            this.momentum = momentum;
            this.alpha = alpha;
            return this;
        }

        /** The penalty λ·(‖v‖² + μ·‖w_in‖²) (default λ = 1e-2, μ = 1e-2, the reference's). */
        public Builder penalty(double lambda, double fanInFactor) {
            this.splitPenalty = lambda;
            this.fanInPenaltyFactor = fanInFactor;
            return this;
        }

        /** At most this fraction of the candidate layers' total width is added per growth (default 0.35). */
        public Builder growRatio(double ratio) {
            this.growRatio = ratio;
            this.count = 0;
            return this;
        }

        /** At most this many candidates are chosen per growth, instead of a ratio. */
        public Builder count(int n) {
            Preconditions.checkArgument(n >= 1, "firefly: count(n) must be at least 1 (got: %s)", n);
            this.count = n;
            return this;
        }

        public Builder score(Score how) {
            this.score = Preconditions.checkNotNull(how, "firefly: score(how) must not be null");
            return this;
        }

        public FireflyPlanner build() {
            if (when == null) {
                throw new IllegalStateException("firefly: when(...) is required, e.g. GrowthTrigger.everyEpochs(2)");
            }
            return new FireflyPlanner(when, layers, newNeurons, fanInStd, fanOutRange, splitRange, steps,
                    learningRate, momentum, alpha, splitPenalty, fanInPenaltyFactor, growRatio, count, score,
                    maxLayersPerCopy);
        }
    }
}
