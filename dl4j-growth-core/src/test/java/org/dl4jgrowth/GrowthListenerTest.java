package org.dl4jgrowth;

import org.deeplearning4j.datasets.iterator.AsyncDataSetIterator;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.dl4jgrowth.data.Digits;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.testing.NetState;
import org.dl4jgrowth.testing.TestNets;
import org.dl4jgrowth.when.GrowthTrigger;
import org.dl4jgrowth.where.GrowthAmount;
import org.dl4jgrowth.where.SiteSelector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.learning.config.Adam;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The listener grows real networks inside one fit() call, and keeps each network to itself. */
class GrowthListenerTest {
    @TempDir
    Path tmp;

    /** Per-epoch mean of the minibatch losses, and the network objects seen. */
    static final class LossRecorder extends BaseTrainingListener {
        final List<double[]> sums = new ArrayList<>();
        final List<Model> seen = new ArrayList<>();

        @Override
        public void iterationDone(Model model, int iteration, int epoch) {
            while (sums.size() <= epoch) {
                sums.add(new double[2]);
            }
            sums.get(epoch)[0] += model.score();
            sums.get(epoch)[1]++;
            seen.add(model);
        }

        double[] epochMeans() {
            return sums.stream().mapToDouble(s -> s[0] / s[1]).toArray();
        }
    }

    static Stream<Arguments> runs() {
        List<Arguments> a = new ArrayList<>();
        for (boolean graph : new boolean[]{false, true}) {
            for (boolean async : new boolean[]{false, true}) {
                for (boolean atEpochEnd : new boolean[]{false, true}) {
                    a.add(Arguments.of(graph, async, atEpochEnd));
                }
            }
        }
        return a.stream();
    }

    private static Model mlp(boolean graph) {
        return TestNets.build(TestNets.DIGITS_MLP, TestNets.base(42, new Adam(0.01), DataType.FLOAT), graph);
    }

    private static void fit(Model net, DataSetIterator it, int epochs) {
        if (net instanceof MultiLayerNetwork) {
            ((MultiLayerNetwork) net).fit(it, epochs);
        } else {
            ((ComputationGraph) net).fit(it, epochs);
        }
    }

    @ParameterizedTest(name = "graph={0} async={1} atEpochEnd={2}")
    @MethodSource("runs")
    void growsInsideOneFitAndTrainingGoesOn(boolean graph, boolean async, boolean atEpochEnd) throws Exception {
        Digits.Split split = Digits.split(DataType.FLOAT, 0.8, 42);
        Model net = mlp(graph);
        GrowthTrigger when = atEpochEnd ? GrowthTrigger.everyEpochs(1) : GrowthTrigger.everyIterations(30);
        Path historyFile = tmp.resolve("history.json");
        GrowthListener growth = GrowthListener.builder().policy(GrowthPolicy.builder()
                .when(when.and(GrowthTrigger.maxGrowths(3)))
                .where(SiteSelector.layers("h1"))
                .howMuch(GrowthAmount.add(6))
                .maxWidth(16)
                .seed(7)
                .build()).historyFile(historyFile).build();
        LossRecorder losses = new LossRecorder();
        net.setListeners(growth, losses);
        DataSetIterator it = Digits.iterator(split.train(), 64);
        fit(net, async ? new AsyncDataSetIterator(it, 3) : it, 7);

        for (Model m : losses.seen) {
            assertSame(net, m);
        }
        // 4 -> 10 -> 16, then capped at maxWidth 16: two events although maxGrowths allows three.
        List<GrowthEvent> events = growth.history().events();
        assertEquals(2, events.size(), events.toString());
        assertEquals(List.of(new GrowthEvent.LayerGrowth("h1", 4, 10)), events.get(0).layers());
        assertEquals(List.of(new GrowthEvent.LayerGrowth("h1", 10, 16)), events.get(1).layers());
        assertEquals(16, TestNets.layer(net, "h1").getParam("W").size(1));
        for (GrowthEvent e : events) {
            assertEquals(atEpochEnd, e.atEpochEnd());
            assertTrue(e.paramsAfter() > e.paramsBefore());
            assertTrue(Double.isFinite(e.scoreBefore()) && e.scoreBefore() > 0);
            assertEquals(UnitInitializer.functionPreserving(), e.initializer());
        }
        if (atEpochEnd) {
            assertEquals(0, events.get(0).epoch());
            assertEquals(1, events.get(1).epoch());
        } else {
            assertEquals(30, events.get(0).iteration());
            assertEquals(60, events.get(1).iteration());
        }
        assertEquals(events.get(1).paramsAfter(), net.numParams());
        double[] mean = losses.epochMeans();
        for (int e = 1; e < mean.length; e++) {
            assertTrue(mean[e] < mean[e - 1], "epoch-mean loss rose at epoch " + e + ": " + Arrays.toString(mean));
        }
        assertEquals(growth.history(), GrowthHistory.fromJson(Files.readString(historyFile)));
    }

