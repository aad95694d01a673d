package org.dl4jgrowth.signal;

import org.nd4j.shade.guava.base.Preconditions;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.dl4jgrowth.activation.ActivationGrowthReLU;
import org.dl4jgrowth.how.NewUnits;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.network.NetworkAdapter;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.rewrite.RewriteGeometry;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * GradMax's gradient statistic (Evci et al. 2022, "GradMax: Growing Neural Networks Using Gradient
 * Information", section 3): for growing layer l between l-1 and l+1,
 * G = Σ over examples of h<sub>l-1</sub> δ<sub>l+1</sub>ᵀ, shape [n<sub>l-1</sub>, n<sub>l+1</sub>],
 * where h<sub>l-1</sub> is layer l's input and δ<sub>l+1</sub> the loss gradient with respect to the
 * consumer's pre-activation. A new unit with zero fan-in and fan-out row w gets the fan-in gradient
 * G w, so the fan-out maximising its norm comes from G's top right singular vectors.
 *
 * <p>Two routes ({@link #computeWithRoute} picks per site): the direct one,
 * {@link DirectStatistic}, from one ordinary forward and backward pass where it supports the site
 * (dense and convolution sites with the usual layers between; dropout off), and the probe route
 * described here for every other site and as its oracle.
 *
 * <p>How the probe route works: DL4J does not hand out per-example pre-activation gradients, so the
 * statistic is read off probe units. On a private copy of the network, layer l is widened by n<sub>l+1</sub> probes with
 * zero fan-in and one-hot fan-out (probe j feeds consumer unit j with weight 1). The copy computes
 * the same function, and the gradient of probe j's fan-in from DL4J's ordinary backward pass is
 * column j of G, times f'(0). All of it runs as ND4J ops on the backend's device. The user's
 * network is never touched: the copy is built from a cloned configuration and copied parameters
 * ({@link NetworkAdapter#privateCopy()}), not with DL4J's {@code clone()}, which on a
 * ComputationGraph shares the user's listener collection.
 *
 * <p>Masks: each minibatch's feature and label masks are set on the copy as {@code fit()} sets
 * them, so an example masked out of the loss contributes nothing to G.
 *
 * <p>Scale: DL4J's raw gradients are sums over the minibatch (the updater divides by its size), so G
 * is a sum over every example used; its singular vectors do not depend on that scale.
 *
 * <p>Convolutions: probe channel p has the p-th basis kernel of one new channel's fan-out (output
 * channel j, kernel position (u, v)); its fan-in kernel gradient, flattened, is column p of the
 * linear map M from a new channel's fan-out kernel to its fan-in kernel gradient, shape
 * [nIn·kH·kW, nOut'·kH'·kW']. That is what the paper's auxiliary-convolution construction computes
 * (section 3.2), obtained here from DL4J's own backward pass for any padding and stride. Because the
 * probes are exact replicas of new units (zero output, and new batch-norm channels at identity), the
 * map includes whatever lies between: batch normalisation, activation and padding layers.
 *
 * <p>Supported sites: a {@code DenseLayer} or {@code ConvolutionLayer} with exactly one consuming
 * layer, reached without a flatten (dense to dense, convolution to convolution). Its activation
 * needs f(0)=0 and f'(0)≠0. Plain ReLU (f'(0)=0) is handled by using the growth-friendly ReLU on
 * the copy: it has the same forward pass and a derivative that differs only at exactly 0. Dropout
 * between the layers makes the statistic a sample, like the gradient itself.
 */
public final class GradientStatistic {
    private GradientStatistic() {
    }

    /** G for growing {@code layer} of {@code net}, summed over all examples of {@code batches}. */
    public static INDArray compute(Model net, String layer, List<DataSet> batches) {
        requireBatches(batches);
        List<MultiDataSet> multi = new ArrayList<>();
        for (DataSet ds : batches) {
            multi.add(NetworkAdapter.toMulti(ds));
        }
        return computeMulti(net, layer, multi);
    }

    /**
     * G for growing {@code layer} of {@code net}, summed over all examples of {@code batches}, with
     * their feature and label masks applied as DL4J's training applies them: a masked-out example
     * contributes nothing.
     */
    public static INDArray computeMulti(Model net, String layer, List<? extends MultiDataSet> batches) {
        return computeWithRoute(net, layer, batches).sum();
    }

    static void requireBatches(List<?> batches) {
        Preconditions.checkArgument(batches != null && !batches.isEmpty(),
                "The gradient statistic needs at least one minibatch of growth data (got: %s)",
                batches == null ? "null" : "none");
    }

    /** The statistic and the route that computed it. */
    public static final class Routed {
        private final INDArray sum;
        private final String route;

        Routed(INDArray sum, String route) {
            this.sum = sum;
            this.route = route;
        }

        public INDArray sum() {
            return sum;
        }

        /**
         * {@code "direct"} ({@code "direct (dropout off)"} on a network with dropout), or
         * {@code "probes"} with the reason the direct route was not taken.
         */
        public String route() {
            return route;
        }
    }

    /** Which route {@code -Ddl4jgrowth.statistic.route} asks for: auto (the default), direct or probes. */
    public static final String ROUTE_PROPERTY = "dl4jgrowth.statistic.route";

    /**
     * {@link #computeMulti}, saying which route ran: the direct route ({@link DirectStatistic}, one
     * unwidened forward and backward pass) where it supports the site, the probe route otherwise.
     * {@code -Ddl4jgrowth.statistic.route=probes} forces probes; {@code =direct} refuses sites the
     * direct route does not support.
     */
    public static Routed computeWithRoute(Model net, String layer, List<? extends MultiDataSet> batches) {
        return computeAllWithRoute(net, List.of(layer), batches).get(layer);
    }

    /**
     * {@link #computeWithRoute} for several layers, in their order: those the direct route takes
     * share one forward pass and one backward walk per minibatch; each of the others takes the probe
     * route on its own. An unknown or unsupported layer is refused before any pass runs.
     */
    public static Map<String, Routed> computeAllWithRoute(Model net, List<String> layers,
                                                          List<? extends MultiDataSet> batches) {
        Preconditions.checkNotNull(net, "network");
        Preconditions.checkArgument(layers != null && !layers.isEmpty(), "give at least one layer");
        requireBatches(batches);
        String asked = System.getProperty(ROUTE_PROPERTY, "auto").trim().toLowerCase(java.util.Locale.ROOT);
        if (!asked.equals("auto") && !asked.equals("direct") && !asked.equals("probes")) {
            throw new IllegalArgumentException("-D" + ROUTE_PROPERTY + "=" + asked + ": allowed are auto, direct "
                    + "and probes");
        }
        List<String> direct = new ArrayList<>();
        Map<String, String> why = new java.util.HashMap<>();
        for (String layer : new java.util.LinkedHashSet<>(layers)) {
            Site.isConvolution(NetworkAdapter.of(net), layer);   // unknown or unsupported layers: the usual errors
            String reason = asked.equals("probes") ? "asked for by -D" + ROUTE_PROPERTY
                    : DirectStatistic.unsupported(net, layer, batches);
            if (reason == null) {
                direct.add(layer);
            } else if (asked.equals("direct")) {
                throw new IllegalArgumentException("-D" + ROUTE_PROPERTY + "=direct, but the direct route cannot take "
                        + "the statistic of layer '" + layer + "': " + reason);
            } else {
                why.put(layer, reason);
            }
        }
        Map<String, INDArray> sums = direct.isEmpty() ? Map.of() : DirectStatistic.computeSupported(net, direct, batches);
        Map<String, Routed> out = new java.util.LinkedHashMap<>();
        String directRoute = !direct.isEmpty() && DirectStatistic.hasDropout(net) ? "direct (dropout off)" : "direct";
        for (String layer : layers) {
            if (!out.containsKey(layer)) {
                out.put(layer, sums.containsKey(layer) ? new Routed(sums.get(layer), directRoute)
                        : new Routed(probes(net, layer, batches), "probes (" + why.get(layer) + ")"));
            }
        }
        return out;
    }

    /**
     * Whether {@link #computeAllWithRoute} would take {@code layer} by the direct route on these
     * batches: the route property allows it, the direct route supports the site, and its activation
     * is growable. What a caller that batches only the direct sites together asks first.
     */
    static boolean takesDirectRoute(Model net, String layer, List<? extends MultiDataSet> batches) {
        String asked = System.getProperty(ROUTE_PROPERTY, "auto").trim().toLowerCase(java.util.Locale.ROOT);
        if (!asked.equals("auto") && !asked.equals("direct")) {
            return false;
        }
        try {
            Site.isConvolution(NetworkAdapter.of(net), layer);
            requireGrowableActivation(NetworkAdapter.of(net).layerConfiguration(layer), layer);
        } catch (IllegalArgumentException notASite) {
            return false;
        }
        return DirectStatistic.unsupported(net, layer, batches) == null;
    }

    /** G by the probe route, whatever the site: the direct route's oracle. */
    public static INDArray probes(Model net, String layer, List<? extends MultiDataSet> batches) {
        Preconditions.checkNotNull(net, "network");
        requireBatches(batches);
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            NetworkAdapter original = NetworkAdapter.of(net);
            boolean conv = Site.isConvolution(original, layer);
            // A private copy (cloned configuration, copied parameters, no listeners): the user's
            // network, its listeners and its optimizer are never touched.
            NetworkAdapter probe = original.privateCopy();
            double slope = prepareActivation(probe, layer);
            int width = NetworkRewrite.width(probe.model(), layer);
            // The plan's geometry tells the shape of one new unit's fan-out: one probe per element.
            int probes = basisSize(layer, NetworkRewrite.of(probe.model()).grow(layer, 1).plan().site(layer));
            NetworkRewrite.of(probe.model()).grow(layer, probes).initializer(new Probes()).apply();

            INDArray g = null;
            for (MultiDataSet ds : batches) {
                probe.computeGradient(ds);
                INDArray m = probeColumns(probe.gradient(layer, "W"), conv, width, probes);
                g = g == null ? m : g.addi(m);
            }
            return slope == 1.0 ? g : g.divi(slope);
        }
    }

    /**
     * The probes' fan-in gradients as the columns of M: for a dense layer the columns of W's
     * gradient, for a convolution each probe channel's kernel gradient [nIn, kH, kW] flattened.
     */
    private static INDArray probeColumns(INDArray grad, boolean conv, int width, int probes) {
        if (!conv) {
            return grad.get(NDArrayIndex.all(), NDArrayIndex.interval(width, width + probes)).dup('c');
        }
        INDArray kernels = grad.get(NDArrayIndex.interval(width, width + probes), NDArrayIndex.all(),
                NDArrayIndex.all(), NDArrayIndex.all()).dup('c');
        return kernels.reshape('c', probes, kernels.length() / probes).transpose().dup('c');
    }

    /**
     * Checks the grown layer's activation on the copy and returns f'(0); plain ReLU is swapped for
     * its growth-friendly twin on the copy only.
     */
    private static double prepareActivation(NetworkAdapter probe, String layer) {
        BaseLayer conf = (BaseLayer) probe.layerConfiguration(layer);
        IActivation act = conf.getActivationFn();
        if (act instanceof ActivationReLU && isPlainRelu((ActivationReLU) act)) {
            conf.setActivationFn(new ActivationGrowthReLU());
            return 1.0;
        }
        return requireGrowableActivation(conf, layer);
    }

    /**
     * f'(0) of the grown layer's activation, after checking f(0)=0 and f'(0)≠0 (plain ReLU, whose
     * f'(0) is 0, counts as its growth-friendly twin, slope 1): new units with zero fan-in then have
     * zero output and a fan-in gradient.
     */
    static double requireGrowableActivation(Layer layerConf, String layer) {
        IActivation act = ((BaseLayer) layerConf).getActivationFn();
        if (act instanceof ActivationReLU && isPlainRelu((ActivationReLU) act)) {
            return 1.0;
        }
        INDArray zero = Nd4j.zeros(Nd4j.defaultFloatingPointType(), 1, 1);
        double f0 = act.getActivation(zero.dup(), true).getDouble(0);
        double d0 = act.backprop(zero.dup(), Nd4j.ones(Nd4j.defaultFloatingPointType(), 1, 1)).getFirst().getDouble(0);
        if (Math.abs(f0) > 1e-12 || d0 == 0.0) {
            throw new IllegalArgumentException("Layer '" + layer + "' uses activation " + act + " with f(0)=" + f0
                    + " and f'(0)=" + d0 + ": the gradient statistic needs f(0)=0 and f'(0)≠0 "
                    + "(ActivationGrowthReLU, identity, tanh, ReLU)");
        }
        return d0;
    }

    private static boolean isPlainRelu(ActivationReLU r) {
        // ActivationReLU with a threshold, a negative slope or a cap is not the plain max(0, x).
        return r.equals(new ActivationReLU());
    }

    /**
     * Probes: zero fan-in and bias; probe p's fan-out is the p-th basis element of one unit's fan-out
     * (a dense consumer: unit p; a convolution: output channel j at kernel position (u, v), in
     * c-order), so its fan-in gradient is column p of the linear map from fan-out to fan-in gradient.
     */
    private static final class Probes implements UnitInitializer {
        private static final long serialVersionUID = 1L;

        @Override
        public void initialize(NewUnits units) {
            INDArray out = units.fanOut().get(0).weights();
            int p = units.count();
            INDArray eye = Nd4j.eye(p).castTo(out.dataType());
            if (out.rank() == 2) {
                out.assign(eye);
            } else {
                // out is [nOut, p, kH, kW]; basis element p = (j, u, v) in c-order.
                out.assign(eye.reshape('c', p, out.size(0), out.size(2), out.size(3)).permute(1, 0, 2, 3));
            }
        }
    }

    /** Elements of one new unit's fan-out, after checking the site has the one plain consumer the probes need. */
    /**
     * Whether the statistic can be taken for {@code layer} (one consumer, reached directly): what a
     * selector by the statistic looks at before ranking, told from the geometry alone.
     */
    public static boolean supports(Model net, String layer) {
        try {
            basisSize(layer, NetworkRewrite.of(net).grow(layer, 1).plan().site(layer));
            return true;
        } catch (IllegalArgumentException notASite) {
            return false;
        }
    }

    private static int basisSize(String layer, RewriteGeometry.Site site) {
        if (site.consumers().size() != 1) {
            throw new IllegalArgumentException("The gradient statistic needs layer '" + layer + "' to feed exactly "
                    + "one consumer layer; it feeds " + site.consumers().size());
        }
        RewriteGeometry.Consumer c = site.consumers().get(0);
        if (c.block() != 1) {
            throw new IllegalArgumentException("The gradient statistic does not support layer '" + layer
                    + "': it reaches a dense layer through a flatten (" + c.block() + " inputs per channel); "
                    + "supported: dense -> dense and convolution -> convolution sites");
        }
        return Math.toIntExact(c.fanOutPerUnit());
    }

    /** Where the statistic is taken: a dense or convolution layer (the rewrite refuses anything else by name). */
    private static final class Site {
        private Site() {
        }

        static boolean isConvolution(NetworkAdapter net, String layer) {
            NetworkRewrite.width(net.model(), layer);   // unknown names and unsupported classes: the rewrite's errors
            Layer grown = net.layerConfiguration(layer);
            boolean conv = grown.getClass() == ConvolutionLayer.class;
            if (!conv && grown.getClass() != DenseLayer.class) {
                throw new IllegalArgumentException("The gradient statistic supports DenseLayer and ConvolutionLayer "
                        + "sites; layer '" + layer + "' is a " + grown.getClass().getSimpleName());
            }
            return conv;
        }
    }
}
