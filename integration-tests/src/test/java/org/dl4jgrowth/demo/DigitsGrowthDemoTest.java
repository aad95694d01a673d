package org.dl4jgrowth.demo;

import org.dl4jgrowth.DeviceReport;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The main job runs offline and prints the growth events and the comparison it promises. */
class DigitsGrowthDemoTest {

    @Test
    void demoPrintsEachGrowthAndTheComparison() {
        PrintStream saved = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            DigitsGrowthDemo.main(new String[0]);
        } finally {
            System.setOut(saved);
        }
        String out = buf.toString(StandardCharsets.UTF_8);
        saved.println(out);
        // The same backend, device and engine as this JVM's report (free memory changes between the two).
        DeviceReport report = DeviceReport.current();
        Matcher device = Pattern.compile("(?m)^ND4J backend " + Pattern.quote(report.backendKind() + " ("
                + report.backendClass()) + ".*, device " + Math.max(report.deviceId(), 0) + " of \\d+ .*free memory "
                + "[\\d.]+ [KMGT]iB of [\\d.]+ [KMGT]iB, default " + report.defaultDataType() + ", SVD engine "
                + Pattern.quote(report.svdEngine()) + "$").matcher(out);
        assertTrue(device.find(), "one line says where the demo runs: " + out);
        Matcher growths = Pattern.compile("growth #\\d+ at iteration \\d+, epoch \\d+ \\(end\\): \\[h1 (\\d+)->(\\d+)\\]")
                .matcher(out);
        int n = 0;
        int last = 4;
        while (growths.find()) {
            assertEquals(last, Integer.parseInt(growths.group(1)));
            last = Integer.parseInt(growths.group(2));
            n++;
        }
        assertEquals(3, n, "three growth events");
        assertEquals(28, last);
        Matcher grown = Pattern.compile("grown during fit\\(\\)\\s+28\\s+2110\\s+(0\\.\\d+)").matcher(out);
        assertTrue(grown.find(), out);
        assertTrue(Double.parseDouble(grown.group(1)) > 0.85, "grown network learned the digits");
        Matcher firefly = Pattern.compile("grown by Firefly\\s+(\\d+)\\s+\\d+\\s+(0\\.\\d+)").matcher(out);
        assertTrue(firefly.find(), out);
        assertTrue(Integer.parseInt(firefly.group(1)) > 4, "Firefly grew h1");
        assertTrue(Double.parseDouble(firefly.group(2)) > 0.85, "the Firefly-grown network learned the digits");
        assertTrue(Pattern.compile("Firefly: [1-9]\\d* growth events").matcher(out).find(), out);
        assertTrue(out.contains("fixed small") && out.contains("fixed large"), out);
        assertTrue(out.contains("3 growth events"), out);
    }
}
