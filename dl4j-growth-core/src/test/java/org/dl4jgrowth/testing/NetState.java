package org.dl4jgrowth.testing;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.updater.BaseMultiLayerUpdater;
import org.deeplearning4j.nn.updater.UpdaterBlock;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything a rewrite must keep or restore, captured as plain Java values for exact comparison:
 * configuration JSON, every parameter, every optimizer-state component, and the counts.
 */
public final class NetState {
    public final String json;
    public final double[] params;
    public final double[] updaterState;
    public final long iterations;
    public final long epochs;

    private NetState(Model net) {
        this.json = net instanceof MultiLayerNetwork ? ((MultiLayerNetwork) net).getLayerWiseConfigurations().toJson()
                : ((ComputationGraph) net).getConfiguration().toJson();
        this.params = net.params().dup().ravel().toDoubleVector();
        BaseMultiLayerUpdater<?> u = updater(net);
        this.updaterState = u == null || u.getStateViewArray() == null ? null
                : u.getStateViewArray().dup().ravel().toDoubleVector();
        this.iterations = TestNets.iterationCount(net);
        this.epochs = TestNets.epochCount(net);
    }

    public static NetState of(Model net) {
        return new NetState(net);
    }

    public static BaseMultiLayerUpdater<?> updater(Model net) {
        return net instanceof MultiLayerNetwork
                ? (BaseMultiLayerUpdater<?>) ((MultiLayerNetwork) net).getUpdater(false)
                : ((ComputationGraph) net).getUpdater(false);
    }

    /**
     * Optimizer state per "layer/param": each component (Adam: m, v) shaped like the parameter.
     * Offsets are recomputed here from the parameter lengths, independently of the library.
     */
    public static Map<String, List<INDArray>> stateByParam(Model net) {
        Map<String, List<INDArray>> out = new LinkedHashMap<>();
        BaseMultiLayerUpdater<?> u = updater(net);
        for (UpdaterBlock b : u.getUpdaterBlocks()) {
            if (b.getUpdaterView() == null) {
                continue;
            }
            INDArray view = b.getUpdaterView().dup().reshape(b.getUpdaterView().length());
            long blockLen = 0;
            for (UpdaterBlock.ParamState ps : b.getLayersAndVariablesInBlock()) {
                blockLen += ps.getParamView().length();
            }
            long comps = view.length() / blockLen;
            long off = 0;
            for (UpdaterBlock.ParamState ps : b.getLayersAndVariablesInBlock()) {
                String layer = ps.getLayer().getConfig().getLayerName();
                INDArray p = TestNets.layer(net, layer).getParam(ps.getParamName());
                long len = p.length();
                List<INDArray> list = new ArrayList<>();
                for (long c = 0; c < comps; c++) {
                    long a = c * blockLen + off;
                    list.add(view.get(NDArrayIndex.interval(a, a + len)).dup().reshape(p.ordering(), p.shape()));
                }
                out.put(layer + "/" + ps.getParamName(), list);
                off += len;
            }
        }
        return out;
    }
}
