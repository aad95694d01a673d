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

import java.util.Arrays;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A failure at any step of a rewrite leaves configuration, parameters, optimizer state and counts
 * bit-identical, names the step, and the network trains on as if nothing had happened.
 */
class AtomicityTest {

    static Stream<Arguments> steps() {
        // SIGNALS is the controller's step before a rewrite (see GrowthPipelineTest), not the rewrite's own.
        return Arrays.stream(RewriteStep.values()).filter(s -> s != RewriteStep.SIGNALS).flatMap(s -> Stream.of(Arguments.of(s, false), Arguments.of(s, true)));
    }

    /** The rewrite neither reseeds nor draws from the global generator unless an initialiser asks it to. */
    @org.junit.jupiter.api.Test
    void globalRandomGeneratorIsNotReseeded() {
        Model net = TestNets.build(TestNets.CONV_BN_CONV, TestNets.base(3, new Adam(0.01), DataType.DOUBLE), false);
        org.nd4j.linalg.factory.Nd4j.getRandom().setSeed(2024);
        double expected = org.nd4j.linalg.factory.Nd4j.getRandom().nextDouble();
        org.nd4j.linalg.factory.Nd4j.getRandom().setSeed(2024);
        NetworkRewrite.of(net).grow("c1", 2).initializer(org.dl4jgrowth.how.UnitInitializer.zeros()).apply();
        assertEquals(expected, org.nd4j.linalg.factory.Nd4j.getRandom().nextDouble(), 0.0);
    }

    @ParameterizedTest(name = "failure at {0}, graph={1}")
    @MethodSource("steps")
    void failureAtAnyStepLeavesNetworkUntouched(RewriteStep failAt, boolean graph) {
        Model net = TestNets.build(TestNets.CONV_BN_CONV, TestNets.base(3, new Adam(0.01), DataType.DOUBLE), graph);
        for (int i = 0; i < 2; i++) {
            TestNets.fit(net, TestNets.CONV_BN_CONV.data(8, i, DataType.DOUBLE));
        }
        NetState before = NetState.of(net);
        Model reference = TestNets.copy(net);
        INDArray x = TestNets.CONV_BN_CONV.input(4, 1, DataType.DOUBLE);
        INDArray outBefore = TestNets.output(net, x).dup();

        RewriteException e = assertThrows(RewriteException.class, () -> NetworkRewrite.of(net)
                .grow("c1", 2)
                .observer(step -> {
                    if (step == failAt) {
                        throw new IllegalStateException("injected at " + step);
                    }
                })
                .apply());

        assertEquals(failAt, e.step());
        assertTrue(e.getMessage().contains(failAt.name()), e.getMessage());
        assertTrue(e.getCause().getMessage().contains("injected"), "cause kept");
        NetState after = NetState.of(net);
        assertEquals(before.json, after.json, "configuration");
        assertArrayEquals(before.params, after.params, "parameters");
        assertArrayEquals(before.updaterState, after.updaterState, "updater state");
        assertEquals(before.iterations, after.iterations);
        assertEquals(before.epochs, after.epochs);
        assertEquals(outBefore, TestNets.output(net, x));

        // Training goes on exactly as on an identical network that never saw the failed rewrite.
        TestNets.fit(net, TestNets.CONV_BN_CONV.data(8, 50, DataType.DOUBLE));
        TestNets.fit(reference, TestNets.CONV_BN_CONV.data(8, 50, DataType.DOUBLE));
        // (to 1e-9, not bitwise: multithreaded CPU reductions round differently between two networks)
        assertArrayEquals(NetState.of(reference).params, NetState.of(net).params, 1e-9, "next step as the reference");

        // And a rewrite that does not fail still works afterwards.
        Model same = net;
        NetworkRewrite.of(net).grow("c1", 2).apply();
        assertSame(same, net);
        assertEquals(6, TestNets.layer(net, "c1").getParam("W").size(0));
    }
}
