package org.dl4jgrowth.signal;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** {@link StatisticSignals#finite}: a sum first, that must still see every NaN and infinity, in views too, and not take an overflow for one. */
class FiniteCheckTest {

    @ParameterizedTest
    @EnumSource(value = DataType.class, names = {"FLOAT", "DOUBLE"})
    void seesNanAndBothInfinitiesAnywhere(DataType type) {
        for (double bad : new double[] {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}) {
            INDArray x = Nd4j.rand(type, 300, 400).subi(0.5).muli(1e30);
            assertTrue(StatisticSignals.finite(x), "large but finite values");
            x.putScalar(299, 399, bad);
            assertFalse(StatisticSignals.finite(x), bad + " in the last element");
            INDArray view = x.get(NDArrayIndex.interval(250, 300), NDArrayIndex.interval(350, 400));
            assertFalse(StatisticSignals.finite(view), bad + " in a view");
            INDArray clean = x.get(NDArrayIndex.interval(0, 250), NDArrayIndex.all());
            assertTrue(StatisticSignals.finite(clean), "a view without it");
        }
    }

    @Test
    void finiteValuesWhoseSumOverflowsAreFinite() {
        INDArray x = Nd4j.valueArrayOf(new long[] {100, 10}, 3e38f, DataType.FLOAT);
        assertFalse(Double.isFinite(x.sumNumber().doubleValue()), "the sum overflows FLOAT");
        assertTrue(StatisticSignals.finite(x), "every value is finite");
        x.putScalar(99, 9, Float.NaN);
        assertFalse(StatisticSignals.finite(x));
    }

    @ParameterizedTest
    @EnumSource(value = DataType.class, names = {"FLOAT", "DOUBLE"})
    void emptyAndNullCountAsFinite(DataType type) {
        assertTrue(StatisticSignals.finite(null));
        assertTrue(StatisticSignals.finite(Nd4j.empty(type)));
        assertTrue(StatisticSignals.finite(Nd4j.zeros(type, 3)));
    }
}
