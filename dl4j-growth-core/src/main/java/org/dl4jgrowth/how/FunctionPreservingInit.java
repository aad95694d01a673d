package org.dl4jgrowth.how;

/** See {@link UnitInitializer#functionPreserving()}. */
public final class FunctionPreservingInit extends StatelessInitializer {
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
    public String toString() {
        return "functionPreserving";
    }
}
