package org.dl4jgrowth.rewrite;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.updater.BaseMultiLayerUpdater;
import org.dl4jgrowth.network.NetworkAdapter;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Map;

/**
 * The rewrite's view of the network it changes: the {@link NetworkAdapter} (where every difference
 * between the two network types lives) plus the rewrite's own guard around the swap.
 */
final class ModelHandle {
    private final NetworkAdapter adapter;

    private ModelHandle(NetworkAdapter adapter) {
        this.adapter = adapter;
    }

    static ModelHandle of(Model model) {
        if (model == null) {
            throw new IllegalArgumentException("Only MultiLayerNetwork and ComputationGraph can be rewritten (got: null)");
        }
        return new ModelHandle(NetworkAdapter.of(model));
    }

    Model model() {
        return adapter.model();
    }

    NetworkAdapter adapter() {
        return adapter;
    }

    /** A deep copy of the configuration, with the iteration and epoch counts. */
    Object cloneConfiguration() {
        return adapter.cloneConfiguration();
    }

    /** The wiring of a configuration of either network type (configuration classes, not networks). */
    Topology topology(Object conf) {
        return conf instanceof MultiLayerConfiguration ? Topology.of((MultiLayerConfiguration) conf)
                : Topology.of((ComputationGraphConfiguration) conf);
    }

    /** A new network on {@code conf}, with zero parameters and a gradient view; no RNG is touched. */
    Model scratch(Object conf) {
        return adapter.scratch(conf).model();
    }

    /** A new network on {@code conf} over the given flat parameter and gradient rows (see {@link NetworkAdapter#scratch(Object, INDArray, INDArray)}). */
    Model scratch(Object conf, INDArray params, INDArray gradient) {
        return adapter.scratch(conf, params, gradient).model();
    }

    /** The flat arrays the network uses now: parameters, gradient view, optimizer state (any may be null). */
    INDArray[] buffersInUse() {
        BaseMultiLayerUpdater<?> u = adapter.updater(false);
        return new INDArray[]{adapter.model().params(), adapter.gradientsView(), u == null ? null : u.getStateViewArray()};
    }

    Map<String, INDArray> paramTable(Model model, String layer) {
        return NetworkAdapter.of(model).paramTable(layer);
    }

    /** The network's flat gradient array, or null. */
    INDArray gradientsView(Model model) {
        return NetworkAdapter.of(model).gradientsView();
    }

    /** The network's updater, or null when training has not created one yet. */
    BaseMultiLayerUpdater<?> updater(Model model, boolean create) {
        return NetworkAdapter.of(model).updater(create);
    }

    long iterationCount() {
        return adapter.iterationCount();
    }

    /** The configuration object the network holds now (every rewrite replaces it). */
    Object liveConfiguration() {
        return adapter.liveConfiguration();
    }

    /** Runs the swap; on any failure puts every field of the network (and its optimizer's updater) back. */
    void guardedSwap(Object conf, INDArray params, INDArray updaterState, INDArray gradient, boolean gradientHeld,
                     RewriteObserver observer) {
        FieldSnapshot snapshot = FieldSnapshot.of(model());
        Runnable restoreUpdater = adapter.solverUpdaterRestorer();
        RewriteStep[] at = {RewriteStep.CONFIGURATION};
        try {
            adapter.swap(conf, params, updaterState, gradient, gradientHeld, step -> {
                // An observer failure belongs to the step it reports; a later failure to the next step.
                at[0] = step;
                observer.stepDone(step);
                if (step != RewriteStep.UPDATER) {
                    at[0] = RewriteStep.values()[step.ordinal() + 1];
                }
            });
        } catch (Throwable t) {
            snapshot.restore();
            restoreUpdater.run();
            throw new RewriteException(at[0], String.valueOf(t.getMessage()), t);
        }
    }
}
