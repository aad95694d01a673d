package org.dl4jgrowth.activation;

import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.BaseActivationFunction;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinear;
import org.nd4j.linalg.factory.Nd4j;

/**
 * ReLU whose derivative at exactly zero is 1 instead of 0: {@code f(x) = max(0, x)},
 * {@code f'(x) = 1} for {@code x >= 0} and {@code 0} for {@code x < 0}.
 *
 * <p>Why it exists: a neuron grown with zero fan-in (all incoming weights and its bias zero) has a
 * pre-activation of exactly 0 for every input, so it leaves the network function unchanged. With
 * DL4J's {@link org.nd4j.linalg.activations.impl.ActivationReLU} the derivative at 0 is 0, so such a
 * neuron never receives any gradient on its fan-in and stays dead forever. GradMax
 * (Evci, van Merri&euml;nboer, Unterthiner, Vladymyrov, Pedregosa: "GradMax: Growing Neural Networks
 * using Gradient Information", ICLR 2022) relies on a ReLU variant with {@code f(0) = 0} and
 * {@code f'(0) = 1}, so that the fan-in of a new neuron gets the gradient
 * {@code (fan-out . dL/dy) x^T} on the very first step.
 *
 * <p>The forward pass is bit-identical to plain ReLU (it uses the same ND4J op), so a trained network
 * can be switched back to {@code ActivationReLU} for deployment without changing its outputs; see
 * {@link PlainReluExport}.
 *
 * <p>This class deliberately does not extend {@code ActivationReLU}: equality checks, JSON type ids and
 * any code that special-cases {@code ActivationReLU} by type must not mistake it for plain ReLU, whose
 * derivative at 0 is different.
 *
 * <p>It has no fields, so its JSON form is just {@code {"@class": "org.dl4jgrowth.activation.ActivationGrowthReLU"}}
 * through {@link org.nd4j.linalg.activations.IActivation}'s class-name type info; loading such a
 * configuration requires this class on the classpath.
 */
public final class ActivationGrowthReLU extends BaseActivationFunction {

    private static final long serialVersionUID = 1L;

    /** Public no-arg constructor, needed by Jackson when DL4J deserialises a configuration. */
    public ActivationGrowthReLU() {
        // stateless
    }

    /**
     * Applies {@code max(0, x)} in place, as the {@link org.nd4j.linalg.activations.IActivation} contract
     * requires, and returns {@code in}.
     */
    @Override
    public INDArray getActivation(INDArray in, boolean training) {
        // Same op as ActivationReLU's default path, so forward outputs match it bit for bit.
        Nd4j.getExecutioner().exec(new RectifiedLinear(in, in));
        return in;
    }

    /**
     * Returns {@code dL/dz = epsilon * [z >= 0]} and {@code null} as there are no parameters.
     * {@code in} is left unmodified (as ActivationReLU's default path does); a new array is returned.
     */
    @Override
    public Pair<INDArray, INDArray> backprop(INDArray in, INDArray epsilon) {
        assertShape(in, epsilon);
        // ActivationReLU's RectifiedLinearDerivative op masks with a strict z > 0, i.e. exactly the
        // derivative at 0 this class must change; a >= mask gives f'(0) = 1 (also for -0.0).
        INDArray dLdz = in.gte(0.0).castTo(in.dataType()).muli(epsilon);
        return new Pair<>(dLdz, null);
    }

    @Override
    public boolean equals(Object o) {
        return o == this || (o != null && o.getClass() == ActivationGrowthReLU.class);
    }

    @Override
    public int hashCode() {
        return ActivationGrowthReLU.class.getName().hashCode();
    }

    @Override
    public String toString() {
        return "growthrelu";
    }
}
