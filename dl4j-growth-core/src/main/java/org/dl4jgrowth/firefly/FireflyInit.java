package org.dl4jgrowth.firefly;

import org.dl4jgrowth.how.NewUnits;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.how.WeightBlock;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Arrays;

/**
 * Places what {@link FireflyPlanner} trained: the chosen new neurons' fan-in and fan-out (bias 0),
 * and the chosen splits' directions v as the fan-in perturbation of the two halves (w + v, w - v).
 * A value with no settings: the arrays arrive as signals the planner recorded for the layer, laid
 * out for the network after the growth, so this class only checks shapes and copies.
 */
public final class FireflyInit implements UnitInitializer {
    private static final long serialVersionUID = 1L;

    /** Signal names the planner records and this initialiser reads. */
    static final String FAN_IN = "firefly.fanIn";
    static final String FAN_OUT = "firefly.fanOut";
    static final String DIRECTIONS = "firefly.directions";

    @Override
    public void initialize(NewUnits units) {
        place(units.fanIn(), units.signal(FAN_IN), units.layerName(), "fan-in");
        if (units.hasBias()) {
            units.bias().assign(0);   // the reference's new neurons have none; 0 keeps that function
        }
        if (units.fanOut().size() != 1) {
            throw new IllegalArgumentException("firefly: layer '" + units.layerName() + "' feeds "
                    + units.fanOut().size() + " layers; Firefly grows layers with one dense consumer");
        }
        place(units.fanOut().get(0), units.signal(FAN_OUT), units.layerName(), "fan-out");
    }

    @Override
    public void perturb(NewUnits units) {
        place(units.perturbation(), units.signal(DIRECTIONS), units.layerName(), "split directions");
    }

    private static void place(WeightBlock block, INDArray values, String layer, String what) {
        INDArray w = block.weights();
        if (!Arrays.equals(w.shape(), values.shape())) {
            throw new IllegalStateException("firefly: the trained " + what + " of layer '" + layer + "' has shape "
                    + Arrays.toString(values.shape()) + " but the rewrite expects " + Arrays.toString(w.shape()));
        }
        w.assign(values.castTo(w.dataType()));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FireflyInit;
    }

    @Override
    public int hashCode() {
        return FireflyInit.class.hashCode();
    }

    @Override
    public String toString() {
        return "firefly";
    }
}
