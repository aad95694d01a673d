package org.dl4jgrowth.tools;

import org.deeplearning4j.nn.api.Model;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.cuda.CudaSvdEngine;
import org.dl4jgrowth.when.GrowthTrigger;
import org.dl4jgrowth.where.GrowthAmount;
import org.dl4jgrowth.where.SiteSelector;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A project with deeplearning4j-ui-model (through mapdb 3.0.5's guava [15.0, 19.20)) gets Guava 19.0,
 * which lacks the primitive overloads Guava 20 added ({@code checkArgument(boolean, String, int)}):
 * with a direct Guava dependency every policy builder died of NoSuchMethodError there. This module's
 * test classpath is such a project; the library calls DL4J's shaded copy (org.nd4j.shade.guava) only.
 */
class GuavaConflictTest {

    /** The premise: without it the other tests here would prove nothing. */
    @Test
    void guava19WithoutThePrimitiveOverloadsIsOnThisClasspath() throws Exception {
        Class<?> preconditions = Class.forName("com.google.common.base.Preconditions");
        String jar = preconditions.getProtectionDomain().getCodeSource().getLocation().getPath();
        assertTrue(jar.endsWith("/guava-19.0.jar"), "Guava from " + jar + ", not mapdb's 19.0");
        assertThrows(NoSuchMethodException.class,
                () -> preconditions.getMethod("checkArgument", boolean.class, String.class, int.class),
                "this Guava has checkArgument(boolean, String, int): the conflict is gone from the classpath");
        assertNotNull(preconditions.getMethod("checkArgument", boolean.class, String.class, Object[].class));
        // The copy the library calls has the overload.
        assertNotNull(org.nd4j.shade.guava.base.Preconditions.class
                .getMethod("checkArgument", boolean.class, String.class, int.class));
    }

    /** Any reference to unshaded Guava would resolve against 19.0 in such a project; there is none. */
    @Test
    void noClassOfTheLibraryReferencesUnshadedGuava() throws Exception {
        List<String> scanned = new ArrayList<>();
        List<String> referencing = new ArrayList<>();
        for (Class<?> anchor : List.of(GrowthPolicy.class, CudaSvdEngine.class)) {
            Path location = Path.of(anchor.getProtectionDomain().getCodeSource().getLocation().toURI());
            forEachClass(location, (name, bytes) -> {
                scanned.add(name);
                // Class references and descriptors in the constant pool are UTF-8 internal names.
                if (new String(bytes, StandardCharsets.ISO_8859_1).contains("com/google/common/")) {
                    referencing.add(name);
                }
            });
        }
        assertTrue(scanned.stream().anyMatch(n -> n.endsWith("org/dl4jgrowth/where/GrowthAmount.class")), "scanned "
                + scanned.size() + " classes");
        assertTrue(scanned.stream().anyMatch(n -> n.endsWith("org/dl4jgrowth/cuda/CudaSvdEngine.class")));
        assertEquals(List.of(), referencing, "classes referencing com.google.common");
    }

    /**
     * The builders that call Preconditions with int arguments, then a growth inside fit(): each of
     * them failed with NoSuchMethodError on this classpath before the switch to the shaded copy.
     */
    @Test
    void policyBuildersWorkAndTheNetworkGrowsInsideFit() {
        GrowthPolicy policy = GrowthPolicy.builder()
                .when(GrowthTrigger.everyIterations(5).and(GrowthTrigger.maxGrowths(2)))
                .where(SiteSelector.layers(BesideGrowth.LAYER))
                .howMuch(GrowthAmount.add(8))
                .maxWidth(32)
                .maxWidth(BesideGrowth.LAYER, 32)
                .seed(3)
                .build();
        assertEquals(policy, GrowthPolicy.fromJson(policy.toJson()));
        List<GrowthEvent> seen = new ArrayList<>();
        GrowthListener growth = GrowthListener.builder().policy(policy)
                .growthData(BesideGrowth.trainIterator(), 2)
                .onGrowth(seen::add).build();
        Model net = BesideGrowth.net(false);
        BesideGrowth.setListeners(net, growth);

        BesideGrowth.fit(net, BesideGrowth.trainIterator(), BesideGrowth.EPOCHS);

        // 6 -> 14 -> 22 at iterations 5 and 10.
        assertEquals(List.of(5L, 10L), seen.stream().map(GrowthEvent::iteration).collect(Collectors.toList()));
        assertEquals(seen, growth.history().events());
        assertEquals(BesideGrowth.WIDTH + 2 * 8, BesideGrowth.width(net));
        assertEquals(BesideGrowth.numParams(BesideGrowth.WIDTH + 2 * 8), net.numParams());
        assertTrue(Double.isFinite(net.score()));
    }

    interface ClassVisitor {
        void visit(String name, byte[] bytes) throws IOException;
    }

    /** Every .class file under a classes directory or in a jar (the reactor hands over either). */
    static void forEachClass(Path location, ClassVisitor visitor) throws IOException, URISyntaxException {
        if (Files.isDirectory(location)) {
            try (Stream<Path> files = Files.walk(location)) {
                for (Path p : files.filter(f -> f.toString().endsWith(".class")).collect(Collectors.toList())) {
                    visitor.visit(location.relativize(p).toString().replace('\\', '/'), Files.readAllBytes(p));
                }
            }
            return;
        }
        try (JarFile jar = new JarFile(location.toFile())) {
            for (JarEntry e : java.util.Collections.list(jar.entries())) {
                if (e.getName().endsWith(".class")) {
                    try (InputStream in = jar.getInputStream(e)) {
                        visitor.visit(e.getName(), in.readAllBytes());
                    }
                }
            }
        }
    }
}
