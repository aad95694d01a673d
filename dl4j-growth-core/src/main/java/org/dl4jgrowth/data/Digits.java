package org.dl4jgrowth.data;

import org.nd4j.shade.guava.annotations.VisibleForTesting;
import org.nd4j.shade.guava.base.Preconditions;
import org.nd4j.shade.guava.base.Supplier;
import org.nd4j.shade.guava.base.Suppliers;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.zip.GZIPInputStream;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.ViewIterator;
import org.nd4j.linalg.dataset.api.DataSetPreProcessor;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The "digits" dataset bundled with this library: 1,797 handwritten digits, each an 8x8
 * image with integer pixel values 0..16, labelled 0..9.
 *
 * <p>The data is scikit-learn's {@code sklearn/datasets/data/digits.csv.gz} (from
 * scikit-learn 1.2.1), taken unchanged. scikit-learn in turn ships the test set of the UCI
 * Machine Learning Repository's "Optical Recognition of Handwritten Digits" data set
 * (E. Alpaydin, C. Kaynak, 1998). It is distributed under scikit-learn's BSD 3-Clause
 * license; see {@code org/dl4jgrowth/data/LICENSE-digits.txt} next to the data file.
 *
 * <p>It is small enough to train on in a unit test in seconds yet real enough that a
 * small network's accuracy means something, which is what it is here for.
 *
 * <p>Features are the 64 pixels in row-major order divided by 16, so they lie in [0, 1];
 * labels are one-hot over 10 classes. Every call returns newly allocated arrays, so callers
 * may modify them freely.
 */
public final class Digits {

    /** Number of examples in the dataset. */
    public static final int NUM_EXAMPLES = 1797;
    /** Number of features per example (8 x 8 pixels). */
    public static final int NUM_FEATURES = 64;
    /** Number of classes (the digits 0..9). */
    public static final int NUM_CLASSES = 10;

    /** Classpath location of the gzip-compressed CSV. */
    public static final String RESOURCE = "/org/dl4jgrowth/data/digits.csv.gz";

    private static final int MAX_PIXEL = 16;

    // Memoized rather than a holder class: if reading fails, a holder's static initializer
    // would turn every later call into an opaque NoClassDefFoundError, whereas memoize
    // rethrows our own exception and simply tries again next time.
    private static final Supplier<Raw> RAW = Suppliers.memoize(() -> read(RESOURCE));

    private Digits() {
    }

