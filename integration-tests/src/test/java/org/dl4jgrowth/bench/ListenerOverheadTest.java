package org.dl4jgrowth.bench;

import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.bench.ListenerOverhead.Net;
import org.dl4jgrowth.bench.ListenerOverhead.Result;
import org.dl4jgrowth.bench.ListenerOverhead.Trigger;
import org.dl4jgrowth.bench.ListenerOverhead.Type;
import org.dl4jgrowth.bench.TimedListener.Callback;
import org.dl4jgrowth.network.NetworkAdapter;
import org.dl4jgrowth.when.GrowthTrigger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.dataset.DataSet;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The mechanics of {@link ListenerOverhead}, not its numbers (no timing is asserted): the
 * {@link TimedListener} passes every callback through, so a GrowthListener behind it grows inside
 * {@code fit()} as it does attached directly, and its sums are positive and below the fit time;
 * the signal trigger is evaluated exactly at the iterations its schedule names, as counted by
 * {@link CountingTrigger}. On the digits network (about a millisecond per iteration), both types.
 */
class ListenerOverheadTest {
    private static final List<DataSet> BATCHES = ListenerOverhead.batches(Net.DIGITS);

    private static long h1(Result r) {
        return NetworkAdapter.of(r.model).paramTable("h1").get("W").size(1);
    }

    @ParameterizedTest
    @EnumSource(Type.class)
    void growthHappensThroughTheTimingWrapper(Type type) {
        Result r = ListenerOverhead.run(Net.DIGITS, type, "atIterations(50)",
                ListenerOverhead.policy(GrowthTrigger.atIterations(50)), null, BATCHES, 100);

        assertEquals(1, r.growths, "the listener behind the wrapper must grow at iteration 50");
        GrowthEvent e = r.listener.history().events().get(0);
        assertEquals(50, e.iteration());
        assertEquals(48, h1(r), "h1 32 -> 48 in the network being trained (the same object)");
        assertEquals(e.paramsAfter(), r.model.numParams());
        // Every callback DL4J makes reaches the listener: one forward pass, gradient, backward pass and
        // iterationDone per iteration, an epoch start and end per epoch (5 epochs of 20 minibatches).
        for (Callback c : new Callback[]{Callback.FORWARD_PASS, Callback.GRADIENT, Callback.BACKWARD_PASS,
                Callback.ITERATION_DONE}) {
            assertEquals(100, r.timed.calls(c), c + " calls");
        }
        assertEquals(5, r.timed.calls(Callback.EPOCH_START));
        assertEquals(5, r.timed.calls(Callback.EPOCH_END));
        assertEquals(0, r.timed.firstIteration());
        assertEquals(99, r.timed.lastIteration());
        assertTrue(r.listenerNanos > 0, "time inside the listener: " + r.listenerNanos);
        assertTrue(r.listenerNanos < r.fitNanos, "listener " + r.listenerNanos + " ns within fit " + r.fitNanos);
    }

    @ParameterizedTest
    @EnumSource(Type.class)
    void signalTriggerIsEvaluatedEveryHundredIterationsAndNeverFires(Type type) {
        Result r = ListenerOverhead.run(Net.DIGITS, type, Trigger.SIGNAL, BATCHES, 300);

        assertEquals(0, r.growths);
        assertTrue(r.listener.history().skips().isEmpty(), "skips: " + r.listener.history().skips());
        assertEquals(32, h1(r));
        // iterationDone sees iterations 0..299; everyIterations(100) says yes at 100 and 200 only (never
        // at 0, never at an epoch end), and only then is the signal part of the and(...) asked.
        long expected = 0;
        for (long i = r.timed.firstIteration(); i <= r.timed.lastIteration(); i++) {
            expected += i > 0 && i % ListenerOverhead.SIGNAL_EVERY == 0 ? 1 : 0;
        }
        assertEquals(2, expected);
        assertEquals(expected, r.signalEvaluations);
        assertTrue(r.signalNanos > 0 && r.signalNanos < r.listenerNanos,
                "signal " + r.signalNanos + " ns is part of the listener's " + r.listenerNanos);
    }

    @ParameterizedTest
    @EnumSource(Type.class)
    void signalIsComputedBehindTheWrapper(Type type) {
        // Threshold 0: any non-zero statistic fires, so the first evaluation grows, and the event says
        // the statistic cost forward/backward passes: the trigger saw real signals, not a stub.
        CountingTrigger signal = new CountingTrigger(GrowthTrigger.singularValueAbove(0, "h1"));
        Result r = ListenerOverhead.run(Net.DIGITS, type, "singularValueAbove(0)", ListenerOverhead.policy(
                GrowthTrigger.and(GrowthTrigger.everyIterations(100), GrowthTrigger.maxGrowths(1), signal)),
                signal, BATCHES, 200);

        assertEquals(1, signal.evaluations());
        assertEquals(1, signal.fired());
        assertEquals(1, r.growths);
        GrowthEvent e = r.listener.history().events().get(0);
        assertEquals(100, e.iteration());
        assertTrue(e.signalPasses() > 0, "signal passes: " + e.signalPasses());
        assertEquals(48, h1(r));
    }

    @org.junit.jupiter.api.Test
    void badOptionsAreRefusedWithWhatIsAllowed() {
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> ListenerOverhead.main(new String[]{"--repeats", "0"}));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("--repeats at least 1"), e.getMessage());
        e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> ListenerOverhead.main(new String[]{"--fast"}));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("--warmup N, --repeats R"), e.getMessage());
    }
}
