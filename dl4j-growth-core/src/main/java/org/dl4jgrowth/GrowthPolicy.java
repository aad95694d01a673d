package org.dl4jgrowth;

import org.nd4j.shade.guava.base.Preconditions;
import org.nd4j.shade.guava.collect.ImmutableMap;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.plan.GrowthPlanner;
import org.dl4jgrowth.plan.LayerwisePlanner;
import org.dl4jgrowth.when.GrowthTrigger;
import org.dl4jgrowth.where.GrowthAmount;
import org.dl4jgrowth.where.SiteSelector;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonInclude;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * What to grow and when: the four questions of the growing-networks literature as one immutable,
 * JSON-serialisable value. <b>When</b> is a {@link GrowthTrigger}, <b>where</b> a
 * {@link SiteSelector}, <b>how much</b> a {@link GrowthAmount} with caps on each layer's width and
 * on the network's parameter count, <b>how</b> a {@link UnitInitializer}; the seed drives the
 * growth's own random generator (never ND4J's global one).
 *
 * <pre>{@code
 * GrowthPolicy policy = GrowthPolicy.builder()
 *     .when(GrowthTrigger.everyEpochs(2).and(GrowthTrigger.maxGrowths(3)))
 *     .where(SiteSelector.layers("hidden"))
 *     .howMuch(GrowthAmount.add(8))
 *     .maxWidth(64)
 *     .initializer(UnitInitializer.functionPreserving())
 *     .seed(42)
 *     .build();
 * }</pre>
 */
public final class GrowthPolicy implements Serializable {
    private static final long serialVersionUID = 1L;