    /**
     * Loads all 1,797 examples in file order.
     *
     * @param dataType floating-point type of the returned arrays, e.g. FLOAT, DOUBLE or HALF
     * @return features of shape [1797, 64] with values in [0, 1] and one-hot labels of shape
     *     [1797, 10]
     * @throws IllegalArgumentException if {@code dataType} is not a floating-point type
     * @throws IllegalStateException if the bundled resource is missing or malformed
     */
    public static DataSet load(DataType dataType) {
        checkDataType(dataType);
        Raw raw = raw();
        int[] order = new int[raw.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        return raw.toDataSet(order, 0, order.length, dataType);
    }

    /**
     * Shuffles the examples with {@code new java.util.Random(seed)} and splits them into a
     * train and a test set. The same seed always gives the same split.
     *
     * @param dataType floating-point type of the returned arrays
     * @param trainFraction share of examples that go to the train set, strictly between 0
     *     and 1; the train size is {@code round(trainFraction * 1797)}
     * @param seed seed of the shuffle
     * @throws IllegalArgumentException if {@code trainFraction} is not in (0, 1) or would
     *     leave the train or test set empty, or {@code dataType} is not floating-point
     * @throws IllegalStateException if the bundled resource is missing or malformed
     */
    public static Split split(DataType dataType, double trainFraction, long seed) {
        checkDataType(dataType);
        // Every comparison with NaN is false, so NaN fails this check too.
        Preconditions.checkArgument(trainFraction > 0.0 && trainFraction < 1.0,
                "trainFraction must be in (0, 1) exclusive (got: %s)", trainFraction);
        Raw raw = raw();
        int n = raw.size();
        int trainSize = (int) Math.round(trainFraction * n);
        Preconditions.checkArgument(trainSize >= 1 && trainSize <= n - 1,
                "trainFraction %s leaves an empty train or test set out of "
                        + NUM_EXAMPLES + " examples", trainFraction);

        // Fisher-Yates written out rather than Collections.shuffle, whose algorithm the JDK
        // does not promise to keep, so that a seed names the same split on every JVM.
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Random random = new Random(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
        }
        return new Split(raw.toDataSet(order, 0, trainSize, dataType),
                raw.toDataSet(order, trainSize, n, dataType));
    }

    /**
     * Iterates over {@code data} in minibatches of {@code batchSize} examples, in the order
     * of the DataSet; the last batch holds the remainder. The iterator supports
     * {@link DataSetIterator#reset()} and replays the same batches after it.
     *
     * <p>Each batch is a copy, so a pre-processor set on the iterator (a normalizer, say)
     * does not alter {@code data} itself. Only {@code next()} is supported, not
     * {@code next(int)}.
     *
     * @param data examples to iterate over, e.g. {@link Split#train()}
     * @param batchSize examples per batch, at least 1
     * @throws IllegalArgumentException if {@code batchSize} is less than 1
     */
    public static DataSetIterator iterator(DataSet data, int batchSize) {
        Preconditions.checkNotNull(data, "data");
        Preconditions.checkArgument(batchSize >= 1, "batchSize must be >= 1 (got: %s)",
                batchSize);
        return new CopyingViewIterator(data, batchSize);
    }

    /** A train/test partition of the dataset, as returned by {@link #split}. */
    public record Split(DataSet train, DataSet test) {
        public Split {
            Preconditions.checkNotNull(train, "train");
            Preconditions.checkNotNull(test, "test");
        }
    }

    @VisibleForTesting
    static Raw raw() {
        return RAW.get();
    }

    /**
     * ND4J's ViewIterator slices batches as views into the source DataSet, so a normalizing
     * pre-processor would rewrite the caller's arrays, again on every epoch. This keeps the
     * slicing but copies each batch before the pre-processor sees it. (DL4J's
     * ListDataSetIterator over {@code data.asList()} is no way out: with a batch size of 1
     * it hands out those per-example views unmerged, with the same effect.)
     */
    private static final class CopyingViewIterator extends ViewIterator {
        private static final long serialVersionUID = 1L;

        private DataSetPreProcessor preProcessor;

        CopyingViewIterator(DataSet data, int batchSize) {
            super(data, batchSize);
        }

        @Override
        public DataSet next() {
            DataSet batch = super.next().copy();
            if (preProcessor != null) {
                preProcessor.preProcess(batch);
            }
            return batch;
        }

        @Override
        public void setPreProcessor(DataSetPreProcessor preProcessor) {
            this.preProcessor = preProcessor;
        }

        @Override
        public DataSetPreProcessor getPreProcessor() {
            return preProcessor;
        }
    }

    private static void checkDataType(DataType dataType) {
        Preconditions.checkNotNull(dataType, "dataType");
        Preconditions.checkArgument(dataType.isFPType(),
                "dataType must be a floating-point type such as FLOAT, DOUBLE or HALF (got: %s)",
                dataType);
    }

    @VisibleForTesting
    static Raw read(String resource) {
        InputStream in = Digits.class.getResourceAsStream(resource);
        if (in == null) {
            throw new IllegalStateException("Digits resource not found on the classpath: "
                    + resource);
        }
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(
                new GZIPInputStream(in), StandardCharsets.US_ASCII))) {
            return parse(reader, resource, NUM_EXAMPLES);
        } catch (IOException e) {
            throw new IllegalStateException("Could not read digits resource " + resource, e);
        }
    }

    @VisibleForTesting
    static Raw parse(BufferedReader reader, String source, int expectedRows) throws IOException {
        // Pixels fit in a byte and keep the cached copy at 115 KB instead of ~0.9 MB of
        // doubles; the scaling to [0, 1] happens when arrays are built.
        byte[] pixels = new byte[expectedRows * NUM_FEATURES];
        byte[] labels = new byte[expectedRows];
        int row = 0;
        int lineNumber = 0;
        String line;
        while ((line = reader.readLine()) != null) {
            lineNumber++;
            if (row == expectedRows) {
                throw malformed(source, lineNumber,
                        "expected only " + expectedRows + " rows but found more");
            }
            String[] fields = line.split(",", -1);
            if (fields.length != NUM_FEATURES + 1) {
                throw malformed(source, lineNumber, "expected " + (NUM_FEATURES + 1)
                        + " comma-separated values but found " + fields.length);
            }
            for (int col = 0; col < NUM_FEATURES; col++) {
                pixels[row * NUM_FEATURES + col] =
                        (byte) parseInt(fields[col], MAX_PIXEL, source, lineNumber, col + 1);
            }
            labels[row] = (byte) parseInt(fields[NUM_FEATURES], NUM_CLASSES - 1, source,
                    lineNumber, NUM_FEATURES + 1);
            row++;
        }
        if (row != expectedRows) {
            throw new IllegalStateException("Malformed digits resource " + source
                    + ": expected " + expectedRows + " rows but found " + row);
        }
        return new Raw(pixels, labels);
    }

    private static int parseInt(String field, int max, String source, int lineNumber,
            int column) {
        int value;
        try {
            value = Integer.parseInt(field.trim());
        } catch (NumberFormatException e) {
            value = -1;
        }
        if (value < 0 || value > max) {
            throw malformed(source, lineNumber, "column " + column
                    + " must be an integer in 0.." + max + " but found '" + field + "'");
        }
        return value;
    }

    private static IllegalStateException malformed(String source, int lineNumber,
            String problem) {
        return new IllegalStateException("Malformed digits resource " + source + " at line "
                + lineNumber + ": " + problem);
    }

    /** The parsed file, unscaled; shared between calls and never handed out. */
    @VisibleForTesting
    static final class Raw {
        private final byte[] pixels;
        private final byte[] labels;

        private Raw(byte[] pixels, byte[] labels) {
            this.pixels = pixels;
            this.labels = labels;
        }

        int size() {
            return labels.length;
        }

        int label(int example) {
            return labels[example];
        }

        int pixel(int example, int feature) {
            return pixels[example * NUM_FEATURES + feature];
        }

        DataSet toDataSet(int[] order, int from, int to, DataType dataType) {
            int rows = to - from;
            // k/16 is exact in float, HALF and DOUBLE alike, so staging in float and letting
            // Nd4j convert the buffer loses nothing whatever type was asked for.
            float[] features = new float[rows * NUM_FEATURES];
            float[] oneHot = new float[rows * NUM_CLASSES];
            for (int r = 0; r < rows; r++) {
                int example = order[from + r];
                int src = example * NUM_FEATURES;
                int dst = r * NUM_FEATURES;
                for (int c = 0; c < NUM_FEATURES; c++) {
                    features[dst + c] = pixels[src + c] / (float) MAX_PIXEL;
                }
                oneHot[r * NUM_CLASSES + labels[example]] = 1.0f;
            }
            INDArray f = Nd4j.create(features, new long[] {rows, NUM_FEATURES}, dataType);
            INDArray l = Nd4j.create(oneHot, new long[] {rows, NUM_CLASSES}, dataType);
            return new DataSet(f, l);
        }
    }
}
