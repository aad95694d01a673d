package org.dl4jgrowth.rewrite;

import org.deeplearning4j.nn.api.Model;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.testing.TestNets;
import org.dl4jgrowth.testing.TestNets.Arch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.Adam;

import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A function-preserving growth leaves the network's output unchanged, on every supported path. */
class FunctionPreservationTest {

    static Stream<Arguments> sites() {
        return Stream.of(
                Arguments.of(TestNets.DENSE_DENSE, "d1"),      // Dense -> Dense
                Arguments.of(TestNets.DENSE_DENSE, "d2"),      // Dense -> Output
                Arguments.of(TestNets.DENSE_BN_DENSE, "d1"),   // Dense -> BN -> Dropout -> Dense
                Arguments.of(TestNets.CONV_CONV, "c1"),         // Conv -> Conv
                Arguments.of(TestNets.CONV_BN_CONV, "c1"),     // Conv -> BN -> Act -> Pad -> Conv
                Arguments.of(TestNets.CONV_BN_CONV, "c2"),     // Conv -> GlobalPool -> Output
                Arguments.of(TestNets.CONV_POOL_DENSE, "c1")   // Conv -> Pool -> flatten -> Dense
        ).flatMap(a -> Stream.of(false, true).map(g -> Arguments.of(a.get()[0], a.get()[1], g)));
    }

    /** Trains a little first so that weights, BN statistics and Adam moments are non-trivial. */
    static Model trained(Arch arch, boolean graph) {
        Model net = TestNets.build(arch, TestNets.base(42, new Adam(0.01), DataType.DOUBLE), graph);
        for (int i = 0; i < 3; i++) {
            TestNets.fit(net, arch.data(16, 7 + i, DataType.DOUBLE));
        }
        return net;
    }

    @ParameterizedTest(name = "{0} grow {1} graph={2}")
    @MethodSource("sites")
    void wideningPreservesOutput(Arch arch, String site, boolean graph) {
        Model net = trained(arch, graph);
        INDArray x = arch.input(8, 3, DataType.DOUBLE);
        INDArray before = TestNets.output(net, x).dup();
        long paramsBefore = net.numParams();
        long nOutBefore = TestNets.layer(net, site).getParam("W").size(site.startsWith("c") ? 0 : 1);

        Model same = net;
        RewriteResult r = NetworkRewrite.of(net).grow(site, 3).initializer(UnitInitializer.functionPreserving()).apply();

        assertSame(same, net);
        assertEquals(nOutBefore + 3, r.layers().get(site).newWidth());
        assertTrue(net.numParams() > paramsBefore, "parameter count grows");
        assertEquals(r.paramsAfter(), net.numParams());
        INDArray after = TestNets.output(net, x);
        assertArrayEquals(before.shape(), after.shape());
        double diff = after.sub(before).amaxNumber().doubleValue();
        assertTrue(diff < 1e-6, "max |output change| = " + diff);
    }

    @ParameterizedTest(name = "{0} split {1} graph={2}")
    @MethodSource("sites")
    void splitWithHalvedFanOutPreservesOutput(Arch arch, String site, boolean graph) {
        Model net = trained(arch, graph);
        INDArray x = arch.input(8, 3, DataType.DOUBLE);
        INDArray before = TestNets.output(net, x).dup();
        int width = (int) TestNets.layer(net, site).getParam("W").size(site.startsWith("c") ? 0 : 1);

        NetworkRewrite.of(net).unitMap(site, UnitMap.split(width, 0, width - 1)).apply();

        double diff = TestNets.output(net, x).sub(before).amaxNumber().doubleValue();
        assertTrue(diff < 1e-6, "max |output change| = " + diff);
        assertEquals(width + 2, TestNets.layer(net, site).getParam("W").size(site.startsWith("c") ? 0 : 1));
    }

    @ParameterizedTest(name = "{0} drop dead units of {1} graph={2}")
    @MethodSource("sites")
    void droppingUnitsWithZeroFanOutPreservesOutput(Arch arch, String site, boolean graph) {
        Model net = trained(arch, graph);
        // Grow with zero fan-out, train nothing, then drop exactly those units again.
        NetworkRewrite.of(net).grow(site, 2).apply();
        int width = (int) TestNets.layer(net, site).getParam("W").size(site.startsWith("c") ? 0 : 1);
        INDArray x = arch.input(8, 3, DataType.DOUBLE);
        INDArray before = TestNets.output(net, x).dup();

        NetworkRewrite.of(net).unitMap(site, UnitMap.drop(width, width - 2, width - 1)).apply();

        double diff = TestNets.output(net, x).sub(before).amaxNumber().doubleValue();
        assertTrue(diff < 1e-6, "max |output change| = " + diff);
        assertEquals(width - 2, TestNets.layer(net, site).getParam("W").size(site.startsWith("c") ? 0 : 1));
    }
}
