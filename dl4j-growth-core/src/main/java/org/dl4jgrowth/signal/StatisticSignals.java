package org.dl4jgrowth.signal;

import org.deeplearning4j.nn.api.Model;
import org.dl4jgrowth.how.StatisticSource;
import org.dl4jgrowth.linalg.SvdEngines;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;

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
    private final Supplier<? extends List<? extends MultiDataSet>> data;
    private final Supplier<List<String>> growable;
    private List<? extends MultiDataSet> batches;
    private List<String> growableLayers;
    private final Map<String, INDArray> statistics = new HashMap<>();
    private final Map<String, Double> topValues = new HashMap<>();

    public StatisticSignals(Model net, Supplier<? extends List<? extends MultiDataSet>> data,
                            Supplier<List<String>> growable) {
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
        return statistics.computeIfAbsent(layer, l -> GradientStatistic.computeMulti(net, l, batches()));
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
            for (MultiDataSet ds : batches()) {
                n += examplesCounted(ds);
            }
            if (n == 0) {
                return 0.0;
            }
            INDArray mean = g.castTo(g.dataType() == DataType.HALF ? DataType.FLOAT : g.dataType()).div(n);
            return SvdEngines.best().top(mean, 1).singularValues().getDouble(0);
        });
    }

    /**
     * The examples that contribute to the statistic: all of them, or with label masks those whose
     * mask is non-zero somewhere (a masked-out example adds nothing to G, so the mean is over the
     * others).
     */
    static long examplesCounted(MultiDataSet ds) {
        long n = ds.getFeatures(0).size(0);
        INDArray[] masks = ds.getLabelsMaskArrays();
        if (masks == null) {
            return n;
        }
        INDArray any = null;
        for (INDArray m : masks) {
            if (m == null) {
                return n;   // an unmasked output: every example contributes through it
            }
            INDArray rows = m.reshape('c', m.size(0), m.length() / m.size(0)).neq(0).castTo(DataType.INT32).sum(1);
            any = any == null ? rows : any.addi(rows);
        }
        return any == null ? n : any.gt(0).castTo(DataType.INT32).sumNumber().longValue();
    }

    private List<? extends MultiDataSet> batches() {
        if (batches == null) {
            batches = data.get();
        }
        return batches;
    }
}
