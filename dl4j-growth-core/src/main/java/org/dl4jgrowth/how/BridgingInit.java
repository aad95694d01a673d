package org.dl4jgrowth.how;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.shade.guava.base.Preconditions;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * NeST's neuron growth by the bridging gradient (Dai, Yin, Jha 2018, arXiv 1711.02017, section
 * 3.2): new neurons of a dense layer l bridge the units of layer l−1 and l+1 whose hypothetical
 * direct connection has the largest gradient B<sub>ij</sub>, with B = Σ h<sub>l−1</sub>
 * δ<sub>l+1</sub>ᵀ over the growth data (the statistic GradMax uses, read through
 * {@link NewUnits#gradientStatistic()}, so a faster route to it serves both methods).
 *
 * <p><b>Pairs and neurons.</b> One growth adds the unit map's k fresh neurons, and takes the k
 * pairs (i, j) with the largest |B<sub>ij</sub>| (ties by the smaller flat index i·n<sub>l+1</sub> + j):
 * the m-th new neuron bridges the m-th pair, with one fan-in weight ψ from unit i and one fan-out
 * weight ω to unit j, and zeros elsewhere. (The paper grows "a neuron per pair" above a
 * percentile; here the planner's amount is the number of pairs, so β = k / (n<sub>l−1</sub>·n<sub>l+1</sub>).)
 *
 * <p><b>Values.</b> ψ = −ε·sgn(B<sub>ij</sub>)·√|B<sub>ij</sub>| and ω = ε·√|B<sub>ij</sub>| with a random sign
 * ε = ±1 per neuron (the growth's own generator), so that the bridge's linear effect ψ·ω = −B<sub>ij</sub>
 * points down the gradient. <em>Departure from the paper:</em> the paper writes ψ = ε·sgn(B)·√|B|,
 * whose product +B, for B the gradient of the loss, points up it; we take the sign that lowers
 * the loss to first order. Then the birth-strength rescaling: ψ ← α·ψ·mean|W<sub>l</sub>|/mean|ψ| and
 * ω ← α·ω·mean|W<sub>l+1</sub>|/mean|ω|, the means over the existing nonzero weights (dormant
 * connections are zeros) and over the k new values; α = {@value #DEFAULT_ALPHA} by default (the
 * paper asks for α &gt; 0.3). Biases start at 0.
 *
 * <p>Dense layers with one dense consumer only (the convolution counterpart is feature-map growth).
 * A layer with a connection mask keeps its new neurons fully connected; pruning thins them.
 */
public final class BridgingInit implements UnitInitializer {
    private static final long serialVersionUID = 1L;
    /** The birth strength by default. */
    public static final double DEFAULT_ALPHA = 0.5;

    private final double alpha;

    @JsonCreator
    public BridgingInit(@JsonProperty("alpha") double alpha) {
        Preconditions.checkArgument(alpha > 0 && Double.isFinite(alpha),
                "bridging(alpha): alpha must be a positive number (got: %s); the paper uses alpha > 0.3", alpha);
        this.alpha = alpha;
    }

    @JsonProperty("alpha")
    public double alpha() {
        return alpha;
    }

    @Override
    public java.util.Set<org.dl4jgrowth.signal.SignalKind> signals() {
        return java.util.Set.of(org.dl4jgrowth.signal.SignalKind.GRADIENT_STATISTIC);
    }

    @Override
    public void check(org.dl4jgrowth.rewrite.RewriteGeometry geometry,
                      org.dl4jgrowth.rewrite.RewriteGeometry.Site site) {
        GradMaxInit.checkSingleDirectConsumer(geometry, site, "bridging");
        if (site.fanInShape().length != 2 || site.consumers().get(0).fanOutShape().length != 2) {
            throw new IllegalArgumentException("bridging grows dense layers feeding a dense layer; layer '"
                    + site.layer() + "' is not one: grow convolutions with NeST's feature-map growth");
        }
    }

    @Override
    public void initialize(NewUnits units) {
        WeightBlock out = GradMaxInit.singleConsumer(units, "bridging");
        INDArray in = units.fanIn().weights();
        if (in.rank() != 2 || out.weights().rank() != 2) {
            throw new IllegalArgumentException("bridging grows dense layers feeding a dense layer; layer '"
                    + units.layerName() + "' is not one");
        }
        INDArray g = GradMaxInit.statistic(units, out, "bridging");
        int k = units.count();
        int rows = (int) g.size(0);
        int cols = (int) g.size(1);
        if (rows != in.size(0)) {
            throw new IllegalArgumentException("bridging: the statistic of layer '" + units.layerName() + "' has "
                    + rows + " rows but the layer has " + in.size(0) + " inputs");
        }
        double[] b = g.castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE).dup('c').reshape(g.length())
                .toDoubleVector();
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < b.length; i++) {
            order.add(i);
        }
        order.sort((x, y) -> {
            int c = Double.compare(Math.abs(b[y]), Math.abs(b[x]));
            return c != 0 ? c : Integer.compare(x, y);
        });
        if (k > b.length) {
            throw new IllegalArgumentException("bridging: layer '" + units.layerName() + "' grows " + k
                    + " neurons but has only " + b.length + " pairs (" + rows + " x " + cols + ") to bridge");
        }
        double[] psi = new double[k];
        double[] omega = new double[k];
        int[] from = new int[k];
        int[] to = new int[k];
        double sumPsi = 0;
        double sumOmega = 0;
        for (int m = 0; m < k; m++) {
            int flat = order.get(m);
            double v = b[flat];
            double eps = Nd4j.getRandom().nextDouble() < 0.5 ? -1 : 1;
            double root = Math.sqrt(Math.abs(v));
            psi[m] = -eps * Math.signum(v) * root;
            omega[m] = eps * root;
            from[m] = flat / cols;
            to[m] = flat % cols;
            sumPsi += Math.abs(psi[m]);
            sumOmega += Math.abs(omega[m]);
        }
        double inScale = scale(units.fanIn().existingMeanAbs(), sumPsi / k);
        double outScale = scale(out.existingMeanAbs(), sumOmega / k);
        in.assign(0);
        out.weights().assign(0);
        for (int m = 0; m < k; m++) {
            // DL4J's dense layout: fan-in [nIn, k] (units along axis 1), fan-out rows [k, nOut].
            in.putScalar(new long[]{from[m], m}, psi[m] * inScale);
            out.weights().putScalar(new long[]{m, to[m]}, omega[m] * outScale);
        }
        if (units.hasBias()) {
            units.bias().assign(0);
        }
        List<String> pairs = new ArrayList<>();
        for (int m = 0; m < k; m++) {
            pairs.add(from[m] + "->" + to[m]);
        }
        units.note("pairs", pairs);
        units.note("alpha", alpha);
    }

    /** α·mean|W|/mean|new|; with nothing to match (no existing weight, or a zero bridge) just α. */
    private double scale(double existingMeanAbs, double newMeanAbs) {
        if (!(existingMeanAbs > 0) || !(newMeanAbs > 0)) {
            return alpha;
        }
        return alpha * existingMeanAbs / newMeanAbs;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BridgingInit && Double.compare(alpha, ((BridgingInit) o).alpha) == 0;
    }

    @Override
    public int hashCode() {
        return Objects.hash(alpha);
    }

    @Override
    public String toString() {
        return "bridging(alpha=" + alpha + ")";
    }
}
