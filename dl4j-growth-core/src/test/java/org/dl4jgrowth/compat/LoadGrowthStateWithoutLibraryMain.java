package org.dl4jgrowth.compat;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.File;

/**
 * Run in a child JVM without this library's main classes: a model file that carries the growth
 * state must load with plain DL4J. Must not reference any class of the library.
 *
 * <p>Arguments: model zip, input array file, output array file. Exit codes: 0 ok, 2 library
 * visible, 3 no growth-state entry, 4 the entry is not a JSON string.
 */
public final class LoadGrowthStateWithoutLibraryMain {
    private LoadGrowthStateWithoutLibraryMain() {
    }

    public static void main(String[] args) throws Exception {
        try {
            Class.forName("org.dl4jgrowth.GrowthController");
            System.exit(2);
        } catch (ClassNotFoundException expected) {
            // the point of the exercise
        }
        File model = new File(args[0]);
        MultiLayerNetwork net = ModelSerializer.restoreMultiLayerNetwork(model, true);
        if (!ModelSerializer.listObjectsInFile(model).contains("dl4j-growth-state")) {
            System.exit(3);
        }
        Object state = ModelSerializer.getObjectFromFile(model, "dl4j-growth-state");
        if (!(state instanceof String) || !((String) state).startsWith("{\"format\":1")) {
            System.exit(4);
        }
        INDArray input = Nd4j.readBinary(new File(args[1]));
        Nd4j.saveBinary(net.output(input), new File(args[2]));
        System.exit(0);
    }
}
