package org.dl4jgrowth.plan;

import org.deeplearning4j.datasets.iterator.ExistingDataSetIterator;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.deeplearning4j.optimize.listeners.ScoreIterationListener;
import org.dl4jgrowth.GrowthDetails;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.GrowthHistory;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.data.Digits;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.network.NetworkAdapter;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.rewrite.UnitMap;
import org.dl4jgrowth.testing.NetState;
import org.dl4jgrowth.testing.TestNets;
import org.dl4jgrowth.when.GrowthTrigger;
import org.dl4jgrowth.where.GrowthAmount;
import org.dl4jgrowth.where.SiteSelector;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The growth pipeline from the side of a method: a planner written here, not in main code, plugs
 * in through the policy and runs inside fit() on both network types, widening one layer and
 * narrowing another in one event, with its per-step hook called every iteration and its own
 * details in the event; caps are checked on the plan's geometry before any signal is computed, and
 * signal costs are recorded apart from the rewrite's.
 */
public class GrowthPipelineTest {

    /** A test method's record: which unit it dropped. */
    public static final class Dropped implements GrowthDetails {
        private static final long serialVersionUID = 1L;
        private final int unit;

        @JsonCreator
        public Dropped(@JsonProperty("unit") int unit) {
            this.unit = unit;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Dropped && ((Dropped) o).unit == unit;
        }

        @Override
        public int hashCode() {
            return unit;
        }

        @Override
        public String toString() {
            return "dropped unit " + unit;
        }
    }

    /** At one iteration: h1 gains two fresh units, h2 loses unit 1. Counts its per-step hook calls. */
    public static final class WidenAndNarrow implements GrowthPlanner {
        private static final long serialVersionUID = 1L;
        static final AtomicInteger HOOK_CALLS = new AtomicInteger();
        private final long at;

        @JsonCreator
        public WidenAndNarrow(@JsonProperty("at") long at) {
            this.at = at;
        }

        @Override
        public Optional<GrowthProposal> propose(PlanningContext context) {
            if (context.progress().iteration() != at || context.progress().atEpochEnd()) {
                return Optional.empty();
            }
            int h1 = context.width("h1");
            int h2 = context.width("h2");
            return Optional.of(GrowthProposal.builder()
                    .widen("h1", h1, h1 + 2)
                    .unitMap("h2", UnitMap.drop(h2, 1))
                    .initializer("h1", UnitInitializer.zeros())
                    .details(new Dropped(1))
                    .build());
        }

        @Override
        public List<String> namedLayers() {
            return List.of("h1", "h2");
        }

        @Override
        public void onGradient(NetworkAdapter network, org.dl4jgrowth.rewrite.CompanionArrays companions) {
            HOOK_CALLS.incrementAndGet();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof WidenAndNarrow && ((WidenAndNarrow) o).at == at;
        }

        @Override
        public int hashCode() {
            return Objects.hash(at);
        }
    }

    private static Model digitsMlp(boolean graph) {
        return TestNets.build(TestNets.DIGITS_MLP, TestNets.base(42, new Adam(0.01), DataType.FLOAT), graph);
    }

