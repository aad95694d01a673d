package org.dl4jgrowth.parallel;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.dl4jgrowth.GrowthController;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.GrowthHistory;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.signal.StatisticProvider;
import org.dl4jgrowth.testing.DigitsImages;
import org.dl4jgrowth.testing.NetState;
import org.dl4jgrowth.testing.TestNets;
import org.dl4jgrowth.when.GrowthTrigger;
import org.dl4jgrowth.where.GrowthAmount;
import org.dl4jgrowth.where.SiteSelector;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;

import java.io.File;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The run the distributed drivers' tests share: the digits MLP (64 -> h1(4) -> h2(4) -> 10, Adam),
 * GradMax growing h1 by 2 after rounds 1 and 3 (4 -> 6 -> 8), 8 training minibatches of 32 and 4
 * more for the statistic; and what each round must show.
 */
public final class Rounds {
    public static final int ROUNDS = 5;
    public static final List<Integer> GROWTH_EPOCHS = List.of(1, 3);
    public static final List<Integer> WIDTHS = List.of(4, 6, 6, 8, 8);

    private Rounds() {
    }

    public static GrowthPolicy policy() {
        return GrowthPolicy.builder().when(GrowthTrigger.atEpochs(1, 3)).where(SiteSelector.layers("h1"))
                .howMuch(GrowthAmount.add(2)).initializer(UnitInitializer.gradMax()).seed(5).build();
    }

    public static Model net(boolean graph, DataType type) {
        return TestNets.build(TestNets.DIGITS_MLP, TestNets.base(12, new Adam(0.01), type), graph);
    }

    /** 8 minibatches of 32 digits (a multiple of the 2 workers: each averaging sees both). */
    public static List<DataSet> trainBatches() {
        return TestNets.digitsBatches(0, 8);
    }

    public static DataSetIterator statisticData() {
        return DigitsImages.iterator(TestNets.digitsBatches(8, 4));
    }

    public static double meanLoss(Model net, List<DataSet> batches) {
        double sum = 0;
        for (DataSet ds : batches) {
            sum += net instanceof MultiLayerNetwork ? ((MultiLayerNetwork) net).score(ds)
                    : ((ComputationGraph) net).score(ds);
        }
        return sum / batches.size();
    }

    public static Map<String, INDArray> params(Model net) {
        Map<String, INDArray> out = new HashMap<>();
        for (String layer : List.of("h1", "h2", "out")) {
            TestNets.layer(net, layer).paramTable().forEach((k, v) -> out.put(layer + "/" + k, v.dup()));
        }
        return out;
    }

    /** Every old array is the leading block of its grown successor, bit for bit. */
    public static void assertCarried(Map<String, INDArray> before, Map<String, INDArray> after, String what) {
        for (Map.Entry<String, INDArray> e : before.entrySet()) {
            INDArray old = e.getValue();
            INDArray now = after.get(e.getKey());
            INDArrayIndex[] idx = new INDArrayIndex[old.rank()];
            for (int d = 0; d < old.rank(); d++) {
                idx[d] = NDArrayIndex.interval(0, old.size(d));
            }
            assertEquals(old, now.get(idx), what + " " + e.getKey() + " carried exactly");
        }
    }

    public static Map<String, INDArray> adamState(Model net) {
        Map<String, INDArray> out = new HashMap<>();
        NetState.stateByParam(net).forEach((k, list) -> {
            for (int i = 0; i < list.size(); i++) {
                out.put(k + "#" + i, list.get(i));
            }
        });
        return out;
    }

    /**
     * The run as planned: grown after rounds 1 and 3, h1 4 -> 6 -> 8, the statistic over the 4
     * statistic minibatches, and the grown network kept training (the epoch-mean loss falls over the
     * rounds and after the last growth).
     */
    public static void assertGrewAsPlanned(Record record, GrowthHistory history, Model net) {
        assertEquals(GROWTH_EPOCHS, record.grownAt, "grown after the planned rounds");
        assertEquals(WIDTHS, record.widths, "h1's width round by round");
        assertEquals(8, NetworkRewrite.width(net, "h1"));
        assertEquals(ROUNDS, TestNets.epochCount(net));
        assertEquals(2, history.size());
        for (GrowthEvent e : history.events()) {
            assertEquals(128, e.signalExamples(), "statistic over the 4 statistic minibatches of 32");
            assertEquals(4, e.signalPasses());
        }
        assertTrue(record.losses.get(ROUNDS - 1) < record.losses.get(0), "loss falls: " + record.losses);
        assertTrue(record.losses.get(ROUNDS - 1) < record.losses.get(3), "loss falls after the last growth: "
                + record.losses);
    }

    /**
     * Saves the model and growth state after every round to {@code saved}, and kills the run after
     * round 1 (its first growth), as a crash would.
     */
    public static RoundListener savingAndKilledAfterRound1(GrowthController controller, File saved) {
        return new RoundListener() {
            @Override
            public void roundEnded(int epoch, Model master, Optional<GrowthEvent> growth) {
                controller.writeModel(master, saved, true);
                if (epoch == 1) {
                    throw new IllegalStateException("killed after round 1");
                }
            }
        };
    }

