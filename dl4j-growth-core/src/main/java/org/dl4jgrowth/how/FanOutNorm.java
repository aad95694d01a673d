package org.dl4jgrowth.how;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The norm GradMax-style initialisers give each new unit's fan-out, as in the GradMax reference
 * code: a multiple of the mean norm of the existing units' fan-out, or a fixed value.
 */
final class FanOutNorm {
    private FanOutNorm() {
    }

    static double target(WeightBlock out, double scale, double fixedNorm) {
        if (fixedNorm > 0) {
            return fixedNorm;
        }
        double existing = out.existingNorm();
        // A consumer whose old fan-out is all zero gives no scale to copy: fall back to unit norm.
        return scale * (existing > 0 ? existing : 1.0);
    }

    /** Scales every row of {@code rows} to L2 norm {@code norm} (rows of norm 0 stay 0). */
    static INDArray normaliseRows(INDArray rows, double norm) {
        INDArray n = rows.norm2(1).reshape(rows.size(0), 1);
        n.addi(1e-30);
        return rows.diviColumnVector(n).muli(norm);
    }

    /**
     * Length of one new unit's fan-out, flattened: a dense consumer's unit count, or a convolution
     * consumer's nOut·kH·kW. Supports blocks whose units are rows (dense) or input channels (conv).
     */
    static long basis(WeightBlock out, String who, String layer) {
        INDArray w = out.weights();
        if (out.unitBlock() == 1 && w.rank() == 2 && out.unitAxis() == 0) {
            return w.size(1);
        }
        if (out.unitBlock() == 1 && w.rank() == 4 && out.unitAxis() == 1) {
            return w.size(0) * w.size(2) * w.size(3);
        }
        throw new IllegalArgumentException(who + " grows layers that feed a dense or convolution consumer "
                + "directly; layer '" + layer + "' reaches '" + out.layerName() + "' through a flatten of "
                + out.unitBlock() + " positions per unit");
    }

    /** Writes {@code rows} ([k, basis], one flattened fan-out per new unit) into the block's layout. */
    static void place(WeightBlock out, INDArray rows) {
        INDArray w = out.weights();
        if (w.rank() == 2) {
            w.assign(rows);
        } else {
            w.assign(rows.reshape('c', rows.size(0), w.size(0), w.size(2), w.size(3)).permute(1, 0, 2, 3));
        }
    }

    static void checkSettings(String name, double scale, double fixedNorm) {
        if (!(scale > 0) || !Double.isFinite(scale)) {
            throw new IllegalArgumentException(name + ": scale must be a finite number above 0 (got: " + scale + ")");
        }
        if (fixedNorm < 0 || !Double.isFinite(fixedNorm)) {
            throw new IllegalArgumentException(name + ": fixedNorm must be 0 (unused) or a finite positive number (got: "
                    + fixedNorm + ")");
        }
    }
}
