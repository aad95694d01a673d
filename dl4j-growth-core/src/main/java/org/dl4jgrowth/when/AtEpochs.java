package org.dl4jgrowth.when;

import org.nd4j.shade.guava.base.Preconditions;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.Arrays;

/**
 * See {@link GrowthTrigger#atEpochs(int...)}. The epochs are kept sorted and without duplicates, so
 * two triggers that fire at the same epochs are equal and serialise the same.
 */
public final class AtEpochs implements GrowthTrigger {
    private static final long serialVersionUID = 1L;

    private final int[] epochs;

    @JsonCreator
    public AtEpochs(@JsonProperty("epochs") int... epochs) {
        Preconditions.checkArgument(epochs != null && epochs.length > 0,
                "atEpochs(epochs): at least one epoch is required (got: %s)", Arrays.toString(epochs));
        for (int e : epochs) {
            Preconditions.checkArgument(e >= 0,
                    "atEpochs(epochs): epochs must be >= 0 (got: %s in %s)", e, Arrays.toString(epochs));
        }
        this.epochs = Arrays.stream(epochs).sorted().distinct().toArray();
    }

    /** Sorted, without duplicates; a copy. */
    public int[] epochs() {
        return epochs.clone();
    }

    @Override
    public boolean shouldGrow(TrainingProgress p) {
        return p.atEpochEnd() && Arrays.binarySearch(epochs, p.epoch()) >= 0;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AtEpochs && Arrays.equals(((AtEpochs) o).epochs, epochs);
    }

    @Override
    public int hashCode() {
        return 31 * AtEpochs.class.hashCode() + Arrays.hashCode(epochs);
    }

    @Override
    public String toString() {
        String list = Arrays.toString(epochs);
        return "atEpochs(" + list.substring(1, list.length() - 1) + ")";
    }
}
