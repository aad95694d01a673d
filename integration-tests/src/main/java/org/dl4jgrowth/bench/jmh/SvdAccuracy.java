package org.dl4jgrowth.bench.jmh;

import java.util.Locale;

import org.dl4jgrowth.linalg.TopSvd;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Accuracy of the top-k singular values, printed once per matrix size from the SVD benchmarks'
 * tear-down (not measured): randomized against exact, and both against the values the matrix was
 * built with (which checks the construction).
 */
final class SvdAccuracy {
    private SvdAccuracy() {
    }

    static String report(String size, double[] constructed, TopSvd exact, TopSvd randomized) {
        double[] e = values(exact);
        double[] r = values(randomized);
        double maxRandVsExact = 0;
        double maxExactVsBuilt = 0;
        double maxRandVsBuilt = 0;
        for (int i = 0; i < e.length; i++) {
            maxRandVsExact = Math.max(maxRandVsExact, Math.abs(r[i] - e[i]) / e[i]);
            maxExactVsBuilt = Math.max(maxExactVsBuilt, Math.abs(e[i] - constructed[i]) / constructed[i]);
            maxRandVsBuilt = Math.max(maxRandVsBuilt, Math.abs(r[i] - constructed[i]) / constructed[i]);
        }
        int last = e.length - 1;
        return String.format(Locale.ROOT,
                "SVD-ACCURACY %s top-%d FLOAT: max_i |s_rand-s_exact|/s_exact = %.2e (at i=%d: %.2e); "
                        + "max_i |s_exact-s_built|/s_built = %.2e; max_i |s_rand-s_built|/s_built = %.2e; "
                        + "s_exact[0]=%.6f s_exact[%d]=%.6f s_rand[%d]=%.6f built[%d]=%.6f",
                size, e.length, maxRandVsExact, last, Math.abs(r[last] - e[last]) / e[last], maxExactVsBuilt,
                maxRandVsBuilt, e[0], last, e[last], last, r[last], last, constructed[last]);
    }

    private static double[] values(TopSvd svd) {
        return svd.singularValues().castTo(DataType.DOUBLE).toDoubleVector();
    }
}
