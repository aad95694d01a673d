package org.dl4jgrowth.firefly;

import org.dl4jgrowth.GrowthDetails;
import org.nd4j.shade.guava.collect.ImmutableList;
import org.nd4j.shade.guava.collect.ImmutableMap;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Firefly's record of one growth: per layer the units split and the new neurons added, the scores
 * of the chosen candidates, and the extra parameters its candidates cost in the over-grown copy;
 * the best rejected score overall; the candidate training's length. Immutable, JSON.
 */
public final class FireflyDetails implements GrowthDetails {
    private static final long serialVersionUID = 1L;

    /** One layer's part of the growth. */
    public static final class Layer implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
        private final List<Integer> splitUnits;
        private final int newNeurons;
        private final List<Double> chosenScores;
        private final long candidateParams;
        private final int candidates;
        private final List<Integer> newCandidates;
        private final long candidateBytes;

        public Layer(List<Integer> splitUnits, int newNeurons, List<Double> chosenScores, long candidateParams,
                     int candidates) {
            this(splitUnits, newNeurons, chosenScores, candidateParams, candidates, null, 0);
        }

        @JsonCreator
        public Layer(@JsonProperty("splitUnits") List<Integer> splitUnits, @JsonProperty("newNeurons") int newNeurons,
                     @JsonProperty("chosenScores") List<Double> chosenScores,
                     @JsonProperty("candidateParams") long candidateParams,
                     @JsonProperty("candidates") int candidates,
                     @JsonProperty("newCandidates") List<Integer> newCandidates,
                     @JsonProperty("candidateBytes") long candidateBytes) {
            this.candidateBytes = candidateBytes;
            this.newCandidates = ImmutableList.copyOf(newCandidates == null ? List.of() : newCandidates);
            this.splitUnits = ImmutableList.copyOf(splitUnits == null ? List.of() : splitUnits);
            this.newNeurons = newNeurons;
            this.chosenScores = ImmutableList.copyOf(chosenScores == null ? List.of() : chosenScores);
            this.candidateParams = candidateParams;
            this.candidates = candidates;
        }

        /** The existing units split in two, in increasing order. */
        public List<Integer> splitUnits() {
            return splitUnits;
        }

        public int newNeurons() {
            return newNeurons;
        }

        /** The scores (mean ∂L/∂gate, negative: the loss falls) of the chosen candidates, best first. */
        public List<Double> chosenScores() {
            return chosenScores;
        }

        /** Parameters the layer's candidates added to the over-grown copy (fan-in, bias and fan-out of n + K units). */
        public long candidateParams() {
            return candidateParams;
        }

        /**
         * Which of the K new-neuron candidates were chosen, in increasing order: the new units of the
         * layer, in the order they were appended.
         */
        public List<Integer> newCandidates() {
            return newCandidates;
        }

        /**
         * Memory the layer's candidates held while they trained: in the copy their parameters and
         * gradients, and the candidate tensors with their two RMSProp states (bytes, an upper bound).
         */
        public long candidateBytes() {
            return candidateBytes;
        }

        /** Candidates scored for the layer: one split per unit and K new neurons. */
        public int candidates() {
            return candidates;
        }

        @Override
        public boolean equals(Object o) {
            if (!(o instanceof Layer)) {
                return false;
            }
            Layer l = (Layer) o;
            return splitUnits.equals(l.splitUnits) && newNeurons == l.newNeurons && chosenScores.equals(l.chosenScores)
                    && candidateParams == l.candidateParams && candidates == l.candidates
                    && newCandidates.equals(l.newCandidates) && candidateBytes == l.candidateBytes;
        }

        @Override
        public int hashCode() {
            return Objects.hash(splitUnits, newNeurons, chosenScores, candidateParams, candidates, newCandidates,
                    candidateBytes);
        }

        @Override
        public String toString() {
            return "{splits=" + splitUnits + ", new=" + newNeurons + ", scores=" + chosenScores + ", candidateParams="
                    + candidateParams + "}";
        }
    }

    private final Map<String, Layer> layers;
    private final Double bestRejectedScore;
    private final int steps;
    private final String score;

    @JsonCreator
    public FireflyDetails(@JsonProperty("layers") Map<String, Layer> layers,
                          @JsonProperty("bestRejectedScore") Double bestRejectedScore,
                          @JsonProperty("steps") int steps, @JsonProperty("score") String score) {
        this.layers = ImmutableMap.copyOf(layers == null ? Map.of() : layers);
        this.bestRejectedScore = bestRejectedScore;
        this.steps = steps;
        this.score = score;
    }

    /** Every scored layer, grown or not, in layer order. */
    public Map<String, Layer> layers() {
        return layers;
    }

    /**
     * The lowest score among the candidates not chosen (null when every candidate was chosen); it can
     * be below a chosen score when a width cap turned that candidate away.
     */
    public Double bestRejectedScore() {
        return bestRejectedScore;
    }

    /** Candidate training steps (one growth-data minibatch each). */
    public int steps() {
        return steps;
    }

    /** How scores were taken: "gate" (at the trained size) or "integrated". */
    public String score() {
        return score;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof FireflyDetails)) {
            return false;
        }
        FireflyDetails d = (FireflyDetails) o;
        return layers.equals(d.layers) && Objects.equals(bestRejectedScore, d.bestRejectedScore) && steps == d.steps
                && Objects.equals(score, d.score);
    }

    @Override
    public int hashCode() {
        return Objects.hash(layers, bestRejectedScore, steps, score);
    }

    @Override
    public String toString() {
        return "firefly{" + layers + ", bestRejected=" + bestRejectedScore + ", steps=" + steps + ", score=" + score
                + "}";
    }
}
