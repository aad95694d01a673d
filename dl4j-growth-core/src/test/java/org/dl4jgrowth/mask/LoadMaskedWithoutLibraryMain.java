package org.dl4jgrowth.mask;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.File;

/**
 * Run in a child JVM without this library's main classes: loads an exported masked network with
 * plain DL4J and writes its output and parameters. Must not reference any class of the library.
 *
 * <p>Arguments: "mln" or "graph", model zip, input file, output file, parameters file. Exit codes:
 * 0 ok, 2 the library is visible.
 */
public final class LoadMaskedWithoutLibraryMain {

    private LoadMaskedWithoutLibraryMain() {
    }

    public static void main(String[] args) throws Exception {
        try {
            Class.forName("org.dl4jgrowth.mask.ConnectionMasks");
            System.exit(2);
        } catch (ClassNotFoundException expected) {
            // a deployment JVM
        }
        File zip = new File(args[1]);
        INDArray input = Nd4j.readBinary(new File(args[2]));
        INDArray output;
        INDArray params;
        if ("graph".equals(args[0])) {
            ComputationGraph g = ModelSerializer.restoreComputationGraph(zip, false);
            output = g.outputSingle(false, input);
            params = g.params();
        } else {
            MultiLayerNetwork n = ModelSerializer.restoreMultiLayerNetwork(zip, false);
            output = n.output(input, false);
            params = n.params();
        }
        Nd4j.saveBinary(output, new File(args[3]));
        Nd4j.saveBinary(params, new File(args[4]));
        System.exit(0);
    }
}
