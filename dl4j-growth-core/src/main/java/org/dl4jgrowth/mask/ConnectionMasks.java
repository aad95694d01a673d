package org.dl4jgrowth.mask;

import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.dl4jgrowth.network.NetworkAdapter;
import org.dl4jgrowth.rewrite.CompanionArrays;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.shade.guava.base.Preconditions;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Connection masks: per layer, a 0/1 array shaped like its weights ({@code W} of a dense, output or
 * 2-D convolution layer); a 0 marks a dormant connection, which the network holds at exactly 0 and
 * training never moves. This is the sparse substrate of NeST (Dai, Yin, Jha 2018, arXiv
 * 1711.02017): its connection growth wakes dormant connections, its pruning puts them to sleep.
 *
 * <p>How a masked entry stays exactly 0, each iteration, on both network types:
 * <ul>
 *   <li>In the listener's {@code onGradientCalculation}, which DL4J 1.0.0-M2.1 calls after
 *       backpropagation and before the updater, the masked entries of the gradient are zeroed in
 *       place (the per-variable gradients are views of the network's flat gradient; replacing them
 *       would leave the updater reading the old one).</li>
 *   <li>The weight and every optimizer-state component of a masked entry (Adam's m and v, a
 *       momentum, AdaGrad's history) are zeroed too, in the same place and right after every growth
 *       swap. With weight, gradient and state at 0, L2 (added to the gradient: λ·0), weight decay
 *       (λ·0 after the updater), gradient clipping and renormalisation (a scaled 0) and Adam's step
 *       (m̂ / (√v̂ + ε) = 0) all leave it at 0. Doing it every iteration rather than once costs one
 *       element-wise product per array and needs no record of what was already zeroed, so nothing
 *       that wrote the weights in between (a rewrite's split perturbation, a restore, user code) can
 *       leak.</li>
 *   <li>Additive weight noise ({@code weightNoise}, e.g. DropConnect or Gaussian noise) is refused on
 *       a masked layer: DL4J applies it to the weights of the forward pass itself, where no hook
 *       reaches.</li>
 * </ul>
 *
 * <p>Masks are {@link CompanionArrays} of the growth controller: they follow every unit map (kept
 * and copied units keep their connections, fresh units start connected: fresh value 1, dropped
 * units take theirs away), are saved with the growth state by {@code GrowthListener.writeModel} and
 * come back with {@code restoreState}. The network itself holds plain weights with zeros in place,
 * so a masked network saved with {@code ModelSerializer} (after {@code PlainReluExport} if it uses
 * the growth ReLU) loads and computes the same outputs without this library.
 *
 * <p>Instances belong to one controller ({@code GrowthListener.masks()}); the controller's lock
 * guards them.
 */
public final class ConnectionMasks {
    /** Companion-array name prefix of the masks: {@code mask/<layer>}. */
    public static final String PREFIX = "mask/";
    private static final String PARAM = "W";

    private final CompanionArrays companions;

    public ConnectionMasks(CompanionArrays companions) {
        this.companions = Preconditions.checkNotNull(companions, "companions");
    }

    static String name(String layer) {
        return PREFIX + layer;
    }

    /** The layers that have a mask, in the order they were masked. */
    public List<String> layers() {
        List<String> out = new ArrayList<>();
        for (String n : companions.names()) {
            if (n.startsWith(PREFIX)) {
                out.add(companions.entry(n).layer());
            }
        }
        return out;
    }

    /** Whether {@code layer} has a mask. */
    public boolean has(String layer) {
        return companions.names().contains(name(layer));
    }

    /** A copy of {@code layer}'s mask, shaped like its weights (1 active, 0 dormant). */
    public INDArray get(String layer) {
        Preconditions.checkArgument(has(layer), "Layer '%s' has no connection mask; masked layers: %s", layer,
                layers());
        return companions.get(name(layer)).dup();
    }

    /** Active connections of {@code layer} (the mask's ones). */
    public long active(String layer) {
        return get(layer).sumNumber().longValue();
    }

    /**
     * Masks {@code layer} of {@code network} with {@code mask} (replacing any mask it had) and applies
     * it at once: the weights, gradient and optimizer state of the dormant entries become exactly 0.
     * Everything is checked before anything changes: the layer exists and is a dense, output or
     * 2-D convolution layer without weight noise, the mask has the weights' shape and holds only 0
     * and 1.
     *
     * @throws IllegalArgumentException naming the layer, the value and what is allowed
     */
    public void set(NetworkAdapter network, String layer, INDArray mask) {
        Preconditions.checkNotNull(mask, "mask for layer '%s' must not be null", layer);
        if (!network.layerNames().contains(layer)) {
            throw new IllegalArgumentException("Connection mask for layer '" + layer + "': no such layer; layers: "
                    + network.layerNames());
        }
        requireMaskable(network, layer);
        INDArray w = network.paramTable(layer).get(PARAM);
        if (!Arrays.equals(w.shape(), mask.shape())) {
            throw new IllegalArgumentException("Connection mask for layer '" + layer + "' has shape "
                    + Arrays.toString(mask.shape()) + ", but its weights W have shape " + Arrays.toString(w.shape()));
        }
        INDArray m;
        // The mask lives as long as the controller: never in a workspace a training pass has open
        // (a planner's seed sets masks from inside fit()).
        try (org.nd4j.linalg.api.memory.MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            m = mask.castTo(w.dataType()).dup(w.ordering());
        }
        long ones = m.eq(1.0).castTo(org.nd4j.linalg.api.buffer.DataType.INT64).sumNumber().longValue();
        long zeros = m.eq(0.0).castTo(org.nd4j.linalg.api.buffer.DataType.INT64).sumNumber().longValue();
        if (ones + zeros != m.length()) {
            throw new IllegalArgumentException("Connection mask for layer '" + layer + "' holds "
                    + (m.length() - ones - zeros) + " values other than 0 and 1 (e.g. "
                    + firstOther(m) + "); a mask holds 1 (active) and 0 (dormant) only");
        }
        if (has(layer)) {
            companions.remove(name(layer));
        }
        companions.register(name(layer), layer, PARAM, m, 1.0);
        apply(network, w, layer, m, true);
    }

    /**
     * Refuses waking {@code flatIndices} of {@code layer}: no mask, an index outside its weights, or
     * a connection that is active already; before anything changes.
     */
    public void requireWakeable(String layer, long[] flatIndices) {
        requireIndices(layer, flatIndices, 0.0, "wake", "active already");
    }

    /**
     * Wakes {@code layer}'s dormant connections at {@code flatIndices} ('c' order over its weights):
     * the mask becomes 1 there, and the weights and optimizer state, held at 0 while dormant, train
     * from 0 at the next step. See {@link #requireWakeable} for what is refused.
     */
    public void wake(String layer, long[] flatIndices) {
        requireWakeable(layer, flatIndices);
        setCells(layer, flatIndices, 1.0);
    }

    /**
     * Refuses pruning {@code flatIndices} of {@code layer}: no mask, an index outside its weights, or
     * a connection that is dormant already; before anything changes.
     */
    public void requirePrunable(String layer, long[] flatIndices) {
        requireIndices(layer, flatIndices, 1.0, "prune", "dormant already");
    }

    /**
     * Puts {@code layer}'s active connections at {@code flatIndices} ('c' order) to sleep: the mask
     * becomes 0 there; the controller then zeroes their weights and optimizer state
     * ({@link #enforce}). See {@link #requirePrunable} for what is refused.
     */
    public void prune(String layer, long[] flatIndices) {
        requirePrunable(layer, flatIndices);
        setCells(layer, flatIndices, 0.0);
    }

    /**
     * {@link #requirePrunable(String, long[])}, where a layer without a mask counts as fully
     * connected (pruning gives it one, {@link #prune(NetworkAdapter, String, long[])}): it must then
     * be maskable and the indices within its weights.
     */
    public void requirePrunable(NetworkAdapter network, String layer, long[] flatIndices) {
        if (has(layer)) {
            requirePrunable(layer, flatIndices);
            return;
        }
        if (!network.layerNames().contains(layer)) {
            throw new IllegalArgumentException("Cannot prune connections of layer '" + layer + "': no such layer; "
                    + "layers: " + network.layerNames());
        }
        requireMaskable(network, layer);
        long n = network.paramTable(layer).get(PARAM).length();
        for (long i : flatIndices) {
            if (i < 0 || i >= n) {
                throw new IllegalArgumentException("Cannot prune connection " + i + " of layer '" + layer
                        + "': its weights have " + n + " entries (0 to " + (n - 1) + ")");
            }
        }
    }

    /**
     * {@link #prune(String, long[])}; a layer without a mask first gets one with every connection
     * active (NeST's sparse seed starts so).
     */
    public void prune(NetworkAdapter network, String layer, long[] flatIndices) {
        requirePrunable(network, layer, flatIndices);
        if (!has(layer)) {
            INDArray w = network.paramTable(layer).get(PARAM);
            set(network, layer, Nd4j.ones(w.dataType(), w.shape()));
        }
        prune(layer, flatIndices);
    }

    /** Writes {@code value} into the mask of {@code layer} at flat 'c'-order indices, whatever its memory order. */
    private void setCells(String layer, long[] flatIndices, double value) {
        INDArray m = companions.get(name(layer));
        long[] shape = m.shape();
        for (long i : flatIndices) {
            m.putScalar(org.nd4j.linalg.api.shape.Shape.ind2subC(shape, i), value);
        }
    }

    private void requireIndices(String layer, long[] flatIndices, double expected, String what, String otherwise) {
        Preconditions.checkArgument(has(layer), "Cannot %s connections of layer '%s': it has no connection mask; "
                + "masked layers: %s", what, layer, layers());
        INDArray m = companions.get(name(layer));
        INDArray flat = m.dup('c').reshape(m.length());
        for (long i : flatIndices) {
            if (i < 0 || i >= m.length()) {
                throw new IllegalArgumentException("Cannot " + what + " connection " + i + " of layer '" + layer
                        + "': its weights have " + m.length() + " entries (0 to " + (m.length() - 1) + ")");
            }
            if (flat.getDouble(i) != expected) {
                throw new IllegalArgumentException("Cannot " + what + " connection " + i + " of layer '" + layer
                        + "': it is " + otherwise);
            }
        }
    }

    /** Removes {@code layer}'s mask: its dormant connections start training from 0 at the next step. */
    public void clear(String layer) {
        Preconditions.checkArgument(has(layer), "Layer '%s' has no connection mask; masked layers: %s", layer,
                layers());
        companions.remove(name(layer));
    }

    /**
     * Zeroes the dormant entries' gradient, weights and optimizer state of every masked layer of
     * {@code network}: each iteration between gradient and update, and after each swap.
     */
    public void enforce(NetworkAdapter network, boolean gradientToo) {
        for (String n : companions.names()) {
            if (!n.startsWith(PREFIX)) {
                continue;
            }
            CompanionArrays.Entry e = companions.entry(n);
            INDArray mask = e.array();
            INDArray w = network.paramTable(e.layer()).get(PARAM);
            if (mask.ordering() != w.ordering() || mask.isView()) {
                // Once after a rewrite (remapped arrays come back in 'c' order): keep the mask in the
                // weights' own order, so that flattening it for the optimizer state is a view.
                mask = mask.dup(w.ordering());
                companions.update(n, mask);
            }
            apply(network, w, e.layer(), mask, gradientToo);
        }
    }

    /** Refuses a mask on {@code layer} where one cannot hold: the wrong kind of layer, or weight noise. */
    public static void requireMaskable(NetworkAdapter network, String layer) {
        Layer conf = network.layerConfiguration(layer);
        boolean dense = conf instanceof DenseLayer || conf instanceof OutputLayer;
        boolean conv = conf.getClass() == ConvolutionLayer.class;
        if (!dense && !conv) {
            throw new IllegalArgumentException("Connection masks cover the weights of DenseLayer, OutputLayer and "
                    + "ConvolutionLayer (2-D); layer '" + layer + "' is a " + conf.getClass().getSimpleName());
        }
        org.deeplearning4j.nn.conf.layers.BaseLayer base = (org.deeplearning4j.nn.conf.layers.BaseLayer) conf;
        if (base.getWeightNoise() != null) {
            throw new IllegalArgumentException("Layer '" + layer + "' has weight noise " + base.getWeightNoise()
                    + ", which DL4J adds to the weights of each forward pass, dormant ones included: a connection "
                    + "mask cannot hold there. Remove weightNoise(...) from '" + layer + "' to mask it");
        }
    }

    /** {@code w}: {@code layer}'s weights, a view into the network's parameters. */
    private static void apply(NetworkAdapter network, INDArray w, String layer, INDArray mask, boolean gradientToo) {
        w.muli(mask);
        if (gradientToo) {
            INDArray g = network.gradientViews(layer).get(PARAM);
            if (g != null) {
                g.muli(mask);
            }
        }
        List<INDArray> state = NetworkRewrite.optimizerState(network.model(), layer, PARAM);
        if (!state.isEmpty()) {
            // The state's components are flat, in the order of the parameter's own view. A mask kept
            // in that order flattens as a view (set() stores it so); a remapped one may need a copy.
            INDArray flat = mask.ordering() == w.ordering() && !mask.isView()
                    ? mask.reshape(w.ordering(), new long[]{w.length()})
                    : Nd4j.toFlattened(w.ordering(), mask).reshape(w.length());   // only from set(), once
            for (INDArray s : state) {
                s.muli(flat);
            }
        }
    }

    private static double firstOther(INDArray m) {
        INDArray flat = m.reshape(m.length());
        for (long i = 0; i < flat.length(); i++) {
            double v = flat.getDouble(i);
            if (v != 0.0 && v != 1.0) {
                return v;
            }
        }
        return Double.NaN;
    }
}
