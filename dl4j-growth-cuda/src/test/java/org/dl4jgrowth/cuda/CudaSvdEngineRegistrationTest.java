package org.dl4jgrowth.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.util.List;
import java.util.ServiceLoader;
import java.util.stream.Collectors;

import org.dl4jgrowth.linalg.ExactSvdEngine;
import org.dl4jgrowth.linalg.RandomizedSvdEngine;
import org.dl4jgrowth.linalg.SvdEngine;
import org.dl4jgrowth.linalg.SvdEngines;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** How the CUDA engine is found and ranked, on whatever backend the tests run (the CPU one here). */
class CudaSvdEngineRegistrationTest {

    private String savedProperty;

    @BeforeEach
    void clearProperty() {
        savedProperty = System.clearProperty(SvdEngines.ENGINE_PROPERTY);
    }

    @AfterEach
    void restoreProperty() {
        if (savedProperty == null) {
            System.clearProperty(SvdEngines.ENGINE_PROPERTY);
        } else {
            System.setProperty(SvdEngines.ENGINE_PROPERTY, savedProperty);
        }
    }

    private static List<String> names(List<SvdEngine> engines) {
        return engines.stream().map(SvdEngine::name).collect(Collectors.toList());
    }

    @Test
    void isRegisteredThroughTheServiceFileOfThisModule() {
        List<Class<?>> types = ServiceLoader.load(SvdEngine.class).stream().map(ServiceLoader.Provider::type)
                .collect(Collectors.toList());
        assertTrue(types.contains(CudaSvdEngine.class), types.toString());
    }

    @Test
    void outranksTheBuiltInEngines() {
        CudaSvdEngine cuda = new CudaSvdEngine();
        assertEquals("cuda", cuda.name());
        assertTrue(cuda.priority() > ExactSvdEngine.PRIORITY && cuda.priority() > RandomizedSvdEngine.PRIORITY);
    }

    @Test
    void isNeverChosenOnTheCpuBackend() {
        assumeFalse(CudaBackend.isActive(), "on the CUDA backend the engine is meant to be chosen");
        assertFalse(new CudaSvdEngine().isAvailable());
        List<String> available = names(SvdEngines.available());
        assertFalse(available.contains("cuda"), available.toString());
        assertEquals(List.of("auto", "exact", "randomized"), available);
        assertEquals("auto", SvdEngines.best().name());
    }

    @Test
    void anAvailableEngineAtItsPriorityIsRankedFirst() {
        assumeFalse(CudaBackend.isActive(), "on the CUDA backend the real engine ties with the simulated one");
        // The real engine code with the backend check switched on: what SvdEngines does on a GPU.
        SimulatedCudaSvdEngine.whileActive(() -> {
            assertEquals(SimulatedCudaSvdEngine.NAME, SvdEngines.best().name());
            assertEquals(List.of(SimulatedCudaSvdEngine.NAME, "auto", "exact", "randomized"), names(SvdEngines.available()));
        });
        assertEquals("auto", SvdEngines.best().name(), "switched off again");
    }

    @Test
    void thePropertyOverridesTheRanking() {
        System.setProperty(SvdEngines.ENGINE_PROPERTY, "randomized");
        assertEquals("randomized", SvdEngines.best().name());
        SimulatedCudaSvdEngine.whileActive(() -> assertEquals("randomized", SvdEngines.best().name()));
        System.setProperty(SvdEngines.ENGINE_PROPERTY, " Exact ");
        assertEquals("exact", SvdEngines.best().name());
    }

    @Test
    void namingTheUnavailableCudaEngineIsRefusedWithTheAlternatives() {
        assumeFalse(CudaBackend.isActive(), "on the CUDA backend the engine is available");
        System.setProperty(SvdEngines.ENGINE_PROPERTY, "cuda");
        IllegalStateException e = assertThrows(IllegalStateException.class, SvdEngines::best);
        assertTrue(e.getMessage().contains("'cuda'") && e.getMessage().contains("[auto, exact, randomized]"),
                e.getMessage());
    }
}
