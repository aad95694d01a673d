package org.dl4jgrowth.how;

import org.nd4j.shade.guava.base.Preconditions;
import org.nd4j.shade.guava.collect.ImmutableList;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The fresh units of one grown layer, as handed to a {@link UnitInitializer}: where they sit, and
 * the zero-filled arrays for their fan-in, bias and fan-out that the initialiser fills. Built by the
 * rewriter for one rewrite and discarded afterwards.
 */
public final class NewUnits {
    private final String layerName;
    private final Layer layer;
    private final int[] positions;
    private final int newWidth;
    private final WeightBlock fanIn;
    private final INDArray bias;
    private final double biasInit;
    private final List<WeightBlock> fanOut;
    private final StatisticSource statistics;
    private final Map<String, Object> notes = new LinkedHashMap<>();
    private String svdEngine;
    private int[] perturbedSources = new int[0];
    private WeightBlock perturbation;

    /**
     * Built by the rewriter.
     *
     * @param layerName the grown layer
     * @param layer     its (new) configuration
     * @param positions indices of the fresh units in the new layer
     * @param newWidth  the layer's width after the rewrite
     * @param fanIn     the fresh units' incoming weights
     * @param bias      their biases, shape {@code [k]}, or null when the layer has no bias
     * @param biasInit  the layer's configured initial bias
     * @param fanOut    their outgoing weights, one block per consuming layer
     * @param statistics gradient statistics of the network before the growth
     */
    public NewUnits(String layerName, Layer layer, int[] positions, int newWidth, WeightBlock fanIn, INDArray bias,
                    double biasInit, List<WeightBlock> fanOut, StatisticSource statistics) {
        this.layerName = Preconditions.checkNotNull(layerName);
        this.layer = Preconditions.checkNotNull(layer);
        this.positions = positions.clone();
        this.newWidth = newWidth;
        this.fanIn = Preconditions.checkNotNull(fanIn);
        this.bias = bias;
        this.biasInit = biasInit;
        this.fanOut = ImmutableList.copyOf(fanOut);
        this.statistics = statistics == null ? StatisticSource.NONE : statistics;
    }

    /**
     * GradMax's gradient statistic for this layer, computed on the network before the growth; see
     * {@link StatisticSource#gradientStatistic(String)}.
     */
    public INDArray gradientStatistic() {
        return statistics.gradientStatistic(layerName);
    }

    /** An array the planner recorded for this layer while deciding; see {@link StatisticSource#signal}. */
    public INDArray signal(String name) {
        return statistics.signal(layerName, name);
    }

    /**
     * Records a fact about this growth (singular values, a fallback taken...) that ends up in the
     * growth event, answering "why did the new units start like this?".
     */
    public void note(String key, Object value) {
        notes.put(key, value);
    }

    public Map<String, Object> notes() {
        return Collections.unmodifiableMap(notes);
    }

    /** Records the SVD engine the initialiser used (GradMax); it becomes the event's {@code svdEngine}. */
    public void svdEngineUsed(String engine) {
        this.svdEngine = Preconditions.checkNotNull(engine, "svdEngineUsed(engine): engine must not be null");
    }

    /** The SVD engine the initialiser used, or null if it used none. */
    public String svdEngine() {
        return svdEngine;
    }

    public String layerName() {
        return layerName;
    }

    /** The grown layer's configuration, with its new width. */
    public Layer layer() {
        return layer;
    }

    /** Number of fresh units. */
    public int count() {
        return positions.length;
    }

    /** Where the fresh units sit in the new layer. */
    public int[] positions() {
        return positions.clone();
    }

    public int newWidth() {
        return newWidth;
    }

    public DataType dataType() {
        return fanIn.weights().dataType();
    }

    public WeightBlock fanIn() {
        return fanIn;
    }

    public boolean hasBias() {
        return bias != null;
    }

    /** Biases of the fresh units, shape {@code [k]}; throws when the layer has none. */
    public INDArray bias() {
        Preconditions.checkState(bias != null, "Layer '%s' has no bias", layerName);
        return bias;
    }

    /** Sets the fresh units' biases to the layer's configured initial bias, if it has biases. */
    public void fillBiasWithLayerInit() {
        if (bias != null) {
            bias.assign(biasInit);
        }
    }

    /**
     * Attaches the fan-in perturbation block of copied units (built by the rewriter when the unit
     * map asks for one): δ for each of {@code sources}, stacked along the fan-in's unit axis.
     */
    public NewUnits withPerturbation(int[] sources, WeightBlock delta) {
        this.perturbedSources = sources.clone();
        this.perturbation = Preconditions.checkNotNull(delta, "perturbation block");
        return this;
    }

    /** The old units whose copies carry a fan-in perturbation (rows of {@link #perturbation()}); often none. */
    public int[] perturbedSources() {
        return perturbedSources.clone();
    }

    /**
     * δ, zero-filled, shaped like the fan-in of {@link #perturbedSources()} units: the copies get
     * w + δ and w - δ as their unit map says. Throws when no copy is perturbed.
     */
    public WeightBlock perturbation() {
        Preconditions.checkState(perturbation != null, "Layer '%s' has no perturbed copies", layerName);
        return perturbation;
    }

    /** One block per consumer of the grown layer (after any pass-through layers). */
    public List<WeightBlock> fanOut() {
        return fanOut;
    }
}
