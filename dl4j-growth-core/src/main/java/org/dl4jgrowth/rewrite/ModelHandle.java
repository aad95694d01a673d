package org.dl4jgrowth.rewrite;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.api.Updater;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.updater.BaseMultiLayerUpdater;
import org.deeplearning4j.nn.updater.MultiLayerUpdater;
import org.deeplearning4j.nn.updater.graph.ComputationGraphUpdater;
import org.deeplearning4j.optimize.Solver;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What differs between the two DL4J network types: cloning and reading the configuration, building
 * a scratch network on a new configuration, and swapping a prepared rewrite into the user's object.
 */
abstract class ModelHandle {

    static ModelHandle of(Model model) {
        if (model instanceof MultiLayerNetwork) {
            return new Mln((MultiLayerNetwork) model);
        }
        if (model instanceof ComputationGraph) {
            return new Graph((ComputationGraph) model);
        }
        throw new IllegalArgumentException("Only MultiLayerNetwork and ComputationGraph can be rewritten (got: "
                + (model == null ? "null" : model.getClass().getName()) + ")");
    }

    abstract Model model();

    /** A deep copy of the configuration, with the iteration and epoch counts. */
    abstract Object cloneConfiguration();

    abstract Topology topology(Object conf);

    /** A new network on {@code conf}, with zero parameters and a gradient view; no RNG is touched. */
    abstract Model scratch(Object conf);

    abstract Map<String, INDArray> paramTable(Model model, String layer);

    /** The network's flat gradient array, or null. */
    abstract INDArray gradientsView(Model model);

    /** The network's updater, or null when training has not created one yet. */
    abstract BaseMultiLayerUpdater<?> updater(Model model, boolean create);

    /** Puts the new configuration, parameters and updater state into the user's network. */
    abstract void swap(Object conf, INDArray params, INDArray updaterState, RewriteObserver observer);

    abstract long iterationCount();

    /** The configuration object the network holds now (every rewrite replaces it). */
    abstract Object liveConfiguration();

    abstract long epochCount();

    DataType dataType() {
        return model().params().dataType();
    }

    /** Runs the swap; on any failure puts every field of the network (and its optimizer's updater) back. */
    void guardedSwap(Object conf, INDArray params, INDArray updaterState, RewriteObserver observer) {
        FieldSnapshot snapshot = FieldSnapshot.of(model());
        Solver solver = solver();
        Object oldUpdater = solver == null ? null : currentUpdater(solver);
        RewriteStep[] at = {RewriteStep.CONFIGURATION};
        try {
            swap(conf, params, updaterState, step -> {
                // An observer failure belongs to the step it reports; a later failure to the next step.
                at[0] = step;
                observer.stepDone(step);
                if (step != RewriteStep.UPDATER) {
                    at[0] = RewriteStep.values()[step.ordinal() + 1];
                }
            });
        } catch (Throwable t) {
            snapshot.restore();
            if (solver != null) {
                restoreUpdater(solver, oldUpdater);
            }
            throw new RewriteException(at[0], String.valueOf(t.getMessage()), t);
        }
    }

    abstract Solver solver();

    abstract Object currentUpdater(Solver solver);

    abstract void restoreUpdater(Solver solver, Object updater);

    private static final class Mln extends ModelHandle {
        private final MultiLayerNetwork net;

        Mln(MultiLayerNetwork net) {
            this.net = net;
        }

        @Override
        Model model() {
            return net;
        }

        @Override
        Object cloneConfiguration() {
            MultiLayerConfiguration old = net.getLayerWiseConfigurations();
            MultiLayerConfiguration c = old.clone();
            c.setIterationCount(old.getIterationCount());
            c.setEpochCount(old.getEpochCount());
            return c;
        }

        @Override
        Topology topology(Object conf) {
            return Topology.of((MultiLayerConfiguration) conf);
        }

        @Override
        Model scratch(Object conf) {
            MultiLayerConfiguration c = (MultiLayerConfiguration) conf;
            long n = 0;
            for (NeuralNetConfiguration nnc : c.getConfs()) {
                n += nnc.getLayer().initializer().numParams(nnc);
            }
            MultiLayerNetwork s = new MultiLayerNetwork(c);
            s.init(Nd4j.zeros(c.getDataType(), 1, n), false);
            s.initGradientsView();
            return s;
        }

        @Override
        Map<String, INDArray> paramTable(Model model, String layer) {
            return ((MultiLayerNetwork) model).getLayer(layer).paramTable(false);
        }

        @Override
        INDArray gradientsView(Model model) {
            return ((MultiLayerNetwork) model).getFlattenedGradients();
        }

        @Override
        BaseMultiLayerUpdater<?> updater(Model model, boolean create) {
            MultiLayerNetwork m = (MultiLayerNetwork) model;
            if (create) {
                return new MultiLayerUpdater(m);
            }
            return (BaseMultiLayerUpdater<?>) m.getUpdater(false);
        }