    @Test
    void oneListenerRefusesASecondNetwork() {
        Model a = mlp(false);
        Model b = mlp(false);
        GrowthListener growth = new GrowthListener(GrowthPolicy.builder().when(GrowthTrigger.everyIterations(2))
                .where(SiteSelector.layers("h1")).howMuch(GrowthAmount.add(2)).build());
        a.setListeners(growth);
        b.setListeners(growth);
        Digits.Split split = Digits.split(DataType.FLOAT, 0.8, 1);
        fit(a, Digits.iterator(split.test(), 64), 1);
        NetState bBefore = NetState.of(b);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> fit(b, Digits.iterator(split.test(), 64), 1));
        assertTrue(e.getMessage().contains("another network"), e.getMessage());
        assertEquals(bBefore.json, NetState.of(b).json, "b was not grown");
    }

    @Test
    void aConfigurationSharedByTwoNetworksIsNotChangedForTheOther() {
        MultiLayerNetwork a = (MultiLayerNetwork) mlp(false);
        MultiLayerConfiguration shared = a.getLayerWiseConfigurations();
        MultiLayerNetwork b = new MultiLayerNetwork(shared);
        b.init();
        INDArray x = Digits.load(DataType.FLOAT).getFeatures().get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 5),
                org.nd4j.linalg.indexing.NDArrayIndex.all());
        INDArray bOut = b.output(x);
        a.setListeners(new GrowthListener(GrowthPolicy.builder().when(GrowthTrigger.everyIterations(3))
                .where(SiteSelector.layers("h1")).howMuch(GrowthAmount.add(5)).build()));
        a.fit(Digits.iterator(Digits.split(DataType.FLOAT, 0.8, 1).test(), 32), 1);

        assertEquals(4 + 5 * 3, a.getLayer("h1").getParam("W").size(1), "a grew at iterations 3, 6, 9");
        assertEquals(4, ((org.deeplearning4j.nn.conf.layers.DenseLayer) shared.getConf(0).getLayer()).getNOut());
        assertSame(shared, b.getLayerWiseConfigurations());
        assertEquals(bOut, b.output(x));
        b.fit(Digits.iterator(Digits.split(DataType.FLOAT, 0.8, 1).test(), 32));   // b still trains at its width
        assertEquals(4, b.getLayer("h1").getParam("W").size(1));
    }

    @Test
    void sameSeedAndDataGiveIdenticalGrowthAndTraining() {
        Model a = mlp(false);
        Model b = TestNets.copy(a);
        Model c = TestNets.copy(a);
        Digits.Split split = Digits.split(DataType.FLOAT, 0.8, 3);
        List<GrowthListener> listeners = new ArrayList<>();
        for (Object[] run : new Object[][]{{a, 5L}, {b, 5L}, {c, 6L}}) {
            Model net = (Model) run[0];
            GrowthListener growth = new GrowthListener(GrowthPolicy.builder()
                    .when(GrowthTrigger.everyIterations(10).and(GrowthTrigger.maxGrowths(3)))
                    .where(SiteSelector.roundRobin("h1", "h2")).howMuch(GrowthAmount.factor(1.5))
                    .initializer(UnitInitializer.random()).seed((Long) run[1]).build());
            listeners.add(growth);
            net.setListeners(growth);
            fit(net, Digits.iterator(split.train(), 64), 2);
        }
        for (GrowthEvent e : listeners.get(0).history().events()) {
            assertEquals("CPU", e.backend(), e.toString());
            assertNull(e.svdEngine(), "random init computes no SVD: " + e);
        }
        // round robin with factor 1.5: h1 4 -> 6, h2 4 -> 6, h1 6 -> 9
        assertEquals(9, TestNets.layer(a, "h1").getParam("W").size(1));
        assertEquals(6, TestNets.layer(a, "h2").getParam("W").size(1));
        assertArrayEquals(NetState.of(a).params, NetState.of(b).params, "same seed, same data: identical");
        assertFalse(Arrays.equals(NetState.of(a).params, NetState.of(c).params), "another seed differs");
    }

    @Test
    void controllerCanBeDrivenWithoutAListener() {
        MultiLayerNetwork net = (MultiLayerNetwork) mlp(false);
        GrowthController c = GrowthPolicy.builder().when(GrowthTrigger.atEpochs(0))
                .where(SiteSelector.allGrowable()).howMuch(GrowthAmount.add(2)).maxWidth("h2", 5).build()
                .newController();
        assertTrue(c.onIteration(net, 0, 0).isEmpty(), "atEpochs fires only at an epoch end");
        GrowthEvent e = c.onEpochEnd(net).orElseThrow();
        assertEquals(List.of(new GrowthEvent.LayerGrowth("h1", 4, 6), new GrowthEvent.LayerGrowth("h2", 4, 5)),
                e.layers());
        GrowthEvent again = c.growNow(net).orElseThrow();
        assertEquals(List.of(new GrowthEvent.LayerGrowth("h1", 6, 8)), again.layers(), "h2 is at its cap");
        assertEquals(2, c.history().size());
    }

    @Test
    void maxParamsSkipsGrowthThatWouldExceedIt() {
        MultiLayerNetwork net = (MultiLayerNetwork) mlp(false);
        long params = net.numParams();
        GrowthController c = GrowthPolicy.builder().when(GrowthTrigger.everyIterations(1))
                .where(SiteSelector.layers("h1")).howMuch(GrowthAmount.add(1)).maxParams(params + 70).build()
                .newController();
        assertTrue(c.growNow(net).isPresent(), "one unit of h1 costs 64 + 1 + 4 = 69 parameters");
        assertTrue(c.growNow(net).isEmpty(), "a second would exceed the cap");
        assertEquals(params + 69, net.numParams());
    }

    @Test
    void unknownOrUngrowableLayersInThePolicyAreReportedAtTheFirstCallback() {
        MultiLayerNetwork net = (MultiLayerNetwork) mlp(false);
        GrowthController unknown = GrowthPolicy.builder().when(GrowthTrigger.everyIterations(1))
                .where(SiteSelector.layers("h9")).howMuch(GrowthAmount.add(1)).build().newController();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> unknown.onIteration(net, 0, 0));
        assertTrue(e.getMessage().contains("'h9'") && e.getMessage().contains("h1"), e.getMessage());
        GrowthController output = GrowthPolicy.builder().when(GrowthTrigger.everyIterations(1))
                .where(SiteSelector.layers("out")).howMuch(GrowthAmount.add(1)).build().newController();
        e = assertThrows(IllegalArgumentException.class, () -> output.onIteration(net, 0, 0));
        assertTrue(e.getMessage().contains("'out'"), e.getMessage());
    }
}
