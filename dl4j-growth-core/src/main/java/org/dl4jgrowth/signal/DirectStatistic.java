package org.dl4jgrowth.signal;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.api.layers.IOutputLayer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.ZeroPaddingLayer;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.util.ConvolutionUtils;
import org.dl4jgrowth.network.NetworkAdapter;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Broadcast;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * GradMax's gradient statistic G (see {@link GradientStatistic}) computed directly, from one
 * ordinary training-mode forward pass over each minibatch and DL4J's own backward pass down to the
 * consumer, with no probe units: the probe route widens a copy of the network by one probe per
 * element of a new unit's fan-out for the same numbers.
 *
 * <p>How. For a new unit with zero fan-in, the gradient of its fan-in is linear in its fan-out w:
 * {@code G w}. This class builds G column by column in blocks, one column per element of the
 * fan-out basis, as the probe route does, but from arrays the unwidened pass already has:
 * <ol>
 * <li>δ, the loss gradient at the consumer's pre-activation: DL4J's {@code backpropGradient} of each
 * layer and preprocessor above the consumer, walking down from the output layer, then the
 * consumer's own activation (or, for an output layer, its loss function), masks included, as the
 * consumer's backward pass computes it;</li>
 * <li>D, the gradient each fan-out basis element puts on the new unit's output: for a dense
 * consumer δ itself (element j feeds consumer unit j); for a convolution consumer, δ of output
 * channel j placed at the input positions kernel offset (u, v) reads, with the consumer's stride,
 * padding and dilation (the transpose of its im2col);</li>
 * <li>D walked down through the layers between the site and the consumer at the new unit's
 * constant zero output, as the probe route's exact replicas of new units see them: batch
 * normalisation in training mode (a constant channel has batch variance 0, so its Jacobian is
 * γ/√ε times the centring over the batch and positions), activation layers at 0, and DL4J's own
 * backward pass of pooling, global pooling and zero padding over a zero input;</li>
 * <li>one GEMM with the site's input: h itself for a dense site, its im2col (the site's kernel,
 * stride, padding and dilation) for a convolution, giving rows [nIn] or [nIn·kH·kW].</li>
 * </ol>
 * Every element of a block of the basis shares the one forward and backward pass, so the cost is
 * one unwidened pass plus array work of the size of a block.
 *
 * <p>Evci et al. 2022 ("GradMax", section 3.2 and the reference implementation) compute the same
 * map with an auxiliary convolution over the consumer's gradients; DL4J keeps per-example
 * pre-activation gradients inside its layers, so this class recomputes δ at the consumer alone.
 *
 * <p>Supported (the rest takes the probe route, and {@link #unsupported} says why): a
 * {@code DenseLayer} or {@code ConvolutionLayer} site (NCHW) whose way to the loss is a chain: any
 * of BatchNormalization (β = 0, so a new channel stays 0), ActivationLayer (f(0) = 0), max or
 * average SubsamplingLayer, ZeroPaddingLayer, DropoutLayer and, after a convolution, a collapsing
 * max, average or sum GlobalPoolingLayer, then one {@code DenseLayer}, {@code OutputLayer} or (after
 * a convolution) {@code ConvolutionLayer} consumer, with no preprocessor up to it; no weight noise or
 * layer normalisation anywhere in the network. Both network types; feature and label masks as
 * {@code fit()} applies them (a convolution site with a features mask takes the probes).
 *
 * <p>Dropout is off (issue "Performance II": "same batch, dropout off"): the statistic of one
 * deterministic pass with every layer's dropout removed on the scratch network. The probe route
 * keeps dropout and so gives a sample of it; on a network with dropout the two routes differ by that
 * sampling, and the event's route says "direct (dropout off)".
 */
public final class DirectStatistic {
    /**
     * Layers whose backward pass reads only their input, masks and parameters (DL4J caches nothing
     * for it in a forward pass's workspaces unless a cache workspace is open, which the forward pass
     * used here does not open): the backward walk need not run their forward pass again.
     */
    private static final java.util.Set<Class<?>> REUSES_NOTHING_CACHED = java.util.Set.of(DenseLayer.class,
            OutputLayer.class, ConvolutionLayer.class, SubsamplingLayer.class, GlobalPoolingLayer.class,
            ActivationLayer.class, ZeroPaddingLayer.class, org.deeplearning4j.nn.conf.layers.LossLayer.class);

    /** Elements of D per block of the fan-out basis: about 64 MB in DOUBLE. */
    private static final long BLOCK_ELEMENTS = 8L << 20;

    private DirectStatistic() {
    }

    /** Why the direct route cannot take the statistic of {@code layer} of {@code net}; null when it can. */
    public static String unsupported(Model net, String layer) {
        NetworkAdapter a = NetworkAdapter.of(net);
        Layer site = a.layerConfiguration(layer);
        boolean conv = site.getClass() == ConvolutionLayer.class;
        if (!conv && site.getClass() != DenseLayer.class) {
            return "layer '" + layer + "' is a " + site.getClass().getSimpleName() + " (the direct route takes "
                    + "DenseLayer and ConvolutionLayer sites)";
        }
        if (conv && !nchw(((ConvolutionLayer) site).getCnn2dDataFormat())) {
            return "layer '" + layer + "' is NHWC";
        }
        List<NetworkAdapter.Link> chain;
        try {
            chain = a.chainToLoss(layer);
        } catch (UnsupportedOperationException notAChain) {
            return "the way from layer '" + layer + "' to the loss is not a chain of layers: "
                    + notAChain.getMessage();
        }
        if (chain.isEmpty()) {
            return "layer '" + layer + "' is an output layer";
        }
        int c = consumerIndex(chain);
        boolean pooled = false;
        for (int i = 0; i < Math.min(c + 1, chain.size()); i++) {
            NetworkAdapter.Link link = chain.get(i);
            Layer l = link.layer.conf().getLayer();
            if (link.preProcessor != null) {
                return "layer '" + layer + "' reaches '" + l.getLayerName() + "' through a "
                        + link.preProcessor.getClass().getSimpleName();
            }
            if (i < c) {
                String why = !conv && l instanceof GlobalPoolingLayer ? "'" + l.getLayerName() + "' pools a dense "
                        + "layer" : between(l);
                if (why != null) {
                    return "between layer '" + layer + "' and its consumer, " + why;
                }
                pooled |= l instanceof GlobalPoolingLayer;
            }
        }
        if (c == chain.size()) {
            return "layer '" + layer + "' reaches the loss without a DenseLayer, OutputLayer or ConvolutionLayer";
        }
        Layer consumer = chain.get(c).layer.conf().getLayer();
        if (consumer.getClass() != DenseLayer.class && consumer.getClass() != OutputLayer.class
                && consumer.getClass() != ConvolutionLayer.class) {
            return "layer '" + layer + "' feeds a " + consumer.getClass().getSimpleName() + " ('"
                    + consumer.getLayerName() + "'; the direct route takes DenseLayer, OutputLayer and "
                    + "ConvolutionLayer consumers)";
        }
        if (consumer.getClass() == ConvolutionLayer.class) {
            if (!nchw(((ConvolutionLayer) consumer).getCnn2dDataFormat())) {
                return "the consumer '" + consumer.getLayerName() + "' is NHWC";
            }
        } else if (conv && !pooled) {
            return "layer '" + layer + "' reaches the dense consumer '" + consumer.getLayerName() + "' without "
                    + "global pooling";
        }
        // Anywhere in the network: weight noise or layer norm below the site changes its input h as
        // much as above it.
        for (String name : a.layerNames()) {
            String r = regularised(a.layerConfiguration(name));
            if (r != null) {
                return r;
            }
        }
        return null;
    }

    /** {@link #unsupported}, and what the growth data rules out: features masks on a convolution site. */
    static String unsupported(Model net, String layer, List<? extends MultiDataSet> batches) {
        String why = unsupported(net, layer);
        if (why != null || NetworkAdapter.of(net).layerConfiguration(layer).getClass() != ConvolutionLayer.class) {
            return why;
        }
        for (MultiDataSet ds : batches) {
            INDArray[] masks = ds.getFeaturesMaskArrays();
            if (masks != null) {
                for (INDArray m : masks) {
                    if (m != null) {
                        return "the growth data has features masks, which the direct route takes for dense sites "
                                + "only";
                    }
                }
            }
        }
        return null;
    }

    /** Where the first layer with weights is in the chain: the consumer; the chain's size if none. */
    private static int consumerIndex(List<NetworkAdapter.Link> chain) {
        for (int i = 0; i < chain.size(); i++) {
            Class<?> k = chain.get(i).layer.conf().getLayer().getClass();
            if (k == DenseLayer.class || k == OutputLayer.class || k == ConvolutionLayer.class) {
                return i;
            }
            if (!(chain.get(i).layer.conf().getLayer() instanceof BatchNormalization)
                    && chain.get(i).layer.numParams() > 0) {
                return i;   // a layer with weights the direct route does not know: refused as the consumer
            }
        }
        return chain.size();
    }

    /** Why a layer between the site and its consumer cannot be walked at a new unit's zero output; null if it can. */
    private static String between(Layer l) {
        String name = "'" + l.getLayerName() + "'";
        if (l.getClass() == BatchNormalization.class) {
            BatchNormalization bn = (BatchNormalization) l;
            if (bn.getBeta() != 0.0) {
                return name + " starts new channels at beta " + bn.getBeta() + " (the direct route needs 0)";
            }
            return nchw(bn.getCnn2DFormat()) ? null : name + " is NHWC";
        }
        if (l.getClass() == ActivationLayer.class) {
            org.nd4j.linalg.activations.IActivation act = ((ActivationLayer) l).getActivationFn();
            if (act instanceof org.nd4j.linalg.activations.impl.ActivationSoftmax) {
                return name + " is a softmax (the direct route takes elementwise activations)";
            }
            INDArray zero = Nd4j.zeros(Nd4j.defaultFloatingPointType(), 1, 1);
            double f0 = ((ActivationLayer) l).getActivationFn().getActivation(zero, true).getDouble(0);
            return f0 == 0.0 ? null : name + " has f(0) = " + f0 + " (the direct route needs 0)";
        }
        if (l.getClass() == SubsamplingLayer.class) {
            SubsamplingLayer s = (SubsamplingLayer) l;
            if (s.getPoolingType() != PoolingType.MAX && s.getPoolingType() != PoolingType.AVG) {
                return name + " pools by " + s.getPoolingType() + " (the direct route takes MAX and AVG)";
            }
            return nchw(s.getCnn2dDataFormat()) ? null : name + " is NHWC";
        }
        if (l.getClass() == org.deeplearning4j.nn.conf.layers.DropoutLayer.class) {
            return null;   // the identity, with dropout off
        }
        if (l.getClass() == ZeroPaddingLayer.class) {
            return nchw(((ZeroPaddingLayer) l).getDataFormat()) ? null : name + " is NHWC";
        }
        if (l.getClass() == GlobalPoolingLayer.class) {
            GlobalPoolingLayer g = (GlobalPoolingLayer) l;
            if (g.getPoolingType() == PoolingType.PNORM) {
                return name + " pools by PNORM (the direct route takes MAX, AVG and SUM)";
            }
            return g.isCollapseDimensions() ? null : name + " does not collapse its dimensions";
        }
        return name + " is a " + l.getClass().getSimpleName();
    }

    private static boolean nchw(CNN2DFormat f) {
        return f == null || f == CNN2DFormat.NCHW;
    }

    /**
     * Whether any layer of {@code net} has dropout (a DropoutLayer, or dropout on a layer's input):
     * the direct route then runs with dropout off, as issue "Performance II" asks (the probe route
     * draws dropout masks, so its statistic is a sample).
     */
    public static boolean hasDropout(Model net) {
        NetworkAdapter a = NetworkAdapter.of(net);
        for (String name : a.layerNames()) {
            if (a.layerConfiguration(name).getIDropout() != null) {
                return true;
            }
        }
        return false;
    }

    /** Weight noise and layer norm change the pass in ways only the probe route reproduces. */
    private static String regularised(Layer l) {
        if (l instanceof BaseLayer && ((BaseLayer) l).getWeightNoise() != null) {
            return "layer '" + l.getLayerName() + "' has weight noise";
        }
        if (l instanceof DenseLayer && ((DenseLayer) l).hasLayerNorm()) {
            return "layer '" + l.getLayerName() + "' has layer normalisation";
        }
        return null;
    }

    /**
     * G for growing {@code layer} of {@code net}, summed over every example of {@code batches}, as
     * {@link GradientStatistic#computeMulti} defines it. The network is not touched: the passes run
     * on a network of their own that shares its parameters read-only.
     *
     * @throws IllegalArgumentException if {@link #unsupported} gives a reason
     */
    public static INDArray compute(Model net, String layer, List<? extends MultiDataSet> batches) {
        GradientStatistic.requireBatches(batches);
        String why = unsupported(net, layer, batches);
        if (why != null) {
            throw new IllegalArgumentException("The direct gradient statistic cannot be taken for layer '" + layer
                    + "': " + why);
        }
        return computeSupported(net, layer, batches);
    }

    /** {@link #compute} for a site {@link #unsupported} has accepted already. */
    static INDArray computeSupported(Model net, String layer, List<? extends MultiDataSet> batches) {
        return computeSupported(net, List.of(layer), batches).get(layer);
    }

    /**
     * {@link #compute} for several sites {@link #unsupported} has accepted, from one forward pass
     * and one backward walk per minibatch: the walk goes from the loss down to the lowest site's
     * consumer and hands each site the gradient at its own consumer on the way. Sites whose
     * consumers are not on the lowest site's way to the loss (a graph with several outputs) are
     * taken in a pass of their own.
     */
    static Map<String, INDArray> computeSupported(Model net, List<String> layers,
                                                 List<? extends MultiDataSet> batches) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            NetworkAdapter original = NetworkAdapter.of(net);
            for (String layer : layers) {
                GradientStatistic.requireGrowableActivation(original.layerConfiguration(layer), layer);
            }
            // A network of its own (the passes set inputs, masks and gradients on it) over the user's
            // parameters, shared: a training-mode pass with dropout off and no weight noise only reads
            // them. Its gradient view is left uninitialised and never read: only the layers above
            // the lowest consumer write their share of it, so the rest of its pages are never touched.
            INDArray params = net.params();
            // With the network's own workspace modes: its forward pass keeps every layer's input and
            // output outside workspaces (clearInputs false) and its working memory in the thread's
            // workspaces, which a fresh allocation per array would cost several times over on the CPU.
            // What a layer caches there for its backward pass is gone when the pass returns: the walk
            // recomputes it first.
            NetworkAdapter copy = original.scratch(original.cloneConfiguration(), params,
                    unreadGradient(params.dataType(), params.length()));
            // Dropout off: one deterministic pass (the layers read their dropout at every pass).
            for (String name : copy.layerNames()) {
                copy.layerConfiguration(name).setIDropout(null);
            }
            List<Site> sites = new ArrayList<>();
            for (String layer : layers) {
                sites.add(new Site(layer, copy));
            }
            Site lowest = sites.get(0);
            for (Site s : sites) {
                lowest = s.chain.size() > lowest.chain.size() ? s : lowest;
            }
            List<NetworkAdapter.Link> walk = lowest.chain;
            List<Site> here = new ArrayList<>();
            List<String> elsewhere = new ArrayList<>();
            int deepest = walk.size() - 1;
            for (Site s : sites) {
                s.position = -1;
                for (int i = 0; i < walk.size(); i++) {
                    if (walk.get(i).layer == s.consumer().layer) {
                        s.position = i;
                    }
                }
                if (s.position < 0) {
                    elsewhere.add(s.layer);
                } else {
                    here.add(s);
                    deepest = Math.min(deepest, s.position);
                }
            }
            java.util.BitSet consumers = new java.util.BitSet();
            for (Site s : here) {
                consumers.set(s.position);
            }
            LayerWorkspaceMgr mgr = LayerWorkspaceMgr.noWorkspaces();
            for (MultiDataSet ds : batches) {
                copy.forwardKeepingInputs(ds);
                INDArray[] eps = walkDown(walk, deepest, consumers, ds, mgr);
                for (Site s : here) {
                    NetworkAdapter.Link consumer = walk.get(s.position);
                    INDArray delta = s.position == walk.size() - 1
                            ? outputDelta(consumer.layer, ds.getLabels(consumer.labelsIndex))
                            : consumerDelta(consumer.layer, eps[s.position], mgr);
                    INDArray m = term(s.site, s.chain.subList(0, s.consumerIndex), consumer.layer, delta, mgr);
                    out.merge(s.layer, m, INDArray::addi);
                }
            }
            if (!elsewhere.isEmpty()) {
                out.putAll(computeSupported(net, elsewhere, batches));
            }
        }
        Map<String, INDArray> ordered = new LinkedHashMap<>();
        for (String layer : layers) {
            ordered.put(layer, out.get(layer));
        }
        return ordered;
    }

    /**
     * Scratch networks' gradient views, one buffer per data type and device for every statistic in this JVM:
     * the layers above the lowest consumer write their weight gradients there and nothing reads them
     * (DL4J's layers assign into their gradient views, never accumulate), so sharing it, even between
     * threads, only ever mixes numbers no one looks at. A fresh buffer the size of the network's
     * parameters at every statistic cost more than the GEMM of a dense site on the CPU (fresh native
     * memory is zeroed page by page). One per device too, so that workers on several GPUs (parallel
     * statistics) each write to memory of their own device. Softly held: the collector may take it back.
     */
    private static final Map<String, java.lang.ref.SoftReference<INDArray>> UNREAD =
            new java.util.concurrent.ConcurrentHashMap<>();

    /** A [1, n] row over the shared never-read gradient buffer of {@code type} on this thread's device, grown when too short. */
    private static INDArray unreadGradient(org.nd4j.linalg.api.buffer.DataType type, long n) {
        String key = type + "@" + Nd4j.getAffinityManager().getDeviceForCurrentThread();
        java.lang.ref.SoftReference<INDArray> ref = UNREAD.get(key);
        INDArray buffer = ref == null ? null : ref.get();
        if (buffer == null || buffer.length() < n) {
            buffer = Nd4j.createUninitialized(type, n);
            UNREAD.put(key, new java.lang.ref.SoftReference<>(buffer));
        }
        return Nd4j.create(buffer.data(), new long[]{1, n}, new long[]{n, 1}, 0, 'c');
    }

    /** A site on the scratch network: its layer, its way to the loss and where its consumer is on it. */
    private static final class Site {
        final String layer;
        final org.deeplearning4j.nn.api.Layer site;
        final List<NetworkAdapter.Link> chain;
        final int consumerIndex;
        int position;

        Site(String layer, NetworkAdapter copy) {
            this.layer = layer;
            this.site = copy.runtimeLayer(layer);
            this.chain = copy.chainToLoss(layer);
            this.consumerIndex = consumerIndex(chain);
        }

        NetworkAdapter.Link consumer() {
            return chain.get(consumerIndex);
        }
    }

    /**
     * One minibatch's G: for each block of consumer output units, D for their fan-out basis elements,
     * walked down to the site's output, then a GEMM with the site's input (or, per example, its
     * im2col). The block's arrays are reused from block to block: on the CPU a fresh off-heap array
     * costs far more than writing into one already touched.
     */
    private static INDArray term(org.deeplearning4j.nn.api.Layer site, List<NetworkAdapter.Link> between,
                                 org.deeplearning4j.nn.api.Layer consumer, INDArray delta, LayerWorkspaceMgr mgr) {
        INDArray h = site.input().castTo(delta.dataType());
        boolean convSite = site.conf().getLayer() instanceof ConvolutionLayer;
        boolean convConsumer = consumer.conf().getLayer() instanceof ConvolutionLayer;
        long[] consumerIn = consumer.input().shape();
        int[] kernel = convConsumer ? ((ConvolutionLayer) consumer.conf().getLayer()).getKernelSize() : null;
        // Basis elements per consumer output unit (its kernel's positions), and positions of each one's D.
        long perUnit = convConsumer ? (long) kernel[0] * kernel[1] : 1;
        long positions = convConsumer ? consumerIn[2] * consumerIn[3] : 1;
        long units = delta.size(1);
        long n = delta.size(0);
        long perBlockUnit = Math.max(1, n * perUnit * positions);
        long blocks = Math.max(1, (units * perBlockUnit + BLOCK_ELEMENTS - 1) / BLOCK_ELEMENTS);
        long block = (units + blocks - 1) / blocks;
        if (!convSite && !convConsumer && blocks == 1 && between.isEmpty() && site.getMaskArray() == null) {
            // A dense site right below a dense consumer, all units in one block: D is δ itself, read
            // only, and G = hᵀ δ is one GEMM into its own result (no zeroed G, no block copy of δ).
            // BLAS's transpose flag, not h.transpose().mmul(δ): ND4J M2.1 copies a transposed view
            // first, several times the GEMM itself at this size.
            return Nd4j.gemm(h, delta, true, false);
        }
        INDArray windows = convSite ? windows(site, h, outputSize(site, h)) : null;
        long rows = convSite ? windows.size(1) * windows.size(2) * windows.size(3) : h.size(1);
        INDArray g = Nd4j.create(delta.dataType(), rows, units * perUnit);
        INDArray buffer = null;
        for (long j0 = 0; j0 < units; j0 += block) {
            long j1 = Math.min(units, j0 + block);
            if (buffer == null || j1 - j0 != block) {
                buffer = convConsumer ? Nd4j.create(delta.dataType(), n, j1 - j0, kernel[0], kernel[1], consumerIn[2],
                        consumerIn[3]) : Nd4j.create(delta.dataType(), n, j1 - j0);
            }
            INDArray e;
            if (convConsumer) {
                e = transposedWindows(consumer, delta, j0, j1, buffer);
            } else {
                e = buffer.assign(delta.get(NDArrayIndex.all(), NDArrayIndex.interval(j0, j1)));
            }
            for (int i = between.size() - 1; i >= 0; i--) {
                e = backAtZero(between.get(i).layer, e, mgr);
            }
            // The site's own backward pass masks its pre-activation gradient too, which matters when
            // batch normalisation between has spread a masked example's share over the others.
            INDArray siteMask = site.getMaskArray();
            if (siteMask != null && e.rank() == 2) {
                e = e.muliColumnVector(siteMask.castTo(e.dataType()));
            }
            INDArray out = g.get(NDArrayIndex.all(), NDArrayIndex.interval(j0 * perUnit, j1 * perUnit));
            if (!convSite) {
                out.assign(Nd4j.gemm(h, e, true, false));
                continue;
            }
            // Σ over examples of (the example's im2col rows [nIn·kH·kW, oH·oW]) × (its E [k, oH·oW])ᵀ.
            if (e.isView() || e.ordering() != 'c') {
                e = e.dup('c');   // zero padding's backward pass hands out a view, which slice() mishandles
            }
            INDArray part = Nd4j.create(e.dataType(), new long[]{rows, e.size(1)}, 'f');
            long r = e.size(2) * e.size(3);
            for (long x = 0; x < n; x++) {
                INDArray w = windows.slice(x).reshape('c', rows, r);
                INDArray ex = e.slice(x).reshape('c', e.size(1), r);
                Nd4j.gemm(w, ex, part, false, true, 1.0, 1.0);
            }
            out.assign(part);
        }
        return g;
    }

    /** The site's output rows and columns, as its forward pass made them. */
    private static int[] outputSize(org.deeplearning4j.nn.api.Layer site, INDArray x) {
        ConvolutionLayer conf = (ConvolutionLayer) site.conf().getLayer();
        return ConvolutionUtils.getOutputSize(x, conf.getKernelSize(), conf.getStride(),
                conf.getConvolutionMode() == ConvolutionMode.Same ? null : conf.getPadding(),
                conf.getConvolutionMode(), conf.getDilation(), CNN2DFormat.NCHW);
    }

    /**
     * D for consumer output channels [j0, j1) of a convolution consumer, shaped
     * [n, (j1 - j0)·kH·kW, H, W] over the consumer's input positions: basis element (j, u, v) gets
     * δ of channel j at every input position that kernel offset (u, v) reads for some output position.
     */
    private static INDArray transposedWindows(org.deeplearning4j.nn.api.Layer consumer, INDArray delta, long j0,
                                              long j1, INDArray d) {
        ConvolutionLayer conf = (ConvolutionLayer) consumer.conf().getLayer();
        long[] in = consumer.input().shape();
        Geometry geo = Geometry.of(conf, new int[]{(int) in[2], (int) in[3]},
                new int[]{(int) delta.size(2), (int) delta.size(3)});
        long n = delta.size(0);
        long units = j1 - j0;
        d.assign(0);   // [n, units, kH, kW, H, W]: positions no output reads stay 0
        for (int u = 0; u < geo.kernel[0]; u++) {
            for (int v = 0; v < geo.kernel[1]; v++) {
                INDArrayIndex[] at = geo.reads(u, v);
                if (at == null) {
                    continue;
                }
                d.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(u), NDArrayIndex.point(v), at[0],
                        at[1]).assign(delta.get(NDArrayIndex.all(), NDArrayIndex.interval(j0, j1), at[2], at[3]));
            }
        }
        return d.reshape('c', n, units * geo.kernel[0] * geo.kernel[1], in[2], in[3]);
    }

    /** The site's im2col: [n, nIn, kH, kW, oH, oW], zero where a window reads padding. */
    private static INDArray windows(org.deeplearning4j.nn.api.Layer site, INDArray x, int[] out) {
        Geometry geo = Geometry.of((ConvolutionLayer) site.conf().getLayer(),
                new int[]{(int) x.size(2), (int) x.size(3)}, out);
        INDArray w = Nd4j.create(x.dataType(), x.size(0), x.size(1), geo.kernel[0], geo.kernel[1], out[0], out[1]);
        for (int p = 0; p < geo.kernel[0]; p++) {
            for (int q = 0; q < geo.kernel[1]; q++) {
                INDArrayIndex[] at = geo.reads(p, q);
                if (at != null) {
                    w.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(p), NDArrayIndex.point(q), at[2],
                            at[3]).assign(x.get(NDArrayIndex.all(), NDArrayIndex.all(), at[0], at[1]));
                }
            }
        }
        return w;
    }

    /** A convolution's windows: which input positions kernel offset (p, q) reads, for which output positions. */
    private static final class Geometry {
        final int[] kernel;
        final int[] stride;
        final int[] dilation;
        final int[] pad;
        final int[] in;
        final int[] out;

        private Geometry(int[] kernel, int[] stride, int[] dilation, int[] pad, int[] in, int[] out) {
            this.kernel = kernel;
            this.stride = stride;
            this.dilation = dilation;
            this.pad = pad;
            this.in = in;
            this.out = out;
        }

        /** As DL4J's ConvolutionLayer pads: Same mode from the sizes (top and left), else the configured padding. */
        static Geometry of(ConvolutionLayer conf, int[] in, int[] out) {
            int[] pad = conf.getConvolutionMode() == ConvolutionMode.Same
                    ? ConvolutionUtils.getSameModeTopLeftPadding(out, in, conf.getKernelSize(), conf.getStride(),
                    conf.getDilation())
                    : conf.getPadding();
            return new Geometry(conf.getKernelSize(), conf.getStride(), conf.getDilation(), pad, in, out);
        }

        /**
         * For kernel offset (p, q): the input rows and columns read, then the output rows and columns
         * reading them, as strided intervals; null when no output position reads inside the input.
         */
        INDArrayIndex[] reads(int p, int q) {
            long[] rows = range(0, p);
            long[] cols = range(1, q);
            if (rows == null || cols == null) {
                return null;
            }
            return new INDArrayIndex[]{inputs(0, rows, p), inputs(1, cols, q),
                    NDArrayIndex.interval(rows[0], rows[1] + 1), NDArrayIndex.interval(cols[0], cols[1] + 1)};
        }

        /** Output positions o (first, last) with 0 ≤ o·stride + offset·dilation − pad < in, along {@code axis}. */
        private long[] range(int axis, int offset) {
            long shift = (long) offset * dilation[axis] - pad[axis];
            long first = shift >= 0 ? 0 : Math.floorDiv(-shift + stride[axis] - 1, stride[axis]);
            long last = Math.min(out[axis] - 1, Math.floorDiv(in[axis] - 1 - shift, stride[axis]));
            return first > last ? null : new long[]{first, last};
        }

        private INDArrayIndex inputs(int axis, long[] outputs, int offset) {
            long shift = (long) offset * dilation[axis] - pad[axis];
            // The four-argument form: ND4J's three-argument interval(begin, stride, end) adjusts its end.
            return NDArrayIndex.interval(outputs[0] * stride[axis] + shift, stride[axis],
                    outputs[1] * stride[axis] + shift + 1, false);
        }
    }

    /**
     * {@code e}, the gradient at a layer's output for a block of new units (as channels), walked to its
     * input at the new units' constant zero: what the probe route's replicas of new units get.
     */
    private static INDArray backAtZero(org.deeplearning4j.nn.api.Layer layer, INDArray e, LayerWorkspaceMgr mgr) {
        Layer conf = layer.conf().getLayer();
        if (conf instanceof BatchNormalization) {
            // Training mode over a constant channel: mean = the constant, variance 0, x̂ = 0, so
            // dL/dx = γ/√(0 + ε) · (g − mean of g over the examples and positions). New channels
            // start at the configured γ (NetworkRewrite's fresh batch-norm values).
            BatchNormalization bn = (BatchNormalization) conf;
            INDArray mean = e.rank() == 2 ? e.mean(0) : e.mean(0, 2, 3);
            return Broadcast.sub(e, mean, e, 1).muli(bn.getGamma() / Math.sqrt(bn.getEps()));
        }
        if (conf instanceof ActivationLayer) {
            // Elementwise (refused otherwise) at 0: the derivative there times the gradient.
            double slope = slopeAtZero(((ActivationLayer) conf).getActivationFn());
            return slope == 1.0 ? e : e.muli(slope);
        }
        // Pooling, global pooling and padding: DL4J's own backward pass over a zero input with the
        // block's channels (none has parameters, so the channel count is free); ties in a max pool
        // are broken as they are for the probes' zero channels.
        long[] shape = layer.input().shape().clone();
        shape[1] = e.size(1);
        layer.setInput(Nd4j.zeros(e.dataType(), shape), mgr);
        return layer.backpropGradient(e, mgr).getSecond();
    }

    /** f'(0) of an elementwise activation, from its own backward pass. */
    private static double slopeAtZero(org.nd4j.linalg.activations.IActivation act) {
        INDArray zero = Nd4j.zeros(Nd4j.defaultFloatingPointType(), 1, 1);
        return act.backprop(zero, Nd4j.ones(Nd4j.defaultFloatingPointType(), 1, 1)).getFirst().getDouble(0);
    }

    /**
     * The loss gradient with respect to the output of each layer of {@code chain} from the one before
     * the output layer down to position {@code deepest}, from DL4J's own backward pass: the output
     * layer's, then each layer's and preprocessor's, walking down. Element i is the gradient at the
     * output of {@code chain.get(i)}; those at {@code consumers} are kept as they were when reached
     * (a layer's backward pass may work in place on the gradient it is handed).
     */
    private static INDArray[] walkDown(List<NetworkAdapter.Link> chain, int deepest, java.util.BitSet consumers,
                                       MultiDataSet ds, LayerWorkspaceMgr mgr) {
        int n = chain.size();
        INDArray[] out = new INDArray[n];
        if (deepest >= n - 1) {
            return out;
        }
        NetworkAdapter.Link last = chain.get(n - 1);
        INDArray eps;
        if (last.layer.conf().getLayer().getClass() == OutputLayer.class) {
            // What OutputLayer's backward pass hands down, δ Wᵀ (dropout off, no weight noise), without
            // the weight and bias gradients it also computes into a view nothing reads: on a 2-core CPU
            // each native call costs a thread wake-up, and for a small output layer that is most of it.
            INDArray delta = outputDelta(last.layer, ds.getLabels(last.labelsIndex));
            eps = Nd4j.gemm(delta, last.layer.getParam("W").castTo(delta.dataType()), false, true);
        } else {
            refresh(last.layer, mgr);
            ((IOutputLayer) last.layer).setLabels(ds.getLabels(last.labelsIndex));
            eps = last.layer.backpropGradient(null, mgr).getSecond();
        }
        for (int i = n - 1; i > deepest; i--) {
            NetworkAdapter.Link link = chain.get(i);
            if (link.preProcessor != null) {
                eps = link.preProcessor.backprop(eps, (int) eps.size(0), mgr);
            }
            boolean further = i - 1 > deepest;
            out[i - 1] = further && consumers.get(i - 1) ? eps.dup() : eps;
            if (further) {
                org.deeplearning4j.nn.api.Layer below = chain.get(i - 1).layer;
                refresh(below, mgr);
                eps = below.backpropGradient(eps, mgr).getSecond();
            }
        }
        return out;
    }

    /**
     * Runs a layer's forward pass again before its backward pass unless that reads nothing but its
     * input, masks and parameters: batch norm's cached centred input (and whatever an unknown layer
     * caches) lay in working memory the forward pass has closed.
     */
    private static void refresh(org.deeplearning4j.nn.api.Layer layer, LayerWorkspaceMgr mgr) {
        if (!REUSES_NOTHING_CACHED.contains(layer.conf().getLayer().getClass())) {
            layer.activate(layer.input(), true, mgr);
        }
    }

    /** The pre-activation gradient of a hidden consumer, as its own {@code backpropGradient} computes it. */
    private static INDArray consumerDelta(org.deeplearning4j.nn.api.Layer consumer, INDArray epsilon,
                                          LayerWorkspaceMgr mgr) {
        IActivation act = ((BaseLayer) consumer.conf().getLayer()).getActivationFn();
        if (act instanceof ActivationIdentity && consumer.getMaskArray() == null) {
            return epsilon;   // δ = ε: no need to recompute the pre-activation
        }
        INDArray z = preOutput(consumer, mgr);
        // ε here is this site's alone (walkDown keeps a copy of any ε it hands further down), so an
        // activation's backward pass may work on it in place.
        INDArray delta = act.backprop(z, epsilon.castTo(z.dataType())).getFirst();
        INDArray mask = consumer.getMaskArray();
        return mask == null || delta.rank() != 2 ? delta : delta.muliColumnVector(mask.castTo(delta.dataType()));
    }

    /** The pre-activation gradient of an output consumer, as {@code BaseOutputLayer} computes it: from its loss. */
    private static INDArray outputDelta(org.deeplearning4j.nn.api.Layer consumer, INDArray labels) {
        BaseOutputLayer conf = (BaseOutputLayer) consumer.conf().getLayer();
        INDArray z = preOutput(consumer, LayerWorkspaceMgr.noWorkspaces());
        return conf.getLossFn().computeGradient(labels.castTo(z.dataType()), z, conf.getActivationFn(),
                consumer.getMaskArray());
    }

    /**
     * The consumer's pre-activation from its input and parameters (dropout off, no weight noise:
     * refused before): x W + b for a dense layer; for a convolution, its own protected
     * {@code preOutput}, which pads, strides and dilates as its forward pass does.
     */
    private static INDArray preOutput(org.deeplearning4j.nn.api.Layer consumer, LayerWorkspaceMgr mgr) {
        if (consumer instanceof org.deeplearning4j.nn.layers.convolution.ConvolutionLayer) {
            try {
                Method m = org.deeplearning4j.nn.layers.convolution.ConvolutionLayer.class.getDeclaredMethod(
                        "preOutput", boolean.class, boolean.class, LayerWorkspaceMgr.class);
                m.setAccessible(true);
                Object pair = m.invoke(consumer, true, false, mgr);
                return ((org.nd4j.common.primitives.Pair<INDArray, INDArray>) pair).getFirst();
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("DL4J's ConvolutionLayer.preOutput could not be called", e);
            }
        }
        INDArray w = consumer.getParam("W");
        INDArray x = consumer.input().castTo(w.dataType());
        INDArray z = x.mmul(w);
        INDArray b = consumer.getParam("b");
        return b == null ? z : z.addiRowVector(b);
    }
}
