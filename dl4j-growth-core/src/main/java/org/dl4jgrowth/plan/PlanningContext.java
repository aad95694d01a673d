package org.dl4jgrowth.plan;

import org.nd4j.shade.guava.collect.ImmutableList;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.network.NetworkAdapter;
import org.dl4jgrowth.rewrite.CompanionArrays;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.signal.GrowthSignals;
import org.dl4jgrowth.when.TrainingProgress;
import org.nd4j.linalg.api.rng.Random;

import java.util.List;
import java.util.function.ToIntFunction;

/**
 * What a {@link GrowthPlanner} may look at when it decides: where training is, the network (read
 * it, do not change it: a planner that needs to try something works on
 * {@link NetworkAdapter#privateCopy()}), the signals (computed on demand and cached for the rest of
 * this event, so an initialiser asking for the same statistic later reuses it), the events so far,
 * the layers' width caps, and the growth's own random generator. Built by the controller for one
 * decision.
 */
public final class PlanningContext {
    private final NetworkAdapter network;
    private final TrainingProgress progress;
    private final GrowthSignals signals;
    private final List<GrowthEvent> past;
    private final ToIntFunction<String> maxWidth;
    private final Random random;
    private final boolean forced;
    private final CompanionArrays companions;
    private final long maxParams;
    private final ToIntFunction<String> width;

    /** @param maxParams the policy's parameter cap: growths above it are skipped by the controller */
    public PlanningContext(NetworkAdapter network, TrainingProgress progress, GrowthSignals signals,
                           List<GrowthEvent> past, ToIntFunction<String> maxWidth, long maxParams, Random random,
                           boolean forced, CompanionArrays companions) {
        this(network, progress, signals, past, maxWidth, maxParams, random, forced, companions,
                layer -> NetworkRewrite.width(network.model(), layer));
    }

    /**
     * With the current widths read through {@code width}: the controller passes widths it keeps per
     * configuration object, since planners ask at every iteration and reading a width from the
     * configuration builds the network's topology.
     */
    public PlanningContext(NetworkAdapter network, TrainingProgress progress, GrowthSignals signals,
                           List<GrowthEvent> past, ToIntFunction<String> maxWidth, long maxParams, Random random,
                           boolean forced, CompanionArrays companions, ToIntFunction<String> width) {
        this.width = width;
        this.maxParams = maxParams;
        this.companions = companions;
        this.network = network;
        this.progress = progress;
        this.signals = signals;
        this.past = ImmutableList.copyOf(past);
        this.maxWidth = maxWidth;
        this.random = random;
        this.forced = forced;
    }

    public NetworkAdapter network() {
        return network;
    }

    public TrainingProgress progress() {
        return progress;
    }

    public GrowthSignals signals() {
        return signals;
    }

    /** This network's growth events so far, oldest first. */
    public List<GrowthEvent> past() {
        return past;
    }

    /** The current width (nOut) of a growable layer. */
    public int width(String layer) {
        return width.applyAsInt(layer);
    }

    /** The layers the network can grow, in layer order (regardless of caps). */
    public List<String> growableLayers() {
        return signals.growable();
    }

    /** The widest the policy lets {@code layer} become. */
    public int maxWidth(String layer) {
        return maxWidth.applyAsInt(layer);
    }

    /**
     * Refuses new widths the network cannot hold (too wide, or not in memory) before the planner
     * builds unit maps for them, which hold an entry per unit; see
     * {@link NetworkRewrite#requireFeasible}. The controller reports or skips the refusal.
     *
     * @return the estimated parameter count after such a growth (at most the true count); above
     *         {@link #maxParams()} the growth will be skipped, and its unit maps need not be built
     */
    public long requireFeasible(java.util.Map<String, Long> newWidths) {
        return NetworkRewrite.requireFeasible(network.model(), newWidths, maxParams);
    }

    /** The most parameters the policy lets the network have after a growth. */
    public long maxParams() {
        return maxParams;
    }

    /** The growth's own generator (never ND4J's global one): draw from it for reproducible decisions. */
    public Random random() {
        return random;
    }

    /** The controller's arrays that follow every rewrite (register a method's masks here). */
    public CompanionArrays companions() {
        return companions;
    }

    /**
     * True when the caller asked for a change now whatever the schedule says
     * ({@code GrowthController.growNow}); a planner with a schedule then skips it.
     */
    public boolean forced() {
        return forced;
    }
}
