package org.dl4jgrowth.linalg;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.stream.Collectors;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Discovery and selection of {@link SvdEngine}s through {@link ServiceLoader}, so a backend module (e.g.
 * a CUDA one) can contribute a faster engine just by being on the classpath.
 *
 * <p>Selection: the available engine with the highest {@link SvdEngine#priority()}, unless the system
 * property {@value #ENGINE_PROPERTY} names one explicitly. The built-ins are {@link ExactSvdEngine}
 * ("exact", priority 10) and {@link RandomizedSvdEngine} ("randomized", priority 5, Halko et al. 2011).
 */
public final class SvdEngines {

    /** System property naming the engine {@link #best()} must return. */
    public static final String ENGINE_PROPERTY = "dl4jgrowth.svd.engine";

    private static final Logger LOG = LoggerFactory.getLogger(SvdEngines.class);

    private SvdEngines() {
    }

    /**
     * All engines registered via {@link ServiceLoader} that are available on the current ND4J backend,
     * highest priority first (ties broken by name so the order is deterministic).
     */
    public static List<SvdEngine> available() {
        // Keyed by name: several service files on the classpath may list the same implementation.
        Map<String, SvdEngine> byName = new LinkedHashMap<>();
        for (SvdEngine engine : registered()) {
            if (isAvailable(engine)) {
                byName.putIfAbsent(engine.name(), engine);
            }
        }
        List<SvdEngine> engines = new ArrayList<>(byName.values());
        engines.sort(Comparator.comparingInt(SvdEngine::priority).reversed().thenComparing(SvdEngine::name));
        return List.copyOf(engines);
    }

    /**
     * The engine to use: the one named by {@value #ENGINE_PROPERTY} if that property is set and
     * non-blank, otherwise the available engine with the highest priority.
     *
     * @throws IllegalStateException if the named engine is unknown or unavailable, or no engine is available
     */
    public static SvdEngine best() {
        String requested = System.getProperty(ENGINE_PROPERTY);
        if (requested != null && !requested.isBlank()) {
            return named(requested);
        }
        List<SvdEngine> engines = available();
        if (engines.isEmpty()) {
            throw new IllegalStateException("no SVD engine is available on the current ND4J backend");
        }
        return engines.get(0);
    }

    /**
     * The available engine with the given name (case-insensitive, surrounding whitespace ignored).
     *
     * @throws IllegalStateException listing the available names if there is no such available engine
     */
    public static SvdEngine named(String name) {
        if (name == null) {
            throw new IllegalArgumentException("engine name must not be null");
        }
        String wanted = name.trim();
        List<SvdEngine> engines = available();
        for (SvdEngine engine : engines) {
            if (engine.name().equalsIgnoreCase(wanted)) {
                return engine;
            }
        }
        throw new IllegalStateException("unknown or unavailable SVD engine '" + wanted + "'; available: "
                + engines.stream().map(SvdEngine::name).collect(Collectors.joining(", ", "[", "]")));
    }

    /**
     * The engines {@link ServiceLoader} finds through the thread's context class loader, loaded again
     * only when that loader changes: loading instantiates every provider, which at every GradMax event
     * (as it ran before) was a visible part of the event's bookkeeping. Availability is still asked
     * at every call (an engine may depend on state that changes, as a test's does). Only the last
     * loader's engines are kept.
     */
    private static List<SvdEngine> registered() {
        ClassLoader loader = Thread.currentThread().getContextClassLoader();
        Registered r = registered;
        if (r != null && r.loader == loader) {
            return r.engines;
        }
        List<SvdEngine> found = new ArrayList<>();
        Iterator<SvdEngine> it = ServiceLoader.load(SvdEngine.class).iterator();
        while (true) {
            try {
                if (!it.hasNext()) {
                    break;
                }
                found.add(it.next());
            } catch (ServiceConfigurationError e) {
                // A provider whose backend classes are missing must not hide the working ones.
                LOG.warn("Skipping SVD engine that could not be loaded: {}", e.getMessage());
            }
        }
        registered = new Registered(loader, List.copyOf(found));
        return registered.engines;
    }

    private static final class Registered {
        final ClassLoader loader;
        final List<SvdEngine> engines;

        Registered(ClassLoader loader, List<SvdEngine> engines) {
            this.loader = loader;
            this.engines = engines;
        }
    }

    private static volatile Registered registered;

    private static boolean isAvailable(SvdEngine engine) {
        try {
            return engine.isAvailable();
        } catch (RuntimeException | LinkageError e) {
            LOG.warn("SVD engine {} failed its availability check: {}", engine.getClass().getName(), e.toString());
            return false;
        }
    }
}
