package org.dl4jgrowth.rewrite;

import org.deeplearning4j.nn.api.Model;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.testing.NetState;
import org.dl4jgrowth.testing.TestNets;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** A seeded growth is reproducible and leaves the training thread's random stream untouched. */
class GrowthRandomTest {

    private static Model net() {
        Model net = TestNets.build(TestNets.DENSE_DENSE, TestNets.base(3, new Adam(0.01), DataType.DOUBLE), false);
        TestNets.fit(net, TestNets.DENSE_DENSE.data(8, 1, DataType.DOUBLE));
        return net;
    }

    @Test
    void sameSeedGivesIdenticalGrowth() {
        Model a = net();
        Model b = TestNets.copy(a);
        Nd4j.getRandom().setSeed(1);
        NetworkRewrite.of(a).grow("d1", 5).initializer(UnitInitializer.random()).seed(99).apply();
        Nd4j.getRandom().setSeed(2);   // a different global stream must not matter
        NetworkRewrite.of(b).grow("d1", 5).initializer(UnitInitializer.random()).seed(99).apply();
        assertArrayEquals(NetState.of(a).params, NetState.of(b).params);

        Model c = TestNets.copy(a);
        NetworkRewrite.of(a).grow("d1", 5).initializer(UnitInitializer.random()).seed(1).apply();
        NetworkRewrite.of(c).grow("d1", 5).initializer(UnitInitializer.random()).seed(2).apply();
        assertFalse(java.util.Arrays.equals(NetState.of(a).params, NetState.of(c).params), "seed matters");
    }

    @Test
    void seededGrowthDoesNotAdvanceTheGlobalGenerator() {
        Model net = net();
        Nd4j.getRandom().setSeed(2024);
        double expected = Nd4j.getRandom().nextDouble();
        Nd4j.getRandom().setSeed(2024);
        NetworkRewrite.of(net).grow("d1", 5).initializer(UnitInitializer.random()).seed(7).apply();
        assertEquals(expected, Nd4j.getRandom().nextDouble(), 0.0);
    }

    @Test
    void unseededGrowthDrawsFromTheGlobalGenerator() {
        Model net = net();
        Nd4j.getRandom().setSeed(2024);
        double expected = Nd4j.getRandom().nextDouble();
        Nd4j.getRandom().setSeed(2024);
        NetworkRewrite.of(net).grow("d1", 5).initializer(UnitInitializer.random()).apply();
        assertFalse(expected == Nd4j.getRandom().nextDouble(), "documented behaviour without a seed");
    }
}
