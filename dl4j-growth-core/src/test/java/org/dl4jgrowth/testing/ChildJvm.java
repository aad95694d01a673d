package org.dl4jgrowth.testing;

import java.io.File;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs a main class in a child JVM whose classpath lacks this library's main classes: what a
 * deployment with plain DL4J sees.
 */
public final class ChildJvm {
    private ChildJvm() {
    }

    /** The test classpath without the directory (or jar) holding {@code libraryClass}. */
    public static String classpathWithout(Class<?> libraryClass) throws URISyntaxException {
        Path mainClasses = Paths.get(libraryClass.getProtectionDomain().getCodeSource().getLocation().toURI())
                .toAbsolutePath().normalize();
        List<String> kept = new ArrayList<>();
        boolean removed = false;
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (entry.isEmpty()) {
                continue;
            }
            if (Paths.get(entry).toAbsolutePath().normalize().equals(mainClasses)) {
                removed = true;
            } else {
                kept.add(entry);
            }
        }
        assertTrue(removed, "did not find " + mainClasses + " on the test classpath");
        return String.join(File.pathSeparator, kept);
    }

    /** Runs {@code main} with {@code args} on that classpath; returns its exit code, its output in {@code log}. */
    public static int run(Class<?> libraryClass, Class<?> main, Path log, String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-cp");
        cmd.add(classpathWithout(libraryClass));
        cmd.add(main.getName());
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), "child JVM timed out: " + Files.readString(log,
                StandardCharsets.UTF_8));
        return p.exitValue();
    }
}
