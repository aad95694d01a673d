package org.dl4jgrowth.when;

import org.nd4j.shade.guava.base.Preconditions;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.Arrays;

/**
 * See {@link GrowthTrigger#atIterations(long...)}. The iterations are kept sorted and without
 * duplicates, so two triggers that fire at the same iterations are equal and serialise the same.
 */
public final class AtIterations implements GrowthTrigger {
    private static final long serialVersionUID = 1L;

    private final long[] iterations;

    @JsonCreator
    public AtIterations(@JsonProperty("iterations") long... iterations) {
        Preconditions.checkArgument(iterations != null && iterations.length > 0,
                "atIterations(iterations): at least one iteration is required (got: %s)",
                Arrays.toString(iterations));
        for (long it : iterations) {
            Preconditions.checkArgument(it >= 0,
                    "atIterations(iterations): iterations must be >= 0 (got: %s in %s)", it, Arrays.toString(iterations));
        }
        this.iterations = Arrays.stream(iterations).sorted().distinct().toArray();
    }

    /** Sorted, without duplicates; a copy. */
    public long[] iterations() {
        return iterations.clone();
    }

    @Override
    public boolean shouldGrow(TrainingProgress p) {
        return !p.atEpochEnd() && Arrays.binarySearch(iterations, p.iteration()) >= 0;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AtIterations && Arrays.equals(((AtIterations) o).iterations, iterations);
    }

    @Override
    public int hashCode() {
        return 31 * AtIterations.class.hashCode() + Arrays.hashCode(iterations);
    }

    @Override
    public String toString() {
        String list = Arrays.toString(iterations);
        return "atIterations(" + list.substring(1, list.length() - 1) + ")";
    }
}
