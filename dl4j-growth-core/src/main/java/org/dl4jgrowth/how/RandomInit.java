package org.dl4jgrowth.how;

/** See {@link UnitInitializer#random()}. */
public final class RandomInit extends StatelessInitializer {
    private static final long serialVersionUID = 1L;

    @Override
    public void initialize(NewUnits units) {
        units.fanIn().fillWithLayerInit();
        units.fillBiasWithLayerInit();
        for (WeightBlock out : units.fanOut()) {
            out.fillWithLayerInit();
        }
    }

    @Override
    public String toString() {
        return "random";
    }
}
