package org.dl4jgrowth.bench;

import org.dl4jgrowth.data.FashionMnist;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Fashion-MNIST growth runner on a few examples, as it runs at full size: both network types
 * grow c1 and d inside fit() at the end of epochs 0 and 1, every statistic by the direct route, and
 * every event and epoch is recorded with its times.
 */
class FashionCnnGrowthTest {

    @Test
    void bothNetworkTypesGrowC1AndDInsideFitByTheDirectRouteAndRecordTheirTimes() {
        Assumptions.assumeTrue(FashionMnist.available(), "Fashion-MNIST is not installed: " + FashionMnist.INSTALL_HINT);
        DataSet train = FashionMnist.subset(FashionMnist.loadImages(true, DataType.FLOAT, 0), 13, 42);
        DataSet test = FashionMnist.subset(FashionMnist.loadImages(false, DataType.FLOAT, 0), 5, 43);
        for (boolean graph : new boolean[]{true, false}) {
            FashionCnnGrowth.Run run = FashionCnnGrowth.run(graph, train, test, 3);
            assertEquals(3, run.iterationsPerEpoch, "130 examples in minibatches of 64");
            assertEquals(2, run.events.size(), run.network + ": growth at the end of epochs 0 and 1");
            for (int i = 0; i < 2; i++) {
                FashionCnnGrowth.Event e = run.events.get(i);
                assertEquals(i, e.epoch);
                int c1 = 8 + 4 * i;
                int d = 32 + 4 * i;
                assertEquals("c1 " + c1 + "->" + (c1 + 4) + ", d " + d + "->" + (d + 4), e.grown, run.network);
                assertEquals("c1 direct, d direct", e.routes, run.network);
                assertTrue(e.signalMillis > 0 && e.rewriteMillis > 0, run.network + " event " + i + " times");
            }
            assertEquals(List.of(12, 16, 16), run.epochs.stream().map(x -> x.c1).toList(), run.network);
            assertEquals(List.of(36, 40, 40), run.epochs.stream().map(x -> x.d).toList(), run.network);
            for (FashionCnnGrowth.Epoch e : run.epochs) {
                assertTrue(e.seconds > 0 && e.accuracy >= 0 && e.accuracy <= 1, run.network + " epoch " + e.epoch);
            }
        }
    }

    @Test
    void badOptionsAreRefusedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FashionCnnGrowth.main(new String[]{"--epochs", "0"}));
        assertTrue(e.getMessage().contains("--epochs 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> FashionCnnGrowth.main(new String[]{"--networks", "cg"}));
        assertTrue(e.getMessage().contains("graph and mln"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> FashionCnnGrowth.main(new String[]{"--fast"}));
        assertTrue(e.getMessage().contains("--fast"), e.getMessage());
    }
}
