package org.dl4jgrowth.how;

import org.dl4jgrowth.rewrite.RandomScope;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.shade.guava.base.Preconditions;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.Objects;

/**
 * Another initialiser run with a generator of its own, seeded with {@code seed}: the same seed and
 * the same shapes give the same units, on a private trial copy and on the network. A planner that
 * tries several random draws and keeps the best (NeST's feature-map growth) proposes the winner as
 * a seed, so no array has to travel from the planning step to the rewrite.
 */
public final class SeededInit implements UnitInitializer {
    private static final long serialVersionUID = 1L;
    private final UnitInitializer inner;
    private final long seed;

    @JsonCreator
    public SeededInit(@JsonProperty("inner") UnitInitializer inner, @JsonProperty("seed") long seed) {
        this.inner = Preconditions.checkNotNull(inner, "seeded(inner, seed): inner must not be null");
        this.seed = seed;
    }

    @JsonProperty("inner")
    public UnitInitializer inner() {
        return inner;
    }

    @JsonProperty("seed")
    public long seed() {
        return seed;
    }

    @Override
    public void initialize(NewUnits units) {
        RandomScope.run(Nd4j.getRandomFactory().getNewRandomInstance(seed), () -> inner.initialize(units));
    }

    @Override
    public void perturb(NewUnits units) {
        RandomScope.run(Nd4j.getRandomFactory().getNewRandomInstance(seed ^ 0x5DEECE66DL),
                () -> inner.perturb(units));
    }

    @Override
    public void check(org.dl4jgrowth.rewrite.RewriteGeometry geometry,
                      org.dl4jgrowth.rewrite.RewriteGeometry.Site site) {
        inner.check(geometry, site);
    }

    @Override
    public java.util.Set<org.dl4jgrowth.signal.SignalKind> signals() {
        return inner.signals();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SeededInit && inner.equals(((SeededInit) o).inner) && seed == ((SeededInit) o).seed;
    }

    @Override
    public int hashCode() {
        return Objects.hash(inner, seed);
    }

    @Override
    public String toString() {
        return inner + "@seed" + seed;
    }
}