    private final GrowthTrigger when;
    private final SiteSelector where;
    private final GrowthAmount howMuch;
    private final UnitInitializer initializer;
    private final int maxWidth;
    private final Map<String, Integer> maxWidths;
    private final long maxParams;
    private final long seed;
    /** A method's own planner; null for the layer-wise one built from when, where and how much. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    private final GrowthPlanner planner;

    private GrowthPolicy(GrowthTrigger when, SiteSelector where, GrowthAmount howMuch, UnitInitializer initializer,
                         int maxWidth, Map<String, Integer> maxWidths, long maxParams, long seed,
                         GrowthPlanner planner) {
        this.planner = planner;
        this.when = when;
        this.where = where;
        this.howMuch = howMuch;
        this.initializer = initializer;
        this.maxWidth = maxWidth;
        this.maxWidths = ImmutableMap.copyOf(maxWidths);
        this.maxParams = maxParams;
        this.seed = seed;
    }

    /**
     * The JSON form, read through the builder's own setters and {@link Builder#build()}, so a
     * policy read back (also inside a history's provenance) is refused exactly where the builder
     * refuses it, with the builder's message, as an IllegalArgumentException (the builder's
     * missing-part errors are IllegalStateExceptions: there the caller forgot a call, here the
     * input is wrong). A number left out or null is a setter not called: no limit, seed 0. The
     * initialiser has a builder default too, but {@code "initializer": null} is what
     * {@code initializer(null)} refuses, and JSON cannot tell it from a missing one, so both are
     * refused; {@link #toJson()} always writes it.
     */
    @JsonCreator
    private static GrowthPolicy fromJsonFields(@JsonProperty("when") GrowthTrigger when,
                                               @JsonProperty("where") SiteSelector where,
                                               @JsonProperty("howMuch") GrowthAmount howMuch,
                                               @JsonProperty("initializer") UnitInitializer initializer,
                                               @JsonProperty("maxWidth") Integer maxWidth,
                                               @JsonProperty("maxWidths") Map<String, Integer> maxWidths,
                                               @JsonProperty("maxParams") Long maxParams,
                                               @JsonProperty("seed") Long seed,
                                               @JsonProperty("planner") GrowthPlanner planner) {
        Builder b = new Builder();
        // when/where/howMuch null means not given: build() then says which one is required.
        b.when = when;
        b.where = where;
        b.howMuch = howMuch;
        b.planner = planner;
        if (initializer != null) {
            b.initializer(initializer);
        }
        if (maxWidth != null) {
            b.maxWidth(maxWidth);
        }
        if (maxWidths != null) {
            for (Map.Entry<String, Integer> e : maxWidths.entrySet()) {
                b.maxWidths.put(e.getKey(), checkLayerWidth(e.getKey(), e.getValue()));
            }
        }
        if (maxParams != null) {
            b.maxParams(maxParams);
        }
        if (seed != null) {
            b.seed(seed);
        }
        GrowthPolicy built;
        try {
            built = b.build();
        } catch (IllegalStateException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        // Checked after the parts, whose absence is the likelier mistake in a hand-written policy.
        if (initializer == null) {
            try {
                b.initializer(null);
            } catch (NullPointerException e) {
                throw new IllegalArgumentException(e.getMessage() + " (give \"initializer\", e.g. "
                        + GrowthJson.toJson(UnitInitializer.functionPreserving()) + ")", e);
            }
        }
        return built;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A controller with fresh history and a fresh growth generator, for one network. */
    public GrowthController newController() {
        return new GrowthController(this);
    }

    /**
     * The planning step: the planner given to {@link Builder#planner}, or the layer-wise planner of
     * {@link #when()}, {@link #where()} and {@link #howMuch()}.
     */
    public GrowthPlanner planner() {
        return planner != null ? planner : new LayerwisePlanner(when, where, howMuch);
    }

    /** The trigger of the layer-wise planner; null when the policy has its own {@link #planner()}. */
    public GrowthTrigger when() {
        return when;
    }

    public SiteSelector where() {
        return where;
    }

    public GrowthAmount howMuch() {
        return howMuch;
    }

    public UnitInitializer initializer() {
        return initializer;
    }

    /** The widest {@code layer} may become. */
    public int maxWidth(String layer) {
        return maxWidths.getOrDefault(layer, maxWidth);
    }

    /** The per-layer caps given with {@link Builder#maxWidth(String, int)}, by layer name. */
    public Map<String, Integer> maxWidths() {
        return maxWidths;
    }

    /** The most parameters the network may have after a growth. */
    public long maxParams() {
        return maxParams;
    }

    public long seed() {
        return seed;
    }

    public String toJson() {
        return GrowthJson.toJson(this);
    }

    /**
     * Reads a policy written by {@link #toJson()} (or by hand), checked like the builder: whatever
     * the builder refuses is refused here with the builder's message.
     *
     * @throws IllegalArgumentException for null, empty or malformed input, the JSON literal
     *                                  {@code null}, unknown properties or classes, and every value
     *                                  or combination the builder refuses
     */
    public static GrowthPolicy fromJson(String json) {
        if (json == null || json.isBlank() || json.strip().equals("null")) {
            throw new IllegalArgumentException("GrowthPolicy.fromJson(json): a policy JSON object was expected, "
                    + "as written by GrowthPolicy.toJson() (got: " + (json == null ? "no string (null)"
                    : json.isBlank() ? "an empty string" : "the JSON literal null") + ")");
        }
        return GrowthJson.fromJson(json, GrowthPolicy.class);
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.when = when;
        b.where = where;
        b.howMuch = howMuch;
        b.initializer = initializer;
        b.maxWidth = maxWidth;
        b.maxWidths.putAll(maxWidths);
        b.maxParams = maxParams;
        b.seed = seed;
        b.planner = planner;
        return b;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof GrowthPolicy)) {
            return false;
        }
        GrowthPolicy p = (GrowthPolicy) o;
        return Objects.equals(when, p.when) && Objects.equals(where, p.where) && Objects.equals(howMuch, p.howMuch)
                && Objects.equals(planner, p.planner)
                && initializer.equals(p.initializer) && maxWidth == p.maxWidth && maxWidths.equals(p.maxWidths)
                && maxParams == p.maxParams && seed == p.seed;
    }

    @Override
    public int hashCode() {
        return Objects.hash(when, where, howMuch, initializer, maxWidth, maxWidths, maxParams, seed, planner);
    }

    @Override
    public String toString() {
        return "GrowthPolicy{" + (planner != null ? "planner=" + planner
                : "when=" + when + ", where=" + where + ", howMuch=" + howMuch) + ", initializer="
                + initializer + ", maxWidth=" + (maxWidth == Integer.MAX_VALUE ? "none" : maxWidth)
                + (maxWidths.isEmpty() ? "" : ", maxWidths=" + maxWidths)
                + ", maxParams=" + (maxParams == Long.MAX_VALUE ? "none" : maxParams) + ", seed=" + seed + "}";
    }

    // The checks of the cap setters, shared with the JSON creator so both say the same.

    private static int checkWidth(int units) {
        Preconditions.checkArgument(units >= 1, "maxWidth(units): units must be at least 1 (got: %s)", units);
        return units;
    }

