package org.dl4jgrowth.nest;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.deeplearning4j.optimize.listeners.CollectScoresListener;
import org.deeplearning4j.optimize.listeners.ScoreIterationListener;
import org.dl4jgrowth.GrowthEvent;
import org.dl4jgrowth.GrowthHistory;
import org.dl4jgrowth.GrowthListener;
import org.dl4jgrowth.GrowthPolicy;
import org.dl4jgrowth.how.SeededInit;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.testing.DigitsImages;
import org.dl4jgrowth.testing.TestNets;
import org.dl4jgrowth.when.GrowthTrigger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * NeST's feature-map growth inside {@code fit()} of the digits CNN (conv, batch norm, pooling) on both
 * network types: the r draws' recorded losses are those a plain DL4J copy gives for the same seeds,
 * the kept draw is the lowest-loss one, and the network's new channels are exactly that draw.
 */
class FeatureMapGrowthTest {
    private static final DigitsImages DIGITS = DigitsImages.split(DataType.DOUBLE, 3);
    private static final List<DataSet> TRAIN = DigitsImages.batches(DIGITS.train(0, 160), 32);
    private static final List<DataSet> GROWTH = DigitsImages.batches(DIGITS.train(160, 224), 32);
    private static final int R = 4;

    private static Model fresh(Model model) {
        if (model instanceof MultiLayerNetwork) {
            MultiLayerNetwork m = new MultiLayerNetwork(((MultiLayerNetwork) model).getLayerWiseConfigurations().clone());
            m.init(model.params().dup(), false);
            return m;
        }
        ComputationGraph c = new ComputationGraph(((ComputationGraph) model).getConfiguration().clone());
        c.init(model.params().dup(), false);
        return c;
    }

    /** Mean per-example loss over the growth data by plain DL4J calls. */
    private static double loss(Model net) {
        double sum = 0;
        int n = 0;
        for (DataSet ds : GROWTH) {
            if (net instanceof MultiLayerNetwork) {
                MultiLayerNetwork m = (MultiLayerNetwork) net;
                m.setInput(ds.getFeatures());
                m.setLabels(ds.getLabels());
                m.computeGradientAndScore();
            } else {
                ComputationGraph c = (ComputationGraph) net;
                c.setInputs(ds.getFeatures());
                c.setLabels(ds.getLabels());
                c.computeGradientAndScore();
            }
            sum += net.score() * ds.numExamples();
            n += ds.numExamples();
        }
        return sum / n;
    }

    @ParameterizedTest(name = "graph={0}")
    @ValueSource(booleans = {false, true})
    void theKeptDrawIsTheLowestLossOfRAndTheNetworkHoldsExactlyIt(boolean graph) {
        Model net = TestNets.build(TestNets.DIGITS_CNN, TestNets.base(8, new Adam(0.01), DataType.DOUBLE), graph);
        List<Model> snapshot = new ArrayList<>();
        List<INDArray> grownAt = new ArrayList<>();
        GrowthListener growth = GrowthListener.builder().policy(GrowthPolicy.builder().planner(NestPlanner.builder()
                        .when(GrowthTrigger.atIterations(2)).layers("c2").growFeatureMaps(2, R).build()).seed(6)
                        .build())
                .growthData(DigitsImages.iterator(GROWTH), GROWTH.size())
                .onGrowth(e -> grownAt.add(net.params().dup())).build();
        TrainingListener before = new BaseTrainingListener() {
            @Override
            public void iterationDone(Model model, int iteration, int epoch) {
                if (iteration == 2) {
                    snapshot.add(fresh(model));
                }
            }
        };
        CollectScoresListener scores = new CollectScoresListener(1);
        TrainingListener[] ls = {new ScoreIterationListener(2), before, growth, scores};
        if (graph) {
            ((ComputationGraph) net).setListeners(ls);
            ((ComputationGraph) net).fit(DigitsImages.iterator(TRAIN), 2);
        } else {
            ((MultiLayerNetwork) net).setListeners(ls);
            ((MultiLayerNetwork) net).fit(DigitsImages.iterator(TRAIN), 2);
        }
        assertEquals(1, growth.history().size(), growth.history().toString());
        assertEquals(6, NetworkRewrite.width(net, "c2"));
        GrowthEvent e = growth.history().events().get(0);
        NestDetails.Layer d = ((NestDetails) e.details()).layers().get("c2");
        assertEquals(R, d.candidateSeeds().size());

        int best = 0;
        double[] recomputed = new double[R];
        for (int c = 0; c < R; c++) {
            Model trial = fresh(snapshot.get(0));
            NetworkRewrite.of(trial).grow("c2", 2).initializer(new SeededInit(UnitInitializer.random(),
                    d.candidateSeeds().get(c))).apply();
            recomputed[c] = loss(trial);
            assertEquals(recomputed[c], d.candidateLosses().get(c), 1e-9, "draw " + c + "'s loss");
            best = recomputed[c] < recomputed[best] ? c : best;
        }
        assertTrue(recomputed[best] < java.util.Arrays.stream(recomputed).max().orElseThrow(),
                "the draws differ: " + java.util.Arrays.toString(recomputed));
        assertEquals(recomputed[best], d.threshold(), 1e-9, "the kept draw is the lowest-loss one");
        assertEquals(new SeededInit(UnitInitializer.random(), d.candidateSeeds().get(best)),
                e.layers().get(0).initializer());
        Model kept = fresh(snapshot.get(0));
        NetworkRewrite.of(kept).grow("c2", 2).initializer(new SeededInit(UnitInitializer.random(),
                d.candidateSeeds().get(best))).apply();
        assertEquals(kept.params(), grownAt.get(0), "the network holds exactly the kept draw");

        assertEquals(10, scores.getListScore().size(), "training went on");
        GrowthHistory back = GrowthHistory.fromJson(growth.history().toJson());
        assertEquals(e.details(), back.events().get(0).details());
    }

    @Test
    void featureMapGrowthNeedsLayersAndBothCounts() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NestPlanner.builder()
                .when(GrowthTrigger.everyEpochs(1)).growFeatureMaps(2, 4).build());
        assertTrue(e.getMessage().contains("name at least one"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> NestPlanner.builder()
                .when(GrowthTrigger.everyEpochs(1)).layers("c1").growFeatureMaps(2, 0).build());
        assertTrue(e.getMessage().contains("needs both at least 1 (got: 2, 0)"), e.getMessage());
    }
}
