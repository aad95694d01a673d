package org.dl4jgrowth.tools;

import org.deeplearning4j.core.storage.StatsStorageEvent;
import org.deeplearning4j.core.storage.StatsStorageListener;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.ui.model.stats.StatsListener;
import org.deeplearning4j.ui.model.stats.api.StatsInitializationReport;
import org.deeplearning4j.ui.model.stats.impl.DefaultStatsUpdateConfiguration;
import org.deeplearning4j.ui.model.storage.InMemoryStatsStorage;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.GrowthListener;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import static org.dl4jgrowth.tools.BesideGrowth.ITERATIONS;
import static org.dl4jgrowth.tools.BesideGrowth.Order;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The UI's model information (parameter count, configuration, layer sizes) after growth.
 *
 * <p>DL4J 1.0.0-M2.1's {@code BaseStatsListener} posts it once per network, as a
 * {@code StatsInitializationReport} ("static info") from its private {@code doInit(Model)}, which
 * {@code iterationDone} calls only while the private {@code ModelInfo.iterCount} of that network (kept
 * in the private list {@code modelInfos}, found by identity) is 0: at iterations 0 and 1, since
 * {@code iterationDone} sets it to the iteration it reported. The grown network is the same object,
 * so the listener never posts it again: the stored static info keeps the first parameter count and
 * configuration. No public method of the listener re-posts it (nor resets {@code iterCount}).
 *
 * <p>A user can: a fresh {@code StatsListener} with the same storage, initialisation configuration,
 * session and worker IDs knows no network yet, so its {@code iterationDone} posts the static info
 * of the network as it is now, and the storage replaces the old one (it keeps one per session, type
 * and worker). With a reporting frequency above 1, {@code iterationDone(net, 0, epoch)} returns right
 * after that, before building an update report. Called from {@code onGrowth} this keeps the stored
 * model information current; {@link #repostStaticInfo} is that recipe, tested here so a DL4J change
 * in either behaviour is noticed.
 */
class StatsModelInfoAfterGrowthTest {

    static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> runs() {
        return StatsListenerBesideGrowthTest.runs();
    }

    /** A static info post: the report, and how many update reports the storage had received before it. */
    record Posted(StatsInitializationReport info, int updatesBefore) {
    }

    /** What the storage was told: static info as each arrived, the number of update reports. */
    static final class StorageLog implements StatsStorageListener {
        final InMemoryStatsStorage storage;
        final List<Posted> staticInfos = new ArrayList<>();
        final AtomicInteger updates = new AtomicInteger();

        StorageLog(InMemoryStatsStorage storage) {
            this.storage = storage;
            storage.registerStatsStorageListener(this);
        }

        @Override
        public void notify(StatsStorageEvent e) {
            if (e.getEventType() == EventType.PostStaticInfo) {
                staticInfos.add(new Posted((StatsInitializationReport) storage.getStaticInfo(e.getSessionID(),
                        e.getTypeID(), e.getWorkerID()), updates.get()));
            } else if (e.getEventType() == EventType.PostUpdate) {
                updates.incrementAndGet();
            }
        }
    }

    /** Placed after the GrowthListener, the StatsListener has the grown network in hand at each growth's iteration. */
    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void storedModelInfoKeepsTheFirstParameterCount(boolean graph) {
        Model net = BesideGrowth.net(graph);
        long initialParams = net.numParams();
        List<GrowthEvent> events = new ArrayList<>();
        GrowthListener growth = BesideGrowth.growth(events);
        InMemoryStatsStorage storage = new InMemoryStatsStorage();
        StorageLog log = new StorageLog(storage);
        StatsListener stats = new StatsListener(storage, 1);
        BesideGrowth.setListeners(net, BesideGrowth.ordered(Order.TOOL_AFTER_GROWTH, stats, growth,
                new BesideGrowth.Probe(events)));

        BesideGrowth.fit(net, BesideGrowth.trainIterator(), BesideGrowth.EPOCHS);

        assertEquals(3, growth.history().events().size());
        assertNotEquals(initialParams, net.numParams());
        assertEquals(ITERATIONS, log.updates.get(), "update reports");
        // Posted at iterations 0 and 1 (iterationDone leaves iterCount at 0 after iteration 0), before
        // their update reports, and never again: the numbers of the network before any growth.
        assertEquals(List.of(0, 1), log.staticInfos.stream().map(Posted::updatesBefore).collect(Collectors.toList()),
                "update reports before each static info post");
        for (Posted p : log.staticInfos) {
            assertEquals(initialParams, p.info().getModelNumParams());
        }
        StatsInitializationReport info = staticInfo(storage, stats);
        assertEquals(initialParams, info.getModelNumParams(), "stored parameter count");
        assertEquals(BesideGrowth.WIDTH, storedWidth(info, graph), "d1's nOut in the stored configuration");
        assertEquals(net.getClass().getName(), info.getModelClassName());
    }

    @ParameterizedTest(name = "graph={0} {1}")
    @MethodSource("runs")
    void repostingFromOnGrowthKeepsTheStoredModelInfoCurrent(boolean graph, Order order) {
        Model net = BesideGrowth.net(graph);
        InMemoryStatsStorage storage = new InMemoryStatsStorage();
        StorageLog log = new StorageLog(storage);
        StatsListener stats = new StatsListener(storage, 1);
        List<GrowthEvent> events = new ArrayList<>();
        GrowthListener growth = BesideGrowth.growth(events, e -> repostStaticInfo(stats, net));
        BesideGrowth.setListeners(net, BesideGrowth.ordered(order, stats, growth, new BesideGrowth.Probe(events)));

        BesideGrowth.fit(net, BesideGrowth.trainIterator(), BesideGrowth.EPOCHS);

        assertEquals(3, growth.history().events().size());
        // DL4J's two posts (iterations 0 and 1), then one per growth, each with the parameter count
        // right after it, in the growth's iteration (before or after that iteration's update report).
        long[] posted = log.staticInfos.stream().mapToLong(p -> p.info().getModelNumParams()).toArray();
        assertArrayEquals(new long[]{BesideGrowth.numParams(6), BesideGrowth.numParams(6), BesideGrowth.numParams(8),
                BesideGrowth.numParams(10), BesideGrowth.numParams(12)}, posted, Arrays.toString(posted));
        int report = order == Order.TOOL_BEFORE_GROWTH ? 1 : 0;
        assertEquals(List.of(0, 1, 3 + report, 6 + report, 9 + report), log.staticInfos.stream()
                .map(Posted::updatesBefore).collect(Collectors.toList()), "update reports before each static info");
        StatsInitializationReport info = staticInfo(storage, stats);
        assertEquals(net.numParams(), info.getModelNumParams());
        assertEquals(BesideGrowth.WIDTH + 3 * BesideGrowth.ADD, storedWidth(info, graph));
        // Still one session and worker, software and hardware information kept, no extra update reports.
        assertEquals(List.of(stats.getSessionID()), storage.listSessionIDs());
        assertEquals(List.of(stats.getWorkerID()), storage.listWorkerIDsForSession(stats.getSessionID()));
        assertNotNull(info.getSwJvmVersion());
        assertTrue(info.getHwJvmMaxMemory() > 0);
        assertEquals(ITERATIONS, log.updates.get(), "update reports");
    }

    /**
     * Re-posts {@code stats}' model information for {@code net} as it is now: a fresh listener with
     * the same storage, configuration and IDs posts static info at its first {@code iterationDone};
     * its reporting frequency makes it return before an update report (iteration 0 is never reported
     * when the frequency is above 1).
     */
    static void repostStaticInfo(StatsListener stats, Model net) {
        new StatsListener(stats.getStorageRouter(), stats.getInitConfig(),
                new DefaultStatsUpdateConfiguration.Builder().reportingFrequency(Integer.MAX_VALUE)
                        .collectPerformanceStats(false).build(),
                stats.getSessionID(), stats.getWorkerID())
                .iterationDone(net, 0, 0);
    }

    private static StatsInitializationReport staticInfo(InMemoryStatsStorage storage, StatsListener stats) {
        StatsInitializationReport info = (StatsInitializationReport) storage.getStaticInfo(stats.getSessionID(),
                StatsListener.TYPE_ID, stats.getWorkerID());
        assertNotNull(info, "no static info stored");
        return info;
    }

    /** d1's nOut in the configuration JSON the static info holds. */
    private static long storedWidth(StatsInitializationReport info, boolean graph) {
        String json = info.getModelConfigJson();
        if (graph) {
            LayerVertex v = (LayerVertex) ComputationGraphConfiguration.fromJson(json).getVertices()
                    .get(BesideGrowth.LAYER);
            return ((DenseLayer) v.getLayerConf().getLayer()).getNOut();
        }
        return ((DenseLayer) MultiLayerConfiguration.fromJson(json).getConf(0).getLayer()).getNOut();
    }
}
