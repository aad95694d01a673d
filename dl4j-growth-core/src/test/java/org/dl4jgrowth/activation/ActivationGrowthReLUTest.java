package org.dl4jgrowth.activation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class ActivationGrowthReLUTest {

    // All values are exactly representable in HALF, so expectations can be exact in every type.
    private static final double[] Z = {-3.5, -1.0, -0.25, -0.0, 0.0, 0.125, 1.0, 2.5};
    private static final double[] EPS = {0.5, -2.0, 3.0, 4.0, 1.5, -0.75, 2.0, -1.25};

    @ParameterizedTest
    @EnumSource(value = DataType.class, names = {"DOUBLE", "FLOAT", "HALF"})
    void forwardIsMaxZeroXInPlaceAndMatchesPlainRelu(DataType type) {
        INDArray in = Nd4j.createFromArray(Z).castTo(type);
        INDArray plainIn = in.dup();

        INDArray out = new ActivationGrowthReLU().getActivation(in, true);
        INDArray plain = new ActivationReLU().getActivation(plainIn, true);

        assertSame(in, out, "IActivation contract: transform in place and return the input");
        assertEquals(type, out.dataType());
        assertArrayEquals(new double[] {0, 0, 0, 0, 0, 0.125, 1.0, 2.5}, out.ravel().toDoubleVector(), 0.0);
        assertArrayEquals(plain.ravel().toDoubleVector(), out.ravel().toDoubleVector(), 0.0);
    }

    @ParameterizedTest
    @EnumSource(value = DataType.class, names = {"DOUBLE", "FLOAT", "HALF"})
    void derivativeIsOneFromZeroOnwardsAndZeroBelow(DataType type) {
        INDArray in = Nd4j.createFromArray(Z).castTo(type);
        INDArray inCopy = in.dup();
        INDArray eps = Nd4j.createFromArray(EPS).castTo(type);

        Pair<INDArray, INDArray> grads = new ActivationGrowthReLU().backprop(in, eps);

        assertNull(grads.getSecond(), "no parameters, so no parameter gradient");
        assertEquals(type, grads.getFirst().dataType());
        // -0.0 >= 0 in IEEE arithmetic, so both signed zeros count as "at the kink".
        assertArrayEquals(new double[] {0, 0, 0, 4.0, 1.5, -0.75, 2.0, -1.25},
                grads.getFirst().ravel().toDoubleVector(), 0.0);
        assertArrayEquals(inCopy.ravel().toDoubleVector(), in.ravel().toDoubleVector(), 0.0, "backprop must not modify z");
    }

    @ParameterizedTest
    @EnumSource(value = DataType.class, names = {"DOUBLE", "FLOAT", "HALF"})
    void derivativeAtExactlyZeroIsOneWhereasPlainReluGivesZero(DataType type) {
        INDArray zeros = Nd4j.zeros(type, 2, 3);
        INDArray ones = Nd4j.ones(type, 2, 3);

        INDArray growth = new ActivationGrowthReLU().backprop(zeros.dup(), ones.dup()).getFirst();
        INDArray plain = new ActivationReLU().backprop(zeros.dup(), ones.dup()).getFirst();

        assertArrayEquals(new long[] {2, 3}, growth.shape());
        for (double d : growth.ravel().toDoubleVector()) {
            assertEquals(1.0, d, 0.0);
        }
        // This is the behaviour the class exists to change; if ND4J ever changed it the class would
        // still be correct but its reason would need re-checking.
        for (double d : plain.ravel().toDoubleVector()) {
            assertEquals(0.0, d, 0.0);
        }
    }

    @Test
    void derivativeAwayFromZeroMatchesPlainRelu() {
        INDArray in = Nd4j.rand(DataType.DOUBLE, 4, 5).subi(0.5);
        INDArray eps = Nd4j.rand(DataType.DOUBLE, 4, 5);
        INDArray growth = new ActivationGrowthReLU().backprop(in.dup(), eps.dup()).getFirst();
        INDArray plain = new ActivationReLU().backprop(in.dup(), eps.dup()).getFirst();
        assertArrayEquals(plain.ravel().toDoubleVector(), growth.ravel().toDoubleVector(), 0.0);
    }

    @Test
    void backpropRejectsMismatchedShapes() {
        assertThrows(IllegalStateException.class, () -> new ActivationGrowthReLU()
                .backprop(Nd4j.zeros(DataType.FLOAT, 2, 3), Nd4j.zeros(DataType.FLOAT, 3, 2)));
    }

    @Test
    void valueSemanticsAndName() {
        assertEquals(new ActivationGrowthReLU(), new ActivationGrowthReLU());
        assertEquals(new ActivationGrowthReLU().hashCode(), new ActivationGrowthReLU().hashCode());
        assertNotEquals(new ActivationGrowthReLU(), new ActivationReLU());
        assertNotEquals(new ActivationReLU(), new ActivationGrowthReLU());
        assertEquals("growthrelu", new ActivationGrowthReLU().toString());
        assertEquals(0, new ActivationGrowthReLU().numParams(10));
    }

    @Test
    void jsonRoundTripThroughDl4jMapper() throws Exception {
        var mapper = NeuralNetConfiguration.mapper();
        String json = mapper.writerFor(IActivation.class).writeValueAsString(new ActivationGrowthReLU());
        assertTrue(json.contains(ActivationGrowthReLU.class.getName()), json);
        IActivation back = mapper.readValue(json, IActivation.class);
        assertEquals(ActivationGrowthReLU.class, back.getClass());
    }
}
