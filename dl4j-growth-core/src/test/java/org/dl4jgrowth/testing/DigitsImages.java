package org.dl4jgrowth.testing;

import org.deeplearning4j.datasets.iterator.ExistingDataSetIterator;
import org.dl4jgrowth.data.Digits;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.List;

/**
 * The bundled digits as NCHW images [n, 1, 8, 8] for convolution tests, in fixed minibatches: a test
 * that knows the iteration knows exactly which examples were trained on.
 */
public final class DigitsImages {
    private final DataSet train;
    private final DataSet test;

    private DigitsImages(DataSet train, DataSet test) {
        this.train = train;
        this.test = test;
    }

    /** Digits.split(type, 0.8, seed), as images. */
    public static DigitsImages split(DataType type, long seed) {
        Digits.Split s = Digits.split(type, 0.8, seed);
        return new DigitsImages(s.train(), s.test());
    }

    /** Training examples [from, to) as images. */
    public DataSet train(int from, int to) {
        return rows(train, from, to);
    }

    /** Held-out examples [from, to) as images. */
    public DataSet test(int from, int to) {
        return rows(test, from, to);
    }

    /** Consecutive minibatches of {@code batch} examples of {@code data}; the last one holds the remainder. */
    public static List<DataSet> batches(DataSet data, int batch) {
        List<DataSet> out = new ArrayList<>();
        int n = data.numExamples();
        for (int from = 0; from < n; from += batch) {
            out.add(rows(data, from, Math.min(n, from + batch)));
        }
        return out;
    }

    /** A resettable iterator over fixed minibatches, in order. */
    public static DataSetIterator iterator(List<DataSet> batches) {
        return new ExistingDataSetIterator(batches);
    }

    private static DataSet rows(DataSet d, int from, int to) {
        long n = to - from;
        org.nd4j.linalg.api.ndarray.INDArray f = d.getFeatures();
        if (f.rank() == 2) {
            f = f.get(NDArrayIndex.interval(from, to), NDArrayIndex.all()).dup('c').reshape('c', n, 1, 8, 8);
        } else {
            f = f.get(NDArrayIndex.interval(from, to), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all())
                    .dup('c');
        }
        return new DataSet(f, d.getLabels().get(NDArrayIndex.interval(from, to), NDArrayIndex.all()).dup());
    }
}
