package org.dl4jgrowth.rewrite;

import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.testing.TestNets;
import org.dl4jgrowth.testing.TestNets.Arch;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;

import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DL4J's numeric gradient check on grown networks: the rewritten configuration, parameter views and
 * gradient views agree with each other, for fresh units with non-zero fan-in and fan-out (random)
 * and with zero fan-out (function-preserving), and after a split.
 */
@org.junit.jupiter.api.extension.ExtendWith(org.dl4jgrowth.testing.DoublePrecision.class)
class GrownGradientCheckTest {
    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of(TestNets.DENSE_DENSE, "d1"),
                Arguments.of(TestNets.DENSE_DENSE, "d2"),
                Arguments.of(TestNets.DENSE_BN_DENSE, "d1"),
                Arguments.of(TestNets.CONV_CONV, "c1"),         // Conv -> Conv
                Arguments.of(TestNets.CONV_BN_CONV, "c1"),
                Arguments.of(TestNets.CONV_BN_CONV, "c2"),
                Arguments.of(TestNets.CONV_POOL_DENSE, "c1")
        ).flatMap(a -> Stream.of("random", "functionPreserving", "split")
                .flatMap(how -> Stream.of(false, true).map(g -> Arguments.of(a.get()[0], a.get()[1], how, g))));
    }

    @ParameterizedTest(name = "{0} {1} {2} graph={3}")
    @MethodSource("cases")
    void grownNetworkPassesGradientCheck(Arch arch, String site, String how, boolean graph) {
        Model net = TestNets.build(arch, TestNets.base(12345, new NoOp(), DataType.DOUBLE), graph);
        int width = (int) TestNets.layer(net, site).getParam("W").size(site.startsWith("c") ? 0 : 1);
        NetworkRewrite rw = NetworkRewrite.of(net);
        if ("split".equals(how)) {
            rw.unitMap(site, UnitMap.split(width, 1));
        } else {
            rw.grow(site, 2).initializer("random".equals(how) ? UnitInitializer.random()
                    : UnitInitializer.functionPreserving());
        }
        rw.apply();

        DataSet ds = arch.data(6, 99, DataType.DOUBLE);
        Set<String> exclude = net.paramTable().keySet().stream()
                .filter(k -> k.endsWith("_mean") || k.endsWith("_var") || k.endsWith("_log10stdev"))
                .collect(Collectors.toSet());
        boolean ok;
        if (net instanceof MultiLayerNetwork) {
            ok = GradientCheckUtil.checkGradients(new GradientCheckUtil.MLNConfig().net((MultiLayerNetwork) net)
                    .input(ds.getFeatures()).labels(ds.getLabels()).excludeParams(exclude)
                    .callEachIter(n -> Nd4j.getRandom().setSeed(12345)));
        } else {
            ok = GradientCheckUtil.checkGradients(new GradientCheckUtil.GraphConfig().net((ComputationGraph) net)
                    .inputs(new org.nd4j.linalg.api.ndarray.INDArray[]{ds.getFeatures()})
                    .labels(new org.nd4j.linalg.api.ndarray.INDArray[]{ds.getLabels()}).excludeParams(exclude)
                    .callEachIter(n -> Nd4j.getRandom().setSeed(12345)));
        }
        assertTrue(ok, "gradient check after growing " + site + " (" + how + ")");
    }
}
