package org.dl4jgrowth.network;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The build rule behind "MultiLayerNetwork/ComputationGraph differences live in one adapter": no
 * main source of the core module tests for the network class, except {@link NetworkAdapter}.
 */
class OneAdapterRuleTest {
    private static final Pattern TYPE_TEST = Pattern.compile(
            "instanceof\\s+(org\\.deeplearning4j\\.nn\\.(multilayer|graph)\\.)?(MultiLayerNetwork|ComputationGraph)\\b"
                    + "|(MultiLayerNetwork|ComputationGraph)\\.class\\.isInstance");

    @Test
    void onlyTheAdapterTestsForTheNetworkClass() throws IOException {
        Path main = Path.of("src/main/java");
        assertTrue(Files.isDirectory(main), "run from the core module: " + main.toAbsolutePath());
        List<String> offenders = new ArrayList<>();
        int inAdapter = 0;
        try (Stream<Path> files = Files.walk(main)) {
            for (Path f : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".java"))::iterator) {
                List<String> lines = Files.readAllLines(f);
                for (int i = 0; i < lines.size(); i++) {
                    if (TYPE_TEST.matcher(lines.get(i)).find()) {
                        if (f.getFileName().toString().equals("NetworkAdapter.java")) {
                            inAdapter++;
                        } else {
                            offenders.add(main.relativize(f) + ":" + (i + 1) + ": " + lines.get(i).trim());
                        }
                    }
                }
            }
        }
        assertEquals(2, inAdapter, "the rule sees the adapter's own two type tests (so it scans what it should)");
        assertEquals(List.of(), offenders, "network-class tests outside NetworkAdapter");
    }
}
