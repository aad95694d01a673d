package org.dl4jgrowth.tools;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.optimize.api.InvocationType;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.deeplearning4j.optimize.listeners.CheckpointListener;
import org.deeplearning4j.optimize.listeners.EvaluativeListener;
import org.deeplearning4j.optimize.listeners.ScoreIterationListener;
import org.deeplearning4j.ui.model.stats.StatsListener;
import org.deeplearning4j.ui.model.storage.InMemoryStatsStorage;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.nest.NestDetails;
import org.dl4jgrowth.nest.NestPlanner;
import org.dl4jgrowth.nest.NestSchedule;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.testing.DigitsImages;
import org.dl4jgrowth.testing.TestNets;
import org.dl4jgrowth.when.GrowthTrigger;
import org.dl4jgrowth.where.GrowthAmount;
import org.dl4jgrowth.where.SiteSelector;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * NeST's three growth operations (connection growth on masked layers, neuron growth by the bridging
 * gradient, feature-map growth of a convolution) and its grow-then-prune schedule inside
 * {@code fit()} on both network types, with
 * ScoreIterationListener, EvaluativeListener, CheckpointListener and StatsListener all attached,
 * before the GrowthListener or after it: each operation happens, masked weights stay 0, and every
 * DL4J tool keeps working (evaluations, checkpoints and stats reports after the growth).
 */
class NestBesideDl4jToolsTest {
    @TempDir
    Path dir;

    static Stream<Arguments> cases() {
        List<Arguments> a = new ArrayList<>();
        for (boolean graph : new boolean[]{false, true}) {
            for (String op : new String[]{"connections", "bridging", "featureMaps", "schedule"}) {
                for (BesideGrowth.Order order : BesideGrowth.Order.values()) {
                    a.add(Arguments.of(graph, op, order));
                }
            }
        }
        return a.stream();
    }

