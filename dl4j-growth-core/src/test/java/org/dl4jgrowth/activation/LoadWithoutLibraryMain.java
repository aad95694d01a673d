package org.dl4jgrowth.activation;

import java.io.File;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Run in a child JVM whose classpath lacks this library's main classes, to show what a deployment
 * JVM sees. Must not reference any class of the library itself.
 *
 * <p>Arguments: exported model zip, original model zip, input array file, output array file.
 * Exit codes: 0 ok, 2 library visible, 3 original model loaded although it should not.
 */
public final class LoadWithoutLibraryMain {

    private LoadWithoutLibraryMain() {
    }

    public static void main(String[] args) throws Exception {
        try {
            Class.forName("org.dl4jgrowth.activation.ActivationGrowthReLU");
            System.exit(2);
        } catch (ClassNotFoundException expected) {
            // the point of the exercise
        }
        MultiLayerNetwork exported = ModelSerializer.restoreMultiLayerNetwork(new File(args[0]), true);
        INDArray input = Nd4j.readBinary(new File(args[2]));
        Nd4j.saveBinary(exported.output(input), new File(args[3]));

        // Control: without the export the same kind of model must not load here, otherwise this
        // harness would not be demonstrating anything.
        boolean originalLoaded;
        try {
            ModelSerializer.restoreMultiLayerNetwork(new File(args[1]), true);
            originalLoaded = true;
        } catch (Exception | LinkageError e) {
            originalLoaded = false;
        }
        System.exit(originalLoaded ? 3 : 0);
    }
}
