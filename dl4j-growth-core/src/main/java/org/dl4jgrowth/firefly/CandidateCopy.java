package org.dl4jgrowth.firefly;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.dl4jgrowth.how.NewUnits;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.network.NetworkAdapter;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.rewrite.UnitMap;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.rng.Random;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The over-grown network of one group of layers: a private copy of the network in which every
 * unit (neuron or channel) of each layer is split (fan-in w + v and w - v, half the fan-out each)
 * and K new units are added, built by the library's own rewrite; then only the candidate tensors
 * (v, the new fan-in and fan-out) are trained, with the base weights frozen and dropout and weight
 * noise off, and scored. Package-private: {@link FireflyPlanner} is the way in.
 *
 * <p>Batch norm: DL4J has no inference mode for a gradient pass, so in the copy every batch norm
 * that directly follows a dense or convolution layer with the identity activation is folded into
 * that layer, exactly, with its running statistics: W' = aW, b' = a(b - μ) + β per unit, a =
 * γ/√(σ² + ε); the batch norm itself becomes an identity activation layer. The copy then computes
 * the network's inference output, and candidates are trained and scored in the folded space;
 * {@link Site#realDirections()} and {@link Site#realFanIn()} divide by a again for the network,
 * whose batch norm (the split halves' copied from their unit, new units' fresh) applies it.
 */
final class CandidateCopy {

    /**
     * One layer's candidates in the copy. Along the unit axis of W (dense: 1, convolution: 0):
     * [0, n) w + v, [n, 2n) w - v, [2n, 2n + K) new units; the consumer's rows for them lie along
     * its input axis (dense: 0, convolution: 1).
     */
    static final class Site {
        final String layer;
        final String consumer;
        final int n;
        final int k;
        final int unitAxis;
        final int inputAxis;
        INDArray w0;            // the layer's weights for its n units (folded if a batch norm follows), frozen
        INDArray out0;          // the consumer's weights from the n units (folded if it has a batch norm), frozen
        INDArray v;             // split directions, shaped like w0
        INDArray in;            // new units' fan-in
        INDArray out;           // new units' fan-out
        /** The batch norm's per-unit scale a for the 2n + K units, or null when none was folded. */
        INDArray fold;
        /** The consumer's batch-norm scale for its units, or null when it has none folded. */
        INDArray consumerFold;
        final Rms rv;
        final Rms rin;
        final Rms rout;
        double[] splitScores;
        double[] newScores;

        Site(String layer, String consumer, int n, int k, int unitAxis, int inputAxis, FireflyPlanner p) {
            this.layer = layer;
            this.consumer = consumer;
            this.n = n;
            this.k = k;
            this.unitAxis = unitAxis;
            this.inputAxis = inputAxis;
            this.rv = new Rms(p);
            this.rin = new Rms(p);
            this.rout = new Rms(p);
        }

        /** The trained directions for the network: unfolded by the splits' batch-norm scale. */
        INDArray realDirections() {
            return fold == null ? v : unscale(v, slice(fold, 0, 0, n), unitAxis);
        }

        /** The trained new units' fan-in for the network: unfolded by their fresh batch norm's scale. */
        INDArray realFanIn() {
            return fold == null || in == null ? in : unscale(in, slice(fold, 0, 2 * n, 2 * n + k), unitAxis);
        }

        /** The trained new units' fan-out for the network: unfolded by the consumer's batch-norm scale. */
        INDArray realFanOut() {
            return consumerFold == null || out == null ? out : unscale(out, consumerFold, inputAxis == 1 ? 0 : 1);
        }

        private static INDArray unscale(INDArray a, INDArray scale, int axis) {
            INDArray out = a.dup('c');
            Nd4j.getExecutioner().exec(new org.nd4j.linalg.api.ops.impl.broadcast.BroadcastDivOp(out,
                    scale.castTo(out.dataType()), out, axis));
            return out;
        }
    }

    /**
     * RMSProp with momentum as PyTorch defines it (the reference's optimiser; ND4J's RmsProp has no
     * momentum): s = αs + (1-α)g², b = μb + g/(√s + ε), p -= lr·b.
     */
    static final class Rms {
        private final double lr;
        private final double alpha;
        private final double momentum;
        private INDArray square;
        private INDArray buffer;

        Rms(FireflyPlanner p) {
            this.lr = p.learningRate();
            this.alpha = p.alpha();
            this.momentum = p.momentum();
        }

        INDArray step(INDArray param, INDArray grad) {
            if (square == null) {
                square = param.like();
                buffer = param.like();
            }
            square.muli(alpha).addi(grad.mul(grad).muli(1 - alpha));
            INDArray scaled = grad.div(Transforms.sqrt(square, true).addi(1e-8));
            buffer = momentum > 0 ? buffer.muli(momentum).addi(scaled) : scaled;
            return param.sub(buffer.mul(lr));
        }
    }

    private final FireflyPlanner planner;
    private final NetworkAdapter copy;
    /** Every network built on the way (the over-grown one before folding too), freed together. */
    private final List<NetworkAdapter> built;
    private final List<Site> sites;

    private CandidateCopy(FireflyPlanner planner, NetworkAdapter copy, List<NetworkAdapter> built, List<Site> sites) {
        this.planner = planner;
        this.copy = copy;
        this.built = built;
        this.sites = sites;
    }

    /**
     * Builds the over-grown copy of {@code network} for {@code layers} (no two of which feed each
     * other), each with its one consumer, drawing the candidates from {@code random}.
     */
    static CandidateCopy build(FireflyPlanner p, NetworkAdapter network, List<String> layers, List<String> consumers,
                               Random random) {
        List<Long> seeds = new ArrayList<>();
        for (int i = 0; i < layers.size(); i++) {
            seeds.add(random.nextLong());
        }
        return build(p, network, layers, consumers, seeds);
    }

    /**
     * {@link #build(FireflyPlanner, NetworkAdapter, List, List, Random)} with each layer's candidates
     * drawn from a generator of its own, seeded with {@code seeds}: a layer's candidates are then the
     * same whichever layers share its copy.
     */
    static CandidateCopy build(FireflyPlanner p, NetworkAdapter network, List<String> layers, List<String> consumers,
                               List<Long> seeds) {
        NetworkAdapter grown = network.privateCopy();
        NetworkRewrite rewrite = NetworkRewrite.of(grown.model());
        List<Site> sites = new ArrayList<>();
        for (int i = 0; i < layers.size(); i++) {
            String layer = layers.get(i);
            int n = NetworkRewrite.width(grown.model(), layer);
            int[] all = new int[n];
            for (int u = 0; u < n; u++) {
                all[u] = u;
            }
            UnitMap split = UnitMap.splitPerturbed(n, all);
            int[] src = new int[2 * n + p.newNeurons()];
            double[] scale = new double[src.length];
            int[] sign = new int[src.length];
            for (int j = 0; j < src.length; j++) {
                src[j] = j < 2 * n ? split.source(j) : UnitMap.FRESH;
                scale[j] = j < 2 * n ? split.fanOutScale(j) : 1.0;
                sign[j] = j < 2 * n ? split.perturbation(j) : 0;
            }
            rewrite.unitMap(layer, UnitMap.of(n, src, scale, sign)).initializer(layer, new Draw(p, seeds.get(i)));
            INDArray w = network.paramTable(layer).get("W");
            INDArray cw = network.paramTable(consumers.get(i)).get("W");
            sites.add(new Site(layer, consumers.get(i), n, p.newNeurons(), w.rank() == 4 ? 0 : 1,
                    cw.rank() == 4 ? 1 : 0, p));
        }
        rewrite.apply();
        List<NetworkAdapter> built = new ArrayList<>();
        built.add(grown);
        Map<String, INDArray> folds = new LinkedHashMap<>();
        NetworkAdapter copy = foldBatchNorms(grown, folds);
        if (copy != grown) {
            built.add(copy);
        }
        // Inference behaviour for everything but the candidates: no dropout, no weight noise.
        for (String name : copy.layerNames()) {
            Layer conf = copy.layerConfiguration(name);
            conf.setIDropout(null);
            if (conf instanceof BaseLayer) {
                ((BaseLayer) conf).setWeightNoise(null);
            }
        }
        for (Site s : sites) {
            INDArray w = copy.paramTable(s.layer).get("W").dup('c');
            INDArray plus = slice(w, s.unitAxis, 0, s.n);
            INDArray minus = slice(w, s.unitAxis, s.n, 2 * s.n);
            s.v = plus.sub(minus).divi(2);
            s.w0 = plus.add(minus).divi(2);
            // K = 0 (splits only): no new-unit tensors at all; ND4J's empty slices lose their type.
            s.in = s.k == 0 ? null : slice(w, s.unitAxis, 2 * s.n, 2 * s.n + s.k);
            // Read from the copy, not the network: the consumer may have had a batch norm folded in too.
            INDArray cw = copy.paramTable(s.consumer).get("W").dup('c');
            s.out0 = slice(cw, s.inputAxis, 0, s.n).addi(slice(cw, s.inputAxis, s.n, 2 * s.n));
            s.out = s.k == 0 ? null : slice(cw, s.inputAxis, 2 * s.n, 2 * s.n + s.k);
            s.fold = folds.get(s.layer);
            s.consumerFold = folds.get(s.consumer);
        }
        return new CandidateCopy(p, copy, built, sites);
    }

    /**
     * Folds every batch norm that directly and only follows a dense or convolution layer with the
     * identity activation into that layer (see the class comment); {@code folds} receives each
     * folded layer's per-unit scale. Returns {@code net} itself when there is nothing to fold.
     */
    static NetworkAdapter foldBatchNorms(NetworkAdapter net, Map<String, INDArray> folds) {
        Map<String, String> bnAfter = new LinkedHashMap<>();
        for (String name : net.layerNames()) {
            String bn = foldedBatchNorm(net, name);
            if (bn != null) {
                bnAfter.put(name, bn);
            }
        }
        if (bnAfter.isEmpty()) {
            return net;
        }
        Map<String, Layer> identity = new LinkedHashMap<>();
        bnAfter.values().forEach(bn -> identity.put(bn, new ActivationLayer.Builder().activation(Activation.IDENTITY)
                .build()));
        NetworkAdapter folded = net.copyReplacing(identity);
        for (Map.Entry<String, String> e : bnAfter.entrySet()) {
            INDArray a = org.dl4jgrowth.network.BatchNorms.scale(net, e.getValue());
            INDArray c = org.dl4jgrowth.network.BatchNorms.shift(net, e.getValue(), a);
            Map<String, INDArray> dst = folded.paramTable(e.getKey());
            Map<String, INDArray> src = net.paramTable(e.getKey());
            INDArray w = src.get("W").dup('c');
            int unitAxis = w.rank() == 4 ? 0 : 1;
            Nd4j.getExecutioner().exec(new org.nd4j.linalg.api.ops.impl.broadcast.BroadcastMulOp(w,
                    a.castTo(w.dataType()), w, unitAxis));
            dst.get("W").assign(w);
            if (src.containsKey("b")) {
                INDArray b = src.get("b").dup().reshape(-1).mul(a).addi(c);
                dst.get("b").assign(b.reshape(dst.get("b").shape()));
            }
            folds.put(e.getKey(), a);
        }
        return folded;
    }

    /** See {@link org.dl4jgrowth.network.BatchNorms#foldable}. */
    static String foldedBatchNorm(NetworkAdapter net, String layer) {
        return org.dl4jgrowth.network.BatchNorms.foldable(net, layer);
    }

    List<Site> sites() {
        return sites;
    }

    Model model() {
        return copy.model();
    }

    /** Writes the candidates into the copy at gate {@code t} (1: their trained size; 0: switched off). */
    void write(double t) {
        for (Site s : sites) {
            INDArray tv = s.v.mul(t);
            INDArray w = s.k == 0 ? Nd4j.concat(s.unitAxis, s.w0.add(tv), s.w0.sub(tv))
                    : Nd4j.concat(s.unitAxis, s.w0.add(tv), s.w0.sub(tv), s.in);
            // Assigned whole: slicing the parameter views DL4J hands out misbehaves in ND4J M2.1.
            copy.paramTable(s.layer).get("W").assign(w);
            INDArray half = s.out0.mul(0.5);
            copy.paramTable(s.consumer).get("W").assign(s.k == 0 ? Nd4j.concat(s.inputAxis, half, half)
                    : Nd4j.concat(s.inputAxis, half, half, s.out.mul(t)));
        }
    }

    /** One step of candidate training on {@code batch}: base frozen, the reference's penalty on v and the fan-in. */
    void train(MultiDataSet batch) {
        write(1.0);
        copy.computeGradient(batch);
        double n = examples(batch);
        for (Site s : sites) {
            INDArray gw = copy.gradient(s.layer, "W").div(n);
            INDArray gc = copy.gradient(s.consumer, "W").div(n);
            INDArray gv = slice(gw, s.unitAxis, 0, s.n).subi(slice(gw, s.unitAxis, s.n, 2 * s.n))
                    .addi(s.v.mul(2 * planner.splitPenalty()));
            s.v = s.rv.step(s.v, gv);
            if (s.k > 0) {
                INDArray gin = slice(gw, s.unitAxis, 2 * s.n, 2 * s.n + s.k)
                        .addi(s.in.mul(2 * planner.splitPenalty() * planner.fanInPenaltyFactor()));
                INDArray gout = slice(gc, s.inputAxis, 2 * s.n, 2 * s.n + s.k);
                s.in = s.rin.step(s.in, gin);
                s.out = s.rout.step(s.out, gout);
            }
        }
    }

    /**
     * Each candidate's gate derivative, the mean over {@code batches} of ∂L/∂g, with every candidate
     * at gate {@code t}: a split's gate multiplies its v (fan-in w ± g·v), a new unit's its fan-out.
     */
    void gateDerivatives(List<? extends MultiDataSet> batches, double t, double[][] splitOut, double[][] newOut) {
        write(t);
        INDArray[] split = new INDArray[sites.size()];
        INDArray[] fresh = new INDArray[sites.size()];
        double examples = 0;
        for (MultiDataSet batch : batches) {
            // Summed gradients over all examples, divided once: the mean over the growth data, not a
            // mean of batch means (the last batch of an epoch may be partial).
            copy.computeGradient(batch);
            examples += examples(batch);
            for (int i = 0; i < sites.size(); i++) {
                Site s = sites.get(i);
                // A private copy first: slicing the gradient views DL4J hands out misbehaves in ND4J M2.1.
                INDArray gw = copy.gradient(s.layer, "W").dup('c');
                INDArray dv = sumExcept(slice(gw, s.unitAxis, 0, s.n).subi(slice(gw, s.unitAxis, s.n, 2 * s.n))
                        .muli(s.v), s.unitAxis);
                split[i] = split[i] == null ? dv : split[i].addi(dv);
                if (s.k > 0) {
                    INDArray gc = copy.gradient(s.consumer, "W").dup('c');
                    INDArray dn = sumExcept(slice(gc, s.inputAxis, 2 * s.n, 2 * s.n + s.k).muli(s.out), s.inputAxis);
                    fresh[i] = fresh[i] == null ? dn : fresh[i].addi(dn);
                }
            }
        }
        for (int i = 0; i < sites.size(); i++) {
            splitOut[i] = split[i].div(examples).toDoubleVector();
            newOut[i] = fresh[i] == null ? new double[0] : fresh[i].div(examples).toDoubleVector();
        }
    }

    /** Sums over every axis but {@code keep}: one number per unit. */
    private static INDArray sumExcept(INDArray a, int keep) {
        int[] axes = new int[a.rank() - 1];
        for (int d = 0, j = 0; d < a.rank(); d++) {
            if (d != keep) {
                axes[j++] = d;
            }
        }
        return a.sum(axes).reshape(-1);
    }

    /**
     * [from, to) along {@code axis}, as a copy: ND4J M2.1 gives a view without data for a one-wide
     * interval on an inner axis (see {@code Remap}), and K or a layer's width may well be 1.
     */
    static INDArray slice(INDArray a, int axis, long from, long to) {
        INDArrayIndex[] at = all(a.rank());
        at[axis] = NDArrayIndex.indices(range(from, to));
        return a.get(at).dup('c');
    }

    static INDArrayIndex[] all(int rank) {
        INDArrayIndex[] at = new INDArrayIndex[rank];
        for (int d = 0; d < rank; d++) {
            at[d] = NDArrayIndex.all();
        }
        return at;
    }

    private static long[] range(long from, long to) {
        long[] r = new long[(int) (to - from)];
        for (int i = 0; i < r.length; i++) {
            r[i] = from + i;
        }
        return r;
    }

    /**
     * DL4J's gradient is the sum over the minibatch (its updater divides by the minibatch size);
     * the loss, its score, is the mean: candidates are trained and scored on the mean.
     */
    private static double examples(MultiDataSet batch) {
        return batch.getFeatures(0).size(0);
    }

    /** Frees the copies' arrays now rather than at the next garbage collection: they can be large. */
    void release() {
        for (NetworkAdapter net : built) {
            // The rewrite leaves a copy's parameters as a view of the array it built: free that buffer,
            // and the optimizer state (the copy's rewrite builds one; with Adam the largest of the three).
            org.deeplearning4j.nn.updater.BaseMultiLayerUpdater<?> u = net.updater(false);
            INDArray state = u == null ? null : u.getStateViewArray();
            for (INDArray a : new INDArray[]{net.model().params(), net.gradientsView(), state}) {
                if (a == null || a.wasClosed()) {
                    continue;
                }
                org.nd4j.linalg.api.buffer.DataBuffer b = a.data();
                org.nd4j.linalg.api.buffer.DataBuffer root = b.originalDataBuffer() != null ? b.originalDataBuffer() : b;
                if (a.closeable()) {
                    a.close();
                } else if (root.closeable()) {
                    root.close();
                }
            }
        }
    }

    /** The candidates' starting values, the reference's: fan-in N(0, σ), fan-out U(-a, a), v U(-b, b). */
    static final class Draw implements UnitInitializer {
        private static final long serialVersionUID = 1L;
        private final double fanInStd;
        private final double fanOutRange;
        private final double splitRange;
        private final transient Random random;

        Draw(FireflyPlanner p, long seed) {
            this.fanInStd = p.fanInStd();
            this.fanOutRange = p.fanOutRange();
            this.splitRange = p.splitRange();
            this.random = Nd4j.getRandomFactory().getNewRandomInstance(seed);
        }

        @Override
        public void initialize(NewUnits units) {
            INDArray in = units.fanIn().weights();
            in.assign(random.nextGaussian('c', in.shape()).castTo(in.dataType()).muli(fanInStd));
            if (units.hasBias()) {
                units.bias().assign(0);
            }
            for (org.dl4jgrowth.how.WeightBlock b : units.fanOut()) {
                INDArray w = b.weights();
                w.assign(uniform(w, fanOutRange));
            }
        }

        @Override
        public void perturb(NewUnits units) {
            INDArray d = units.perturbation().weights();
            d.assign(uniform(d, splitRange));
        }

        private INDArray uniform(INDArray like, double range) {
            return random.nextDouble('c', like.shape()).castTo(like.dataType()).muli(2 * range).subi(range);
        }
    }
}
