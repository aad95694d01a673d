package org.dl4jgrowth.bench;

import org.dl4jgrowth.signal.GrowthSignals;
import org.dl4jgrowth.when.GrowthTrigger;
import org.dl4jgrowth.when.TrainingProgress;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonIgnore;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A trigger that asks another and counts (and times) how often it was asked. The controller keeps
 * no record of a trigger that said no, so this is how a benchmark learns how many times a signal
 * trigger such as {@code singularValueAbove} was evaluated, and what those evaluations cost (the
 * statistic's forward and backward pass and its SVD run inside the delegate's {@code shouldGrow}).
 * Placed after a schedule in an {@code and(...)}, it is asked only when the schedule says yes.
 *
 * <p>The counters are not part of the trigger's value ({@code equals}, JSON): two policies with the
 * same delegate are equal. Bench and test use only: not meant for stored configurations.
 */
public final class CountingTrigger implements GrowthTrigger {
    private static final long serialVersionUID = 1L;
    private final GrowthTrigger delegate;
    @JsonIgnore
    private final AtomicLong evaluations = new AtomicLong();
    @JsonIgnore
    private final AtomicLong nanos = new AtomicLong();
    @JsonIgnore
    private final AtomicLong yes = new AtomicLong();

    @JsonCreator
    public CountingTrigger(@JsonProperty("delegate") GrowthTrigger delegate) {
        this.delegate = java.util.Objects.requireNonNull(delegate, "delegate");
    }

    @JsonProperty("delegate")
    public GrowthTrigger delegate() {
        return delegate;
    }

    /** Times the delegate was asked. */
    public long evaluations() {
        return evaluations.get();
    }

    /** Times the delegate said yes. */
    public long fired() {
        return yes.get();
    }

    /** Nanoseconds spent inside the delegate's {@code shouldGrow}. */
    public long nanos() {
        return nanos.get();
    }

    public void reset() {
        evaluations.set(0);
        nanos.set(0);
        yes.set(0);
    }

    @Override
    public boolean shouldGrow(TrainingProgress progress) {
        return count(() -> delegate.shouldGrow(progress));
    }

    @Override
    public boolean shouldGrow(TrainingProgress progress, GrowthSignals signals) {
        return count(() -> delegate.shouldGrow(progress, signals));
    }

    private boolean count(java.util.function.BooleanSupplier ask) {
        long t = System.nanoTime();
        try {
            boolean answer = ask.getAsBoolean();
            if (answer) {
                yes.incrementAndGet();
            }
            return answer;
        } finally {
            nanos.addAndGet(System.nanoTime() - t);
            evaluations.incrementAndGet();
        }
    }

    @Override
    public List<String> namedLayers() {
        return delegate.namedLayers();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CountingTrigger && ((CountingTrigger) o).delegate.equals(delegate);
    }

    @Override
    public int hashCode() {
        return 31 * CountingTrigger.class.hashCode() + delegate.hashCode();
    }

    @Override
    public String toString() {
        return "counted(" + delegate + ")";
    }
}