    /** The model saved at round 1: the epoch count moved on, h1 grown once. */
    public static Model restoredAtRound1(File saved, boolean graph) throws java.io.IOException {
        Model resumed = graph ? ModelSerializer.restoreComputationGraph(saved, true)
                : ModelSerializer.restoreMultiLayerNetwork(saved, true);
        assertEquals(2, TestNets.epochCount(resumed));
        assertEquals(6, NetworkRewrite.width(resumed, "h1"));
        return resumed;
    }

    /** The resumed run reached what the uninterrupted one did: widths, epochs, growth rounds. */
    public static void assertResumedLikeTheWhole(Model whole, GrowthHistory full, Model resumed, GrowthHistory again) {
        assertEquals(NetworkRewrite.width(whole, "h1"), NetworkRewrite.width(resumed, "h1"));
        assertEquals(8, NetworkRewrite.width(resumed, "h1"));
        assertEquals(ROUNDS, TestNets.epochCount(resumed));
        assertEquals(epochs(full.events()), epochs(again.events()));
        assertEquals(GROWTH_EPOCHS, epochs(again.events()));
        assertTrue(Double.isFinite(meanLoss(resumed, trainBatches())));
    }

    /** 5 minibatches of 16 for the batch-norm network, DOUBLE: the statistic tests' data. */
    public static List<DataSet> bnBatches() {
        List<DataSet> batches = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            batches.add(TestNets.DENSE_BN_DENSE_NO_DROPOUT.data(16, 30 + i, DataType.DOUBLE));
        }
        return batches;
    }

    /** Dense, batch norm, dense (DOUBLE, no dropout), trained a step on each batch so batch norm has statistics. */
    public static Model bnNet(boolean graph, List<DataSet> batches) {
        Model net = TestNets.build(TestNets.DENSE_BN_DENSE_NO_DROPOUT, TestNets.base(3, new Adam(0.01), DataType.DOUBLE),
                graph);
        for (DataSet ds : batches) {
            TestNets.fit(net, ds);
        }
        return net;
    }

    /**
     * {@link #bnBatches()} with per-example label masks: every fourth example of each minibatch
     * masked out, so 60 of the 80 examples count (a masked example adds nothing to the statistic).
     */
    public static List<DataSet> maskedBnBatches() {
        List<DataSet> out = new ArrayList<>();
        for (DataSet ds : bnBatches()) {
            INDArray mask = Nd4j.ones(DataType.DOUBLE, ds.numExamples(), 1);
            for (int i = 0; i < ds.numExamples(); i += 4) {
                mask.putScalar(i, 0, 0.0);
            }
            out.add(new DataSet(ds.getFeatures(), ds.getLabels(), null, mask));
        }
        return out;
    }

    /**
     * A distributed sum over {@link #bnBatches()} (or {@link #maskedBnBatches()}) equals the
     * single-process statistic to 1e-5 relative, and counts the examples that contribute.
     */
    public static void assertSameStatistic(INDArray single, StatisticProvider.GradientSum sum, long examples) {
        assertEquals(examples, sum.examples(), "examples counted");
        assertEquals(5, sum.batches());
        assertTrue(single.norm2Number().doubleValue() > 0);
        double rel = sum.sum().sub(single).norm2Number().doubleValue() / single.norm2Number().doubleValue();
        assertTrue(rel < 1e-5, "relative difference " + rel);
    }

    public static List<Integer> epochs(List<GrowthEvent> events) {
        List<Integer> out = new ArrayList<>();
        for (GrowthEvent e : events) {
            out.add(e.epoch());
        }
        return out;
    }

    /** The messages of an exception and its causes. */
    public static String chain(Throwable t) {
        StringBuilder b = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            b.append(c.getMessage()).append(" <- ");
        }
        return b.toString();
    }

    /** What a run saw, round by round. */
    public static final class Record implements RoundListener {
        public final List<Double> losses = new ArrayList<>();
        public final List<Integer> grownAt = new ArrayList<>();
        public final List<Integer> widths = new ArrayList<>();
        private final INDArray probe = TestNets.digitsBatches(12, 1).get(0).getFeatures();
        private Map<String, INDArray> params;
        private Map<String, INDArray> state;
        private INDArray output;

        @Override
        public void roundTrained(int epoch, Model master) {
            losses.add(meanLoss(master, trainBatches()));
            params = params(master);
            state = adamState(master);
            // The round's optimizer state, not a fresh one (DL4J's clear() drops it at the end of fit()).
            double moments = 0;
            for (INDArray a : state.values()) {
                moments += a.norm1Number().doubleValue();
            }
            assertTrue(moments > 0, "Adam's moments survived round " + epoch);
            output = TestNets.output(master, probe).dup();
        }

        @Override
        public void roundEnded(int epoch, Model master, Optional<GrowthEvent> growth) {
            assertEquals(epoch + 1, TestNets.epochCount(master), "the driver advanced the epoch count");
            widths.add(NetworkRewrite.width(master, "h1"));
            if (growth.isPresent()) {
                grownAt.add(epoch);
                assertCarried(params, params(master), "parameter");
                assertCarried(state, adamState(master), "Adam state");
                // GradMax's new units have zero fan-in: the grown network computes the same function.
                double diff = TestNets.output(master, probe).sub(output).amaxNumber().doubleValue();
                assertTrue(diff < 1e-5, "function preserved at round " + epoch + ": " + diff);
            }
        }
    }

}
