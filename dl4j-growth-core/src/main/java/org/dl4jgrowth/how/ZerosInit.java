package org.dl4jgrowth.how;

/** See {@link UnitInitializer#zeros()}. */
public final class ZerosInit extends StatelessInitializer {
    private static final long serialVersionUID = 1L;

    @Override
    public void initialize(NewUnits units) {
        units.fanIn().zero();
        if (units.hasBias()) {
            units.bias().assign(0);
        }
        for (WeightBlock out : units.fanOut()) {
            out.zero();
        }
    }

    @Override
    public String toString() {
        return "zeros";
    }
}
