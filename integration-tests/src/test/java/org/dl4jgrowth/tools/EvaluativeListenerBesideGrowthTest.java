package org.dl4jgrowth.tools;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.optimize.api.InvocationType;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.deeplearning4j.optimize.listeners.EvaluativeListener;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.testing.DigitsImages;
import org.dl4jgrowth.testing.TestNets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.dataset.DataSet;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.dl4jgrowth.tools.BesideGrowth.ITERATIONS;
import static org.dl4jgrowth.tools.BesideGrowth.Order;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DL4J's EvaluativeListener beside a GrowthListener that grows the network three times inside fit(),
 * before and after it, on both network types: each evaluation runs on the network as it is at that
 * point of the listener chain (grown in the growth's own callback when placed after the
 * GrowthListener), and its output() calls on held-out data neither break the growth nor the
 * gradient the listeners after it read.
 */
class EvaluativeListenerBesideGrowthTest {
    private static final int EVERY = 2;
    private static final int EVAL_BATCHES = 2;

    /** What the evaluation callback saw: the iteration (DL4J counts it up after iterationDone), the width, the evaluation. */
    record Evaluated(long iteration, int width, long numParams, int examples, double accuracy) {
    }

    static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> runs() {
        return StatsListenerBesideGrowthTest.runs();
    }

    @ParameterizedTest(name = "graph={0} {1}")
    @MethodSource("runs")
    void evaluationsRunOnTheNetworkAsItIsAtTheirPlaceInTheChain(boolean graph, Order order) {
        Model net = BesideGrowth.net(graph);
        List<GrowthEvent> events = new ArrayList<>();
        GrowthListener growth = BesideGrowth.growth(events);
        BesideGrowth.Probe probe = new BesideGrowth.Probe(events);
        List<DataSet> heldOut = BesideGrowth.batches(500).subList(0, EVAL_BATCHES);
        EvaluativeListener eval = new EvaluativeListener(DigitsImages.iterator(heldOut), EVERY,
                InvocationType.ITERATION_END, new Evaluation());
        List<Evaluated> evaluated = new ArrayList<>();
        eval.setCallback((listener, model, invocations, evaluations) -> {
            Evaluation e = (Evaluation) evaluations[0];
            evaluated.add(new Evaluated(TestNets.iterationCount(model), BesideGrowth.width(model), model.numParams(),
                    e.getNumRowCounter(), e.accuracy()));
        });
        TrainingListener[] listeners = BesideGrowth.ordered(order, eval, growth, probe);
        BesideGrowth.setListeners(net, listeners);

        BesideGrowth.fit(net, BesideGrowth.trainIterator(), BesideGrowth.EPOCHS);

        BesideGrowth.assertThreeGrowths(growth.history().events(), events, net);
        probe.assertSawGrownNetworkWithGradient();
        assertEquals(Arrays.asList(listeners), new ArrayList<>(BesideGrowth.listeners(net)), "listeners changed");

        // Iterations 0, 2, 4, ...: EvaluativeListener counts its own calls, one per iteration here.
        assertEquals(IntStream.range(0, ITERATIONS).filter(i -> i % EVERY == 0).asLongStream().boxed()
                .collect(Collectors.toList()), evaluated.stream().map(Evaluated::iteration).collect(Collectors.toList()));
        for (Evaluated e : evaluated) {
            int width = BesideGrowth.widthSeenAt(e.iteration(), order);
            assertEquals(width, e.width(), "width evaluated at " + e);
            assertEquals(BesideGrowth.numParams(width), e.numParams(), e.toString());
            assertEquals(EVAL_BATCHES * BesideGrowth.BATCH, e.examples(), "examples evaluated at " + e);
            assertTrue(e.accuracy() >= 0 && e.accuracy() <= 1, e.toString());
        }
        // Iteration 6 is a growth: placed after the GrowthListener the evaluation sees it, before it not yet.
        Evaluated atGrowth = evaluated.get(6 / EVERY);
        assertEquals(order == Order.TOOL_AFTER_GROWTH ? 10 : 8, atGrowth.width(), atGrowth.toString());
    }
}
