package org.dl4jgrowth.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Tests on small IDX files written here run everywhere; those on the real data skip, naming
 * the install command, when the {@code dataset-fashion-mnist} package is absent.
 */
class FashionMnistTest {

    private static final String SKIP = "Fashion-MNIST is not installed: "
            + FashionMnist.INSTALL_HINT;

    // Facts about the distributed files, found with Python's gzip module.
    private static final int FIRST_TRAIN_LABEL = 9;
    private static final int FIRST_TRAIN_PIXEL_SUM = 76_247;
    private static final int FIRST_TEST_LABEL = 9;
    private static final long TEST_PIXEL_SUM = 573_469_082L;

    @TempDir
    Path tmp;

    // ---------------------------------------------------------------- the installed data

    @Test
    void trainSetHasSixtyThousandBalancedExamples() throws IOException {
        assumeTrue(FashionMnist.available(), SKIP);
        long start = System.nanoTime();
        DataSet train = FashionMnist.load(true, DataType.FLOAT, 0);
        long millis = (System.nanoTime() - start) / 1_000_000;
        System.out.println("FashionMnist: 60000 training examples loaded in " + millis + " ms");

        assertEquals(FashionMnist.NUM_TRAIN, train.numExamples());
        assertArrayEquals(new long[] {60_000, 784}, train.getFeatures().shape());
        assertArrayEquals(new long[] {60_000, 10}, train.getLabels().shape());
        assertEquals(DataType.FLOAT, train.getFeatures().dataType());
        assertEquals(0.0, train.getFeatures().minNumber().doubleValue());
        assertEquals(1.0, train.getFeatures().maxNumber().doubleValue());
        assertOneHot(train.getLabels());
        assertArrayEquals(filled(6_000), classCounts(train.getLabels()));

        // The first label and image straight from the files, past headers of 8 and 16 bytes:
        // a header read one int short or long would shift both.
        byte[] labelHead = gunzipHead(FashionMnist.directory().resolve(FashionMnist.TRAIN_LABELS),
                8 + 1);
        assertEquals(FIRST_TRAIN_LABEL, labelHead[8]);
        assertEquals(FIRST_TRAIN_LABEL, argMax(train.getLabels().getRow(0)));
        byte[] imageHead = gunzipHead(FashionMnist.directory().resolve(FashionMnist.TRAIN_IMAGES),
                16 + 784);
        int sum = 0;
        float[] expected = new float[784];
        for (int p = 0; p < 784; p++) {
            int pixel = imageHead[16 + p] & 0xFF;
            sum += pixel;
            expected[p] = pixel / 255.0f;
        }
        assertEquals(FIRST_TRAIN_PIXEL_SUM, sum);
        assertArrayEquals(expected, train.getFeatures().getRow(0).toFloatVector(), 0.0f);
    }

    @Test
    void testSetMatchesAnIndependentReadOfTheFiles() throws IOException {
        assumeTrue(FashionMnist.available(), SKIP);
        DataSet test = FashionMnist.load(false, DataType.DOUBLE, -1);
        assertEquals(FashionMnist.NUM_TEST, test.numExamples());
        assertArrayEquals(new long[] {10_000, 784}, test.getFeatures().shape());
        assertArrayEquals(new long[] {10_000, 10}, test.getLabels().shape());
        assertOneHot(test.getLabels());
        assertArrayEquals(filled(1_000), classCounts(test.getLabels()));

        byte[] labels = gunzip(FashionMnist.directory().resolve(FashionMnist.TEST_LABELS));
        byte[] images = gunzip(FashionMnist.directory().resolve(FashionMnist.TEST_IMAGES));
        assertEquals(8 + 10_000, labels.length);
        assertEquals(16 + 10_000 * 784, images.length);
        assertEquals(FIRST_TEST_LABEL, labels[8]);
        int[] expectedLabels = new int[10_000];
        for (int i = 0; i < expectedLabels.length; i++) {
            expectedLabels[i] = labels[8 + i];
        }
        assertArrayEquals(expectedLabels, test.getLabels().argMax(1).toIntVector());

        // First and last image pixel for pixel; every value is exactly k / 255 in double.
        for (int example : new int[] {0, 9_999}) {
            double[] expected = new double[784];
            for (int p = 0; p < 784; p++) {
                expected[p] = (images[16 + example * 784 + p] & 0xFF) / 255.0;
            }
            assertArrayEquals(expected, test.getFeatures().getRow(example).toDoubleVector(), 0.0,
                    "example " + example);
        }
        assertEquals(TEST_PIXEL_SUM, test.getFeatures().sumNumber().doubleValue() * 255, 0.25);
    }