    /** {@code units} is boxed for JSON, where a map entry can be null. */
    private static int checkLayerWidth(String layer, Integer units) {
        Preconditions.checkArgument(layer != null && !layer.isEmpty(),
                "maxWidth(layer, units): layer must be a layer name (got: %s)", layer);
        Preconditions.checkArgument(units != null && units >= 1,
                "maxWidth(\"%s\", units): units must be at least 1 (got: %s)", layer, units);
        return units;
    }

    private static long checkParams(long params) {
        Preconditions.checkArgument(params >= 1, "maxParams(params): params must be at least 1 (got: %s)", params);
        return params;
    }

    /** Each setter checks its value; {@link #build()} checks that when, where and how much are given. */
    public static final class Builder {
        private GrowthTrigger when;
        private SiteSelector where;
        private GrowthAmount howMuch;
        private UnitInitializer initializer = UnitInitializer.functionPreserving();
        private int maxWidth = Integer.MAX_VALUE;
        private final Map<String, Integer> maxWidths = new LinkedHashMap<>();
        private long maxParams = Long.MAX_VALUE;
        private long seed;
        private GrowthPlanner planner;

        private Builder() {
        }

        /**
         * A growth method's own planner (where and how much decided together, narrowing allowed),
         * instead of {@link #when}, {@link #where} and {@link #howMuch}. The initialiser, the caps and
         * the seed still apply.
         */
        public Builder planner(GrowthPlanner planner) {
            this.planner = Preconditions.checkNotNull(planner, "planner(planner): planner must not be null");
            return this;
        }

        /** When to grow, e.g. {@code GrowthTrigger.everyEpochs(2).and(GrowthTrigger.maxGrowths(3))}. */
        public Builder when(GrowthTrigger trigger) {
            this.when = Preconditions.checkNotNull(trigger, "when(trigger): trigger must not be null");
            return this;
        }

        /** Which layers grow, e.g. {@code SiteSelector.layers("hidden")}. */
        public Builder where(SiteSelector selector) {
            this.where = Preconditions.checkNotNull(selector, "where(selector): selector must not be null");
            return this;
        }

        /** How much each chosen layer grows, e.g. {@code GrowthAmount.add(8)}. */
        public Builder howMuch(GrowthAmount amount) {
            this.howMuch = Preconditions.checkNotNull(amount, "howMuch(amount): amount must not be null");
            return this;
        }

        /** How fresh units start (default: function-preserving). */
        public Builder initializer(UnitInitializer init) {
            this.initializer = Preconditions.checkNotNull(init, "initializer(init): init must not be null");
            return this;
        }

        /** No layer grows beyond {@code units} (default: no limit). */
        public Builder maxWidth(int units) {
            this.maxWidth = checkWidth(units);
            return this;
        }

        /** Layer {@code layer} grows to at most {@code units}, overriding {@link #maxWidth(int)}. */
        public Builder maxWidth(String layer, int units) {
            maxWidths.put(layer, checkLayerWidth(layer, units));
            return this;
        }

        /** A growth that would leave the network with more than {@code params} parameters is skipped. */
        public Builder maxParams(long params) {
            this.maxParams = checkParams(params);
            return this;
        }

        /** Seed of the growth's own random generator (default 0). */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        public GrowthPolicy build() {
            if (planner != null) {
                if (when != null || where != null || howMuch != null) {
                    throw new IllegalStateException("GrowthPolicy: planner(...) decides when, where and how much; "
                            + "give either planner(...) or when/where/howMuch, not both (got planner " + planner
                            + " and when=" + when + ", where=" + where + ", howMuch=" + howMuch + ")");
                }
            } else {
                if (when == null) {
                    throw new IllegalStateException("GrowthPolicy: when(...) is required, e.g. "
                            + "GrowthTrigger.everyEpochs(1), everyIterations(n), atEpochs(...), atIterations(...); "
                            + "or give a planner(...)");
                }
                if (where == null) {
                    throw new IllegalStateException("GrowthPolicy: where(...) is required: SiteSelector.layers(...), "
                            + "allGrowable() or roundRobin(...)");
                }
                if (howMuch == null) {
                    throw new IllegalStateException("GrowthPolicy: howMuch(...) is required: GrowthAmount.add(n) or "
                            + "GrowthAmount.factor(f)");
                }
            }
            // The setters checked the caps; a builder from toBuilder() holds a built policy's values.
            return new GrowthPolicy(when, where, howMuch, initializer, maxWidth, maxWidths, maxParams, seed, planner);
        }
    }
}