        @Override
        void swap(Object conf, INDArray params, INDArray updaterState, RewriteObserver observer) {
            net.setLayerWiseConfigurations((MultiLayerConfiguration) conf);
            observer.stepDone(RewriteStep.CONFIGURATION);
            FieldSnapshot.set(net, MultiLayerNetwork.class, "initCalled", false);
            FieldSnapshot.set(net, MultiLayerNetwork.class, "layers", null);
            FieldSnapshot.set(net, MultiLayerNetwork.class, "layerMap", new LinkedHashMap<>());
            FieldSnapshot.set(net, MultiLayerNetwork.class, "flattenedGradients", null);
            net.setGradient(null);
            net.init(params, false);
            net.initGradientsView();
            observer.stepDone(RewriteStep.INITIALISATION);
            net.setUpdater(new MultiLayerUpdater(net, updaterState));
            observer.stepDone(RewriteStep.UPDATER);
        }

        @Override
        long iterationCount() {
            return net.getLayerWiseConfigurations().getIterationCount();
        }

        @Override
        Object liveConfiguration() {
            return net.getLayerWiseConfigurations();
        }

        @Override
        long epochCount() {
            return net.getLayerWiseConfigurations().getEpochCount();
        }

        @Override
        Solver solver() {
            return (Solver) readField(net, MultiLayerNetwork.class, "solver");
        }

        @Override
        Object currentUpdater(Solver solver) {
            return solver.getOptimizer().getUpdater(false);
        }

        @Override
        void restoreUpdater(Solver solver, Object updater) {
            solver.getOptimizer().setUpdater((Updater) updater);
        }
    }

    private static final class Graph extends ModelHandle {
        private final ComputationGraph graph;

        Graph(ComputationGraph graph) {
            this.graph = graph;
        }

        @Override
        Model model() {
            return graph;
        }

        @Override
        Object cloneConfiguration() {
            ComputationGraphConfiguration old = graph.getConfiguration();
            ComputationGraphConfiguration c = old.clone();
            c.setIterationCount(old.getIterationCount());
            c.setEpochCount(old.getEpochCount());
            return c;
        }

        @Override
        Topology topology(Object conf) {
            return Topology.of((ComputationGraphConfiguration) conf);
        }

        @Override
        Model scratch(Object conf) {
            ComputationGraphConfiguration c = (ComputationGraphConfiguration) conf;
            long n = 0;
            for (GraphVertex v : c.getVertices().values()) {
                n += v.numParams(true);
            }
            ComputationGraph s = new ComputationGraph(c);
            s.init(Nd4j.zeros(c.getDataType(), 1, n), false);
            s.initGradientsView();
            return s;
        }

        @Override
        Map<String, INDArray> paramTable(Model model, String layer) {
            return ((ComputationGraph) model).getLayer(layer).paramTable(false);
        }

        @Override
        INDArray gradientsView(Model model) {
            return ((ComputationGraph) model).getFlattenedGradients();
        }

        @Override
        BaseMultiLayerUpdater<?> updater(Model model, boolean create) {
            ComputationGraph g = (ComputationGraph) model;
            if (create) {
                return new ComputationGraphUpdater(g);
            }
            return g.getUpdater(false);
        }

        @Override
        void swap(Object conf, INDArray params, INDArray updaterState, RewriteObserver observer) {
            ComputationGraphConfiguration c = (ComputationGraphConfiguration) conf;
            FieldSnapshot.set(graph, ComputationGraph.class, "configuration", c);
            FieldSnapshot.set(graph, ComputationGraph.class, "defaultConfiguration", c.getDefaultConfiguration());
            observer.stepDone(RewriteStep.CONFIGURATION);
            FieldSnapshot.set(graph, ComputationGraph.class, "initCalled", false);
            FieldSnapshot.set(graph, ComputationGraph.class, "flattenedGradients", null);
            graph.setGradient(null);
            graph.init(params, false);
            graph.initGradientsView();
            observer.stepDone(RewriteStep.INITIALISATION);
            graph.setUpdater(new ComputationGraphUpdater(graph, updaterState));
            observer.stepDone(RewriteStep.UPDATER);
        }

        @Override
        long iterationCount() {
            return graph.getConfiguration().getIterationCount();
        }

        @Override
        Object liveConfiguration() {
            return graph.getConfiguration();
        }

        @Override
        long epochCount() {
            return graph.getConfiguration().getEpochCount();
        }

        @Override
        Solver solver() {
            return (Solver) readField(graph, ComputationGraph.class, "solver");
        }

        @Override
        Object currentUpdater(Solver solver) {
            return solver.getOptimizer().getComputationGraphUpdater(false);
        }

        @Override
        void restoreUpdater(Solver solver, Object updater) {
            solver.getOptimizer().setUpdaterComputationGraph((ComputationGraphUpdater) updater);
        }
    }

    static Object readField(Object target, Class<?> owner, String name) {
        try {
            java.lang.reflect.Field f = owner.getDeclaredField(name);
            f.setAccessible(true);
            return f.get(target);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("This DL4J version lacks field " + owner.getSimpleName() + "." + name
                    + ": dl4j-growth supports DL4J 1.0.0-M2.1", e);
        }
    }
}
