package org.dl4jgrowth;

import org.deeplearning4j.datasets.iterator.ExistingDataSetIterator;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.dl4jgrowth.data.Digits;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.linalg.SvdEngines;
import org.dl4jgrowth.network.NetworkAdapter;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.signal.GradientStatistic;
import org.dl4jgrowth.testing.NetState;
import org.dl4jgrowth.testing.TestNets;
import org.dl4jgrowth.when.GrowthTrigger;
import org.dl4jgrowth.where.GrowthAmount;
import org.dl4jgrowth.where.SiteSelector;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Which data a growth is decided and initialised on, on both network types: the statistic's
 * private copy leaves the user's network and its listeners alone; the default growth data is the
 * minibatch trained on (with its masks), whatever a listener before the GrowthListener does with
 * the network; at an epoch end it is the epoch's last minibatch; round robin passes over capped
 * layers; and a controller driven without a listener writes the history, calls back and numbers
 * epochs like the listener.
 */
class GrowthDataTest {
    private static final int CLASSES = 10;

    @TempDir
    Path tmp;

    private static Model digitsMlp(boolean graph) {
        return TestNets.build(TestNets.DIGITS_MLP, TestNets.base(42, new Adam(0.01), DataType.FLOAT), graph);
    }

    /** {@code count} digits minibatches of {@code size} examples each (the last may be smaller). */
    private static List<DataSet> batches(int size, int examples) {
        DataSet all = Digits.split(DataType.FLOAT, 0.8, 4).train();
        List<DataSet> out = new ArrayList<>();
        for (int from = 0; from < examples; from += size) {
            int to = Math.min(examples, from + size);
            out.add(new DataSet(all.getFeatures().get(NDArrayIndex.interval(from, to), NDArrayIndex.all()).dup(),
                    all.getLabels().get(NDArrayIndex.interval(from, to), NDArrayIndex.all()).dup()));
        }
        return out;
    }

    /** The same minibatch with a per-example label mask that drops every third example. */
    private static DataSet masked(DataSet ds) {
        long n = ds.numExamples();
        INDArray mask = Nd4j.ones(DataType.FLOAT, n, 1);
        for (int i = 0; i < n; i += 3) {
            mask.putScalar(i, 0, 0.0);
        }
        DataSet m = new DataSet(ds.getFeatures(), ds.getLabels());
        m.setLabelsMaskArray(mask);
        return m;
    }

    /** The examples the mask keeps, without a mask. */
    private static DataSet unmaskedRows(DataSet ds) {
        List<Integer> keep = new ArrayList<>();
        for (int i = 0; i < ds.numExamples(); i++) {
            if (ds.getLabelsMaskArray() == null || ds.getLabelsMaskArray().getDouble(i, 0) != 0) {
                keep.add(i);
            }
        }
        long[] rows = keep.stream().mapToLong(Integer::longValue).toArray();
        return new DataSet(ds.getFeatures().get(NDArrayIndex.indices(rows), NDArrayIndex.all()).dup(),
                ds.getLabels().get(NDArrayIndex.indices(rows), NDArrayIndex.all()).dup());
    }

    private static void fit(Model net, List<DataSet> data, int epochs) {
        if (net instanceof MultiLayerNetwork) {
            ((MultiLayerNetwork) net).fit(new ExistingDataSetIterator(data), epochs);
        } else {
            ((ComputationGraph) net).fit(new ExistingDataSetIterator(data), epochs);
        }
    }

    private static double[] topSingularValues(Model net, String layer, DataSet data, int k) {
        INDArray g = GradientStatistic.compute(net, layer, List.of(data));
        return SvdEngines.best().top(g, k).singularValues().castTo(DataType.DOUBLE).toDoubleVector();
    }

    @SuppressWarnings("unchecked")
    private static double[] eventSingularValues(GrowthEvent e, String layer) {
        return ((List<Number>) e.notes().get(layer).get("singularValues")).stream()
                .mapToDouble(Number::doubleValue).toArray();
    }

