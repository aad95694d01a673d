package org.dl4jgrowth.how;

/**
 * Base of initialisers without settings: all instances of one class are equal, and the JSON form
 * is the class name alone.
 */
abstract class StatelessInitializer implements UnitInitializer {
    private static final long serialVersionUID = 1L;

    @Override
    public boolean equals(Object o) {
        return o != null && o.getClass() == getClass();
    }

    @Override
    public int hashCode() {
        return getClass().hashCode();
    }
}
