package org.dl4jgrowth.rewrite;

import org.deeplearning4j.nn.api.Model;
import org.dl4jgrowth.testing.NetState;
import org.dl4jgrowth.testing.TestNets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.Adam;

import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** New parameters and optimizer state are created in the network's own data type. */
class DataTypeTest {

    static Stream<Arguments> cases() {
        return Stream.of(DataType.FLOAT, DataType.HALF, DataType.DOUBLE)
                .flatMap(t -> Stream.of(Arguments.of(t, false), Arguments.of(t, true)));
    }

    @ParameterizedTest(name = "{0} graph={1}")
    @MethodSource("cases")
    void growthKeepsTheNetworkDataType(DataType type, boolean graph) {
        Model net = TestNets.build(TestNets.CONV_POOL_DENSE, TestNets.base(5, new Adam(0.01), type), graph);
        if (type != DataType.HALF) { // a step of Adam in half precision can overflow the tiny net's softmax
            TestNets.fit(net, TestNets.CONV_POOL_DENSE.data(8, 1, type));
        }
        INDArray x = TestNets.CONV_POOL_DENSE.input(4, 2, type);
        INDArray before = TestNets.output(net, x).dup();
        assertTrue(Double.isFinite(before.castTo(DataType.DOUBLE).sumNumber().doubleValue()), "finite before");

        NetworkRewrite.of(net).grow("c1", 2).grow("d1", 3).apply();

        assertEquals(type, net.params().dataType());
        assertEquals(type, NetState.updater(net).getStateViewArray().dataType());
        net.paramTable().forEach((k, v) -> assertEquals(type, v.dataType(), k));
        INDArray after = TestNets.output(net, x);
        assertEquals(type, after.dataType());
        double tol = type == DataType.HALF ? 1e-2 : type == DataType.FLOAT ? 1e-5 : 1e-9;
        double diff = after.castTo(DataType.DOUBLE).sub(before.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
        assertTrue(diff <= tol, type + ": output changed by " + diff);
        TestNets.fit(net, TestNets.CONV_POOL_DENSE.data(8, 3, type));
        assertTrue(Double.isFinite(net.score()), "trains on: score " + net.score());
    }
}
