package org.dl4jgrowth.signal;

import org.deeplearning4j.nn.api.Model;
import org.dl4jgrowth.how.StatisticSource;
import org.dl4jgrowth.linalg.SvdEngines;
import org.dl4jgrowth.rewrite.RandomScope;
import org.dl4jgrowth.rewrite.RewriteException;
import org.dl4jgrowth.rewrite.RewriteStep;
import org.nd4j.linalg.api.rng.Random;
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
 * statistic, not three. Everything is computed with the growth's own random generator (dropout in
 * the statistic's forward pass draws from it, never from training's), and timed: {@link #nanos()}
 * is the wall time of all signals, {@link #passes()} and {@link #examples()} the forward and
 * backward passes and examples they cost. A failure while computing is a {@link RewriteException}
 * at step {@link RewriteStep#SIGNALS}; bad sites stay {@code IllegalArgumentException}s.
 */
public final class StatisticSignals implements GrowthSignals, StatisticSource {
    private final Model net;
    private final Supplier<? extends List<? extends MultiDataSet>> data;
    private final Supplier<List<String>> growable;
    private List<? extends MultiDataSet> batches;
    private List<String> growableLayers;
    private final Map<String, INDArray> statistics = new HashMap<>();
    private final Map<String, INDArray> weightGradients = new HashMap<>();
    /** Arrays planners recorded, by layer and name. */
    private final Map<String, Map<String, INDArray>> recorded = new HashMap<>();
    private final Map<String, Double> topValues = new HashMap<>();
    private final Map<String, Long> suppliedExamples = new HashMap<>();
    /** How each statistic computed here was computed ("direct", or "probes (why)"). */
    private final Map<String, String> routes = new java.util.TreeMap<>();
    private final Random random;
    private StatisticProvider provider;
    private Supplier<String> dataSource = () -> "the growth data";
    private long nanos;
    private long passes;
    private long examples;

    public StatisticSignals(Model net, Supplier<? extends List<? extends MultiDataSet>> data,
                            Supplier<List<String>> growable) {
        this(net, data, growable, null);
    }

    /** Signals computed with {@code random} as ND4J's generator (null: the thread's own). */
    public StatisticSignals(Model net, Supplier<? extends List<? extends MultiDataSet>> data,
                            Supplier<List<String>> growable, Random random) {
        this.net = net;
        this.data = data;
        this.growable = growable;
        this.random = random;
    }

    /** Where the growth data comes from, for messages ("the training minibatch of iteration 12"). */
    public StatisticSignals describedAs(String source) {
        return describedAs(() -> source);
    }

    /**
     * {@link #describedAs(String)} with the description made only when a message needs it: the
     * controller makes signals at every iteration and almost never reports on them.
     */
    public StatisticSignals describedAs(Supplier<String> source) {
        this.dataSource = java.util.Objects.requireNonNull(source, "source");
        return this;
    }

    /**
     * Gradient statistics come from {@code provider} (computed where the data is) instead of the
     * growth data; null: from the growth data.
     */
    public StatisticSignals provider(StatisticProvider provider) {
        this.provider = provider;
        return this;
    }

    /**
     * The route of each gradient statistic computed from growth data here, by layer: "direct" or
     * "probes (the reason)"; statistics supplied or from a provider are not listed.
     */
    public Map<String, String> statisticRoutes() {
        return java.util.Collections.unmodifiableMap(routes);
    }

    /** Wall time spent computing signals so far. */
    public long nanos() {
        return nanos;
    }

    /** Forward and backward passes over a minibatch spent on signals so far. */
    public long passes() {
        return passes;
    }

    /** Examples those passes covered. */
    public long examples() {
        return examples;
    }

    /**
     * Uses {@code sum}, G over {@code examples} examples computed elsewhere, as the statistic of
     * {@code layer}: cached as if computed here, so no growth data is read for it.
     */
    public void supply(String layer, INDArray sum, long examples) {
        statistics.put(layer, sum);
        suppliedExamples.put(layer, examples);
    }

    /**
     * A source that hands out only what has been computed: what the rewrite gets, so that it never
     * runs the network itself.
     */
    public StatisticSource computed() {
        return new StatisticSource() {
            @Override
            public INDArray gradientStatistic(String layer) {
                INDArray g = statistics.get(layer);
                if (g == null) {
                    throw new IllegalStateException("No gradient statistic was computed for layer '" + layer
                            + "' before the rewrite: an initialiser that reads it must declare "
                            + "SignalKind.GRADIENT_STATISTIC in signals()");
                }
                return g;
            }

            @Override
            public INDArray signal(String layer, String name) {
                INDArray a = recorded.getOrDefault(layer, Map.of()).get(name);
                return a != null ? a : StatisticSource.super.signal(layer, name);
            }
        };
    }

    @Override
    public List<? extends MultiDataSet> growthData() {
        return batches();
    }

    @Override
    public <T> T compute(long passes, long examples, Supplier<T> body) {
        T out = timed(body);
        this.passes += passes;
        this.examples += examples;
        return out;
    }

    @Override
    public void put(String layer, String name, INDArray value) {
        recorded.computeIfAbsent(layer, l -> new HashMap<>()).put(name, value);
    }

    private <T> T timed(Supplier<T> body) {
        long start = System.nanoTime();
        try {
            return RandomScope.call(random, body);
        } catch (IllegalArgumentException | RewriteException | GrowthDataException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new RewriteException(RewriteStep.SIGNALS, String.valueOf(e.getMessage()), e);
        } finally {
            nanos += System.nanoTime() - start;
        }
    }

    @Override
    public List<String> growable() {
        if (growableLayers == null) {
            growableLayers = growable.get();
        }
        return growableLayers;
    }

    @Override
    public void prepareStatistics(List<String> layers) {
        if (provider != null) {
            return;   // a driver's workers compute each layer's statistic: asked one by one
        }
        List<String> missing = new java.util.ArrayList<>();
        for (String l : new java.util.LinkedHashSet<>(layers)) {
            if (!statistics.containsKey(l)) {
                missing.add(l);
            }
        }
        if (missing.size() < 2) {
            return;   // nothing to share
        }
        // Only sites the direct route takes share a pass; a probe-route site, or one the statistic
        // refuses, is left to be asked on its own (a trigger may never get to it).
        List<String> direct;
        try {
            List<? extends MultiDataSet> b = timed(this::batches);   // reading the data is signal work
            direct = new java.util.ArrayList<>();
            for (String l : missing) {
                if (GradientStatistic.takesDirectRoute(net, l, b)) {
                    direct.add(l);
                }
            }
        } catch (RuntimeException noData) {
            return;   // the growth data's own error comes when a layer is asked for
        }
        if (direct.size() >= 2) {
            prepareTogether(direct);
        }
    }

    private void prepareTogether(List<String> missing) {
        timed(() -> {
            List<? extends MultiDataSet> b = batches();
            for (String l : missing) {
                requireFinite(l, b);
            }
            Map<String, GradientStatistic.Routed> all = GradientStatistic.computeAllWithRoute(net, missing, b);
            int direct = 0;
            for (String l : missing) {
                GradientStatistic.Routed routed = all.get(l);
                if (!finite(routed.sum())) {
                    throw new GrowthDataException(l, "The gradient statistic of layer '" + l + "' over " + b.size()
                            + " minibatch(es) of " + dataSource.get() + " is not finite (NaN or infinity): the network's "
                            + "activations or gradients overflow on this data; the network was not changed");
                }
                routes.put(l, routed.route());
                statistics.put(l, routed.sum());
                direct += routed.route().startsWith("direct") ? 1 : 0;
            }
            // The direct sites share one pass per minibatch; each probe-route site has its own.
            long runs = (direct > 0 ? 1 : 0) + (missing.size() - direct);
            passes += runs * b.size();
            for (MultiDataSet ds : b) {
                examples += runs * ds.getFeatures(0).size(0);
            }
            return null;
        });
    }

    @Override
    public INDArray gradientStatistic(String layer) {
        INDArray g = statistics.get(layer);
        if (g == null && provider != null) {
            StatisticProvider.GradientSum sum = timed(() -> provider.compute(net, layer));
            if (sum == null || !finite(sum.sum())) {
                throw new GrowthDataException(layer, "The gradient statistic of layer '" + layer + "' from "
                        + dataSource.get() + " is " + (sum == null ? "missing" : "not finite (NaN or infinity)")
                        + ": a worker's activations or gradients overflow on its data; the network was not changed");
            }
            passes += sum.batches();
            examples += sum.examples();
            supply(layer, sum.sum(), sum.examples());
            g = sum.sum();
        }
        if (g == null) {
            g = timed(() -> {
                List<? extends MultiDataSet> b = batches();
                requireFinite(layer, b);
                GradientStatistic.Routed routed = GradientStatistic.computeWithRoute(net, layer, b);
                routes.put(layer, routed.route());
                INDArray s = routed.sum();
                if (!finite(s)) {
                    throw new GrowthDataException(layer, "The gradient statistic of layer '" + layer + "' over "
                            + b.size() + " minibatch(es) of " + dataSource.get() + " is not finite (NaN or infinity): the "
                            + "network's activations or gradients overflow on this data; the network was not changed");
                }
                passes += b.size();
                for (MultiDataSet ds : b) {
                    examples += ds.getFeatures(0).size(0);
                }
                return s;
            });
            statistics.put(layer, g);
        }
        return g;
    }

    @Override
    public Map<String, INDArray> weightGradientSums(List<String> layers) {
        List<String> missing = new java.util.ArrayList<>();
        for (String l : layers) {
            if (!weightGradients.containsKey(l)) {
                missing.add(l);
            }
        }
        if (!missing.isEmpty()) {
            timed(() -> {
                List<? extends MultiDataSet> b = batches();
                requireFinite(missing.get(0), b);
                // A private copy: no listener (no mask) touches its gradient, and training's is left alone.
                org.dl4jgrowth.network.NetworkAdapter copy;
                Map<String, INDArray> sums = new HashMap<>();
                try (org.nd4j.linalg.api.memory.MemoryWorkspace ws =
                             org.nd4j.linalg.factory.Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                    copy = org.dl4jgrowth.network.NetworkAdapter.of(net).privateCopyWithoutWorkspaces();
                    for (MultiDataSet ds : b) {
                        copy.computeGradient(ds);
                        for (String l : missing) {
                            INDArray g = copy.gradient(l, "W").dup('c');
                            INDArray acc = sums.get(l);
                            sums.put(l, acc == null ? g : acc.addi(g));
                        }
                        passes++;
                        examples += ds.getFeatures(0).size(0);
                    }
                }
                for (String l : missing) {
                    INDArray g = sums.get(l);
                    if (!finite(g)) {
                        throw new GrowthDataException(l, "The weight gradient of layer '" + l + "' over " + b.size()
                                + " minibatch(es) of " + dataSource.get() + " is not finite (NaN or infinity); the network "
                                + "was not changed");
                    }
                    weightGradients.put(l, g);
                }
                return null;
            });
        }
        Map<String, INDArray> out = new java.util.LinkedHashMap<>();
        for (String l : layers) {
            out.put(l, weightGradients.get(l));
        }
        return out;
    }

    private void requireFinite(String layer, List<? extends MultiDataSet> batches) {
        for (int i = 0; i < batches.size(); i++) {
            MultiDataSet ds = batches.get(i);
            String bad = null;
            for (int j = 0; j < ds.numFeatureArrays() && bad == null; j++) {
                bad = finite(ds.getFeatures(j)) ? null : "features[" + j + "]";
            }
            for (int j = 0; j < ds.numLabelsArrays() && bad == null; j++) {
                bad = finite(ds.getLabels(j)) ? null : "labels[" + j + "]";
            }
            if (bad != null) {
                throw new GrowthDataException(layer, "Minibatch " + (i + 1) + " of " + batches.size() + " of "
                        + dataSource.get() + " holds NaN or infinite values in its " + bad + ", so no growth signal for "
                        + "layer '" + layer + "' can be computed from it; the network was not changed");
            }
        }
    }

    /**
     * No NaN and no infinity (an empty or null array counts as finite), checked at every signal of
     * every event. First the sum: a NaN or an infinity anywhere makes it non-finite (IEEE arithmetic),
     * so a finite sum proves the array finite, in one plain reduction (0.1 ms for a 784 x 256 FLOAT
     * statistic, where {@code isNaN().any() || isInfinite().any()}, two boolean copies, took ~2 ms and
     * a counting {@code notFinite} reduction ~1 ms). A non-finite sum may also be an overflow of
     * finite values: the counting reduction then decides.
     */
    public static boolean finite(INDArray a) {
        if (a == null || a.isEmpty()) {
            return true;
        }
        if (Double.isFinite(a.sumNumber().doubleValue())) {
            return true;
        }
        return !org.nd4j.linalg.indexing.BooleanIndexing.or(a, org.nd4j.linalg.indexing.conditions.Conditions.notFinite());
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
            if (suppliedExamples.containsKey(l)) {
                n = suppliedExamples.get(l);
            } else {
                for (MultiDataSet ds : batches()) {
                    n += examplesCounted(ds);
                }
            }
            if (n == 0) {
                return 0.0;
            }
            INDArray mean = g.castTo(g.dataType() == DataType.HALF ? DataType.FLOAT : g.dataType()).div(n);
            return timed(() -> SvdEngines.best().topValue(mean));
        });
    }

    /**
     * The examples that contribute to the statistic: all of them, or with label masks those whose
     * mask is non-zero somewhere (a masked-out example adds nothing to G, so the mean is over the
     * others). The distributed drivers count their partial sums' examples with it too.
     */
    public static long examplesCounted(MultiDataSet ds) {
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
            INDArray rows = m.reshape('c', new long[]{m.size(0), m.length() / m.size(0)}).neq(0)
                    .castTo(DataType.INT32).sum(1);
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
