package org.dl4jgrowth.rewrite;

import org.nd4j.shade.guava.base.Preconditions;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * How the units (neurons, or channels of a convolution) of one layer are rebuilt: the single
 * mechanism behind every width change in this library.
 *
 * <p>Unit {@code j} of the new layer either <em>copies</em> old unit {@link #source(int)} (its fan-in
 * and bias, its optimizer state, and its fan-out multiplied by {@link #fanOutScale(int)}) or is
 * <em>fresh</em> ({@code source(j) == -1}) and gets its weights from a
 * {@link org.dl4jgrowth.how.UnitInitializer}. Old units that no new unit copies are dropped.
 * Widening appends fresh units; Firefly's neuron splitting (Wu et al. 2020) copies a unit and
 * halves the fan-out of both halves; NeST's pruning (Dai, Yin and Jha 2018) keeps a subset.
 *
 * <p>A copied unit may carry a <em>fan-in perturbation</em> of sign +1 or -1: its fan-in weights
 * become w + δ or w - δ, where δ (one array per old unit, the shape of one unit's fan-in) is chosen
 * by the initialiser ({@link org.dl4jgrowth.how.UnitInitializer#perturb}). Firefly's split gives
 * the two halves +1 and -1, so they compute the same function up to O(|δ|²) and then drift
 * apart under training; without a perturbation the halves stay identical.
 *
 * <p>Immutable. Copying a unit more than once is allowed (that is what a split is).
 */
public final class UnitMap {
    /** Marks a fresh unit in {@link #sources()}. */
    public static final int FRESH = -1;

    /**
     * The widest a layer can be: the JVM's largest array (a unit map holds one entry per unit, and
     * ND4J's own index arrays are Java arrays too).
     */
    public static final int MAX_WIDTH = Integer.MAX_VALUE - 8;

    private final int oldWidth;
    private final int[] sources;
    private final double[] fanOutScales;
    private final int[] perturbations;

    private UnitMap(int oldWidth, int[] sources, double[] fanOutScales) {
        this(oldWidth, sources, fanOutScales, new int[sources.length]);
    }

    private UnitMap(int oldWidth, int[] sources, double[] fanOutScales, int[] perturbations) {
        this.oldWidth = oldWidth;
        this.sources = sources;
        this.fanOutScales = fanOutScales;
        this.perturbations = perturbations;
    }

    /**
     * {@link #of(int, int[], double[])} with fan-in perturbations: for each new unit 0 (none), +1
     * (w + δ) or -1 (w - δ); only copied units may carry one.
     */
    public static UnitMap of(int oldWidth, int[] sources, double[] fanOutScales, int[] perturbations) {
        UnitMap m = of(oldWidth, sources, fanOutScales);
        Preconditions.checkNotNull(perturbations, "perturbations");
        Preconditions.checkArgument(perturbations.length == sources.length,
                "perturbations has %s entries but there are %s new units", perturbations.length, sources.length);
        for (int j = 0; j < sources.length; j++) {
            int p = perturbations[j];
            if (p < -1 || p > 1) {
                throw new IllegalArgumentException("Fan-in perturbation of new unit " + j + " must be -1, 0 or +1 (got: "
                        + p + ")");
            }
            if (p != 0 && sources[j] == FRESH) {
                throw new IllegalArgumentException("New unit " + j + " is fresh: only copied units can carry a fan-in "
                        + "perturbation (its weights come from the initialiser)");
            }
        }
        return new UnitMap(m.oldWidth, m.sources, m.fanOutScales, perturbations.clone());
    }

    /**
     * Firefly's split with a perturbation: each listed unit stays where it is with fan-in w + δ, a
     * copy with fan-in w - δ is appended, both with half the fan-out.
     */
    public static UnitMap splitPerturbed(int oldWidth, int... splitUnits) {
        UnitMap plain = split(oldWidth, splitUnits);
        int[] signs = new int[plain.newWidth()];
        for (int i = 0; i < splitUnits.length; i++) {
            signs[splitUnits[i]] = 1;
            signs[oldWidth + i] = -1;
        }
        return of(oldWidth, plain.sources, plain.fanOutScales, signs);
    }

    /** The fan-in perturbation of new unit {@code j}: 0, +1 or -1. */
    public int perturbation(int j) {
        return perturbations[j];
    }

    /** The old units whose copies carry a perturbation, each once, in increasing order: δ's rows. */
    public int[] perturbedSources() {
        java.util.TreeSet<Integer> set = new java.util.TreeSet<>();
        for (int j = 0; j < sources.length; j++) {
            if (perturbations[j] != 0) {
                set.add(sources[j]);
            }
        }
        return set.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * @param oldWidth     width of the layer before the change
     * @param sources      for each new unit, the old unit it copies, or {@link #FRESH}
     * @param fanOutScales for each new unit, the factor on its fan-out (ignored for fresh units);
     *                     null means 1 everywhere
     */
    public static UnitMap of(int oldWidth, int[] sources, double[] fanOutScales) {
        Preconditions.checkArgument(oldWidth >= 1, "Old width must be at least 1 (got: %s)", oldWidth);
        Preconditions.checkNotNull(sources, "sources");
        Preconditions.checkArgument(sources.length >= 1,
                "A layer must keep at least one unit: the new width must be at least 1 (got: %s)", sources.length);
        double[] scales = fanOutScales == null ? filled(sources.length, 1.0) : fanOutScales.clone();
        Preconditions.checkArgument(scales.length == sources.length,
                "fanOutScales has %s entries but there are %s new units", scales.length, sources.length);
        for (int j = 0; j < sources.length; j++) {
            int s = sources[j];
            if (s != FRESH && (s < 0 || s >= oldWidth)) {
                throw new IllegalArgumentException("New unit " + j + " copies old unit " + s
                        + ", which does not exist: the layer had " + oldWidth + " units (valid: 0.."
                        + (oldWidth - 1) + ", or FRESH = -1)");
            }
            if (!Double.isFinite(scales[j])) {
                throw new IllegalArgumentException("Fan-out scale of new unit " + j + " must be finite (got: "
                        + scales[j] + ")");
            }
        }
        return new UnitMap(oldWidth, sources.clone(), scales);
    }

    /** The map that changes nothing. */
    public static UnitMap identity(int width) {
        return widen(width, width);
    }

    /** Keeps every unit and appends {@code newWidth - oldWidth} fresh ones. */
    public static UnitMap widen(int oldWidth, int newWidth) {
        Preconditions.checkArgument(newWidth >= oldWidth,
                "widen() cannot narrow a layer from %s to %s units: use keep() or drop()", oldWidth, newWidth);
        return grow(oldWidth, newWidth - oldWidth);
    }

    /** Keeps every unit and appends {@code added} fresh ones. */
    public static UnitMap grow(int oldWidth, int added) {
        Preconditions.checkArgument(oldWidth >= 1, "Old width must be at least 1 (got: %s)", oldWidth);
        Preconditions.checkArgument(added >= 0, "Number of units to add must be non-negative (got: %s)", added);
        // In long arithmetic: an int sum would wrap to a negative array size.
        Preconditions.checkArgument((long) oldWidth + added <= MAX_WIDTH,
                "A layer of %s units cannot grow by %s: %s units is above the largest width, %s",
                oldWidth, added, (long) oldWidth + added, MAX_WIDTH);
        int[] src = new int[oldWidth + added];
        for (int j = 0; j < src.length; j++) {
            src[j] = j < oldWidth ? j : FRESH;
        }
        return of(oldWidth, src, null);
    }

    /** Keeps exactly the listed old units, in the order given; the others are dropped. */
    public static UnitMap keep(int oldWidth, int... keptUnits) {
        return of(oldWidth, keptUnits, null);
    }

    /** Drops the listed old units and keeps the others in order. */
    public static UnitMap drop(int oldWidth, int... droppedUnits) {
        Preconditions.checkArgument(oldWidth >= 1, "Old width must be at least 1 (got: %s)", oldWidth);
        boolean[] dropped = new boolean[oldWidth];
        for (int u : droppedUnits) {
            if (u < 0 || u >= oldWidth) {
                throw new IllegalArgumentException("Cannot drop unit " + u + ": the layer has " + oldWidth
                        + " units (valid: 0.." + (oldWidth - 1) + ")");
            }
            dropped[u] = true;
        }
        int[] kept = new int[oldWidth];
        int n = 0;
        for (int u = 0; u < oldWidth; u++) {
            if (!dropped[u]) {
                kept[n++] = u;
            }
        }
        if (n == 0) {
            throw new IllegalArgumentException("Dropping " + Arrays.toString(droppedUnits)
                    + " would leave no unit in a layer of width " + oldWidth);
        }
        return keep(oldWidth, Arrays.copyOf(kept, n));
    }

    /**
     * Splits each listed unit in two: the unit stays where it is and a copy is appended, both with
     * half the original fan-out, so the layer computes the same function (Firefly's split move).
     */
    public static UnitMap split(int oldWidth, int... splitUnits) {
        Builder b = builder(oldWidth);
        boolean[] isSplit = new boolean[oldWidth];
        for (int u : splitUnits) {
            if (u < 0 || u >= oldWidth) {
                throw new IllegalArgumentException("Cannot split unit " + u + ": the layer has " + oldWidth
                        + " units (valid: 0.." + (oldWidth - 1) + ")");
            }
            Preconditions.checkArgument(!isSplit[u], "Unit %s is listed twice for splitting", u);
            isSplit[u] = true;
        }
        for (int u = 0; u < oldWidth; u++) {
            b.copy(u, isSplit[u] ? 0.5 : 1.0);
        }
        for (int u : splitUnits) {
            b.copy(u, 0.5);
        }
        return b.build();
    }

    public static Builder builder(int oldWidth) {
        return new Builder(oldWidth);
    }

    public int oldWidth() {
        return oldWidth;
    }

    public int newWidth() {
        return sources.length;
    }

    /** The old unit copied by new unit {@code j}, or {@link #FRESH}. */
    public int source(int j) {
        return sources[j];
    }

    public double fanOutScale(int j) {
        return fanOutScales[j];
    }

    public int[] sources() {
        return sources.clone();
    }

    /** Positions, in the new layer, of the fresh units. */
    public int[] freshUnits() {
        return Arrays.stream(indices()).filter(j -> sources[j] == FRESH).toArray();
    }

    public int freshCount() {
        return freshUnits().length;
    }

    /** True when some copied unit's fan-out is scaled. */
    public boolean scalesFanOut() {
        for (int j = 0; j < sources.length; j++) {
            if (sources[j] != FRESH && fanOutScales[j] != 1.0) {
                return true;
            }
        }
        return false;
    }

    /** True when the map changes nothing. */
    public boolean isIdentity() {
        if (sources.length != oldWidth) {
            return false;
        }
        for (int j = 0; j < sources.length; j++) {
            if (sources[j] != j || fanOutScales[j] != 1.0 || perturbations[j] != 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * The map over rows of a consumer that sees each unit as {@code block} consecutive inputs, as a
     * dense layer does after a channels-first (NCHW) flatten: channel c becomes rows
     * {@code c*block .. c*block+block-1}.
     */
    public UnitMap expand(int block) {
        Preconditions.checkArgument(block >= 1, "Block size must be at least 1 (got: %s)", block);
        if (block == 1) {
            return this;
        }
        int[] src = new int[sources.length * block];
        double[] sc = new double[src.length];
        for (int j = 0; j < sources.length; j++) {
            for (int s = 0; s < block; s++) {
                src[j * block + s] = sources[j] == FRESH ? FRESH : sources[j] * block + s;
                sc[j * block + s] = fanOutScales[j];
            }
        }
        return new UnitMap(oldWidth * block, src, sc);
    }

    private int[] indices() {
        int[] idx = new int[sources.length];
        for (int j = 0; j < idx.length; j++) {
            idx[j] = j;
        }
        return idx;
    }

    private static double[] filled(int n, double v) {
        double[] a = new double[n];
        Arrays.fill(a, v);
        return a;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof UnitMap)) {
            return false;
        }
        UnitMap m = (UnitMap) o;
        return oldWidth == m.oldWidth && Arrays.equals(sources, m.sources) && Arrays.equals(fanOutScales, m.fanOutScales)
                && Arrays.equals(perturbations, m.perturbations);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * (31 * oldWidth + Arrays.hashCode(sources)) + Arrays.hashCode(fanOutScales))
                + Arrays.hashCode(perturbations);
    }

    @Override
    public String toString() {
        return "UnitMap{" + oldWidth + " -> " + sources.length + ", sources=" + Arrays.toString(sources)
                + (scalesFanOut() ? ", fanOutScales=" + Arrays.toString(fanOutScales) : "")
                + (perturbedSources().length > 0 ? ", perturbations=" + Arrays.toString(perturbations) : "") + "}";
    }

    /** Builds a map unit by unit, in the order of the new layer. */
    public static final class Builder {
        private final int oldWidth;
        private final List<Integer> sources = new ArrayList<>();
        private final List<Double> scales = new ArrayList<>();

        private Builder(int oldWidth) {
            Preconditions.checkArgument(oldWidth >= 1, "Old width must be at least 1 (got: %s)", oldWidth);
            this.oldWidth = oldWidth;
        }

        /** The next new unit copies old unit {@code unit} unchanged. */
        public Builder copy(int unit) {
            return copy(unit, 1.0);
        }

        /** The next new unit copies old unit {@code unit}, its fan-out multiplied by {@code fanOutScale}. */
        public Builder copy(int unit, double fanOutScale) {
            sources.add(unit);
            scales.add(fanOutScale);
            return this;
        }

        /** The next {@code n} new units are fresh. */
        public Builder fresh(int n) {
            Preconditions.checkArgument(n >= 0, "Number of fresh units must be non-negative (got: %s)", n);
            for (int i = 0; i < n; i++) {
                sources.add(FRESH);
                scales.add(1.0);
            }
            return this;
        }

        public UnitMap build() {
            return of(oldWidth, sources.stream().mapToInt(Integer::intValue).toArray(),
                    scales.stream().mapToDouble(Double::doubleValue).toArray());
        }
    }
}