    @ParameterizedTest(name = "graph={0}, {1}, {2}")
    @MethodSource("cases")
    void nestGrowsWithEveryDl4jToolAttached(boolean graph, String op, BesideGrowth.Order order) throws Exception {
        boolean cnn = "featureMaps".equals(op);
        DigitsImages digits = DigitsImages.split(DataType.FLOAT, 5);
        List<DataSet> train = cnn ? DigitsImages.batches(digits.train(0, 128), 32)
                : BesideGrowth.batches(100);
        List<DataSet> heldOut = cnn ? DigitsImages.batches(digits.test(0, 64), 32) : BesideGrowth.batches(900);
        Model net = cnn ? TestNets.build(TestNets.DIGITS_CNN, TestNets.base(4, new Adam(0.01), DataType.FLOAT), graph)
                : BesideGrowth.net(graph);
        GrowthPolicy policy;
        switch (op) {
            case "connections":
                policy = GrowthPolicy.builder().planner(NestPlanner.builder().when(GrowthTrigger.atIterations(5))
                        .growConnections(50).build()).build();
                break;
            case "schedule":
                // Seed at 0, connection growth at 2 and 4, pruning to 30% at 6, 8 and 10.
                policy = GrowthPolicy.builder().planner(NestSchedule.builder().layers("d1", "d2").seed(0.5, 1.0)
                        .growConnections(2, 6, 2, 70).pruneTo(6, 11, 2, 0.3).build()).build();
                break;
            case "bridging":
                policy = GrowthPolicy.builder().when(GrowthTrigger.atIterations(5)).where(SiteSelector.layers("d1"))
                        .howMuch(GrowthAmount.add(3)).initializer(UnitInitializer.bridging()).build();
                break;
            default:
                policy = GrowthPolicy.builder().planner(NestPlanner.builder().when(GrowthTrigger.atIterations(5))
                        .layers("c1").growFeatureMaps(2, 3).build()).build();
        }
        List<GrowthEvent> events = new ArrayList<>();
        GrowthListener growth = GrowthListener.builder().policy(policy).onGrowth(events::add)
                .growthData(DigitsImages.iterator(train.subList(0, 2)), 2).build();
        if ("connections".equals(op)) {
            for (String layer : List.of("d1", "d2")) {
                INDArray w = TestNets.layer(net, layer).getParam("W");
                growth.setMask(net, layer, Nd4j.rand(DataType.FLOAT, w.shape()).gt(0.5).castTo(DataType.FLOAT));
            }
        }
        AtomicInteger evaluations = new AtomicInteger();
        EvaluativeListener eval = new EvaluativeListener(DigitsImages.iterator(heldOut), 4,
                InvocationType.ITERATION_END, new Evaluation());
        eval.setCallback((l, m, invocations, evals) -> evaluations.incrementAndGet());
        CheckpointListener checkpoints = new CheckpointListener.Builder(dir.toFile()).saveEveryNIterations(4)
                .keepAll().logSaving(false).build();
        InMemoryStatsStorage storage = new InMemoryStatsStorage();
        StatsListener stats = new StatsListener(storage, 1);
        List<TrainingListener> tools = List.of(new ScoreIterationListener(4), eval, checkpoints, stats);
        List<TrainingListener> all = new ArrayList<>();
        if (order == BesideGrowth.Order.TOOL_BEFORE_GROWTH) {
            all.addAll(tools);
            all.add(growth);
        } else {
            all.add(growth);
            all.addAll(tools);
        }
        BesideGrowth.setListeners(net, all.toArray(new TrainingListener[0]));
        BesideGrowth.fit(net, DigitsImages.iterator(train), 3);

        int iterations = 3 * train.size();
        if ("schedule".equals(op)) {
            List<String> kinds = new ArrayList<>();
            for (GrowthEvent e : events) {
                String kind = ((NestDetails) e.details()).operation();
                if (!kind.equals("removeUnits")) {
                    kinds.add(e.iteration() + ":" + kind);
                }
            }
            assertEquals(List.of("0:seed", "2:connections", "4:connections", "6:prune", "8:prune", "10:prune"), kinds);
            for (String layer : List.of("d1", "d2")) {
                INDArray mask = growth.masks().get(layer);
                INDArray w = TestNets.layer(net, layer).getParam("W");
                assertEquals(0.0, w.mul(mask.rsub(1.0)).amaxNumber().doubleValue(), 0.0, layer + " dormant at 0");
                // The last prune leaves 30% of the weights the layer had then (a removal after it may
                // narrow the layer, taking only connections that were dormant or its own).
                NestDetails.Layer last = null;
                for (GrowthEvent e : events) {
                    NestDetails d = (NestDetails) e.details();
                    if (d.operation().equals("prune")) {
                        last = d.layers().get(layer);
                    }
                }
                assertEquals((long) Math.ceil(0.3 * last.total() - 1e-9), last.active(), layer + " pruned to 30%");
                assertTrue(mask.sumNumber().longValue() <= last.active(), layer);
            }
        } else {
            assertEquals(1, events.size(), growth.history().toString());
            assertEquals(5, events.get(0).iteration());
        }
        switch (op) {
            case "schedule":
                break;
            case "connections":
                assertEquals("connections", ((NestDetails) events.get(0).details()).operation());
                for (String layer : List.of("d1", "d2")) {
                    INDArray mask = growth.masks().get(layer);
                    INDArray w = TestNets.layer(net, layer).getParam("W");
                    assertEquals(0.0, w.mul(mask.rsub(1.0)).amaxNumber().doubleValue(), 0.0, layer + " dormant at 0");
                    assertTrue(((NestDetails) events.get(0).details()).layers().get(layer).added() > 0, layer);
                }
                break;
            case "bridging":
                assertEquals(BesideGrowth.WIDTH + 3, NetworkRewrite.width(net, "d1"));
                break;
            default:
                assertEquals(5, NetworkRewrite.width(net, "c1"));
        }
        assertEquals(iterations / 4, evaluations.get(), "EvaluativeListener evaluated throughout");
        // Saved at iterations 4 and 8 (DL4J skips iteration 0), the first after the growth at 5.
        assertEquals((iterations - 1) / 4, checkpoints.availableCheckpoints().size(), "checkpoints throughout");
        Model last = graph ? checkpoints.loadCheckpointCG(checkpoints.lastCheckpoint())
                : checkpoints.loadCheckpointMLN(checkpoints.lastCheckpoint());
        long expected = net.numParams();
        if ("schedule".equals(op)) {
            // The schedule may narrow the network after the last checkpoint (a removal at iteration 11).
            for (GrowthEvent e : events) {
                if (e.iteration() <= checkpoints.lastCheckpoint().getIteration()) {
                    expected = e.paramsAfter();
                }
            }
        }
        assertEquals(expected, last.numParams(), "the last checkpoint holds the network as it was then");
        assertTrue(storage.getAllUpdatesAfter(storage.listSessionIDs().get(0), StatsListener.TYPE_ID,
                storage.listWorkerIDsForSession(storage.listSessionIDs().get(0)).get(0), 0).size() >= iterations - 1,
                "StatsListener reported every iteration");
    }
}
