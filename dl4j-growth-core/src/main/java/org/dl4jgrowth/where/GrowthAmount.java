package org.dl4jgrowth.where;

import org.nd4j.shade.guava.base.Preconditions;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.io.Serializable;

/**
 * <b>How much</b> a chosen layer grows at one event: a fixed number of units, or a factor on its
 * current width (rounded up, at least one unit). Caps are the policy's business. Immutable, JSON as
 * {@code {"add": 8, "factor": 0.0}} or {@code {"add": 0, "factor": 1.5}} (the unused one written as
 * 0); read back, either may be left out, and each is checked like its factory.
 */
public final class GrowthAmount implements Serializable {
    private static final long serialVersionUID = 1L;
    private final int add;
    private final double factor;

    private GrowthAmount(int add, double factor) {
        this.add = add;
        this.factor = factor;
    }

    /**
     * The JSON form, checked like the factories (JSON written by hand must not bypass them): 0 is how
     * the written form marks the unused one, so {@code {"add": 0}} alone is {@code add(0)} and refused
     * like it, and a non-zero add together with a non-zero factor is refused rather than one of them
     * silently ignored.
     */
    @JsonCreator
    private static GrowthAmount fromJson(@JsonProperty("add") Integer add, @JsonProperty("factor") Double factor) {
        boolean addGiven = add != null && add != 0;
        boolean factorGiven = factor != null && factor != 0.0;
        if (addGiven && factorGiven) {
            throw new IllegalArgumentException("GrowthAmount: give add (GrowthAmount.add(n)) or factor "
                    + "(GrowthAmount.factor(f)), not both (got: add " + add + ", factor " + factor + ")");
        }
        if (factorGiven || (factor != null && add == null)) {
            return factor(factor);
        }
        if (add != null) {
            return add(add);
        }
        throw new IllegalArgumentException("GrowthAmount: give add (GrowthAmount.add(n), n >= 1) or factor "
                + "(GrowthAmount.factor(f), f > 1) (got: neither)");
    }

    /** {@code n} more units per growth. */
    public static GrowthAmount add(int n) {
        Preconditions.checkArgument(n >= 1, "GrowthAmount.add(n): n must be at least 1 (got: %s)", n);
        return new GrowthAmount(n, 0);
    }

    /** Width times {@code f} per growth, rounded up, at least one more unit. */
    public static GrowthAmount factor(double f) {
        Preconditions.checkArgument(f > 1.0 && Double.isFinite(f),
                "GrowthAmount.factor(f): f must be a finite number above 1 (got: %s)", f);
        return new GrowthAmount(0, f);
    }

    /**
     * The width a layer of {@code width} units grows to, before caps. Saturates at
     * {@link Integer#MAX_VALUE} instead of overflowing: {@code add(Integer.MAX_VALUE)} or
     * {@code factor(1e12)} asks for "as wide as possible", and what is allowed is decided after this:
     * by the policy's width cap (so with {@code maxWidth(16)} the layer simply grows to 16), then by
     * the controller's checks of the planned network (maxParams). Without a width cap the layer-wise
     * planner refuses a target beyond what a layer can hold, asking for a maxWidth.
     */
    public int grownWidth(int width) {
        long grown;
        if (add > 0) {
            grown = (long) width + add;
        } else {
            // The 1e-9 keeps an exact product (8 * 1.5) from rounding up to the next unit.
            double scaled = Math.ceil(width * factor - 1e-9);
            grown = Math.max((long) width + 1, scaled >= Integer.MAX_VALUE ? Integer.MAX_VALUE : (long) scaled);
        }
        return (int) Math.min(Integer.MAX_VALUE, grown);
    }

    @JsonProperty("add")
    public int getAdd() {
        return add;
    }

    @JsonProperty("factor")
    public double getFactor() {
        return factor;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GrowthAmount && ((GrowthAmount) o).add == add && ((GrowthAmount) o).factor == factor;
    }

    @Override
    public int hashCode() {
        return 31 * add + Double.hashCode(factor);
    }

    @Override
    public String toString() {
        return add > 0 ? "+" + add : "x" + factor;
    }
}
