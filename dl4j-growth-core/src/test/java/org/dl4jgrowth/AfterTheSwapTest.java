package org.dl4jgrowth;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.testing.NetState;
import org.dl4jgrowth.when.GrowthTrigger;
import org.dl4jgrowth.where.GrowthAmount;
import org.dl4jgrowth.where.SiteSelector;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What happens once a growth has been swapped in (a history file that stops being writable, a
 * callback that throws) and what happens when another thread asks for growth while fit() runs:
 * inside fit(), on both network types, with DL4J's listeners around the GrowthListener.
 */
class AfterTheSwapTest {

    /** Grows d1 by 2 at iterations 1, 3 and 5 (three growths in one epoch of 6 minibatches). */
    private static GrowthPolicy threeGrowths() {
        return GrowthPolicy.builder().when(GrowthTrigger.everyIterations(2).and(GrowthTrigger.maxGrowths(3)))
                .where(SiteSelector.layers("d1")).howMuch(GrowthAmount.add(2)).build();
    }

    private static void fitSix(Model net, org.deeplearning4j.optimize.api.TrainingListener... listeners) {
        MisuseTest.fitWithData(net, listeners);
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void aHistoryFileThatStopsBeingWritableIsRetriedNeverThrown(boolean graph, @TempDir Path tmp) throws Exception {
        Model net = MisuseTest.tanhNet(graph);
        Path dir = Files.createDirectory(tmp.resolve("histories"));
        Path file = dir.resolve("growth.json");
        GrowthListener[] holder = new GrowthListener[1];
        holder[0] = GrowthListener.builder().policy(threeGrowths()).historyFile(file).onGrowth(e -> {
            try {
                if (e.index() == 0) {
                    // The directory goes away after the first write: the next two writes fail.
                    Files.delete(file);
                    Files.delete(dir);
                } else if (e.index() == 2) {
                    assertTrue(holder[0].controller().historyWritePending(), "the second write failed");
                    Files.createDirectory(dir);   // back before the epoch ends: the retry succeeds
                }
            } catch (java.io.IOException io) {
                throw new java.io.UncheckedIOException(io);
            }
        }).build();
        fitSix(net, holder[0]);
        assertEquals(3, holder[0].history().size(), "every growth happened and is in the history");
        assertEquals(12, NetworkRewrite.width(net, "d1"));
        assertFalse(holder[0].controller().historyWritePending(), "written again at the epoch end");
        GrowthHistory written = GrowthHistory.fromJson(Files.readString(file));
        assertEquals(holder[0].history(), written, "the file caught up with the history in memory");
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void aThrowingCallbackIsLoggedAndTrainingGoesOn(boolean graph) {
        Model net = MisuseTest.tanhNet(graph);
        AtomicInteger calls = new AtomicInteger();
        GrowthListener g = GrowthListener.builder().policy(threeGrowths()).onGrowth(e -> {
            calls.incrementAndGet();
            throw new IllegalStateException("the user's dashboard is down");
        }).build();
        fitSix(net, g);
        assertEquals(3, g.history().size());
        assertEquals(3, calls.get(), "called at every growth, although it threw each time");
        assertEquals(12, NetworkRewrite.width(net, "d1"));
        assertEquals(7, org.dl4jgrowth.testing.TestNets.iterationCount(net), "all six iterations ran");
        // A later fit() is unaffected.
        fitSix(net, g);
        assertTrue(Double.isFinite(net.score()));
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void growthFromAnotherThreadWhileFitRunsIsRefusedNamingTheTrainingThread(boolean graph) throws Exception {
        Model net = MisuseTest.tanhNet(graph);
        GrowthListener g = new GrowthListener(GrowthPolicy.builder().when(GrowthTrigger.atIterations(1000))
                .where(SiteSelector.layers("d1")).howMuch(GrowthAmount.add(2)).build());
        AtomicReference<Throwable> refused = new AtomicReference<>();
        List<String> trainingThread = new ArrayList<>();
        BaseTrainingListener intruder = new BaseTrainingListener() {
            @Override
            public void iterationDone(Model model, int iteration, int epoch) {
                if (trainingThread.isEmpty()) {
                    trainingThread.add(Thread.currentThread().getName());
                    Thread other = new Thread(() -> {
                        try {
                            g.controller().growNow(model);
                        } catch (Throwable t) {
                            refused.set(t);
                        }
                    }, "dashboard-thread");
                    other.start();
                    try {
                        other.join();
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                }
            }
        };
        NetState before = NetState.of(net);
        fitSix(net, intruder, g);
        assertNotNull(refused.get(), "the other thread's growth was refused");
        assertEquals(IllegalStateException.class, refused.get().getClass());
        assertTrue(refused.get().getMessage().contains("'dashboard-thread'"), refused.get().getMessage());
        assertTrue(refused.get().getMessage().contains("'" + trainingThread.get(0) + "'"), refused.get().getMessage());
        assertEquals(6, NetworkRewrite.width(net, "d1"), "nothing grew");
        assertEquals(0, g.history().size());
        assertEquals(before.iterations + 6, NetState.of(net).iterations, "training was not disturbed");

        // Once fit() has returned, another thread may grow the network.
        AtomicReference<Throwable> after = new AtomicReference<>();
        Thread later = new Thread(() -> {
            try {
                g.controller().growNow(net);
            } catch (Throwable t) {
                after.set(t);
            }
        });
        later.start();
        later.join();
        assertEquals(null, after.get());
        assertEquals(8, NetworkRewrite.width(net, "d1"));
    }

    /** A fit() that ended by an exception leaves no guard behind: another thread may grow afterwards. */
    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void afterAFitThatThrewAnotherThreadMayGrow(boolean graph) throws Exception {
        Model net = MisuseTest.tanhNet(graph);
        GrowthListener g = new GrowthListener(GrowthPolicy.builder().when(GrowthTrigger.atIterations(1000))
                .where(SiteSelector.layers("d1")).howMuch(GrowthAmount.add(2)).build());
        BaseTrainingListener failing = new BaseTrainingListener() {
            @Override
            public void iterationDone(Model model, int iteration, int epoch) {
                throw new IllegalStateException("a listener of the user's failed");
            }
        };
        org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, () -> fitSix(net, g, failing));
        assertEquals(null, growOnOtherThread(g, net), "fit() is over: the other thread may grow");
        assertEquals(8, NetworkRewrite.width(net, "d1"));
    }

    /** Between the fit(DataSet) calls of a loop, after an epoch-based fit(), another thread may grow. */
    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void betweenFitCallsOfALoopAnotherThreadMayGrow(boolean graph) throws Exception {
        Model net = MisuseTest.tanhNet(graph);
        GrowthListener g = new GrowthListener(GrowthPolicy.builder().when(GrowthTrigger.atIterations(1000))
                .where(SiteSelector.layers("d1")).howMuch(GrowthAmount.add(2)).build());
        fitSix(net, g);
        for (int round = 0; round < 2; round++) {
            org.dl4jgrowth.testing.TestNets.fit(net, MisuseTest.data(8, 30 + round));
            assertEquals(null, growOnOtherThread(g, net), "between two fit(DataSet) calls");
        }
        assertEquals(10, NetworkRewrite.width(net, "d1"));
    }

    /** A loop that adds the listener again before each fit() is refused at the second fit, before it trains. */
    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void addingTheListenerAgainIsRefusedAtTheNextFit(boolean graph) {
        Model net = MisuseTest.tanhNet(graph);
        GrowthListener g = new GrowthListener(threeGrowths());
        net.setListeners(g);
        org.dl4jgrowth.testing.TestNets.fit(net, MisuseTest.data(8, 40));
        net.addListeners(g);
        NetState before = NetState.of(net);
        IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> org.dl4jgrowth.testing.TestNets.fit(net, MisuseTest.data(8, 41)));
        assertTrue(e.getMessage().contains("attached 2 times"), e.getMessage());
        assertArrayEquals(before.params, NetState.of(net).params, 0.0);
        assertEquals(before.iterations, NetState.of(net).iterations);
    }

    private static Throwable growOnOtherThread(GrowthListener g, Model net) throws InterruptedException {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                g.controller().growNow(net);
            } catch (Throwable e) {
                failure.set(e);
            }
        }, "other");
        t.start();
        t.join();
        return failure.get();
    }
}
