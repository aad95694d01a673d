package org.dl4jgrowth.tools;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.testing.DigitsImages;
import org.dl4jgrowth.testing.TestNets;
import org.dl4jgrowth.when.GrowthTrigger;
import org.dl4jgrowth.where.GrowthAmount;
import org.dl4jgrowth.where.SiteSelector;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.learning.config.Adam;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The run every test in this package shares: TestNets' Dense(6) -> Dense(5) -> Output(3) on 4 inputs,
 * 4 minibatches of 8 for 4 epochs (iterations 0..15), d1 growing by 2 units at iterations 3, 6 and 9
 * (6 -> 8 -> 10 -> 12). Small enough for a few seconds per test class, long enough that every DL4J
 * listener under test acts before, at and after each growth.
 */
final class BesideGrowth {
    static final int BATCHES = 4;
    static final int BATCH = 8;
    static final int EPOCHS = 4;
    static final int ITERATIONS = BATCHES * EPOCHS;
    static final int GROW_EVERY = 3;
    static final List<Long> GROWTH_ITERATIONS = List.of(3L, 6L, 9L);
    static final String LAYER = "d1";
    static final int WIDTH = 6;
    static final int ADD = 2;
    static final int INPUTS = 4;

    private BesideGrowth() {
    }

    /** The listener order under test: the DL4J tool before the GrowthListener, or after it. */
    enum Order {
        TOOL_BEFORE_GROWTH, TOOL_AFTER_GROWTH
    }

    static Model net(boolean graph) {
        return TestNets.build(TestNets.DENSE_DENSE, TestNets.base(42, new Adam(0.01), DataType.FLOAT), graph);
    }

    static List<DataSet> batches(long seed) {
        List<DataSet> out = new ArrayList<>();
        for (int i = 0; i < BATCHES; i++) {
            out.add(TestNets.DENSE_DENSE.data(BATCH, seed + i, DataType.FLOAT));
        }
        return out;
    }

    static DataSetIterator trainIterator() {
        return DigitsImages.iterator(batches(100));
    }

    /**
     * Grows three times, at iterations 3, 6 and 9: the policy builders go through Preconditions with
     * int arguments (add, everyIterations, maxGrowths, maxWidth), the calls that broke under Guava 19.
     */
    static GrowthPolicy policy() {
        return GrowthPolicy.builder()
                .when(GrowthTrigger.everyIterations(GROW_EVERY).and(GrowthTrigger.maxGrowths(3)))
                .where(SiteSelector.layers(LAYER))
                .howMuch(GrowthAmount.add(ADD))
                .maxWidth(LAYER, 64)
                .seed(7)
                .build();
    }

    static GrowthListener growth(List<GrowthEvent> seen) {
        return growth(seen, e -> { });
    }

    /** A GrowthListener of {@link #policy()} that adds each event to {@code seen}, then tells {@code also}. */
    static GrowthListener growth(List<GrowthEvent> seen, Consumer<GrowthEvent> also) {
        return GrowthListener.builder().policy(policy()).onGrowth(e -> {
            seen.add(e);
            also.accept(e);
        }).build();
    }

    /** d1's width a listener sees at {@code iteration}: growths at that iteration count only for listeners after the GrowthListener. */
    static int widthSeenAt(long iteration, Order order) {
        long grown = GROWTH_ITERATIONS.stream()
                .filter(g -> order == Order.TOOL_AFTER_GROWTH ? g <= iteration : g < iteration).count();
        return WIDTH + ADD * (int) grown;
    }

    /** Parameters of the Dense(4->w) -> Dense(w->5) -> Output(5->3) net with d1 of width {@code w}. */
    static long numParams(int w) {
        return (long) INPUTS * w + w + (long) w * 5 + 5 + 5 * 3 + 3;
    }

    static int width(Model net) {
        return NetworkRewrite.width(net, LAYER);
    }

    /** The key of d1's weights in the network's parameter and gradient tables ("0_W" or "d1_W"). */
    static String weightKey(Model net) {
        return net instanceof MultiLayerNetwork ? "0_W" : LAYER + "_W";
    }

    static void fit(Model net, DataSetIterator it, int epochs) {
        if (net instanceof MultiLayerNetwork) {
            ((MultiLayerNetwork) net).fit(it, epochs);
        } else {
            ((ComputationGraph) net).fit(it, epochs);
        }
    }

    static void setListeners(Model net, TrainingListener... listeners) {
        if (net instanceof MultiLayerNetwork) {
            ((MultiLayerNetwork) net).setListeners(listeners);
        } else {
            ((ComputationGraph) net).setListeners(listeners);
        }
    }

    static Collection<TrainingListener> listeners(Model net) {
        return net instanceof MultiLayerNetwork ? ((MultiLayerNetwork) net).getListeners()
                : ((ComputationGraph) net).getListeners();
    }

