package org.dl4jgrowth.cuda;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

import org.dl4jgrowth.linalg.ExactSvdEngine;
import org.dl4jgrowth.linalg.SvdAssertions;
import org.dl4jgrowth.linalg.TopSvd;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The CPU engine's answers on GradMax I's engine-test matrices (a Gaussian and a known geometric spectrum,
 * 40x60 and 60x40, FLOAT and DOUBLE), stored as a test resource so that a JVM on the CUDA backend, which
 * cannot also run the CPU backend, can compare against them. {@link CpuSvdReferenceTest} checks on the CPU
 * that the resource still is what the CPU engine computes, and rewrites it when asked.
 */
final class CpuSvdReference {

    static final String RESOURCE = "cpu-svd-reference.bin.gz";
    static final int K = 6;

    /** One matrix (always stored in DOUBLE) and the CPU engine's top-K triplets for it in {@code type}. */
    static final class Case {
        final String name;
        final DataType type;
        final INDArray matrix;
        final TopSvd cpu;

        Case(String name, DataType type, INDArray matrix, TopSvd cpu) {
            this.name = name;
            this.type = type;
            this.matrix = matrix;
            this.cpu = cpu;
        }

        INDArray input() {
            return matrix.castTo(type);
        }

        @Override
        public String toString() {
            return name + " " + type;
        }
    }

    private CpuSvdReference() {
    }

    /** The matrices, generated with ND4J's seeded RNG on the active backend (meaningful on the CPU). */
    static List<String> names() {
        return List.of("gaussian 40x60", "gaussian 60x40", "spectrum 40x60", "spectrum 60x40");
    }

    static INDArray generate(String name) {
        String[] parts = name.split("[ x]");
        int rows = Integer.parseInt(parts[1]);
        int cols = Integer.parseInt(parts[2]);
        return parts[0].equals("gaussian")
                ? SvdAssertions.gaussian(rows, cols, 11)
                : SvdAssertions.withSpectrum(rows, cols, SvdAssertions.geometric(Math.min(rows, cols), 5.0, 0.8), 21);
    }

    /** Computes every case with the exact engine on the active backend. */
    static List<Case> compute() {
        ExactSvdEngine exact = new ExactSvdEngine();
        List<Case> cases = new ArrayList<>();
        for (String name : names()) {
            INDArray m = generate(name);
            for (DataType type : List.of(DataType.FLOAT, DataType.DOUBLE)) {
                cases.add(new Case(name, type, m, exact.top(m.castTo(type), K)));
            }
        }
        return cases;
    }

    static void write(List<Case> cases, Path file) {
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file));
             DataOutputStream data = new DataOutputStream(out)) {
            data.writeInt(cases.size());
            for (Case c : cases) {
                data.writeUTF(c.name);
                data.writeUTF(c.type.name());
                Nd4j.write(c.matrix, data);
                Nd4j.write(c.cpu.singularValues(), data);
                Nd4j.write(c.cpu.left(), data);
                Nd4j.write(c.cpu.right(), data);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<Case> read() {
        InputStream resource = CpuSvdReference.class.getResourceAsStream(RESOURCE);
        if (resource == null) {
            throw new IllegalStateException("test resource " + RESOURCE + " is missing next to " + CpuSvdReference.class);
        }
        try (DataInputStream data = new DataInputStream(new GZIPInputStream(resource))) {
            int n = data.readInt();
            List<Case> cases = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                String name = data.readUTF();
                DataType type = DataType.valueOf(data.readUTF());
                INDArray m = Nd4j.read(data);
                INDArray s = Nd4j.read(data);
                INDArray u = Nd4j.read(data);
                INDArray v = Nd4j.read(data);
                cases.add(new Case(name, type, m, new TopSvd(s, u, v, K, ExactSvdEngine.NAME)));
            }
            return cases;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