    @Test
    void limitTakesTheFirstExamples() {
        assumeTrue(FashionMnist.available(), SKIP);
        DataSet all = FashionMnist.load(false, DataType.FLOAT, 0);
        DataSet head = FashionMnist.load(false, DataType.FLOAT, 25);
        assertEquals(25, head.numExamples());
        assertEquals(all.getFeatures().get(NDArrayIndex.interval(0, 25), NDArrayIndex.all()),
                head.getFeatures());
        assertEquals(all.getLabels().get(NDArrayIndex.interval(0, 25), NDArrayIndex.all()),
                head.getLabels());
        assertEquals(10_000, FashionMnist.load(false, DataType.FLOAT, 1_000_000).numExamples());
        DataSet trainHead = FashionMnist.load(true, DataType.FLOAT, 1);
        assertEquals(1, trainHead.numExamples());
        assertEquals(FIRST_TRAIN_LABEL, argMax(trainHead.getLabels().getRow(0)));
    }

    @Test
    void imagesAreTheFlatFeaturesReshaped() {
        assumeTrue(FashionMnist.available(), SKIP);
        DataSet flat = FashionMnist.load(false, DataType.FLOAT, 300);
        DataSet images = FashionMnist.loadImages(false, DataType.FLOAT, 300);
        assertArrayEquals(new long[] {300, 1, 28, 28}, images.getFeatures().shape());
        assertArrayEquals(new long[] {300, 10}, images.getLabels().shape());
        assertEquals(flat.getFeatures().reshape('c', 300, 1, 28, 28), images.getFeatures());
        assertEquals(flat.getLabels(), images.getLabels());
        // Row-major: pixel (row 5, column 17) of example 3 is flat feature 5 * 28 + 17.
        assertEquals(flat.getFeatures().getDouble(3, 5 * 28 + 17),
                images.getFeatures().getDouble(3, 0, 5, 17));
    }