    /** {@code tool} before or after {@code growth}, with {@code probe} right after the GrowthListener. */
    static TrainingListener[] ordered(Order order, TrainingListener tool, GrowthListener growth, Probe probe) {
        return order == Order.TOOL_BEFORE_GROWTH ? new TrainingListener[]{tool, growth, probe}
                : new TrainingListener[]{growth, probe, tool};
    }

    /** What a listener after the GrowthListener found in {@code iterationDone}. */
    record Seen(int iteration, boolean grewHere, boolean gradientNull, long gradientLength, long numParams,
                double score, String gradientMismatch, int width) {
    }

    /**
     * Placed right after the GrowthListener: what every later listener (StatsListener reads
     * {@code model.gradient()} and {@code score()} in its {@code iterationDone}) finds at each
     * iteration, in particular at the ones where the network has just grown.
     */
    static final class Probe extends BaseTrainingListener {
        final List<Seen> seen = new ArrayList<>();
        private final List<GrowthEvent> events;

        Probe(List<GrowthEvent> events) {
            this.events = events;
        }

        @Override
        public void iterationDone(Model model, int iteration, int epoch) {
            // onGrowth ran inside the GrowthListener's iterationDone, just before this one.
            boolean grew = events.stream().anyMatch(e -> !e.atEpochEnd() && e.iteration() == iteration);
            Gradient g = model.gradient();
            seen.add(new Seen(iteration, grew, g == null, g == null || g.gradient() == null ? -1 : g.gradient().length(),
                    model.numParams(), model.score(), g == null ? "no gradient" : mismatch(model, g), width(model)));
        }

        /** Null when the gradient holds, for every parameter, an array of the parameter's shape; else what differs. */
        private static String mismatch(Model model, Gradient g) {
            Map<String, INDArray> params = model.paramTable(true);
            Map<String, INDArray> grads = g.gradientForVariable();
            if (!params.keySet().equals(grads.keySet())) {
                return "keys " + grads.keySet() + " for parameters " + params.keySet();
            }
            List<String> wrong = params.entrySet().stream()
                    .filter(e -> !Arrays.equals(e.getValue().shape(), grads.get(e.getKey()).shape()))
                    .map(e -> e.getKey() + ": gradient " + Arrays.toString(grads.get(e.getKey()).shape()) + ", param "
                            + Arrays.toString(e.getValue().shape()))
                    .collect(Collectors.toList());
            return wrong.isEmpty() ? null : wrong.toString();
        }

        /**
         * Every iteration was seen once, the three growths among them, and at each iteration (those
         * with a growth included) the gradient was there, as long as the parameters, shaped like each
         * of them, and the score finite.
         */
        void assertSawGrownNetworkWithGradient() {
            assertEquals(java.util.stream.IntStream.range(0, ITERATIONS).boxed().collect(Collectors.toList()),
                    seen.stream().map(Seen::iteration).collect(Collectors.toList()), "iterationDone calls");
            assertEquals(GROWTH_ITERATIONS, seen.stream().filter(Seen::grewHere).map(s -> (long) s.iteration())
                    .collect(Collectors.toList()), "iterations with a growth");
            for (Seen s : seen) {
                int w = widthSeenAt(s.iteration(), Order.TOOL_AFTER_GROWTH);
                assertEquals(w, s.width(), "width after the GrowthListener at " + s);
                assertEquals(numParams(w), s.numParams(), "numParams at " + s);
                assertTrue(!s.gradientNull(), "model.gradient() null at " + s);
                assertEquals(s.numParams(), s.gradientLength(), "gradient length at " + s);
                assertEquals(null, s.gradientMismatch(), "gradient shapes at " + s);
                assertTrue(Double.isFinite(s.score()), "score at " + s);
            }
        }
    }

    /** Three events, d1 6 -> 8 -> 10 -> 12 at iterations 3, 6, 9, and the network as the last one left it. */
    static void assertThreeGrowths(List<GrowthEvent> events, List<GrowthEvent> fromCallback, Model net) {
        assertEquals(events, fromCallback, "onGrowth saw every event of the history");
        assertEquals(GROWTH_ITERATIONS, events.stream().map(GrowthEvent::iteration).collect(Collectors.toList()));
        for (int i = 0; i < events.size(); i++) {
            int before = WIDTH + ADD * i;
            assertEquals(List.of(LAYER + " " + before + "->" + (before + ADD)), events.get(i).layers().stream()
                    .map(g -> g.layer() + " " + g.before() + "->" + g.after()).collect(Collectors.toList()));
            assertEquals(numParams(before), events.get(i).paramsBefore());
            assertEquals(numParams(before + ADD), events.get(i).paramsAfter());
        }
        assertEquals(WIDTH + 3 * ADD, width(net));
        assertEquals(numParams(WIDTH + 3 * ADD), net.numParams());
        assertTrue(Double.isFinite(net.score()), "final score " + net.score());
    }
}
