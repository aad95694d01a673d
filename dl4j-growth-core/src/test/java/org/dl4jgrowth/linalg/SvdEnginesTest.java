package org.dl4jgrowth.linalg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.ServiceLoader;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class SvdEnginesTest {

    @AfterEach
    void clearProperty() {
        System.clearProperty(SvdEngines.ENGINE_PROPERTY);
    }

    private static List<String> names(List<SvdEngine> engines) {
        return engines.stream().map(SvdEngine::name).collect(Collectors.toList());
    }

    @Test
    void testServiceFileRegistersAnUnavailableHighPriorityEngine() {
        // Guards the premise of the next tests: ServiceLoader really does see the test-only engine.
        List<String> loaded = ServiceLoader.load(SvdEngine.class).stream()
                .map(provider -> provider.type().getName()).collect(Collectors.toList());
        assertTrue(loaded.contains(UnavailableTestSvdEngine.class.getName()), loaded.toString());
        assertTrue(loaded.contains(ExactSvdEngine.class.getName()), loaded.toString());
        assertTrue(loaded.contains(RandomizedSvdEngine.class.getName()), loaded.toString());
    }

    @Test
    void availableIsSortedByPriorityAndSkipsUnavailableAndDuplicates() {
        assertEquals(List.of("auto", "exact", "randomized"), names(SvdEngines.available()));
    }

    @Test
    void providersAreLoadedOnceAndStillAskedForAvailabilityEachTime() {
        SvdEngine first = SvdEngines.best();
        assertSame(first, SvdEngines.best(), "the same provider instance: ServiceLoader ran once");
        assertSame(SvdEngines.named("exact"), SvdEngines.named("exact"));
        // The test-only engine is registered (first test) and still filtered out: availability is asked per call.
        assertFalse(names(SvdEngines.available()).contains(UnavailableTestSvdEngine.NAME));
    }

    @Test
    void bestPicksTheSizeAwareEngineByPriority() {
        SvdEngine best = SvdEngines.best();
        assertInstanceOf(SizeAwareSvdEngine.class, best);
        assertEquals("auto", best.name());
        assertEquals(20, best.priority());
        assertEquals(10, SvdEngines.named("exact").priority());
    }

    @Test
    void unavailableEngineIsNeverChosenEvenWhenNamed() {
        try {
            System.setProperty(SvdEngines.ENGINE_PROPERTY, UnavailableTestSvdEngine.NAME);
            IllegalStateException e = assertThrows(IllegalStateException.class, SvdEngines::best);
            assertTrue(e.getMessage().contains("'" + UnavailableTestSvdEngine.NAME + "'"), e.getMessage());
            assertTrue(e.getMessage().contains("[auto, exact, randomized]"), e.getMessage());
        } finally {
            System.clearProperty(SvdEngines.ENGINE_PROPERTY);
        }
        assertThrows(IllegalStateException.class, () -> SvdEngines.named(UnavailableTestSvdEngine.NAME));
    }

    @Test
    void systemPropertySelectsRandomized() {
        try {
            System.setProperty(SvdEngines.ENGINE_PROPERTY, "randomized");
            SvdEngine best = SvdEngines.best();
            assertInstanceOf(RandomizedSvdEngine.class, best);
            INDArray a = Nd4j.rand(DataType.DOUBLE, 30, 20);
            assertEquals("randomized", best.top(a, 2).engine());
        } finally {
            System.clearProperty(SvdEngines.ENGINE_PROPERTY);
        }
        assertEquals("auto", SvdEngines.best().name(), "clearing the property restores priority order");
    }

    @Test
    void blankPropertyMeansNoOverride() {
        try {
            System.setProperty(SvdEngines.ENGINE_PROPERTY, "  ");
            assertEquals("auto", SvdEngines.best().name());
        } finally {
            System.clearProperty(SvdEngines.ENGINE_PROPERTY);
        }
    }

    @Test
    void unknownNameListsAvailableEngines() {
        try {
            System.setProperty(SvdEngines.ENGINE_PROPERTY, "magma");
            IllegalStateException e = assertThrows(IllegalStateException.class, SvdEngines::best);
            assertEquals("unknown or unavailable SVD engine 'magma'; available: [auto, exact, randomized]", e.getMessage());
        } finally {
            System.clearProperty(SvdEngines.ENGINE_PROPERTY);
        }
    }

    @Test
    void namedLooksUpAvailableEnginesIgnoringCase() {
        assertInstanceOf(ExactSvdEngine.class, SvdEngines.named("exact"));
        assertInstanceOf(RandomizedSvdEngine.class, SvdEngines.named(" Randomized "));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> SvdEngines.named("nope"));
        assertTrue(e.getMessage().contains("[auto, exact, randomized]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SvdEngines.named(null));
    }
}
