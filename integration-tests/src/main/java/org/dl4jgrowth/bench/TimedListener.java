package org.dl4jgrowth.bench;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link TrainingListener} that passes every callback to one delegate and sums the
 * {@code System.nanoTime()} spent inside it, per callback kind, with a call count. Put on the
 * network in place of the delegate ({@code net.setListeners(new TimedListener(growth))}), it
 * measures what the delegate costs DL4J's training loop, and nothing else: DL4J's own work between
 * the callbacks is outside every timed interval.
 *
 * <p>Wrapping a {@code GrowthListener} is safe: the listener's attachment check counts itself in
 * the network's listener list only to refuse a second attachment, so, absent from the list, it
 * sees no duplicate; it never needs to find itself there (the controller binds to the
 * {@code Model} the callbacks pass). The one check lost is that duplicate check, which this class
 * cannot trip as it wraps one listener.
 *
 * <p>Not thread-safe: DL4J calls listeners on the training thread only.
 */
public final class TimedListener implements TrainingListener {
    /** The callbacks of {@link TrainingListener}; both {@code onForwardPass} overloads count as one. */
    public enum Callback { EPOCH_START, EPOCH_END, FORWARD_PASS, GRADIENT, BACKWARD_PASS, ITERATION_DONE }

    private final TrainingListener delegate;
    private final Map<Callback, long[]> nanos = new EnumMap<>(Callback.class);
    private final Map<Callback, long[]> calls = new EnumMap<>(Callback.class);
    /** The iteration numbers DL4J passed to {@code iterationDone}, in order (first and last kept). */
    private long firstIteration = -1;
    private long lastIteration = -1;

    public TimedListener(TrainingListener delegate) {
        this.delegate = java.util.Objects.requireNonNull(delegate, "delegate");
        for (Callback c : Callback.values()) {
            nanos.put(c, new long[1]);
            calls.put(c, new long[1]);
        }
    }

    public TrainingListener delegate() {
        return delegate;
    }

    /** Nanoseconds spent inside the delegate, all callbacks. */
    public long totalNanos() {
        long sum = 0;
        for (long[] n : nanos.values()) {
            sum += n[0];
        }
        return sum;
    }

    public long nanos(Callback c) {
        return nanos.get(c)[0];
    }

    public long calls(Callback c) {
        return calls.get(c)[0];
    }

    /** The first iteration number {@code iterationDone} was called with; -1 before. */
    public long firstIteration() {
        return firstIteration;
    }

    /** The last iteration number {@code iterationDone} was called with; -1 before. */
    public long lastIteration() {
        return lastIteration;
    }

    /** Forgets all sums and counts (after a warm-up). */
    public void reset() {
        for (Callback c : Callback.values()) {
            nanos.get(c)[0] = 0;
            calls.get(c)[0] = 0;
        }
        firstIteration = -1;
        lastIteration = -1;
    }

    private void add(Callback c, long start) {
        // Read the clock once per callback end; the start was read just before the delegate ran.
        nanos.get(c)[0] += System.nanoTime() - start;
        calls.get(c)[0]++;
    }

    @Override
    public void iterationDone(Model model, int iteration, int epoch) {
        if (firstIteration < 0) {
            firstIteration = iteration;
        }
        lastIteration = iteration;
        long t = System.nanoTime();
        try {
            delegate.iterationDone(model, iteration, epoch);
        } finally {
            add(Callback.ITERATION_DONE, t);
        }
    }

    @Override
    public void onEpochStart(Model model) {
        long t = System.nanoTime();
        try {
            delegate.onEpochStart(model);
        } finally {
            add(Callback.EPOCH_START, t);
        }
    }

    @Override
    public void onEpochEnd(Model model) {
        long t = System.nanoTime();
        try {
            delegate.onEpochEnd(model);
        } finally {
            add(Callback.EPOCH_END, t);
        }
    }

    @Override
    public void onForwardPass(Model model, List<INDArray> activations) {
        long t = System.nanoTime();
        try {
            delegate.onForwardPass(model, activations);
        } finally {
            add(Callback.FORWARD_PASS, t);
        }
    }

    @Override
    public void onForwardPass(Model model, Map<String, INDArray> activations) {
        long t = System.nanoTime();
        try {
            delegate.onForwardPass(model, activations);
        } finally {
            add(Callback.FORWARD_PASS, t);
        }
    }

    @Override
    public void onGradientCalculation(Model model) {
        long t = System.nanoTime();
        try {
            delegate.onGradientCalculation(model);
        } finally {
            add(Callback.GRADIENT, t);
        }
    }

    @Override
    public void onBackwardPass(Model model) {
        long t = System.nanoTime();
        try {
            delegate.onBackwardPass(model);
        } finally {
            add(Callback.BACKWARD_PASS, t);
        }
    }
}
