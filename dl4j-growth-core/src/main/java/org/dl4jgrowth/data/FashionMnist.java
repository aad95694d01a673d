package org.dl4jgrowth.data;

import org.nd4j.shade.guava.annotations.VisibleForTesting;
import org.nd4j.shade.guava.base.Preconditions;
import java.io.BufferedInputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.zip.GZIPInputStream;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Reader for Fashion-MNIST (H. Xiao, K. Rasul, R. Vollgraf, Zalando Research, 2017):
 * 70,000 grayscale 28x28 images of clothing in 10 classes, 60,000 for training and 10,000
 * for testing, 6,000 and 1,000 per class respectively. It is a drop-in replacement for
 * MNIST that is harder to get right, and loading it here needs no deeplearning4j-core.
 *
 * <p>The data is not bundled. This class reads the four gzip'ed IDX files of the original
 * distribution ({@value #TRAIN_IMAGES}, {@value #TRAIN_LABELS}, {@value #TEST_IMAGES},
 * {@value #TEST_LABELS}) from {@link #directory()}: by default {@link #DEFAULT_DIR}, where
 * the Debian/Ubuntu package {@code dataset-fashion-mnist} installs them ({@value
 * #INSTALL_HINT}), or wherever the system property {@value #DIR_PROPERTY} points. The data
 * is under the MIT license, Copyright 2017 Zalando SE.
 *
 * <p>Features are the 784 pixels in row-major order divided by 255, so they lie in [0, 1];
 * labels are one-hot over 10 classes, named in {@link #CLASS_NAMES}. Examples come in file
 * order. Nothing is cached: every call reads the files again (all 60,000 training examples
 * take well under a second or two) and returns newly allocated arrays.
 */
public final class FashionMnist {

    /** Where the Debian package {@code dataset-fashion-mnist} installs the files. */
    public static final Path DEFAULT_DIR = Path.of("/usr/share/datasets/fashion-mnist");
    /** System property naming another directory that holds the four files. */
    public static final String DIR_PROPERTY = "dl4jgrowth.fashionMnist.dir";
    /** The command that installs the data at {@link #DEFAULT_DIR}. */
    public static final String INSTALL_HINT = "sudo apt-get install dataset-fashion-mnist";

    /** File name of the training images. */
    public static final String TRAIN_IMAGES = "train-images-idx3-ubyte.gz";
    /** File name of the training labels. */
    public static final String TRAIN_LABELS = "train-labels-idx1-ubyte.gz";
    /** File name of the test images. */
    public static final String TEST_IMAGES = "t10k-images-idx3-ubyte.gz";
    /** File name of the test labels. */
    public static final String TEST_LABELS = "t10k-labels-idx1-ubyte.gz";

    /** Number of training examples in the original files. */
    public static final int NUM_TRAIN = 60_000;
    /** Number of test examples in the original files. */
    public static final int NUM_TEST = 10_000;
    /** Image height in pixels. */
    public static final int HEIGHT = 28;
    /** Image width in pixels. */
    public static final int WIDTH = 28;
    /** Number of features per example (28 x 28 pixels). */
    public static final int NUM_FEATURES = HEIGHT * WIDTH;
    /** Number of classes. */
    public static final int NUM_CLASSES = 10;
    /** Class names by label, from the dataset's README. */
    public static final List<String> CLASS_NAMES = List.of("T-shirt/top", "Trouser",
            "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");

    /** IDX magic numbers: two zero bytes, 0x08 (unsigned byte), then the number of dims. */
    @VisibleForTesting
    static final int IMAGES_MAGIC = 0x00000803;
    @VisibleForTesting
    static final int LABELS_MAGIC = 0x00000801;

    /** Most examples whose pixels still fit in one Java array. */
    private static final int MAX_EXAMPLES = Integer.MAX_VALUE / NUM_FEATURES;
    /** Examples converted per staging chunk, so no full-size float[] lives on the heap. */
    private static final int CHUNK = 4096;
    private static final int BUFFER = 1 << 16;

    private static final float[] SCALED_FLOAT = new float[256];
    private static final double[] SCALED_DOUBLE = new double[256];

    static {
        for (int i = 0; i < 256; i++) {
            SCALED_FLOAT[i] = i / 255.0f;
            SCALED_DOUBLE[i] = i / 255.0;
        }
    }

    private FashionMnist() {
    }

    /**
     * The directory the files are read from: the value of the system property {@value
     * #DIR_PROPERTY} if it is set and not blank, else {@link #DEFAULT_DIR}. Read on every
     * call, so the property may be changed at run time.
     */
    public static Path directory() {
        String dir = System.getProperty(DIR_PROPERTY);
        return dir == null || dir.isBlank() ? DEFAULT_DIR : Path.of(dir.trim());
    }

    /**
     * Whether all four files are present and readable in {@link #directory()}. Says nothing
     * about their contents; {@link #load} checks those.
     */
    public static boolean available() {
        Path dir = directory();
        for (String name : List.of(TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)) {
            Path file = dir.resolve(name);
            if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Loads the training or test examples with flat features, for dense networks.
     *
     * @param train the 60,000 training examples if true, the 10,000 test examples if false
     * @param dataType floating-point type of the returned arrays, e.g. FLOAT, DOUBLE or HALF
     * @param limit how many examples to take from the start of the file; 0 or less takes
     *     all, more than the file holds takes all. Only that many are read and decompressed,
     *     so a small limit is fast.
     * @return features of shape [n, 784] with values in [0, 1] and one-hot labels [n, 10]
     * @throws IllegalStateException if the files are absent; the message names the directory
     *     and {@link #INSTALL_HINT}
     * @throws IllegalArgumentException if a file is not a valid IDX file of 28x28 images or
     *     labels 0..9, if images and labels disagree in number, or {@code dataType} is not
     *     floating-point; the message names the file
     * @throws UncheckedIOException if a file cannot be read or is not gzip data
     */
    public static DataSet load(boolean train, DataType dataType, int limit) {
        checkDataType(dataType);
        return read(train, limit).toDataSet(dataType);
    }

    /**
     * Like {@link #load} but with features of shape [n, 1, 28, 28] (NCHW: one channel, then
     * rows, then columns), for convolutional networks. The features equal those of
     * {@link #load} reshaped in 'c' order.
     *
     * @throws IllegalStateException if the files are absent, as for {@link #load}
     * @throws IllegalArgumentException if a file is malformed, as for {@link #load}
     * @throws UncheckedIOException if a file cannot be read, as for {@link #load}
     */
    public static DataSet loadImages(boolean train, DataType dataType, int limit) {
        DataSet flat = load(train, dataType, limit);
        INDArray features = flat.getFeatures();
        return new DataSet(features.reshape('c', features.size(0), 1, HEIGHT, WIDTH),
                flat.getLabels());
    }

    /**
     * Draws the same number of examples from every class: a stratified random subset, e.g.
     * a balanced 100-per-class training set for a quick experiment. Uses a
     * {@code java.util.Random(seed)} of its own, never ND4J's global generator, so the same
     * data and seed always give the same subset, on every JVM. The result holds
     * {@code perClass * numClasses} examples in a random (seeded) order, so minibatches
     * taken in order mix the classes.
     *
     * <p>Works on any DataSet with one-hot (or score) labels of shape [n, numClasses],
     * whatever the rank of its features (flat or images); an example's class is the index
     * of the largest value in its label row. The arrays are copies.
     *
     * @param data the examples to draw from, e.g. from {@link #load}
     * @param perClass examples to take from every class, at least 1
     * @param seed seed of the draw
     * @throws IllegalArgumentException if {@code perClass} is less than 1, a class has fewer
     *     than {@code perClass} examples, the labels are not a matrix, or {@code data} has
     *     masks
     */
    public static DataSet subset(DataSet data, int perClass, long seed) {
        Preconditions.checkNotNull(data, "data");
        Preconditions.checkArgument(perClass >= 1, "perClass must be >= 1 (got: %s)", perClass);
        INDArray features = data.getFeatures();
        INDArray labels = data.getLabels();
        Preconditions.checkArgument(features != null && labels != null,
                "data must have features and labels");
        Preconditions.checkArgument(labels.rank() == 2,
                "labels must have shape [n, numClasses] (got: %s)", labels.shapeInfoToString());
        Preconditions.checkArgument(data.getFeaturesMaskArray() == null
                && data.getLabelsMaskArray() == null, "data with masks is not supported");
        int n = Math.toIntExact(labels.size(0));
        int numClasses = Math.toIntExact(labels.size(1));
        Preconditions.checkArgument(features.size(0) == n,
                "features hold %s examples but labels %s", features.size(0), n);

        int[] classOf = labels.argMax(1).toIntVector();
        int[] counts = new int[numClasses];
        for (int c : classOf) {
            counts[c]++;
        }
        int[][] members = new int[numClasses][];
        for (int c = 0; c < numClasses; c++) {
            Preconditions.checkArgument(counts[c] >= perClass,
                    "class %s has only %s examples, fewer than perClass = %s", c, counts[c],
                    perClass);
            members[c] = new int[counts[c]];
        }
        int[] filled = new int[numClasses];
        for (int i = 0; i < n; i++) {
            members[classOf[i]][filled[classOf[i]]++] = i;
        }

        // Partial Fisher-Yates within each class, then a full one over the chosen indices;
        // written out rather than Collections.shuffle so that a seed means the same subset
        // on every JVM.
        Random random = new Random(seed);
        int[] chosen = new int[perClass * numClasses];
        int next = 0;
        for (int c = 0; c < numClasses; c++) {
            int[] m = members[c];
            for (int i = 0; i < perClass; i++) {
                swap(m, i, i + random.nextInt(m.length - i));
                chosen[next++] = m[i];
            }
        }
        for (int i = chosen.length - 1; i > 0; i--) {
            swap(chosen, i, random.nextInt(i + 1));
        }
        return new DataSet(pullExamples(features, chosen), pullExamples(labels, chosen));
    }

    /**
     * Iterates over {@code data} in minibatches; the same iterator as
     * {@link Digits#iterator}, for flat and image features alike (each batch a copy,
     * {@code reset()} supported).
     *
     * @param data examples to iterate over, e.g. from {@link #load} or {@link #subset}
     * @param batchSize examples per batch, at least 1
     * @throws IllegalArgumentException if {@code batchSize} is less than 1
     */
    public static DataSetIterator iterator(DataSet data, int batchSize) {
        return Digits.iterator(data, batchSize);
    }

    private static INDArray pullExamples(INDArray source, int[] indices) {
        long[] shape = source.shape();
        INDArray rows = source.reshape('c', shape[0], source.length() / shape[0]);
        INDArray pulled = Nd4j.pullRows(rows, 1, indices, 'c');
        long[] outShape = shape.clone();
        outShape[0] = indices.length;
        return pulled.reshape('c', outShape);
    }

    private static void swap(int[] a, int i, int j) {
        int tmp = a[i];
        a[i] = a[j];
        a[j] = tmp;
    }

    private static void checkDataType(DataType dataType) {
        Preconditions.checkNotNull(dataType, "dataType");
        Preconditions.checkArgument(dataType.isFPType(),
                "dataType must be a floating-point type such as FLOAT, DOUBLE or HALF (got: %s)",
                dataType);
    }

    private static Raw read(boolean train, int limit) {
        Path dir = directory();
        Path images = dir.resolve(train ? TRAIN_IMAGES : TEST_IMAGES);
        Path labels = dir.resolve(train ? TRAIN_LABELS : TEST_LABELS);
        List<String> missing = new ArrayList<>();
        for (Path file : List.of(images, labels)) {
            if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
                missing.add(file.getFileName().toString());
            }
        }
        if (!missing.isEmpty()) {
            throw new IllegalStateException("Fashion-MNIST " + (train ? "training" : "test")
                    + " data not found: no readable " + String.join(", ", missing) + " in "
                    + dir + ". Install it with `" + INSTALL_HINT + "`, or set the system "
                    + "property " + DIR_PROPERTY + " to a directory holding the gzip'ed IDX "
                    + "files.");
        }
        return read(images, labels, limit);
    }

    /**
     * Parses a pair of gzip'ed IDX files, images and labels, reading only the first
     * {@code limit} examples if {@code limit > 0}. A full read also checks that nothing
     * follows the declared data.
     */
    @VisibleForTesting
    static Raw read(Path imagesFile, Path labelsFile, int limit) {
        try (Idx images = new Idx(imagesFile); Idx labels = new Idx(labelsFile)) {
            int numImages = images.header(IMAGES_MAGIC, "image", 3);
            int rows = images.readInt("the number of rows");
            int cols = images.readInt("the number of columns");
            if (rows != HEIGHT || cols != WIDTH) {
                throw images.malformed("holds " + rows + "x" + cols + " images, expected "
                        + HEIGHT + "x" + WIDTH);
            }
            int numLabels = labels.header(LABELS_MAGIC, "label", 1);
            if (numImages != numLabels) {
                throw new IllegalArgumentException("Fashion-MNIST files disagree: "
                        + imagesFile + " holds " + numImages + " images but " + labelsFile
                        + " holds " + numLabels + " labels");
            }
            if (numImages > MAX_EXAMPLES) {
                throw images.malformed("declares " + numImages + " images, more than the "
                        + MAX_EXAMPLES + " this reader supports");
            }
            int n = limit <= 0 ? numImages : Math.min(limit, numImages);

            byte[] labelBytes = new byte[n];
            labels.readFully(labelBytes, numLabels, "labels");
            for (int i = 0; i < n; i++) {
                if (labelBytes[i] < 0 || labelBytes[i] >= NUM_CLASSES) {
                    throw labels.malformed("label " + Byte.toUnsignedInt(labelBytes[i])
                            + " of example " + i + " is outside 0.." + (NUM_CLASSES - 1));
                }
            }
            byte[] pixels = new byte[n * NUM_FEATURES];
            images.readFully(pixels, numImages, "images");
            if (n == numImages) {
                labels.expectEnd(numLabels + " labels");
                images.expectEnd(numImages + " images");
            }
            return new Raw(pixels, labelBytes);
        }
    }

    /** One open gzip'ed IDX file; every failure names the file. */
    private static final class Idx implements Closeable {
        private final Path file;
        private final DataInputStream in;

        Idx(Path file) {
            this.file = file;
            try {
                this.in = new DataInputStream(new BufferedInputStream(
                        new GZIPInputStream(Files.newInputStream(file), BUFFER), BUFFER));
            } catch (IOException e) {
                throw unreadable(e);
            }
        }

        /** Checks the magic number and returns the number of items. */
        int header(int expectedMagic, String kind, int dims) {
            int magic = readInt("the magic number");
            if (magic != expectedMagic) {
                throw malformed(String.format("is not an IDX %s file: magic number 0x%08X (%d),"
                        + " expected 0x%08X (%d: unsigned bytes, %d dimension%s)", kind, magic,
                        magic, expectedMagic, expectedMagic, dims, dims == 1 ? "" : "s"));
            }
            int count = readInt("the number of " + kind + "s");
            if (count <= 0) {
                throw malformed("declares " + count + " " + kind + "s");
            }
            return count;
        }

        int readInt(String what) {
            try {
                return in.readInt();
            } catch (EOFException e) {
                throw truncated("its header, before " + what, e);
            } catch (IOException e) {
                throw unreadable(e);
            }
        }

        void readFully(byte[] into, int declared, String what) {
            try {
                in.readFully(into);
            } catch (EOFException e) {
                throw truncated("the " + what + " (the header declares " + declared + " " + what
                        + ")", e);
            } catch (IOException e) {
                throw unreadable(e);
            }
        }

        void expectEnd(String declared) {
            try {
                if (in.read() != -1) {
                    throw malformed("has data after the " + declared + " its header declares");
                }
            } catch (IOException e) {
                throw unreadable(e);
            }
        }

        IllegalArgumentException malformed(String problem) {
            return new IllegalArgumentException("Malformed Fashion-MNIST file " + file + ": "
                    + problem);
        }

        private IllegalArgumentException truncated(String where, EOFException cause) {
            return new IllegalArgumentException("Malformed Fashion-MNIST file " + file
                    + ": truncated, it ends within " + where, cause);
        }

        private UncheckedIOException unreadable(IOException e) {
            return new UncheckedIOException("Could not read Fashion-MNIST file " + file + ": "
                    + e.getMessage() + " (expected a gzip'ed IDX file)", e);
        }

        @Override
        public void close() {
            try {
                in.close();
            } catch (IOException e) {
                throw unreadable(e);
            }
        }
    }

    /** The parsed examples, unscaled: pixels as unsigned bytes, labels 0..9. */
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
            return Byte.toUnsignedInt(pixels[example * NUM_FEATURES + feature]);
        }

        DataSet toDataSet(DataType dataType) {
            int n = size();
            INDArray features = Nd4j.create(dataType, n, NUM_FEATURES);
            // Converted a chunk at a time: a float[] of all 60,000 examples would be 188 MB
            // of heap next to the same again off-heap. DOUBLE is staged in double so that it
            // gets k/255 to double precision; other types are rounded from float.
            for (int from = 0; from < n; from += CHUNK) {
                int to = Math.min(n, from + CHUNK);
                int len = (to - from) * NUM_FEATURES;
                int offset = from * NUM_FEATURES;
                long[] shape = {to - from, NUM_FEATURES};
                INDArray chunk;
                if (dataType == DataType.DOUBLE) {
                    double[] values = new double[len];
                    for (int i = 0; i < len; i++) {
                        values[i] = SCALED_DOUBLE[pixels[offset + i] & 0xFF];
                    }
                    chunk = Nd4j.create(values, shape, dataType);
                } else {
                    float[] values = new float[len];
                    for (int i = 0; i < len; i++) {
                        values[i] = SCALED_FLOAT[pixels[offset + i] & 0xFF];
                    }
                    chunk = Nd4j.create(values, shape, dataType);
                }
                features.get(NDArrayIndex.interval(from, to), NDArrayIndex.all()).assign(chunk);
            }
            float[] oneHot = new float[n * NUM_CLASSES];
            for (int i = 0; i < n; i++) {
                oneHot[i * NUM_CLASSES + labels[i]] = 1.0f;
            }
            INDArray l = Nd4j.create(oneHot, new long[] {n, NUM_CLASSES}, dataType);
            return new DataSet(features, l);
        }
    }
}
