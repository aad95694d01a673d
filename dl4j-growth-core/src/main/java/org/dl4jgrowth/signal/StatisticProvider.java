package org.dl4jgrowth.signal;

import org.nd4j.shade.guava.base.Preconditions;
import org.deeplearning4j.nn.api.Model;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Computes GradMax's statistic G = Σ h δᵀ ({@link GradientStatistic}) for a layer the planner chose,
 * somewhere other than the controller's thread: on a ParallelWrapper's devices or on a Spark
 * cluster's executors, where the data is. The controller calls it at the signals step of a growth,
 * for the planned sites only (the same place it would read growth data), so the growth path stays
 * one way: nothing is computed for a layer that does not grow, and nothing before the plan.
 *
 * <p>A provider computes the statistic on replicas of {@code net} as it is at the call (same
 * configuration, same parameters) and returns the sum over every example it used with the count,
 * exactly as {@link GradientStatistic#computeMulti} over the same minibatches would on one machine.
 */
@FunctionalInterface
public interface StatisticProvider {

    /** G of {@code layer} of {@code net} summed over the provider's examples. */
    GradientSum compute(Model net, String layer);

    /** A statistic summed elsewhere: {@code sum} over {@code examples} examples in {@code batches} minibatches. */
    final class GradientSum {
        private final INDArray sum;
        private final long examples;
        private final long batches;

        public GradientSum(INDArray sum, long examples, long batches) {
            this.sum = Preconditions.checkNotNull(sum, "GradientSum: sum must not be null");
            Preconditions.checkArgument(examples >= 1, "GradientSum: examples must be at least 1 (got: %s)", examples);
            Preconditions.checkArgument(batches >= 1, "GradientSum: batches must be at least 1 (got: %s)", batches);
            this.examples = examples;
            this.batches = batches;
        }

        public INDArray sum() {
            return sum;
        }

        public long examples() {
            return examples;
        }

        public long batches() {
            return batches;
        }
    }
}