    private static List<DataSet> batches(int n) {
        DataSet all = Digits.split(DataType.FLOAT, 0.8, 4).train();
        List<DataSet> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(new DataSet(all.getFeatures().get(NDArrayIndex.interval(32 * i, 32 * i + 32), NDArrayIndex.all())
                    .dup(), all.getLabels().get(NDArrayIndex.interval(32 * i, 32 * i + 32), NDArrayIndex.all()).dup()));
        }
        return out;
    }

    private static void fit(Model net, DataSetIterator it, int epochs) {
        if (net instanceof MultiLayerNetwork) {
            ((MultiLayerNetwork) net).fit(it, epochs);
        } else {
            ((ComputationGraph) net).fit(it, epochs);
        }
    }

    /** Records h2's weights just before the growth at {@code at}. */
    static final class Before extends BaseTrainingListener {
        final long at;
        INDArray h2W;

        Before(long at) {
            this.at = at;
        }

        @Override
        public void iterationDone(Model model, int iteration, int epoch) {
            if (iteration == at) {
                h2W = TestNets.layer(model, "h2").getParam("W").dup();
            }
        }
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void aPlannerFromOutsideWidensAndNarrowsInOneEventInsideFit(boolean graph) {
        GrowthPolicy policy = GrowthPolicy.builder().planner(new WidenAndNarrow(3)).seed(4).build();
        assertEquals(policy, GrowthPolicy.fromJson(policy.toJson()), "a planner's policy round-trips as JSON");
        Model net = digitsMlp(graph);
        Before before = new Before(3);
        List<GrowthEvent> seen = new ArrayList<>();
        GrowthListener growth = GrowthListener.builder().policy(policy).onGrowth(seen::add).build();
        INDArray[] h2After = new INDArray[1];
        INDArray[] h1FanIn = new INDArray[1];
        net.setListeners(new ScoreIterationListener(100), before, growth, new BaseTrainingListener() {
            @Override
            public void iterationDone(Model model, int iteration, int epoch) {
                if (iteration == 3) {
                    h2After[0] = TestNets.layer(model, "h2").getParam("W").dup();
                    h1FanIn[0] = TestNets.layer(model, "h1").getParam("W").dup();
                }
            }
        });
        WidenAndNarrow.HOOK_CALLS.set(0);
        fit(net, new ExistingDataSetIterator(batches(6)), 1);

        assertEquals(6, WidenAndNarrow.HOOK_CALLS.get(), "the per-step hook ran at every iteration");
        assertEquals(1, growth.history().size(), growth.history().toString());
        GrowthEvent e = growth.history().events().get(0);
        assertEquals(List.of(new GrowthEvent.LayerGrowth("h1", 4, 6, 4, 0, 2, 0).withInitializer(UnitInitializer.zeros()),
                new GrowthEvent.LayerGrowth("h2", 4, 3, 3, 0, 0, 1)), e.layers());
        assertEquals(new Dropped(1), e.details());
        assertEquals(seen, growth.history().events());
        assertEquals(growth.history(), GrowthHistory.fromJson(growth.history().toJson()), "details survive JSON");
        org.dl4jgrowth.Provenance prov = growth.history().provenance();
        assertEquals(policy, prov.policy(), "the history says which policy grew the network");
        assertEquals("1.0.0-M2.1", prov.dl4j());
        assertEquals("1.0.0-M2.1", prov.nd4j());
        assertTrue(prov.library().startsWith("0."), prov.library());
        assertTrue(growth.history().toJson().startsWith("{\"provenance\":{"), "provenance heads the file");
        assertEquals(6, NetworkRewrite.width(net, "h1"));
        assertEquals(3, NetworkRewrite.width(net, "h2"));
        // h2 kept units 0, 2 and 3 with their fan-in (h1's two zero fresh rows appended), unit 1 is gone.
        INDArray kept = before.h2W.get(NDArrayIndex.all(), NDArrayIndex.indices(0, 2, 3));
        assertArrayEquals(kept.dup().toFloatMatrix(),
                h2After[0].get(NDArrayIndex.interval(0, 4), NDArrayIndex.all()).dup().toFloatMatrix());
        assertEquals(0.0, h2After[0].get(NDArrayIndex.interval(4, 6), NDArrayIndex.all()).norm2Number().doubleValue(),
                "zeros() was the planner's initialiser for h1's fresh units, whose fan-out rows are in h2");
        assertEquals(UnitInitializer.zeros(), e.layers().get(0).initializer(), "the planner's initialiser is recorded");
        assertEquals(null, e.layers().get(1).initializer(), "h2 has no fresh units and no initialiser of its own");
        assertEquals(0.0, h1FanIn[0].get(NDArrayIndex.all(), NDArrayIndex.interval(4, 6)).norm2Number().doubleValue(),
                "zeros(), the planner's choice, not the policy's functionPreserving (which draws a fan-in)");
        assertEquals(0.0, e.signalMillis(), "no signal was asked for");
        assertEquals(0, e.signalPasses());
        assertTrue(Double.isFinite(net.score()), "training went on");
    }

    /** Growth data whose source fails after the first minibatch, which the controller's shape check takes. */
    private static DataSetIterator brokenAfterTheShapeCheck() {
        return new ExistingDataSetIterator(batches(1)) {
            private int calls;

            @Override
            public DataSet next() {
                if (calls++ == 0) {
                    return super.next();
                }
                throw new IllegalStateException("the growth data's source went away");
            }
        };
    }

    /**
     * Counts the minibatches taken from it (every next(): a pre-processor would run once per
     * DataSet object only, and the same objects come back after a reset).
     */
    private static DataSetIterator counting(List<DataSet> data, AtomicInteger count) {
        return new ExistingDataSetIterator(data) {
            @Override
            public DataSet next() {
                count.incrementAndGet();
                return super.next();
            }
        };
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void maxParamsIsCheckedOnThePlanBeforeAnySignal(boolean graph) {
        Model net = digitsMlp(graph);
        fit(net, new ExistingDataSetIterator(batches(2)), 1);
        long params = net.numParams();
        AtomicInteger taken = new AtomicInteger();
        GrowthListener refused = GrowthListener.builder().policy(GrowthPolicy.builder()
                        .when(GrowthTrigger.everyIterations(1)).where(SiteSelector.layers("h1"))
                        .howMuch(GrowthAmount.add(1)).initializer(UnitInitializer.gradMax()).maxParams(params + 10)
                        .build())
                .growthData(counting(batches(1), taken), 1).build();
        NetState state = NetState.of(net);
        assertTrue(refused.controller().growNow(net).isEmpty(), "one unit of h1 costs 69 parameters");
        assertEquals(1, taken.get(), "one minibatch read, to check its shapes before anything; none for a statistic");
        assertArrayEquals(state.params, NetState.of(net).params);

        AtomicInteger taken2 = new AtomicInteger();
        GrowthListener allowed = GrowthListener.builder().policy(GrowthPolicy.builder()
                        .when(GrowthTrigger.everyIterations(1)).where(SiteSelector.layers("h1"))
                        .howMuch(GrowthAmount.add(1)).initializer(UnitInitializer.gradMax()).build())
                .growthData(counting(batches(1), taken2), 1).build();
        GrowthEvent e = allowed.controller().growNow(net).orElseThrow();
        assertEquals(2, taken2.get(), "the shape check and the statistic took one minibatch each");
        assertEquals(1, e.signalPasses());
        assertEquals(32, e.signalExamples());
        assertTrue(e.signalMillis() > 0, e.toString());
        assertTrue(e.rewriteMillis() > 0, e.toString());
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void aStatisticFailureNamesItsOwnStepAndChangesNothing(boolean graph) {
        Model net = digitsMlp(graph);
        fit(net, new ExistingDataSetIterator(batches(2)), 1);
        INDArray before = net.params().dup();
        DataSetIterator broken = brokenAfterTheShapeCheck();
        GrowthListener growth = GrowthListener.builder().policy(GrowthPolicy.builder()
                        .when(GrowthTrigger.everyIterations(1)).where(SiteSelector.layers("h1"))
                        .howMuch(GrowthAmount.add(1)).initializer(UnitInitializer.gradMax()).build())
                .growthData(broken, 1).onBadGrowth(org.dl4jgrowth.BadGrowthAction.FAIL).build();
        org.dl4jgrowth.rewrite.RewriteException e = org.junit.jupiter.api.Assertions.assertThrows(
                org.dl4jgrowth.rewrite.RewriteException.class, () -> growth.controller().growNow(net));
        assertEquals(org.dl4jgrowth.rewrite.RewriteStep.SIGNALS, e.step());
        assertTrue(e.getMessage().contains("went away"), e.getMessage());
        assertEquals(before, net.params());
        assertEquals(0, growth.history().size());

        // By default the failure, on private copies before anything changed, is a recorded skip.
        GrowthListener skipping = GrowthListener.builder().policy(growth.controller().policy())
                .growthData(brokenAfterTheShapeCheck(), 1).build();
        assertTrue(skipping.controller().growNow(net).isEmpty());
        assertEquals(before, net.params());
        assertEquals("RewriteException", skipping.history().skips().get(0).kind());
        assertTrue(skipping.history().skips().get(0).reason().contains("went away"));
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void signalsDrawDropoutFromTheGrowthGeneratorNotTrainings(boolean graph) {
        List<GrowthEvent> events = new ArrayList<>();
        for (int run = 0; run < 2; run++) {
            Model net = TestNets.build(TestNets.DENSE_BN_DENSE, TestNets.base(5, new Adam(0.01), DataType.DOUBLE),
                    graph);
            DataSet data = TestNets.DENSE_BN_DENSE.data(24, 3, DataType.DOUBLE);
            GrowthListener growth = GrowthListener.builder().policy(GrowthPolicy.builder()
                            .when(GrowthTrigger.everyIterations(1)).where(SiteSelector.layers("d1"))
                            .howMuch(GrowthAmount.add(2)).initializer(UnitInitializer.gradMax()).seed(9).build())
                    .growthData(new ExistingDataSetIterator(List.of(data)), 1).build();
            org.nd4j.linalg.factory.Nd4j.getRandom().setSeed(77);
            double expected = org.nd4j.linalg.factory.Nd4j.getRandom().nextDouble();
            org.nd4j.linalg.factory.Nd4j.getRandom().setSeed(77);
            events.add(growth.controller().growNow(net).orElseThrow().withoutTimings());
            assertEquals(expected, org.nd4j.linalg.factory.Nd4j.getRandom().nextDouble(), 0.0,
                    "the statistic's dropout and the new units drew nothing from training's generator");
            assertTrue(events.get(run).signalPasses() == 1, events.get(run).toString());
        }
        assertEquals(events.get(0), events.get(1), "same seed, same data: the same growth");
    }

    /** Drops h2's unit 0 whenever asked: a prune. */
    public static final class Prune implements GrowthPlanner {
        private static final long serialVersionUID = 1L;

        @Override
        public Optional<GrowthProposal> propose(PlanningContext context) {
            return Optional.of(GrowthProposal.builder().unitMap("h2", UnitMap.drop(context.width("h2"), 0)).build());
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Prune;
        }

        @Override
        public int hashCode() {
            return 1;
        }
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void maxParamsNeverRefusesAChangeThatRemovesParameters(boolean graph) {
        Model net = digitsMlp(graph);
        long params = net.numParams();
        GrowthListener prune = new GrowthListener(GrowthPolicy.builder().planner(new Prune()).maxParams(10).build());
        GrowthEvent e = prune.controller().growNow(net).orElseThrow();
        assertEquals(3, NetworkRewrite.width(net, "h2"));
        assertTrue(e.paramsAfter() < params && e.paramsAfter() > 10, e.toString());
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void aSignalTriggerIsNotAskedWhenEveryLayerIsAtItsCap(boolean graph) {
        Model net = digitsMlp(graph);
        AtomicInteger taken = new AtomicInteger();
        // The caps are reached by the first growth (forced, before training): from then on nothing can grow.
        GrowthListener capped = GrowthListener.builder().policy(GrowthPolicy.builder()
                        .when(GrowthTrigger.everyIterations(1).and(GrowthTrigger.singularValueAbove(0.0, "h1", "h2")))
                        .where(SiteSelector.layers("h1", "h2")).howMuch(GrowthAmount.add(1)).maxWidth(5).build())
                .growthData(counting(batches(1), taken), 1).build();
        capped.controller().growNow(net).orElseThrow();
        assertEquals(5, NetworkRewrite.width(net, "h1"));
        int before = taken.get();
        net.setListeners(capped);
        fit(net, new ExistingDataSetIterator(batches(3)), 1);
        assertEquals(1, capped.history().size());
        assertEquals(before, taken.get(), "no statistic computed for a growth that cannot happen");
    }
}
