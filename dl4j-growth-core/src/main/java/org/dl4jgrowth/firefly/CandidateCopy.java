package org.dl4jgrowth.firefly;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.dl4jgrowth.how.NewUnits;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.network.NetworkAdapter;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.rewrite.UnitMap;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.rng.Random;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.ArrayList;
import java.util.List;

/**
 * The over-grown network of one group of layers: a private copy of the network in which every
 * unit of each layer is split (fan-in w + v and w - v, half the fan-out each) and K new neurons are
 * added, built by the library's own rewrite; then only the candidate tensors (v, the new fan-in and
 * fan-out) are trained, with the base weights frozen and dropout and weight noise off, and scored.
 * Package-private: {@link FireflyPlanner} is the way in.
 */
final class CandidateCopy {

    /** One layer's candidates in the copy. Columns of W: [0, n) w + v, [n, 2n) w - v, [2n, 2n + K) new. */
    static final class Site {
        final String layer;
        final String consumer;
        final int n;
        final int k;
        final INDArray w0;      // [nIn, n] the layer's weights, frozen
        final INDArray out0;    // [n, nOut] the consumer's rows for the layer's units, frozen
        INDArray v;             // [nIn, n] split directions
        INDArray in;            // [nIn, K] new neurons' fan-in
        INDArray out;           // [K, nOut] new neurons' fan-out
        final Rms rv;
        final Rms rin;
        final Rms rout;
        double[] splitScores;
        double[] newScores;

        Site(String layer, String consumer, int n, int k, INDArray w0, INDArray out0, FireflyPlanner p) {
            this.layer = layer;
            this.consumer = consumer;
            this.n = n;
            this.k = k;
            this.w0 = w0;
            this.out0 = out0;
            this.rv = new Rms(p);
            this.rin = new Rms(p);
            this.rout = new Rms(p);
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
    private final List<Site> sites = new ArrayList<>();

    private CandidateCopy(FireflyPlanner planner, NetworkAdapter copy) {
        this.planner = planner;
        this.copy = copy;
    }

    /**
     * Builds the over-grown copy of {@code network} for {@code layers} (no two of which feed each
     * other), each with its one dense consumer, drawing the candidates from {@code random}.
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
        NetworkAdapter copy = network.privateCopy();
        NetworkRewrite rewrite = NetworkRewrite.of(copy.model());
        CandidateCopy c = new CandidateCopy(p, copy);
        for (int i = 0; i < layers.size(); i++) {
            String layer = layers.get(i);
            int n = NetworkRewrite.width(copy.model(), layer);
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
            INDArray w0 = network.paramTable(layer).get("W").dup('c');
            INDArray out0 = network.paramTable(consumers.get(i)).get("W").dup('c');
            c.sites.add(new Site(layer, consumers.get(i), n, p.newNeurons(), w0, out0, p));
        }
        rewrite.apply();
        // Inference behaviour for everything but the candidates: no dropout, no weight noise.
        for (String name : copy.layerNames()) {
            Layer conf = copy.layerConfiguration(name);
            conf.setIDropout(null);
            if (conf instanceof BaseLayer) {
                ((BaseLayer) conf).setWeightNoise(null);
            }
        }
        for (Site s : c.sites) {
            INDArray w = copy.paramTable(s.layer).get("W").dup('c');
            INDArray plus = cols(w, 0, s.n);
            INDArray minus = cols(w, s.n, 2 * s.n);
            s.v = plus.sub(minus).divi(2).dup('c');
            // K = 0 (splits only): no new-neuron tensors at all; ND4J's empty slices lose their type.
            s.in = s.k == 0 ? null : cols(w, 2 * s.n, 2 * s.n + s.k)
                    .dup('c');
            s.out = s.k == 0 ? null : rows(copy.paramTable(s.consumer).get("W").dup('c'), 2 * s.n, 2 * s.n + s.k);
        }
        return c;
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
            INDArray w = s.k == 0 ? Nd4j.hstack(s.w0.add(tv), s.w0.sub(tv)) : Nd4j.hstack(s.w0.add(tv), s.w0.sub(tv), s.in);
            // Assigned whole: slicing the parameter views DL4J hands out misbehaves in ND4J M2.1.
            copy.paramTable(s.layer).get("W").assign(w);
            INDArray half = s.out0.mul(0.5);
            copy.paramTable(s.consumer).get("W").assign(s.k == 0 ? Nd4j.vstack(half, half)
                    : Nd4j.vstack(half, half, s.out.mul(t)));
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
            INDArray gv = cols(gw, 0, s.n)
                    .sub(cols(gw, s.n, 2 * s.n))
                    .addi(s.v.mul(2 * planner.splitPenalty()));
            s.v = s.rv.step(s.v, gv);
            if (s.k > 0) {
                INDArray gin = cols(gw, 2 * s.n, 2 * s.n + s.k).dup()
                        .addi(s.in.mul(2 * planner.splitPenalty() * planner.fanInPenaltyFactor()));
                INDArray gout = rows(gc, 2 * s.n, 2 * s.n + s.k).dup();
                s.in = s.rin.step(s.in, gin);
                s.out = s.rout.step(s.out, gout);
            }
        }
    }

    /**
     * Each candidate's gate derivative, the mean over {@code batches} of ∂L/∂g, with every candidate
     * at gate {@code t}: a split's gate multiplies its v (fan-in w ± g·v), a new neuron's its fan-out.
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
                INDArray dv = cols(gw, 0, s.n).subi(cols(gw, s.n, 2 * s.n)).muli(s.v).sum(0);
                split[i] = split[i] == null ? dv : split[i].addi(dv);
                if (s.k > 0) {
                    INDArray dn = rows(copy.gradient(s.consumer, "W").dup('c'), 2 * s.n, 2 * s.n + s.k).muli(s.out)
                            .sum(1);
                    fresh[i] = fresh[i] == null ? dn : fresh[i].addi(dn);
                }
            }
        }
        for (int i = 0; i < sites.size(); i++) {
            splitOut[i] = split[i].div(examples).toDoubleVector();
            newOut[i] = fresh[i] == null ? new double[0] : fresh[i].div(examples).toDoubleVector();
        }
    }

    /**
     * Columns [from, to) as a copy: ND4J M2.1 gives a view without data for a one-wide interval on an
     * inner axis (see {@code Remap}), and K or a layer's width may well be 1.
     */
    static INDArray cols(INDArray a, long from, long to) {
        return a.get(NDArrayIndex.all(), NDArrayIndex.indices(range(from, to))).dup('c');
    }

    /** Rows [from, to) as a copy; see {@link #cols}. */
    static INDArray rows(INDArray a, long from, long to) {
        return a.get(NDArrayIndex.indices(range(from, to)), NDArrayIndex.all()).dup('c');
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

    /** Frees the copy's arrays now rather than at the next garbage collection: it can be large. */
    void release() {
        // The rewrite leaves the copy's parameters as a view of the array it built: free that buffer.
        org.deeplearning4j.nn.updater.BaseMultiLayerUpdater<?> u = copy.updater(false);
        INDArray state = u == null ? null : u.getStateViewArray();
        // Its optimizer state too (the copy's rewrite builds one): with Adam the largest of the three.
        for (INDArray a : new INDArray[]{copy.model().params(), copy.gradientsView(), state}) {
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
