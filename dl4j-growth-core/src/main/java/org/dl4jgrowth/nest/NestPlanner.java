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
 * NeST's growth (Dai, Yin, Jha, "NeST: A Neural Network Synthesis Tool Based on a Grow-and-Prune
 * Paradigm", arXiv 1711.02017), as a planner over {@link ConnectionMasks}. This part implements
 * the paper's <b>connection growth</b>: when the trigger fires, every masked layer (or the named
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

    @JsonCreator
    public NestPlanner(@JsonProperty("when") GrowthTrigger when, @JsonProperty("layers") List<String> layers,
                       @JsonProperty("percentile") double percentile) {
        this.when = Preconditions.checkNotNull(when, "nest: when(trigger) is required");
        this.layers = ImmutableList.copyOf(layers == null ? List.of() : layers);
        Preconditions.checkArgument(percentile >= 0 && percentile < 100,
                "nest: growConnections(percentile) must be in [0, 100) (got: %s); 90 wakes the top 10%% of each "
                        + "layer's dormant connections", percentile);
        this.percentile = percentile;
    }

    public static Builder builder() {
        return new Builder();
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

    /** The trigger's layers; {@link #layers()} may name output layers, so propose checks those. */
    @Override
    public List<String> namedLayers() {
        return when.namedLayers();
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
        return when.equals(p.when) && layers.equals(p.layers) && Double.compare(percentile, p.percentile) == 0;
    }

    @Override
    public int hashCode() {
        return Objects.hash(when, layers, percentile);
    }

    @Override
    public String toString() {
        return "nest{when=" + when + (layers.isEmpty() ? "" : ", layers=" + layers) + ", growConnections="
                + percentile + "th percentile}";
    }

    /** DL4J-style builder: {@code NestPlanner.builder().when(...).growConnections(90).build()}. */
    public static final class Builder {
        private GrowthTrigger when;
        private List<String> layers = List.of();
        private double percentile = 90;

        private Builder() {
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

        public NestPlanner build() {
            return new NestPlanner(when, layers, percentile);
        }
    }
}
