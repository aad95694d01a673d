package org.dl4jgrowth.tools;

import org.deeplearning4j.core.storage.Persistable;
import org.deeplearning4j.core.storage.StatsStorageEvent;
import org.deeplearning4j.core.storage.StatsStorageListener;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.deeplearning4j.ui.model.stats.StatsListener;
import org.deeplearning4j.ui.model.stats.api.Histogram;
import org.deeplearning4j.ui.model.stats.api.StatsReport;
import org.deeplearning4j.ui.model.stats.api.StatsType;
import org.deeplearning4j.ui.model.storage.InMemoryStatsStorage;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.GrowthListener;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.dl4jgrowth.tools.BesideGrowth.ITERATIONS;
import static org.dl4jgrowth.tools.BesideGrowth.Order;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DL4J's StatsListener (the training UI's data source) beside a GrowthListener that grows the network
 * three times inside fit(), placed before it and after it, on both network types. The StatsListener
 * reads {@code model.gradient()}, {@code score()} and every parameter in its {@code iterationDone}:
 * after the GrowthListener it meets the network in the very callback that grew it, which died with a
 * NullPointerException when the swap left no gradient.
 */
class StatsListenerBesideGrowthTest {

    static Stream<Arguments> runs() {
        List<Arguments> a = new ArrayList<>();
        for (boolean graph : new boolean[]{false, true}) {
            for (Order order : Order.values()) {
                a.add(Arguments.of(graph, order));
            }
        }
        return a.stream();
    }

    @ParameterizedTest(name = "graph={0} {1}")
    @MethodSource("runs")
    void statsListenerReportsTheGrownNetworkEveryIteration(boolean graph, Order order) {
        Model net = BesideGrowth.net(graph);
        List<GrowthEvent> events = new ArrayList<>();
        GrowthListener growth = BesideGrowth.growth(events);
        BesideGrowth.Probe probe = new BesideGrowth.Probe(events);
        InMemoryStatsStorage storage = new InMemoryStatsStorage();
        List<StatsReport> reports = new ArrayList<>();
        storage.registerStatsStorageListener(new Recorder(storage, reports));
        StatsListener stats = new StatsListener(storage, 1);
        TrainingListener[] listeners = BesideGrowth.ordered(order, stats, growth, probe);
        BesideGrowth.setListeners(net, listeners);

        BesideGrowth.fit(net, BesideGrowth.trainIterator(), BesideGrowth.EPOCHS);

        BesideGrowth.assertThreeGrowths(growth.history().events(), events, net);
        probe.assertSawGrownNetworkWithGradient();
        assertEquals(Arrays.asList(listeners), new ArrayList<>(BesideGrowth.listeners(net)), "listeners changed");

        // One report per iteration (frequency 1), each as the StatsListener saw the network: d1's
        // weight histogram counts W's entries, the update histogram (from model.gradient()) its
        // gradient's. After the GrowthListener both are grown at the growth's own iteration.
        assertEquals(IntStream.range(0, ITERATIONS).boxed().collect(Collectors.toList()),
                reports.stream().map(StatsReport::getIterationCount).collect(Collectors.toList()), "reports");
        String w = BesideGrowth.weightKey(net);
        for (StatsReport r : reports) {
            int width = BesideGrowth.widthSeenAt(r.getIterationCount(), order);
            assertTrue(Double.isFinite(r.getScore()), "score at iteration " + r.getIterationCount());
            assertEquals(BesideGrowth.INPUTS * width, count(r, StatsType.Parameters, w),
                    "parameter histogram of " + w + " at iteration " + r.getIterationCount());
            assertEquals(BesideGrowth.INPUTS * width, count(r, StatsType.Updates, w),
                    "update histogram of " + w + " at iteration " + r.getIterationCount());
        }

        // The storage holds the reports from the last growth's iteration on, the last iteration's
        // the latest, describing the grown network. (Its update map is keyed by millisecond, so
        // reports made within one millisecond replace each other there; the Recorder saw each one.)
        String session = stats.getSessionID();
        String worker = stats.getWorkerID();
        assertEquals(List.of(session), storage.listSessionIDs());
        long lastGrowth = BesideGrowth.GROWTH_ITERATIONS.get(2);
        List<Persistable> fromLastGrowth = storage.getAllUpdatesAfter(session, StatsListener.TYPE_ID, worker,
                reports.get((int) lastGrowth).getTimeStamp() - 1);
        StatsReport latest = (StatsReport) storage.getLatestUpdate(session, StatsListener.TYPE_ID, worker);
        assertNotNull(latest);
        assertEquals(ITERATIONS - 1, latest.getIterationCount());
        assertFalse(fromLastGrowth.isEmpty(), "nothing stored from the last growth on");
        assertSame(latest, fromLastGrowth.get(fromLastGrowth.size() - 1));
        for (Persistable p : fromLastGrowth) {
            assertTrue(((StatsReport) p).getIterationCount() >= lastGrowth, "stored out of order: " + p);
        }
        assertEquals(BesideGrowth.INPUTS * (BesideGrowth.WIDTH + 3 * BesideGrowth.ADD),
                count(latest, StatsType.Parameters, w));
    }

    /** The number of values a report's histogram of {@code key} counted. */
    static long count(StatsReport r, StatsType type, String key) {
        Histogram h = r.getHistograms(type).get(key);
        assertNotNull(h, type + " histogram of " + key + " at iteration " + r.getIterationCount() + ": "
                + r.getHistograms(type).keySet());
        return Arrays.stream(h.getBinCounts()).asLongStream().sum();
    }

    /**
     * Keeps every report as it is put into the storage: the storage notifies its listeners right after
     * putting it, when the latest update is the one just put.
     */
    static final class Recorder implements StatsStorageListener {
        private final InMemoryStatsStorage storage;
        private final List<StatsReport> reports;

        Recorder(InMemoryStatsStorage storage, List<StatsReport> reports) {
            this.storage = storage;
            this.reports = reports;
        }

        @Override
        public void notify(StatsStorageEvent event) {
            if (event.getEventType() == EventType.PostUpdate) {
                reports.add((StatsReport) storage.getLatestUpdate(event.getSessionID(), event.getTypeID(),
                        event.getWorkerID()));
            }
        }
    }
}
