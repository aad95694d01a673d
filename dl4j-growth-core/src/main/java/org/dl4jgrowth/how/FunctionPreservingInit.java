package org.dl4jgrowth.how;

/** See {@link UnitInitializer#functionPreserving()}. */
public final class FunctionPreservingInit implements UnitInitializer {
    private static final long serialVersionUID = 1L;

    @Override
    public void initialize(NewUnits units) {
        units.fanIn().fillWithLayerInit();
        units.fillBiasWithLayerInit();
        for (WeightBlock out : units.fanOut()) {
            out.zero();
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FunctionPreservingInit;
    }

    @Override
    public int hashCode() {
        return FunctionPreservingInit.class.hashCode();
    }

    @Override
    public String toString() {
        return "functionPreserving";
    }
}
