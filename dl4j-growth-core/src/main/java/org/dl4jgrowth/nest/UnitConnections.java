package org.dl4jgrowth.nest;

import org.dl4jgrowth.mask.ConnectionMasks;
import org.dl4jgrowth.network.NetworkAdapter;
import org.dl4jgrowth.rewrite.NetworkRewrite;
import org.dl4jgrowth.rewrite.RewriteGeometry;
import org.dl4jgrowth.rewrite.UnitMap;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The connections of each unit (neuron or channel) of one layer, read off the masks: how many of
 * its fan-in entries (in the layer's own mask) and of its fan-out entries (in each consumer's mask,
 * through a flatten's block of inputs per channel) are active. NeST removes the units left with no
 * input or no output connection; this is where they are found. Reads only.
 */
final class UnitConnections {
    final String layer;
    final int width;
    /** Active fan-in entries per unit, or null when the layer has no mask (every entry active). */
    final long[] activeIn;
    /** Fan-in entries per unit. */
    final long fanIn;
    /** Per consumer: active fan-out entries per unit, or null when the consumer has no mask. */
    final Map<String, long[]> activeOut = new LinkedHashMap<>();
    /** Per consumer: fan-out entries per unit. */
    final Map<String, Long> fanOut = new LinkedHashMap<>();
    /**
     * Whether the layer's output goes straight into weight layers only (no batch norm, activation
     * layer, pooling or vertex between, which could turn a constant 0 into something else).
     */
    final boolean straightToWeights;
    /** The layer's output for each unit when its input connections are all dormant: act(b_j). */
    final double[] constantOutput;

    private UnitConnections(NetworkAdapter net, ConnectionMasks masks, String layer) {
        this.layer = layer;
        this.width = NetworkRewrite.width(net.model(), layer);
        RewriteGeometry.Site site = NetworkRewrite.of(net.model()).unitMap(layer, UnitMap.identity(width)).plan()
                .site(layer);
        INDArray w = net.paramTable(layer).get("W");
        this.fanIn = w.length() / width;
        this.activeIn = masks.has(layer) ? perUnit(masks.get(layer), site.unitAxis(), 1) : null;
        for (RewriteGeometry.Consumer c : site.consumers()) {
            activeOut.put(c.layer(), masks.has(c.layer()) ? perUnit(masks.get(c.layer()), c.inputAxis(), c.block())
                    : null);
            fanOut.put(c.layer(), c.fanOutPerUnit());
        }
        List<String> direct = NetworkRewrite.directConsumers(net.model(), layer);
        this.straightToWeights = !direct.isEmpty() && activeOut.keySet().containsAll(direct);
        INDArray b = net.paramTable(layer).get("b");
        INDArray bias = b == null ? org.nd4j.linalg.factory.Nd4j.zeros(w.dataType(), 1, width)
                : b.dup().reshape(1, width);
        this.constantOutput = site.activation() == null ? bias.toDoubleVector()
                : site.activation().getActivation(bias, false).toDoubleVector();
    }

    static UnitConnections of(NetworkAdapter net, ConnectionMasks masks, String layer) {
        return new UnitConnections(net, masks, layer);
    }

    /** Whether unit j has an active output connection (a consumer without a mask counts as connected). */
    boolean hasOutput(int j) {
        if (activeOut.isEmpty()) {
            return true;   // an output of the network (not a growable layer): never removed
        }
        for (long[] a : activeOut.values()) {
            if (a == null || a[j] > 0) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether removing unit j leaves the network's function exactly as it is: it has no active
     * output connection, or no active input connection and a constant output of 0 (act(b_j) = 0,
     * straight into weight layers), so that it contributes nothing downstream.
     */
    boolean removable(int j) {
        return !hasOutput(j) || (activeIn != null && activeIn[j] == 0 && constantOutput[j] == 0.0 && straightToWeights);
    }

    /** The removable units, in increasing order; all but the first when every unit is (a layer keeps one). */
    int[] removable() {
        List<Integer> out = new ArrayList<>();
        for (int j = 0; j < width; j++) {
            if (removable(j)) {
                out.add(j);
            }
        }
        if (out.size() == width) {
            out.remove(0);
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Active entries of {@code mask} per unit along {@code axis}, {@code block} consecutive inputs per unit. */
    static long[] perUnit(INDArray mask, int axis, int block) {
        long[] shape = mask.shape();
        long stride = 1;
        for (int i = axis + 1; i < shape.length; i++) {
            stride *= shape[i];
        }
        long along = shape[axis];
        double[] m = mask.dup('c').reshape(mask.length()).toDoubleVector();
        long[] out = new long[(int) (along / block)];
        for (int i = 0; i < m.length; i++) {
            if (m[i] != 0.0) {
                out[(int) ((i / stride) % along / block)]++;
            }
        }
        return out;
    }
}
