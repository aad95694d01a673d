package org.dl4jgrowth.where;

import java.util.List;

/** See {@link SiteSelector#allGrowable()}. */
public final class AllGrowable implements SiteSelector {
    private static final long serialVersionUID = 1L;

    @Override
    public List<String> select(List<String> growable, int growthsSoFar) {
        return growable;
    }

    @Override
    public List<String> namedLayers() {
        return List.of();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AllGrowable;
    }

    @Override
    public int hashCode() {
        return AllGrowable.class.hashCode();
    }

    @Override
    public String toString() {
        return "allGrowable";
    }
}
