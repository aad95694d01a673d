package org.dl4jgrowth;

import com.google.common.base.Preconditions;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.optimize.api.BaseTrainingListener;

import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * Grows a {@code MultiLayerNetwork} or {@code ComputationGraph} while it trains: attach it with
 * {@code net.addListeners(...)} and call {@code fit()} as usual. A thin adapter: each
 * {@code iterationDone} and {@code onEpochEnd} is passed to a {@link GrowthController}, which holds
 * the policy and the history.
 *
 * <pre>{@code
 * GrowthListener growth = GrowthListener.builder()
 *     .policy(GrowthPolicy.builder()
 *         .when(GrowthTrigger.everyEpochs(2).and(GrowthTrigger.maxGrowths(3)))
 *         .where(SiteSelector.layers("hidden"))
 *         .howMuch(GrowthAmount.add(8))
 *         .build())
 *     .historyFile(Path.of("growth-history.json"))
 *     .build();
 * net.addListeners(growth);
 * net.fit(trainIterator, 10);
 * growth.history().events().forEach(System.out::println);
 * }</pre>
 *
 * <p>One listener grows one network; attached to a second network it throws rather than mix their
 * histories. The network object stays the same, but {@code Layer} objects taken from it before a
 * growth are stale afterwards.
 */
public final class GrowthListener extends BaseTrainingListener {
    private final GrowthController controller;
    private final Path historyFile;
    private final Consumer<GrowthEvent> onGrowth;

    public GrowthListener(GrowthPolicy policy) {
        this(policy.newController(), null, e -> { });
    }

    private GrowthListener(GrowthController controller, Path historyFile, Consumer<GrowthEvent> onGrowth) {
        this.controller = controller;
        this.historyFile = historyFile;
        this.onGrowth = onGrowth;
    }

    public static Builder builder() {
        return new Builder();
    }

    public GrowthController controller() {
        return controller;
    }

    public GrowthHistory history() {
        return controller.history();
    }

    @Override
    public void iterationDone(Model model, int iteration, int epoch) {
        controller.onIteration(model, iteration, epoch).ifPresent(this::grown);
    }

    @Override
    public void onEpochEnd(Model model) {
        controller.onEpochEnd(model).ifPresent(this::grown);
    }

    private void grown(GrowthEvent event) {
        if (historyFile != null) {
            controller.history().writeJson(historyFile);
        }
        onGrowth.accept(event);
    }

    public static final class Builder {
        private GrowthPolicy policy;
        private Path historyFile;
        private Consumer<GrowthEvent> onGrowth = e -> { };
        private org.nd4j.linalg.dataset.api.iterator.DataSetIterator growthData;
        private int growthBatches;

        private Builder() {
        }

        public Builder policy(GrowthPolicy policy) {
            this.policy = Preconditions.checkNotNull(policy, "policy(policy): policy must not be null");
            return this;
        }

        /** Rewrites this JSON file with the whole history after every growth. */
        public Builder historyFile(Path file) {
            this.historyFile = Preconditions.checkNotNull(file, "historyFile(file): file must not be null");
            return this;
        }

        /**
         * Data for GradMax's statistic: up to {@code batches} minibatches of an iterator of its own
         * (not the training iterator). Without it, the current training minibatch is used.
         */
        public Builder growthData(org.nd4j.linalg.dataset.api.iterator.DataSetIterator data, int batches) {
            Preconditions.checkNotNull(data, "growthData(data, batches): data must not be null");
            Preconditions.checkArgument(batches >= 1,
                    "growthData(data, batches): batches must be at least 1 (got: %s)", batches);
            this.growthData = data;
            this.growthBatches = batches;
            return this;
        }

        /** Called with each event right after the growth (on the training thread: keep it short). */
        public Builder onGrowth(Consumer<GrowthEvent> callback) {
            this.onGrowth = Preconditions.checkNotNull(callback, "onGrowth(callback): callback must not be null");
            return this;
        }

        public GrowthListener build() {
            if (policy == null) {
                throw new IllegalStateException("GrowthListener: policy(...) is required, built with "
                        + "GrowthPolicy.builder()");
            }
            GrowthController c = policy.newController();
            if (growthData != null) {
                c.growthData(growthData, growthBatches);
            }
            return new GrowthListener(c, historyFile, onGrowth);
        }
    }
}
