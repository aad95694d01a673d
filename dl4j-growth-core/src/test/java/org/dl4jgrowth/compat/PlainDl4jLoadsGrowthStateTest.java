package org.dl4jgrowth.compat;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.dl4jgrowth.GrowthController;
import org.dl4jgrowth.GrowthState;
import org.dl4jgrowth.testing.ChildJvm;
import org.dl4jgrowth.testing.TestNets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.File;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A model file written by dl4j-growth 0.1.0 with its growth state (checked in: two growths of
 * Dense->Dense->Output and a registered companion array) loads with plain DL4J, without this
 * library on the classpath, and computes what it computes here; and this version reads its state.
 */
class PlainDl4jLoadsGrowthStateTest {
    @TempDir
    Path tmp;

    @Test
    void aFileWithGrowthStateLoadsWithoutThisLibraryAndItsStateReadsHere() throws Exception {
        File model = tmp.resolve("model.zip").toFile();
        try (InputStream in = getClass().getResourceAsStream("/compat/model-with-growth-state-0.1.0.zip")) {
            Files.copy(in, model.toPath());
        }
        GrowthState state = GrowthController.stateFrom(model);
        assertEquals(2, state.history().size());
        assertEquals(1, state.companions().size());
        assertArrayEquals(new long[]{4, 10}, state.companions().get(0).shape(), "the mask followed the second growth");

        MultiLayerNetwork here = ModelSerializer.restoreMultiLayerNetwork(model, true);
        INDArray x = TestNets.DENSE_DENSE.input(5, 2, DataType.FLOAT);
        File in = tmp.resolve("in.bin").toFile();
        File out = tmp.resolve("out.bin").toFile();
        Nd4j.saveBinary(x, in);
        Path log = tmp.resolve("child.log");
        int exit = ChildJvm.run(GrowthController.class, LoadGrowthStateWithoutLibraryMain.class, log,
                model.getPath(), in.getPath(), out.getPath());
        assertEquals(0, exit, Files.readString(log, StandardCharsets.UTF_8));
        assertArrayEquals(here.output(x).ravel().toFloatVector(), Nd4j.readBinary(out).ravel().toFloatVector(), 0f);
    }
}