    @Test
    void subsetOfTheTestSetIsBalancedAndSeeded() {
        assumeTrue(FashionMnist.available(), SKIP);
        DataSet test = FashionMnist.load(false, DataType.FLOAT, 0);
        DataSet a = FashionMnist.subset(test, 50, 1);
        assertEquals(500, a.numExamples());
        assertArrayEquals(new long[] {500, 784}, a.getFeatures().shape());
        assertArrayEquals(filled(50), classCounts(a.getLabels()));
        assertOneHot(a.getLabels());

        DataSet again = FashionMnist.subset(test, 50, 1);
        assertEquals(a.getFeatures(), again.getFeatures());
        assertEquals(a.getLabels(), again.getLabels());
        DataSet other = FashionMnist.subset(test, 50, 2);
        assertArrayEquals(filled(50), classCounts(other.getLabels()));
        assertNotEquals(a.getFeatures(), other.getFeatures());

        // Shuffled: the first 20 are not all of one class.
        int[] firstClasses = Arrays.copyOf(a.getLabels().argMax(1).toIntVector(), 20);
        assertTrue(Arrays.stream(firstClasses).distinct().count() > 1);

        DataSet images = FashionMnist.subset(FashionMnist.loadImages(false, DataType.FLOAT, 0),
                50, 1);
        assertArrayEquals(new long[] {500, 1, 28, 28}, images.getFeatures().shape());
        assertEquals(a.getFeatures().reshape('c', 500, 1, 28, 28), images.getFeatures());
        assertEquals(a.getLabels(), images.getLabels());
        // The whole class, 1000 of 1000, is allowed; one more is not.
        assertArrayEquals(filled(1_000), classCounts(FashionMnist.subset(test, 1_000, 3)
                .getLabels()));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FashionMnist.subset(test, 1_001, 3));
        assertTrue(e.getMessage().contains("class 0 has only 1000 examples"), e.getMessage());
    }

    @Test
    void iteratorBatchesImages() {
        assumeTrue(FashionMnist.available(), SKIP);
        DataSet data = FashionMnist.loadImages(false, DataType.FLOAT, 250);
        DataSetIterator it = FashionMnist.iterator(data, 100);
        long[] sizes = new long[3];
        int batches = 0;
        while (it.hasNext()) {
            DataSet batch = it.next();
            assertEquals(4, batch.getFeatures().rank());
            assertEquals(1, batch.getFeatures().size(1));
            sizes[batches++] = batch.numExamples();
        }
        assertArrayEquals(new long[] {100, 100, 50}, sizes);
        it.reset();
        assertEquals(data.getFeatures().get(NDArrayIndex.interval(0, 100)),
                it.next().getFeatures());
    }

    @ParameterizedTest
    @EnumSource(value = DataType.class, names = {"FLOAT", "DOUBLE", "HALF"})
    void arraysHaveTheRequestedType(DataType dataType) {
        assumeTrue(FashionMnist.available(), SKIP);
        DataSet data = FashionMnist.load(false, dataType, 10);
        assertEquals(dataType, data.getFeatures().dataType());
        assertEquals(dataType, data.getLabels().dataType());
        INDArray exact = FashionMnist.load(false, DataType.DOUBLE, 10).getFeatures();
        // HALF keeps 11 significant bits, so k / 255 is off by up to 2^-12 near 1.
        assertTrue(exact.equalsWithEps(data.getFeatures().castTo(DataType.DOUBLE),
                dataType == DataType.HALF ? 5e-4 : 1e-7));
    }

    // ---------------------------------------------------------------- small files of our own

    @Test
    void readsHandWrittenFilesExactly() throws Exception {
        byte[][] images = {pattern(0), pattern(1), pattern(2)};
        writeSet(tmp, true, images, new byte[] {9, 0, 3});
        writeSet(tmp, false, new byte[][] {pattern(3)}, new byte[] {7});
        withDirectory(tmp, () -> {
            assertTrue(FashionMnist.available());
            DataSet train = FashionMnist.load(true, DataType.DOUBLE, 0);
            assertEquals(3, train.numExamples());
            for (int e = 0; e < 3; e++) {
                double[] expected = new double[784];
                for (int p = 0; p < 784; p++) {
                    expected[p] = (images[e][p] & 0xFF) / 255.0;
                }
                assertArrayEquals(expected, train.getFeatures().getRow(e).toDoubleVector(), 0.0);
            }
            assertArrayEquals(new int[] {9, 0, 3}, train.getLabels().argMax(1).toIntVector());
            assertOneHot(train.getLabels());
            assertEquals(1.0, train.getFeatures().maxNumber().doubleValue());
            assertEquals(0.0, train.getFeatures().minNumber().doubleValue());

            DataSet two = FashionMnist.loadImages(true, DataType.FLOAT, 2);
            assertArrayEquals(new long[] {2, 1, 28, 28}, two.getFeatures().shape());
            assertEquals((images[1][27 * 28 + 3] & 0xFF) / 255.0f,
                    two.getFeatures().getFloat(1, 0, 27, 3));

            DataSet test = FashionMnist.load(false, DataType.FLOAT, 0);
            assertEquals(1, test.numExamples());
            assertEquals(7, argMax(test.getLabels().getRow(0)));
            return null;
        });
    }

    @Test
    void wrongMagicNumberNamesTheFile() throws Exception {
        // An images file carrying the labels' magic number, as if the two were swapped.
        Path images = writeIdx(tmp.resolve(FashionMnist.TRAIN_IMAGES), 0x00000801,
                new int[] {1, 28, 28}, new byte[784]);
        writeIdx(tmp.resolve(FashionMnist.TRAIN_LABELS), 0x00000801, new int[] {1},
                new byte[1]);
        IllegalArgumentException e = expectLoadFailure(IllegalArgumentException.class);
        assertTrue(e.getMessage().contains(images.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("magic number 0x00000801 (2049), expected "
                + "0x00000803 (2051"), e.getMessage());
    }

    @Test
    void wrongLabelMagicNumberNamesTheLabelFile() throws Exception {
        writeIdx(tmp.resolve(FashionMnist.TRAIN_IMAGES), 0x00000803, new int[] {1, 28, 28},
                new byte[784]);
        Path labels = writeIdx(tmp.resolve(FashionMnist.TRAIN_LABELS), 0x00000803,
                new int[] {1}, new byte[1]);
        IllegalArgumentException e = expectLoadFailure(IllegalArgumentException.class);
        assertTrue(e.getMessage().contains(labels.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("not an IDX label file"), e.getMessage());
    }

    @Test
    void countsOfImagesAndLabelsMustAgree() throws Exception {
        writeSet(tmp, true, new byte[][] {pattern(0), pattern(1)}, new byte[] {1, 2, 3});
        IllegalArgumentException e = expectLoadFailure(IllegalArgumentException.class);
        assertTrue(e.getMessage().contains("holds 2 images but"), e.getMessage());
        assertTrue(e.getMessage().contains(FashionMnist.TRAIN_LABELS + " holds 3 labels"),
                e.getMessage());
    }

    @Test
    void imagesMustBe28By28() throws Exception {
        Path images = writeIdx(tmp.resolve(FashionMnist.TRAIN_IMAGES), 0x00000803,
                new int[] {1, 32, 32}, new byte[32 * 32]);
        writeIdx(tmp.resolve(FashionMnist.TRAIN_LABELS), 0x00000801, new int[] {1},
                new byte[1]);
        IllegalArgumentException e = expectLoadFailure(IllegalArgumentException.class);
        assertTrue(e.getMessage().contains(images + ": holds 32x32 images, expected 28x28"),
                e.getMessage());
    }

    @Test
    void labelsMustBeZeroToNine() throws Exception {
        writeSet(tmp, true, new byte[][] {pattern(0), pattern(1)}, new byte[] {4, 10});
        IllegalArgumentException e = expectLoadFailure(IllegalArgumentException.class);
        assertTrue(e.getMessage().contains(FashionMnist.TRAIN_LABELS), e.getMessage());
        assertTrue(e.getMessage().contains("label 10 of example 1 is outside 0..9"),
                e.getMessage());
    }

    @Test
    void truncatedImagesAreReportedAsSuch() throws Exception {
        // The header promises two images; the data holds one and a half.
        Path images = writeIdx(tmp.resolve(FashionMnist.TRAIN_IMAGES), 0x00000803,
                new int[] {2, 28, 28}, new byte[784 + 392]);
        writeIdx(tmp.resolve(FashionMnist.TRAIN_LABELS), 0x00000801, new int[] {2},
                new byte[2]);
        IllegalArgumentException e = expectLoadFailure(IllegalArgumentException.class);
        assertTrue(e.getMessage().contains(images + ": truncated"), e.getMessage());
        // The first image is whole, so a limit of 1 reads fine.
        withDirectory(tmp, () -> {
            assertEquals(1, FashionMnist.load(true, DataType.FLOAT, 1).numExamples());
            return null;
        });
    }

    @Test
    void dataBeyondTheDeclaredCountIsRejected() throws Exception {
        Path images = writeIdx(tmp.resolve(FashionMnist.TRAIN_IMAGES), 0x00000803,
                new int[] {1, 28, 28}, new byte[2 * 784]);
        writeIdx(tmp.resolve(FashionMnist.TRAIN_LABELS), 0x00000801, new int[] {1},
                new byte[1]);
        IllegalArgumentException e = expectLoadFailure(IllegalArgumentException.class);
        assertTrue(e.getMessage().contains(images + ": has data after the 1 images"),
                e.getMessage());
    }

    @Test
    void uncompressedFileIsAnIoErrorNamingTheFile() throws Exception {
        Path images = tmp.resolve(FashionMnist.TRAIN_IMAGES);
        Files.write(images, new byte[] {0, 0, 8, 3, 0, 0, 0, 1});
        writeIdx(tmp.resolve(FashionMnist.TRAIN_LABELS), 0x00000801, new int[] {1},
                new byte[1]);
        UncheckedIOException e = expectLoadFailure(UncheckedIOException.class);
        assertTrue(e.getMessage().contains(images.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("Not in GZIP format"), e.getMessage());
    }

    @Test
    void absentFilesGiveTheInstallHint() throws Exception {
        Path nowhere = tmp.resolve("no-such-dir");
        withDirectory(nowhere, () -> {
            assertEquals(nowhere, FashionMnist.directory());
            assertFalse(FashionMnist.available());
            for (boolean train : new boolean[] {true, false}) {
                IllegalStateException e = assertThrows(IllegalStateException.class,
                        () -> FashionMnist.load(train, DataType.FLOAT, 0));
                assertTrue(e.getMessage().contains(nowhere.toString()), e.getMessage());
                assertTrue(e.getMessage().contains(FashionMnist.INSTALL_HINT), e.getMessage());
                assertTrue(e.getMessage().contains(FashionMnist.DIR_PROPERTY), e.getMessage());
                assertTrue(e.getMessage().contains(train ? FashionMnist.TRAIN_IMAGES
                        : FashionMnist.TEST_IMAGES), e.getMessage());
            }
            return null;
        });
        // Only the test pair present: the training set is still reported missing.
        writeSet(tmp, false, new byte[][] {pattern(0)}, new byte[] {0});
        withDirectory(tmp, () -> {
            assertFalse(FashionMnist.available());
            assertEquals(1, FashionMnist.load(false, DataType.FLOAT, 0).numExamples());
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> FashionMnist.loadImages(true, DataType.FLOAT, 0));
            assertTrue(e.getMessage().contains("no readable " + FashionMnist.TRAIN_IMAGES + ", "
                    + FashionMnist.TRAIN_LABELS + " in " + tmp), e.getMessage());
            return null;
        });
    }

    @Test
    void directoryDefaultsToTheDebianLocation() throws Exception {
        withDirectory(null, () -> {
            assertEquals(Path.of("/usr/share/datasets/fashion-mnist"), FashionMnist.directory());
            return null;
        });
        String previous = System.getProperty(FashionMnist.DIR_PROPERTY);
        try {
            System.setProperty(FashionMnist.DIR_PROPERTY, "  ");
            assertEquals(FashionMnist.DEFAULT_DIR, FashionMnist.directory());
        } finally {
            restore(previous);
        }
    }

    @Test
    void rejectsNonFloatingDataTypes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FashionMnist.load(true, DataType.INT, 0));
        assertTrue(e.getMessage().contains("(got: INT)"), e.getMessage());
        assertThrows(NullPointerException.class, () -> FashionMnist.loadImages(true, null, 0));
    }

    // ---------------------------------------------------------------- subset on known data

    @Test
    void subsetPicksDistinctExamplesOfEachClass() {
        // Example i has the feature value i, so the features say which examples were picked.
        // Classes 0..2 with 5, 3 and 4 examples, interleaved.
        int[] classes = {0, 1, 2, 0, 0, 1, 2, 2, 0, 1, 2, 0};
        DataSet data = indexed(classes, 3);
        Set<Set<Integer>> seen = new HashSet<>();
        for (long seed = 0; seed < 20; seed++) {
            DataSet sub = FashionMnist.subset(data, 3, seed);
            assertEquals(9, sub.numExamples());
            int[] picked = sub.getFeatures().getColumn(0).toIntVector();
            int[] pickedClasses = sub.getLabels().argMax(1).toIntVector();
            Set<Integer> distinct = new HashSet<>();
            int[] perClass = new int[3];
            for (int i = 0; i < picked.length; i++) {
                assertTrue(distinct.add(picked[i]), "example " + picked[i] + " picked twice");
                assertEquals(classes[picked[i]], pickedClasses[i], "label of " + picked[i]);
                assertEquals(10 * picked[i], sub.getFeatures().getInt(i, 1), "row kept together");
                perClass[pickedClasses[i]]++;
            }
            assertArrayEquals(new int[] {3, 3, 3}, perClass);
            seen.add(distinct);
        }
        // Class 1 has exactly 3, the others more: different seeds choose differently.
        assertTrue(seen.size() > 5, "only " + seen.size() + " distinct subsets in 20 seeds");
        // The input is left alone.
        assertEquals(indexed(classes, 3).getFeatures(), data.getFeatures());
    }

    @Test
    void subsetDoesNotTouchNd4jsRandomGenerator() {
        DataSet data = indexed(new int[] {0, 1, 0, 1, 0, 1}, 2);
        Nd4j.getRandom().setSeed(123);
        double expected = Nd4j.getRandom().nextDouble();
        Nd4j.getRandom().setSeed(123);
        FashionMnist.subset(data, 2, 5);
        assertEquals(expected, Nd4j.getRandom().nextDouble());
        Nd4j.getRandom().setSeed(999);
        DataSet a = FashionMnist.subset(data, 2, 5);
        Nd4j.getRandom().setSeed(1);
        assertEquals(a.getFeatures(), FashionMnist.subset(data, 2, 5).getFeatures());
    }

    @ParameterizedTest
    @ValueSource(ints = {0, -1})
    void subsetRejectsNonPositivePerClass(int perClass) {
        DataSet data = indexed(new int[] {0, 1}, 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FashionMnist.subset(data, perClass, 1));
        assertTrue(e.getMessage().contains("(got: " + perClass + ")"), e.getMessage());
    }

    @Test
    void subsetRejectsAClassTooSmallOrMissing() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FashionMnist.subset(indexed(new int[] {0, 0, 1}, 2), 2, 1));
        assertTrue(e.getMessage().contains("class 1 has only 1 examples, fewer than perClass = 2"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> FashionMnist.subset(indexed(new int[] {0, 0, 2, 2}, 3), 1, 1));
        assertTrue(e.getMessage().contains("class 1 has only 0 examples"), e.getMessage());
    }

    // ---------------------------------------------------------------- helpers

    /** Features [i, 10 * i] for example i, one-hot labels of the given classes. */
    private static DataSet indexed(int[] classes, int numClasses) {
        int n = classes.length;
        float[] features = new float[n * 2];
        float[] labels = new float[n * numClasses];
        for (int i = 0; i < n; i++) {
            features[2 * i] = i;
            features[2 * i + 1] = 10 * i;
            labels[i * numClasses + classes[i]] = 1;
        }
        return new DataSet(Nd4j.create(features, new long[] {n, 2}, DataType.FLOAT),
                Nd4j.create(labels, new long[] {n, numClasses}, DataType.FLOAT));
    }

    private static void assertOneHot(INDArray labels) {
        long n = labels.size(0);
        INDArray rowSums = labels.sum(1);
        assertEquals(1.0, rowSums.minNumber().doubleValue());
        assertEquals(1.0, rowSums.maxNumber().doubleValue());
        // Only zeros and ones, so the sum of squares equals the sum.
        assertEquals((double) n, labels.mul(labels).sumNumber().doubleValue());
        assertEquals(0.0, labels.minNumber().doubleValue());
    }

    private static int[] classCounts(INDArray labels) {
        return labels.sum(0).toIntVector();
    }

    private static int[] filled(int value) {
        int[] a = new int[10];
        Arrays.fill(a, value);
        return a;
    }

    private static int argMax(INDArray row) {
        return row.argMax().getInt(0);
    }

    /** A 28x28 image using the full 0..255 range, different for each {@code k}. */
    private static byte[] pattern(int k) {
        byte[] image = new byte[784];
        for (int p = 0; p < 784; p++) {
            image[p] = (byte) ((p * 7 + k * 31) % 256);
        }
        image[k] = (byte) 255;
        image[783 - k] = 0;
        return image;
    }

    private static void writeSet(Path dir, boolean train, byte[][] images, byte[] labels)
            throws IOException {
        byte[] pixels = new byte[images.length * 784];
        for (int i = 0; i < images.length; i++) {
            System.arraycopy(images[i], 0, pixels, i * 784, 784);
        }
        writeIdx(dir.resolve(train ? FashionMnist.TRAIN_IMAGES : FashionMnist.TEST_IMAGES),
                0x00000803, new int[] {images.length, 28, 28}, pixels);
        writeIdx(dir.resolve(train ? FashionMnist.TRAIN_LABELS : FashionMnist.TEST_LABELS),
                0x00000801, new int[] {labels.length}, labels);
    }

    private static Path writeIdx(Path file, int magic, int[] dims, byte[] data)
            throws IOException {
        try (DataOutputStream out = new DataOutputStream(
                new GZIPOutputStream(Files.newOutputStream(file)))) {
            out.writeInt(magic);
            for (int d : dims) {
                out.writeInt(d);
            }
            out.write(data);
        }
        return file;
    }

    private static byte[] gunzip(Path file) throws IOException {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(file))) {
            return in.readAllBytes();
        }
    }

    private static byte[] gunzipHead(Path file, int bytes) throws IOException {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(file))) {
            return in.readNBytes(bytes);
        }
    }

    private <T extends Exception> T expectLoadFailure(Class<T> type) throws Exception {
        return withDirectory(tmp, () -> {
            T e = assertThrows(type, () -> FashionMnist.load(true, DataType.FLOAT, 0));
            // The image variant reads the same way.
            assertThrows(type, () -> FashionMnist.loadImages(true, DataType.FLOAT, 0));
            return e;
        });
    }

    /** Runs {@code body} with the directory property set ({@code null}: cleared). */
    private static <T> T withDirectory(Path dir, Callable<T> body) throws Exception {
        String previous = System.getProperty(FashionMnist.DIR_PROPERTY);
        try {
            if (dir == null) {
                System.clearProperty(FashionMnist.DIR_PROPERTY);
            } else {
                System.setProperty(FashionMnist.DIR_PROPERTY, dir.toString());
            }
            return body.call();
        } finally {
            restore(previous);
        }
    }

    private static void restore(String previous) {
        if (previous == null) {
            System.clearProperty(FashionMnist.DIR_PROPERTY);
        } else {
            System.setProperty(FashionMnist.DIR_PROPERTY, previous);
        }
    }
}