    private static void assertClose(double[] expected, double[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-4 * Math.abs(expected[i]) + 1e-6, what + " [" + i + "]");
        }
    }

    /** Counts the callbacks it gets and the networks they were about. */
    static final class Counter extends BaseTrainingListener {
        int iterations;
        int forwardPasses;
        final List<Model> models = new ArrayList<>();

        @Override
        public void iterationDone(Model model, int iteration, int epoch) {
            iterations++;
            models.add(model);
        }

        @Override
        public void onForwardPass(Model model, List<INDArray> activations) {
            forwardPasses++;
        }

        @Override
        public void onForwardPass(Model model, java.util.Map<String, INDArray> activations) {
            forwardPasses++;
        }
    }

    /** At one iteration (or the epoch's end), the top singular values of G on a known minibatch. */
    static final class Witness extends BaseTrainingListener {
        final String layer;
        final int at;
        final DataSet data;
        final int k;
        double[] values;

        Witness(String layer, int at, DataSet data, int k) {
            this.layer = layer;
            this.at = at;
            this.data = data;
            this.k = k;
        }

        @Override
        public void iterationDone(Model model, int iteration, int epoch) {
            if (iteration == at) {
                values = topSingularValues(model, layer, data, k);
            }
        }

        @Override
        public void onEpochEnd(Model model) {
            if (at < 0 && values == null) {   // the first epoch's end only
                values = topSingularValues(model, layer, data, k);
            }
        }
    }

    /** Calls output() on a batch of another size in every iterationDone, as EvaluativeListener does. */
    static final class OutputCaller extends BaseTrainingListener {
        final INDArray x = Digits.split(DataType.FLOAT, 0.8, 4).test().getFeatures()
                .get(NDArrayIndex.interval(0, 50), NDArrayIndex.all()).dup();

        @Override
        public void iterationDone(Model model, int iteration, int epoch) {
            TestNets.output(model, x);
        }

        @Override
        public void onEpochEnd(Model model) {
            TestNets.output(model, x);
        }
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void everyKindOfStatisticLeavesTheNetworkAndItsListenersAlone(boolean graph) {
        Model net = digitsMlp(graph);
        fit(net, batches(32, 96), 1);
        Counter a = new Counter();
        Counter b = new Counter();
        net.setListeners(a, b);
        Collection<TrainingListener> listeners = graph ? ((ComputationGraph) net).getListeners()
                : ((MultiLayerNetwork) net).getListeners();
        List<TrainingListener> elements = new ArrayList<>(listeners);
        DataSet data = batches(32, 32).get(0);
        NetState before = NetState.of(net);

        Runnable check = () -> {
            Collection<TrainingListener> now = graph ? ((ComputationGraph) net).getListeners()
                    : ((MultiLayerNetwork) net).getListeners();
            assertSame(listeners, now, "the network's own listener collection");
            assertEquals(elements, new ArrayList<>(now), "the same listeners, in order");
            assertEquals(0, a.iterations + b.iterations + a.forwardPasses + b.forwardPasses,
                    "the private copy called none of the user's listeners");
        };
        GradientStatistic.compute(net, "h1", List.of(data));
        check.run();
        assertArrayEquals(before.params, NetState.of(net).params, "a statistic changes no parameter");
        assertArrayEquals(before.updaterState, NetState.of(net).updaterState, "nor the optimizer state");

        GrowthPolicy.Builder p = GrowthPolicy.builder().howMuch(GrowthAmount.add(1)).seed(1);
        GrowthController never = p.when(GrowthTrigger.everyIterations(1000)
                        .or(GrowthTrigger.singularValueAbove(1e30, "h1", "h2")))
                .where(SiteSelector.layers("h1")).build().newController()
                .growthData(new ExistingDataSetIterator(List.of(data)), 1);
        assertTrue(never.onIteration(net, 1, 0).isEmpty(), "a threshold no statistic reaches");
        check.run();
        assertArrayEquals(before.params, NetState.of(net).params, "a trigger that did not fire changes nothing");

        for (UnitInitializer init : List.of(UnitInitializer.gradMax(), UnitInitializer.gradMaxOptimized())) {
            NetworkRewrite.of(net).grow("h1", 1).initializer(init).seed(2)
                    .statistics(layer -> GradientStatistic.compute(net, layer, List.of(data))).apply();
            check.run();
        }
        GrowthController bySignal = GrowthPolicy.builder().when(GrowthTrigger.everyIterations(1))
                .where(SiteSelector.bySingularValue(1)).howMuch(GrowthAmount.add(1))
                .initializer(UnitInitializer.gradMax()).seed(3).build().newController()
                .growthData(new ExistingDataSetIterator(List.of(data)), 1);
        assertTrue(bySignal.growNow(net).isPresent());
        check.run();
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void defaultGrowthDataIsTheTrainedMinibatchWhateverAnEarlierListenerDoes(boolean graph) {
        List<DataSet> data = batches(32, 192);
        List<double[]> seen = new ArrayList<>();
        for (boolean interfere : new boolean[]{false, true}) {
            Model net = digitsMlp(graph);
            Witness witness = new Witness("h1", 3, data.get(3), 2);
            GrowthListener growth = new GrowthListener(GrowthPolicy.builder().when(GrowthTrigger.atIterations(3))
                    .where(SiteSelector.layers("h1")).howMuch(GrowthAmount.add(2))
                    .initializer(UnitInitializer.gradMax()).seed(5).build());
            if (interfere) {
                net.setListeners(witness, new OutputCaller(), growth);
            } else {
                net.setListeners(witness, growth);
            }
            fit(net, data, 1);
            assertEquals(1, growth.history().size(), growth.history().toString());
            double[] values = eventSingularValues(growth.history().events().get(0), "h1");
            assertClose(witness.values, values, "the statistic of the minibatch trained at iteration 3");
            seen.add(values);
        }
        assertArrayEquals(seen.get(0), seen.get(1), 1e-6, "an output() call before the GrowthListener changes nothing");
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void labelMasksAreHonoured(boolean graph) {
        DataSet plain = batches(30, 30).get(0);
        DataSet masked = masked(plain);
        DataSet kept = unmaskedRows(masked);
        assertEquals(20, kept.numExamples());

        Model net = digitsMlp(graph);
        fit(net, batches(32, 96), 1);
        INDArray withMask = GradientStatistic.compute(net, "h2", List.of(masked));
        INDArray rows = GradientStatistic.compute(net, "h2", List.of(kept));
        INDArray all = GradientStatistic.compute(net, "h2", List.of(plain));
        double scale = rows.norm2Number().doubleValue();
        assertTrue(withMask.sub(rows).norm2Number().doubleValue() < 1e-5 * scale,
                "masked batch = its unmasked rows: " + withMask.sub(rows).norm2Number() + " of " + scale);
        assertTrue(all.sub(rows).norm2Number().doubleValue() > 1e-2 * scale, "the mask matters here");
        // The signal is a mean over the examples that count: the masked batch's equals its rows'.
        double topMasked = new org.dl4jgrowth.signal.StatisticSignals(net,
                () -> List.of(NetworkAdapter.toMulti(masked)), List::of).topSingularValue("h2");
        double topRows = new org.dl4jgrowth.signal.StatisticSignals(net,
                () -> List.of(NetworkAdapter.toMulti(kept)), List::of).topSingularValue("h2");
        assertEquals(topRows, topMasked, 1e-5 * topRows, "mean over the 20 unmasked examples, not all 30");

        // Inside fit(): the captured training minibatch carries its mask to the statistic.
        Model trained = digitsMlp(graph);
        Witness witness = new Witness("h2", 2, kept, 1);
        GrowthListener growth = new GrowthListener(GrowthPolicy.builder().when(GrowthTrigger.atIterations(2))
                .where(SiteSelector.layers("h2")).howMuch(GrowthAmount.add(1))
                .initializer(UnitInitializer.gradMax()).seed(5).build());
        // No output() call here: DL4J's own MultiLayerNetwork.output() fails while fit() has a label
        // mask set on the output layer (the mask of another batch size is applied to its output).
        trained.setListeners(witness, growth);
        fit(trained, List.of(masked), 4);
        assertClose(witness.values, eventSingularValues(growth.history().events().get(0), "h2"),
                "the growth's statistic is that of the unmasked rows");
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void atAnEpochEndTheDefaultIsTheEpochsLastMinibatch(boolean graph) {
        List<DataSet> data = batches(32, 100);   // 32, 32, 32 and a partial 4
        assertEquals(4, data.get(3).numExamples());
        Model net = digitsMlp(graph);
        Witness witness = new Witness("h1", -1, data.get(3), 1);
        GrowthListener growth = new GrowthListener(GrowthPolicy.builder().when(GrowthTrigger.atEpochs(0))
                .where(SiteSelector.layers("h1")).howMuch(GrowthAmount.add(1))
                .initializer(UnitInitializer.gradMax()).seed(5).build());
        net.setListeners(witness, new OutputCaller(), growth);
        fit(net, data, 2);
        GrowthEvent e = growth.history().events().get(0);
        assertTrue(e.atEpochEnd() && e.epoch() == 0, e.toString());
        assertClose(witness.values, eventSingularValues(e, "h1"), "the statistic of the partial last minibatch");
    }

    /**
     * The same through DL4J's asynchronous prefetch (AsyncDataSetIterator, which fit() shuts down,
     * destroying its workspace, before a ComputationGraph's onEpochEnd): the kept minibatch is outside
     * any workspace. (With this iterator DL4J's held arrays were not in a workspace here, so this does
     * not prove the copy necessary; it guards the path.)
     */
    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void theEpochsLastMinibatchSurvivesAnAsynchronousIterator(boolean graph) {
        List<DataSet> data = batches(32, 100);
        Model net = digitsMlp(graph);
        Witness witness = new Witness("h1", -1, data.get(3), 1);
        GrowthListener growth = new GrowthListener(GrowthPolicy.builder().when(GrowthTrigger.atEpochs(0))
                .where(SiteSelector.layers("h1")).howMuch(GrowthAmount.add(1))
                .initializer(UnitInitializer.gradMax()).seed(5).build());
        boolean[] kept = {false};
        BaseTrainingListener probe = new BaseTrainingListener() {
            @Override
            public void onEpochEnd(Model model) {
                kept[0] = growth.controller().keptTrainingBatch() != null
                        && NetworkAdapter.outsideWorkspaces(growth.controller().keptTrainingBatch());
            }
        };
        net.setListeners(witness, growth, probe);
        ExistingDataSetIterator async = new ExistingDataSetIterator(data) {
            @Override
            public boolean asyncSupported() {
                return true;
            }
        };
        if (net instanceof MultiLayerNetwork) {
            ((MultiLayerNetwork) net).fit(async, 2);
        } else {
            ((ComputationGraph) net).fit(async, 2);
        }
        assertTrue(kept[0], "the minibatch kept for the epoch's end was copied out of it");
        assertClose(witness.values, eventSingularValues(growth.history().events().get(0), "h1"),
                "the statistic of the last minibatch, copied out of the prefetch workspace");
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void roundRobinPassesOverACappedLayer(boolean graph) {
        Model net = digitsMlp(graph);
        GrowthListener growth = new GrowthListener(GrowthPolicy.builder()
                .when(GrowthTrigger.everyIterations(1).and(GrowthTrigger.maxGrowths(4)))
                .where(SiteSelector.roundRobin("h1", "h2")).howMuch(GrowthAmount.add(2)).maxWidth("h1", 6)
                .seed(1).build());
        net.setListeners(growth);
        fit(net, batches(32, 192), 1);
        List<GrowthEvent.LayerGrowth> grown = new ArrayList<>();
        growth.history().events().forEach(e -> grown.addAll(e.layers()));
        assertEquals(List.of(new GrowthEvent.LayerGrowth("h1", 4, 6), new GrowthEvent.LayerGrowth("h2", 4, 6),
                new GrowthEvent.LayerGrowth("h2", 6, 8), new GrowthEvent.LayerGrowth("h2", 8, 10)), grown);
        assertEquals(6, NetworkRewrite.width(net, "h1"));
        assertEquals(10, NetworkRewrite.width(net, "h2"));
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void aControllerDrivenDirectlyWritesTheHistoryCallsBackAndNumbersEpochsFromZero(boolean graph)
            throws Exception {
        Model net = digitsMlp(graph);
        Path file = tmp.resolve("history-" + graph + ".json");
        List<GrowthEvent> called = new ArrayList<>();
        GrowthController c = GrowthPolicy.builder().when(GrowthTrigger.atEpochs(0, 1))
                .where(SiteSelector.layers("h1")).howMuch(GrowthAmount.add(1)).seed(1).build().newController()
                .historyFile(file).onGrowth(called::add);
        List<DataSet> data = batches(32, 64);
        for (int epoch = 0; epoch < 3; epoch++) {
            fit(net, data, 1);   // DL4J advances the epoch count when fit(iterator) returns
            c.onEpochEnd(net);
        }
        assertEquals(2, c.history().size(), c.history().toString());
        assertEquals(0, c.history().events().get(0).epoch(), "the first epoch is epoch 0");
        assertEquals(1, c.history().events().get(1).epoch());
        assertTrue(c.history().events().get(0).atEpochEnd());
        assertEquals(c.history().events(), called, "onGrowth called with each event");
        assertTrue(Files.exists(file));
        assertEquals(c.history(), GrowthHistory.fromJson(Files.readString(file)), "the file holds the history");
        assertEquals(6, NetworkRewrite.width(net, "h1"));

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> c.onEpochEnd(net, -1));
        assertTrue(e.getMessage().contains("-1"), e.getMessage());
        assertFalse(c.onEpochEnd(net, 2).isPresent(), "an explicit epoch index: atEpochs(0, 1) does not fire at 2");
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void theListenerAndTheControllerShareOneHistoryFileAndCallback(boolean graph) throws Exception {
        Model net = digitsMlp(graph);
        Path file = tmp.resolve("listener-" + graph + ".json");
        List<GrowthEvent> called = new ArrayList<>();
        GrowthListener growth = GrowthListener.builder().policy(GrowthPolicy.builder()
                        .when(GrowthTrigger.atIterations(1)).where(SiteSelector.layers("h1"))
                        .howMuch(GrowthAmount.add(1)).seed(1).build())
                .historyFile(file).onGrowth(called::add).build();
        net.setListeners(growth);
        fit(net, batches(32, 64), 1);
        growth.controller().growNow(net);   // a driver between rounds: same file, same callback
        assertEquals(2, called.size());
        assertEquals(growth.history(), GrowthHistory.fromJson(Files.readString(file)));
        assertEquals(NetworkAdapter.of(net).epochCount(), growth.history().events().get(1).epoch());
    }
}
