package org.dl4jgrowth.signal;

import org.deeplearning4j.nn.api.Model;
import org.dl4jgrowth.how.StatisticSource;
import org.dl4jgrowth.linalg.SvdEngines;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Signals and statistics for one network at one moment, computed once per layer and shared: a
 * trigger, a site selector and the GradMax initialiser asking about the same layer cost one
 * statistic, not three.
 */
public final class StatisticSignals implements GrowthSignals, StatisticSource {
    private final Model net;
    private final Supplier<List<DataSet>> data;
    private final Supplier<List<String>> growable;
    private List<DataSet> batches;
    private List<String> growableLayers;
    private final Map<String, INDArray> statistics = new HashMap<>();
    private final Map<String, Double> topValues = new HashMap<>();

    public StatisticSignals(Model net, Supplier<List<DataSet>> data, Supplier<List<String>> growable) {
        this.net = net;
        this.data = data;
        this.growable = growable;
    }

    @Override
    public List<String> growable() {
        if (growableLayers == null) {
            growableLayers = growable.get();
        }
        return growableLayers;
    }

    @Override
    public INDArray gradientStatistic(String layer) {
        return statistics.computeIfAbsent(layer, l -> GradientStatistic.compute(net, l, batches()));
    }

    @Override
    public double topSingularValue(String layer) {
        return topValues.computeIfAbsent(layer, l -> {
            INDArray g;
            try {
                g = gradientStatistic(l);
            } catch (IllegalArgumentException notASite) {
                return Double.NaN;
            }
            long n = 0;
            for (DataSet ds : batches()) {
                n += ds.numExamples();
            }
            INDArray mean = g.castTo(g.dataType() == DataType.HALF ? DataType.FLOAT : g.dataType()).div(n);
            return SvdEngines.best().top(mean, 1).singularValues().getDouble(0);
        });
    }

    private List<DataSet> batches() {
        if (batches == null) {
            batches = data.get();
        }
        return batches;
    }
}
