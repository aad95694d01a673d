package org.dl4jgrowth.nest;

import org.deeplearning4j.datasets.iterator.ExistingDataSetIterator;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.deeplearning4j.optimize.listeners.CollectScoresListener;
import org.deeplearning4j.optimize.listeners.ScoreIterationListener;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.GrowthHistory;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.testing.NetState;
import org.dl4jgrowth.testing.TestNets;
import org.dl4jgrowth.when.GrowthTrigger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.nd4j.linalg.learning.config.Adam;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * NeST's connection growth: exactly the top-percentile dormant connections by |Σ ∂L/∂w| wake, on a
 * constructed case and inside {@code fit()} on both network types (checked against the gradient of
 * a plain DL4J copy taken at the growth iteration), start at weight 0 with zero Adam state, then
 * train; the event's record survives JSON.
 */
class NestConnectionGrowthTest {
    private static final int GROW_AT = 7;
    private static final double PERCENTILE = 80;

    @Test
    void theTopPercentileOfTheDormantConnectionsWakesTiesIncludedZerosExcluded() {
        // 12 connections, 10 dormant with |g| = 0, 1, 2, ..., 8 and one more 7 (a tie); two active
        // ones with the largest gradients, which must not count.
        INDArray g = Nd4j.create(new double[][]{{0, -1, 2, -3}, {4, -5, 6, -7}, {8, 7, 100, -100}});
        INDArray mask = Nd4j.create(new double[][]{{0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 1, 1}});
        // 70th percentile of 10 dormant values: the ceil(0.3 * 10) = 3 largest are 8, 7, 7.
        NestPlanner.Selection s = NestPlanner.select(g, mask, 70);
        assertArrayEquals(new long[]{7, 8, 9}, s.indices);
        assertEquals(7.0, s.threshold, 0.0);
        // 95th: ceil(0.05 * 10) = 1, the 8 alone.
        assertArrayEquals(new long[]{8}, NestPlanner.select(g, mask, 95).indices);
        // 0th: every dormant connection but the one with a zero gradient.
        assertArrayEquals(new long[]{1, 2, 3, 4, 5, 6, 7, 8, 9}, NestPlanner.select(g, mask, 0).indices);
        assertEquals(0, NestPlanner.select(g, Nd4j.ones(3, 4), 50).indices.length, "nothing dormant");

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NestPlanner.builder().when(GrowthTrigger.everyEpochs(1)).growConnections(100).build());
        assertTrue(e.getMessage().contains("must be in [0, 100) (got: 100.0)"), e.getMessage());
    }

    @Test
    void nestPoliciesSurviveJson() {
        for (NestPlanner p : List.of(
                NestPlanner.builder().when(GrowthTrigger.everyEpochs(2)).growConnections(95).build(),
                NestPlanner.builder().when(GrowthTrigger.atIterations(3, 9)).layers("h1", "out").build(),
                NestPlanner.builder().when(GrowthTrigger.everyEpochs(1)).layers("c1", "c2").growFeatureMaps(2, 8)
                        .build())) {
            GrowthPolicy policy = GrowthPolicy.builder().planner(p).seed(4).build();
            GrowthPolicy back = GrowthPolicy.fromJson(policy.toJson());
            assertEquals(policy, back, policy.toJson());
            assertEquals(p.toString(), back.planner().toString());
        }
    }

    @Test
    void magnitudePruningTakesTheSmallestActiveWeightsTiesByIndex() {
        INDArray w = Nd4j.create(new double[][]{{0.5, -0.1, 0.3}, {-0.1, 9, -0.2}});
        INDArray mask = Nd4j.create(new double[][]{{1, 1, 1}, {1, 0, 1}});
        // 5 active; 50% -> ceil(2.5) = 3 smallest: |-0.1| at 1, |-0.1| at 3, |-0.2| at 5 (index 4 is dormant).
        NestPlanner.Selection s = NestPlanner.smallest(w, mask, 50);
        assertArrayEquals(new long[]{1, 3, 5}, s.indices);
        assertEquals(0.2, s.threshold, 1e-12);
        // 20% -> 1: the tie at 0.1 goes to the smaller index.
        assertArrayEquals(new long[]{1}, NestPlanner.smallest(w, mask, 20).indices);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NestPlanner.builder().when(GrowthTrigger.everyEpochs(1)).pruneConnections(0));
        assertTrue(e.getMessage().contains("must be in (0, 100) (got: 0.0)"), e.getMessage());
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void pruningInsideFitSleepsTheSmallestWeightsAndTheyStayZero(boolean graph) {
        Model net = TestNets.build(TestNets.DIGITS_MLP, TestNets.base(42, new Adam(0.01), DataType.FLOAT), graph);
        GrowthListener growth = new GrowthListener(GrowthPolicy.builder().planner(NestPlanner.builder()
                .when(GrowthTrigger.atIterations(3, 6)).layers("h1", "out").pruneConnections(25).build()).build());
        Map<String, List<INDArray>> weightsAt = new HashMap<>();
        TrainingListener snapshot = new BaseTrainingListener() {
            @Override
            public void iterationDone(Model model, int iteration, int epoch) {
                if (iteration == 3 || iteration == 6) {
                    for (String l : List.of("h1", "out")) {
                        weightsAt.computeIfAbsent(l, k -> new ArrayList<>()).add(TestNets.layer(model, l)
                                .getParam("W").dup());
                    }
                }
            }
        };
        for (String l : List.of("h1", "out")) {
            growth.setMask(net, l, Nd4j.ones(DataType.FLOAT, TestNets.layer(net, l).getParam("W").shape()));
        }
        attach(net, new ScoreIterationListener(5), snapshot, growth, new CollectScoresListener(1));
        fit(net, 2);

        assertEquals(2, growth.history().size(), growth.history().toString());
        for (String l : List.of("h1", "out")) {
            INDArray mask = growth.masks().get(l);
            long n = mask.length();
            long first = (long) Math.ceil(0.25 * n);
            long second = (long) Math.ceil(0.25 * (n - first));
            assertEquals(n - first - second, mask.sumNumber().longValue(), l);
            NestDetails.Layer d0 = ((NestDetails) growth.history().events().get(0).details()).layers().get(l);
            assertEquals(first, d0.removed(), l);
            // The first event pruned exactly the smallest |w| at iteration 3.
            INDArray w3 = weightsAt.get(l).get(0);
            INDArray afterFirst = Nd4j.ones(DataType.FLOAT, mask.shape());
            for (long i : NestPlanner.smallest(w3, afterFirst.dup(), 25).indices) {
                afterFirst.putScalar(org.nd4j.linalg.api.shape.Shape.ind2subC(mask.shape(), i), 0);
            }
            assertEquals(first, n - afterFirst.sumNumber().longValue());
            assertTrue(afterFirst.sub(mask).minNumber().doubleValue() >= 0, l + ": everything pruned first stays pruned");
            INDArray w = TestNets.layer(net, l).getParam("W");
            INDArray dormant = mask.rsub(1.0);
            assertEquals(0.0, w.mul(dormant).amaxNumber().doubleValue(), 0.0, l + " pruned weights stay 0");
            for (INDArray st : NetState.stateByParam(net).get(l + "/W")) {
                assertEquals(0.0, st.mul(dormant).amaxNumber().doubleValue(), 0.0, l + " pruned Adam state stays 0");
            }
            // The smallest of iteration 3 really are small: none above any kept weight of that moment.
            double maxPruned = w3.mul(afterFirst.rsub(1.0)).amaxNumber().doubleValue();
            INDArray kept = Transforms.abs(w3).mul(afterFirst).add(afterFirst.rsub(1.0).mul(1e9));
            assertTrue(maxPruned <= kept.minNumber().doubleValue(), l);
        }
    }

    private static List<DataSet> batches(int from, int count) {
        return TestNets.digitsBatches(from, count);
    }

    private static void fit(Model net, int epochs) {
        if (net instanceof MultiLayerNetwork) {
            ((MultiLayerNetwork) net).fit(new ExistingDataSetIterator(batches(0, 5)), epochs);
        } else {
            ((ComputationGraph) net).fit(new ExistingDataSetIterator(batches(0, 5)), epochs);
        }
    }

    private static void attach(Model net, TrainingListener... ls) {
        if (net instanceof MultiLayerNetwork) {
            ((MultiLayerNetwork) net).setListeners(ls);
        } else {
            ((ComputationGraph) net).setListeners(ls);
        }
    }

    /** Σ ∂L/∂W of {@code layer} over {@code data}, from plain DL4J calls on {@code net}. */
    private static INDArray gradientSum(Model net, String layer, List<DataSet> data) {
        INDArray sum = null;
        for (DataSet ds : data) {
            if (net instanceof MultiLayerNetwork) {
                MultiLayerNetwork m = (MultiLayerNetwork) net;
                m.setInput(ds.getFeatures());
                m.setLabels(ds.getLabels());
                m.computeGradientAndScore();
                INDArray g = m.gradient().getGradientFor(m.getLayerNames().indexOf(layer) + "_W").dup('c');
                sum = sum == null ? g : sum.addi(g);
            } else {
                ComputationGraph c = (ComputationGraph) net;
                c.setInputs(ds.getFeatures());
                c.setLabels(ds.getLabels());
                c.computeGradientAndScore();
                INDArray g = c.gradient().getGradientFor(layer + "_W").dup('c');
                sum = sum == null ? g : sum.addi(g);
            }
        }
        return sum;
    }

    /** The top ⌈(1 − p/100)·n⌉ dormant entries by |g|, ties included, zeros excluded, computed by sorting entries. */
    private static TreeSet<Long> expectedWoken(INDArray g, INDArray mask) {
        double[] gv = g.dup('c').reshape(g.length()).toDoubleVector();
        double[] mv = mask.dup('c').reshape(mask.length()).toDoubleVector();
        List<double[]> dormant = new ArrayList<>();
        for (int i = 0; i < mv.length; i++) {
            if (mv[i] == 0) {
                dormant.add(new double[]{Math.abs(gv[i]), i});
            }
        }
        dormant.sort((a, b) -> Double.compare(b[0], a[0]));
        int k = (int) Math.ceil((1 - PERCENTILE / 100) * dormant.size());
        double threshold = dormant.get(k - 1)[0];
        TreeSet<Long> out = new TreeSet<>();
        for (double[] d : dormant) {
            if (d[0] >= threshold && d[0] > 0) {
                out.add((long) d[1]);
            }
        }
        return out;
    }

    private static TreeSet<Long> woken(INDArray before, INDArray after) {
        double[] b = before.dup('c').reshape(before.length()).toDoubleVector();
        double[] a = after.dup('c').reshape(after.length()).toDoubleVector();
        TreeSet<Long> out = new TreeSet<>();
        for (int i = 0; i < a.length; i++) {
            assertTrue(a[i] >= b[i], "connection growth never puts a connection to sleep");
            if (a[i] > b[i]) {
                out.add((long) i);
            }
        }
        return out;
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void connectionGrowthInsideFitWakesExactlyTheTopPercentileAndTheyTrainFromZero(boolean graph) {
        Model net = TestNets.build(TestNets.DIGITS_MLP, TestNets.base(42, new Adam(0.01), DataType.FLOAT), graph);
        List<DataSet> growthData = batches(5, 2);
        GrowthListener growth = GrowthListener.builder().policy(GrowthPolicy.builder().planner(NestPlanner.builder()
                        .when(GrowthTrigger.atIterations(GROW_AT)).layers("h1", "out").growConnections(PERCENTILE)
                        .build()).seed(3).build())
                .growthData(new ExistingDataSetIterator(growthData), growthData.size()).build();
        // Before the growth listener: the network as the growth sees it, copied at the growth iteration.
        Map<String, INDArray> expectedGradient = new HashMap<>();
        TrainingListener snapshot = new BaseTrainingListener() {
            @Override
            public void iterationDone(Model model, int iteration, int epoch) {
                if (iteration == GROW_AT) {
                    // A fresh network from configuration and parameters: no listeners, no shared state.
                    Model copy;
                    if (model instanceof MultiLayerNetwork) {
                        MultiLayerNetwork m = new MultiLayerNetwork(((MultiLayerNetwork) model)
                                .getLayerWiseConfigurations().clone());
                        m.init(model.params().dup(), false);
                        copy = m;
                    } else {
                        ComputationGraph c = new ComputationGraph(((ComputationGraph) model).getConfiguration()
                                .clone());
                        c.init(model.params().dup(), false);
                        copy = c;
                    }
                    for (String l : List.of("h1", "out")) {
                        expectedGradient.put(l, gradientSum(copy, l, growthData));
                    }
                }
            }
        };
        attach(net, new ScoreIterationListener(5), snapshot, growth, new CollectScoresListener(1));
        fit(net, 1);

        Map<String, INDArray> before = new HashMap<>();
        Random r = new Random(9);
        for (String l : List.of("h1", "out")) {
            INDArray m = Nd4j.create(DataType.FLOAT, TestNets.layer(net, l).getParam("W").shape());
            INDArray flat = m.reshape(m.length());
            for (long i = 0; i < flat.length(); i++) {
                flat.putScalar(i, r.nextDouble() < 0.3 ? 1 : 0);
            }
            growth.setMask(net, l, m);
            before.put(l, growth.masks().get(l));
        }
        Map<String, INDArray> weightsAtGrowth = new HashMap<>();
        Map<String, List<INDArray>> stateAtGrowth = new HashMap<>();
        attach(net, new ScoreIterationListener(5), snapshot, growth, new BaseTrainingListener() {
            @Override
            public void iterationDone(Model model, int iteration, int epoch) {
                if (iteration == GROW_AT) {
                    for (String l : List.of("h1", "out")) {
                        weightsAtGrowth.put(l, TestNets.layer(model, l).getParam("W").dup());
                        stateAtGrowth.put(l, NetState.stateByParam(model).get(l + "/W"));
                    }
                }
            }
        });
        fit(net, 2);

        assertEquals(1, growth.history().size(), growth.history().toString());
        GrowthEvent e = growth.history().events().get(0);
        assertEquals(GROW_AT, e.iteration());
        assertEquals(e.paramsBefore(), e.paramsAfter(), "no width changes");
        assertTrue(e.signalPasses() >= growthData.size(), "the gradient came from the signals step: " + e);
        NestDetails d = (NestDetails) e.details();
        assertEquals("connections", d.operation());
        for (String l : List.of("h1", "out")) {
            INDArray after = growth.masks().get(l);
            TreeSet<Long> woke = woken(before.get(l), after);
            TreeSet<Long> expected = expectedWoken(expectedGradient.get(l), before.get(l));
            assertTrue(!expected.isEmpty());
            assertEquals(expected, woke, l + ": exactly the top-percentile dormant connections");
            assertEquals(woke.size(), d.layers().get(l).added(), l);
            assertEquals(after.sumNumber().longValue(), d.layers().get(l).active(), l);
            // At the growth (the event comes after this iteration's update) they were still 0, weights and
            // Adam state; two epochs later they have trained, while the still-dormant ones stay 0.
            INDArray w0 = weightsAtGrowth.get(l).dup('c').reshape(after.length());
            INDArray w = TestNets.layer(net, l).getParam("W").dup('c').reshape(after.length());
            INDArray m = after.dup('c').reshape(after.length());
            int moved = 0;
            for (long i : woke) {
                assertEquals(0.0, w0.getDouble(i), 0.0, l + " woken connection " + i + " starts at 0");
                for (INDArray s : stateAtGrowth.get(l)) {
                    assertEquals(0.0, s.dup('c').reshape(after.length()).getDouble(i), 0.0, "fresh state");
                }
                moved += w.getDouble(i) != 0 ? 1 : 0;
            }
            assertEquals(woke.size(), moved, l + ": every woken connection trained");
            for (long i = 0; i < m.length(); i++) {
                if (m.getDouble(i) == 0) {
                    assertEquals(0.0, w.getDouble(i), 0.0, l + " still dormant " + i);
                }
            }
        }
        GrowthHistory back = GrowthHistory.fromJson(growth.history().toJson());
        assertEquals(growth.history().events().get(0).details(), back.events().get(0).details());
        assertTrue(e.toString().contains("connections"), e.toString());
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void aTypoInTheLayersIsRefusedBeforeTheNetworkChanges(boolean graph) {
        Model net = TestNets.build(TestNets.DIGITS_MLP, TestNets.base(42, new Adam(0.01), DataType.FLOAT), graph);
        GrowthListener growth = new GrowthListener(GrowthPolicy.builder().planner(NestPlanner.builder()
                .when(GrowthTrigger.everyIterations(1)).layers("h9").build()).build());
        attach(net, growth);
        NetState before = NetState.of(net);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> growth.controller()
                .growNow(net));
        assertTrue(e.getMessage().contains("layer 'h9' named in layers(...) does not exist"), e.getMessage());
        assertArrayEquals(before.params, NetState.of(net).params);
    }
}
