package org.dl4jgrowth.where;

import org.nd4j.shade.guava.base.Preconditions;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.io.Serializable;

/**
 * <b>How much</b> a chosen layer grows at one event: a fixed number of units, or a factor on its
 * current width (rounded up, at least one unit). Caps are the policy's business. Immutable, JSON as
 * {@code {"add": 8}} or {@code {"factor": 1.5}}.
 */
public final class GrowthAmount implements Serializable {
    private static final long serialVersionUID = 1L;
    private final int add;
    private final double factor;

    @JsonCreator
    private GrowthAmount(@JsonProperty("add") int add, @JsonProperty("factor") double factor) {
        this.add = add;
        this.factor = factor;
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

    /** The width a layer of {@code width} units grows to, before caps. */
    public int grownWidth(int width) {
        if (add > 0) {
            return Math.addExact(width, add);
        }
        return Math.max(width + 1, (int) Math.min(Integer.MAX_VALUE, Math.ceil(width * factor - 1e-9)));
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
