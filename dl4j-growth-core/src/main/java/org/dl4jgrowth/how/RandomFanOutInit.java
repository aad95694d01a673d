package org.dl4jgrowth.how;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.Objects;

/**
 * The GradMax paper's "random" baseline (Evci et al. 2022, section 5): zero fan-in and bias like
 * GradMax (output unchanged), fan-out in random Gaussian directions scaled to the same norm GradMax
 * would use. Differs from {@link UnitInitializer#random()}, which also draws the fan-in.
 */
public final class RandomFanOutInit implements UnitInitializer {
    private static final long serialVersionUID = 1L;
    private final double scale;
    private final double fixedNorm;

    @JsonCreator
    public RandomFanOutInit(@JsonProperty("scale") double scale, @JsonProperty("fixedNorm") double fixedNorm) {
        FanOutNorm.checkSettings("randomFanOut", scale, fixedNorm);
        this.scale = scale;
        this.fixedNorm = fixedNorm;
    }

    /**
     * Zero fan-in units learn only through f'(0): DL4J's ReLU (f'(0)=0) would leave them dead
     * forever, so such layers are refused before training, as GradMax refuses them.
     */
    @Override
    public void check(org.dl4jgrowth.rewrite.RewriteGeometry geometry,
                      org.dl4jgrowth.rewrite.RewriteGeometry.Site site) {
        GradMaxInit.checkActivation(site.activation(), site.layer(), "randomFanOut", false);
    }

    @Override
    public void initialize(NewUnits units) {
        units.fanIn().zero();
        if (units.hasBias()) {
            units.bias().assign(0);
        }
        for (WeightBlock out : units.fanOut()) {
            long basis = FanOutNorm.basis(out, "randomFanOut", units.layerName());
            double norm = FanOutNorm.target(out, scale, fixedNorm);
            INDArray rows = Nd4j.randn(out.weights().dataType(), units.count(), basis);
            FanOutNorm.place(out, FanOutNorm.normaliseRows(rows, norm));
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RandomFanOutInit && ((RandomFanOutInit) o).scale == scale
                && ((RandomFanOutInit) o).fixedNorm == fixedNorm;
    }

    @Override
    public int hashCode() {
        return Objects.hash(scale, fixedNorm);
    }

    @Override
    public String toString() {
        return "randomFanOut(scale=" + scale + (fixedNorm > 0 ? ", fixedNorm=" + fixedNorm : "") + ")";
    }
}
