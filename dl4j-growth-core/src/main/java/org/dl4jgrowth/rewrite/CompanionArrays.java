package org.dl4jgrowth.rewrite;

import org.nd4j.shade.guava.base.Preconditions;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Arrays a growth method keeps beside the network, each shaped like one parameter of one layer
 * (NeST's connection masks, a method's per-weight scores): registered here, they follow every
 * rewrite through the same unit maps as the parameters and the optimizer state, element by
 * element. Kept and copied units take their source's values; fresh units get the value given at
 * registration. The registry is mutable state: it lives in the growth controller, next to the
 * history, and a rewrite replaces its arrays only when its swap succeeds.
 */
public final class CompanionArrays {

    /** One registered array. */
    public static final class Entry {
        private final String layer;
        private final String param;
        private final double freshValue;
        private final INDArray array;

        Entry(String layer, String param, double freshValue, INDArray array) {
            this.layer = layer;
            this.param = param;
            this.freshValue = freshValue;
            this.array = array;
        }

        public String layer() {
            return layer;
        }

        public String param() {
            return param;
        }

        /** The value fresh units' cells start with. */
        public double freshValue() {
            return freshValue;
        }

        public INDArray array() {
            return array;
        }
    }

    private final Map<String, Entry> entries = new LinkedHashMap<>();

    /**
     * Registers {@code array}, shaped like parameter {@code param} ("W", "b") of {@code layer}, under
     * {@code name}; its shape is checked against the network at the next rewrite.
     */
    public synchronized CompanionArrays register(String name, String layer, String param, INDArray array,
                                                 double freshValue) {
        Preconditions.checkArgument(name != null && !name.isEmpty(), "register(name, ...): name must be non-empty");
        Preconditions.checkArgument(!entries.containsKey(name), "register(\"%s\", ...): the name is taken", name);
        Preconditions.checkNotNull(layer, "register(\"%s\", layer, ...): layer must not be null", name);
        Preconditions.checkNotNull(param, "register(\"%s\", layer, param, ...): param must not be null", name);
        Preconditions.checkNotNull(array, "register(\"%s\", ..., array, ...): array must not be null", name);
        Preconditions.checkArgument(Double.isFinite(freshValue),
                "register(\"%s\", ...): freshValue must be finite (got: %s)", name, freshValue);
        entries.put(name, new Entry(layer, param, freshValue, array));
        return this;
    }

    /** The array registered as {@code name}, as it is after the rewrites so far. */
    public synchronized INDArray get(String name) {
        Entry e = entries.get(name);
        Preconditions.checkArgument(e != null, "No companion array named '%s'; registered: %s", name, entries.keySet());
        return e.array;
    }

    /** The registration of {@code name}: its layer, parameter, fresh value and current array. */
    public synchronized Entry entry(String name) {
        Entry e = entries.get(name);
        Preconditions.checkArgument(e != null, "No companion array named '%s'; registered: %s", name, entries.keySet());
        return e;
    }

    /**
     * Puts {@code array} in place of the array registered as {@code name}, keeping its registration:
     * for an owner that changes values or memory order in bulk. The shape must stay.
     */
    public synchronized void update(String name, INDArray array) {
        Entry e = entry(name);
        Preconditions.checkArgument(array != null && java.util.Arrays.equals(array.shape(), e.array.shape()),
                "update(\"%s\", array): the shape must stay %s (got: %s)", name, java.util.Arrays.toString(
                        e.array.shape()), array == null ? null : java.util.Arrays.toString(array.shape()));
        entries.put(name, new Entry(e.layer, e.param, e.freshValue, array));
    }

    public synchronized void remove(String name) {
        entries.remove(name);
    }

    public synchronized List<String> names() {
        return new ArrayList<>(entries.keySet());
    }

    synchronized Map<String, Entry> snapshot() {
        return new LinkedHashMap<>(entries);
    }

    /** After a successful swap: the remapped arrays replace the registered ones. */
    synchronized void replace(Map<String, INDArray> remapped) {
        remapped.forEach((name, array) -> {
            Entry e = entries.get(name);
            if (e != null) {
                entries.put(name, new Entry(e.layer, e.param, e.freshValue, array));
            }
        });
    }
}
