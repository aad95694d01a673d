package org.dl4jgrowth.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.nd4j.linalg.ops.transforms.Transforms;

class DigitsTest {

    // Counts per digit 0..9 as found in scikit-learn's digits.csv.gz.
    private static final int[] CLASS_COUNTS = {178, 182, 177, 183, 181, 182, 181, 179, 174, 180};

    @Test
    void loadHasExpectedShapes() {
        DataSet data = Digits.load(DataType.FLOAT);
        assertEquals(1797, data.numExamples());
        assertArrayEquals(new long[] {1797, 64}, data.getFeatures().shape());
        assertArrayEquals(new long[] {1797, 10}, data.getLabels().shape());
    }

    @Test
    void labelDistributionMatchesTheFile() {
        INDArray perClass = Digits.load(DataType.DOUBLE).getLabels().sum(0);
        int total = 0;
        for (int digit = 0; digit < 10; digit++) {
            int count = perClass.getInt(digit);
            assertEquals(CLASS_COUNTS[digit], count, "examples of digit " + digit);
            assertTrue(count >= 174 && count <= 183);
            total += count;
        }
        assertEquals(1797, total);
    }

    @Test
    void featuresAreScaledPixelsInUnitInterval() {
        INDArray features = Digits.load(DataType.DOUBLE).getFeatures();
        assertEquals(0.0, features.minNumber().doubleValue());
        assertEquals(1.0, features.maxNumber().doubleValue());
        // Every value is a raw 0..16 pixel count over 16.
        INDArray counts = features.mul(16);
        INDArray offGrid = Transforms.round(counts, true).subi(counts);
        assertEquals(0.0, offGrid.amaxNumber().doubleValue());
    }

    @Test
    void firstRowMatchesTheFile() {
        // The first line of digits.csv.gz, a zero.
        int[] firstPixels = {0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0, 0, 3, 15, 2, 0,
            11, 8, 0, 0, 4, 12, 0, 0, 8, 8, 0, 0, 5, 8, 0, 0, 9, 8, 0, 0, 4, 11, 0, 1, 12, 7, 0, 0,
            2, 14, 5, 10, 12, 0, 0, 0, 0, 6, 13, 10, 0, 0, 0};
        DataSet data = Digits.load(DataType.DOUBLE);
        double[] expected = new double[64];
        for (int i = 0; i < 64; i++) {
            expected[i] = firstPixels[i] / 16.0;
        }
        assertArrayEquals(expected, data.getFeatures().getRow(0).toDoubleVector(), 0.0);
        assertEquals(0, data.getLabels().getRow(0).argMax().getInt(0));
        // Second line is a one.
        assertEquals(1, data.getLabels().getRow(1).argMax().getInt(0));
    }

    @Test
    void labelsAreOneHot() {
        INDArray labels = Digits.load(DataType.FLOAT).getLabels();
        INDArray rowSums = labels.sum(1);
        assertEquals(1797.0, rowSums.sumNumber().doubleValue());
        assertEquals(1.0, rowSums.minNumber().doubleValue());
        assertEquals(1.0, rowSums.maxNumber().doubleValue());
        // Only zeros and ones, so sum of squares equals sum.
        assertEquals(1797.0, labels.mul(labels).sumNumber().doubleValue());
    }

    @ParameterizedTest
    @EnumSource(value = DataType.class, names = {"FLOAT", "DOUBLE", "HALF"})
    void arraysHaveRequestedDataType(DataType dataType) {
        DataSet data = Digits.load(dataType);
        assertEquals(dataType, data.getFeatures().dataType());
        assertEquals(dataType, data.getLabels().dataType());
        // k/16 is exact in every floating type, HALF included.
        assertEquals(Digits.load(DataType.DOUBLE).getFeatures(),
                data.getFeatures().castTo(DataType.DOUBLE));

        Digits.Split split = Digits.split(dataType, 0.8, 1);
        assertEquals(dataType, split.train().getFeatures().dataType());
        assertEquals(dataType, split.test().getLabels().dataType());
    }

    @Test
    void rejectsNonFloatingDataTypes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Digits.load(DataType.INT));
        assertTrue(e.getMessage().contains("(got: INT)"), e.getMessage());
        assertThrows(NullPointerException.class, () -> Digits.load(null));
    }

    @Test
    void repeatedLoadsShareTheParseButNotTheArrays() {
        assertSame(Digits.raw(), Digits.raw());
        DataSet first = Digits.load(DataType.FLOAT);
        DataSet second = Digits.load(DataType.FLOAT);
        assertNotSame(first.getFeatures(), second.getFeatures());
        first.getFeatures().assign(-1);
        first.getLabels().assign(0);
        assertEquals(0.0, second.getFeatures().minNumber().doubleValue());
        assertEquals(1797.0, Digits.load(DataType.FLOAT).getLabels().sumNumber().doubleValue());
    }

    @Test
    void splitSizesFollowTrainFraction() {
        Digits.Split split = Digits.split(DataType.FLOAT, 0.8, 42);
        assertEquals(1438, split.train().numExamples()); // round(0.8 * 1797)
        assertEquals(359, split.test().numExamples());
        assertEquals(64, split.test().getFeatures().columns());
        assertEquals(10, split.test().getLabels().columns());
    }

    @Test
    void sameSeedGivesSameSplit() {
        Digits.Split a = Digits.split(DataType.FLOAT, 0.75, 7);
        Digits.Split b = Digits.split(DataType.FLOAT, 0.75, 7);
        assertEquals(a.train().getFeatures(), b.train().getFeatures());
        assertEquals(a.train().getLabels(), b.train().getLabels());
        assertEquals(a.test().getFeatures(), b.test().getFeatures());
        assertEquals(a.test().getLabels(), b.test().getLabels());
    }

    @Test
    void differentSeedGivesDifferentOrder() {
        Digits.Split a = Digits.split(DataType.FLOAT, 0.75, 7);
        Digits.Split b = Digits.split(DataType.FLOAT, 0.75, 8);
        assertFalse(a.train().getFeatures().equals(b.train().getFeatures()));
        // The split is shuffled, not just the file cut in two.
        DataSet head = Digits.load(DataType.FLOAT);
        INDArray fileHead = head.getFeatures().get(
                NDArrayIndex.interval(0, a.train().numExamples()), NDArrayIndex.all());
        assertFalse(a.train().getFeatures().equals(fileHead));
    }

    @Test
    void trainAndTestAreDisjointAndCoverEverything() {
        // Every image in the file is distinct, so a row's content identifies the example.
        List<String> all = rowKeys(Digits.load(DataType.DOUBLE));
        Digits.Split split = Digits.split(DataType.DOUBLE, 0.7, 123);
        List<String> train = rowKeys(split.train());
        List<String> test = rowKeys(split.test());
        assertEquals(1797, train.size() + test.size());

        List<String> combined = new ArrayList<>(train);
        combined.addAll(test);
        combined.sort(null);
        List<String> expected = new ArrayList<>(all);
        expected.sort(null);
        assertEquals(expected, combined);

        assertEquals(all.size(), new HashSet<>(all).size());
        Set<String> overlap = new HashSet<>(train);
        overlap.retainAll(new HashSet<>(test));
        assertTrue(overlap.isEmpty(), "train and test share examples: " + overlap.size());
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.0, 1.0, 1.5, -0.2, Double.NaN})
    void rejectsTrainFractionOutsideOpenUnitInterval(double fraction) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Digits.split(DataType.FLOAT, fraction, 1));
        assertTrue(e.getMessage().contains("(got: " + fraction + ")"), e.getMessage());
    }

    @Test
    void rejectsTrainFractionThatEmptiesASet() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Digits.split(DataType.FLOAT, 1e-4, 1));
        assertTrue(e.getMessage().contains("1.0E-4"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> Digits.split(DataType.FLOAT, 0.9999, 1));
    }

    @Test
    void iteratorBatchesAndResets() {
        DataSet data = Digits.split(DataType.FLOAT, 0.8, 3).train(); // 1438 examples
        DataSetIterator it = Digits.iterator(data, 100);
        assertTrue(it.resetSupported());
        assertEquals(100, it.batch());

        List<DataSet> firstPass = drain(it);
        assertEquals(15, firstPass.size()); // 14 full batches + 38
        assertEquals(100, firstPass.get(0).numExamples());
        assertEquals(38, firstPass.get(14).numExamples());
        assertFalse(it.hasNext());

        it.reset();
        List<DataSet> secondPass = drain(it);
        assertEquals(firstPass.size(), secondPass.size());
        for (int i = 0; i < firstPass.size(); i++) {
            assertEquals(firstPass.get(i).getFeatures(), secondPass.get(i).getFeatures());
            assertEquals(firstPass.get(i).getLabels(), secondPass.get(i).getLabels());
        }

        // Batches come in the DataSet's own order.
        INDArray firstRows = firstPass.get(0).getFeatures();
        assertEquals(data.getFeatures().getRow(0), firstRows.getRow(0));
        assertEquals(data.getFeatures().getRow(99), firstRows.getRow(99));
        assertEquals(data.getFeatures().getRow(1437), firstPass.get(14).getFeatures().getRow(37));
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 32, 2000})
    void iteratorCoversEveryExampleOnce(int batchSize) {
        DataSet data = Digits.split(DataType.FLOAT, 0.9, 5).test(); // 180 examples
        List<DataSet> batches = drain(Digits.iterator(data, batchSize));
        assertEquals((data.numExamples() + batchSize - 1) / batchSize, batches.size());
        assertEquals(data.getLabels(), DataSet.merge(batches).getLabels());
        assertEquals(data.getFeatures(), DataSet.merge(batches).getFeatures());
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 32})
    void preProcessorDoesNotAlterTheSourceData(int batchSize) {
        DataSet data = Digits.split(DataType.FLOAT, 0.9, 5).test();
        INDArray before = data.getFeatures().dup();
        DataSetIterator it = Digits.iterator(data, batchSize);
        it.setPreProcessor(ds -> ds.getFeatures().addi(10));
        for (int epoch = 0; epoch < 2; epoch++) {
            while (it.hasNext()) {
                assertTrue(it.next().getFeatures().minNumber().doubleValue() >= 10.0);
            }
            it.reset();
        }
        assertEquals(before, data.getFeatures());
    }

    @ParameterizedTest
    @ValueSource(ints = {0, -3})
    void rejectsNonPositiveBatchSize(int batchSize) {
        DataSet data = Digits.load(DataType.FLOAT);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Digits.iterator(data, batchSize));
        assertTrue(e.getMessage().contains("(got: " + batchSize + ")"), e.getMessage());
        assertThrows(NullPointerException.class, () -> Digits.iterator(null, 10));
    }

    @Test
    void missingResourceNamesThePath() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Digits.read("/org/dl4jgrowth/data/no-such-file.csv.gz"));
        assertTrue(e.getMessage().contains("/org/dl4jgrowth/data/no-such-file.csv.gz"),
                e.getMessage());
    }

    @Test
    void malformedRowsAreReportedWithLineAndContent() {
        String good = row(3, 7);
        IllegalStateException wrongWidth = assertThrows(IllegalStateException.class,
                () -> parse(good + "\n1,2,3\n", 2));
        assertTrue(wrongWidth.getMessage().contains("test.csv"), wrongWidth.getMessage());
        assertTrue(wrongWidth.getMessage().contains("line 2"), wrongWidth.getMessage());
        assertTrue(wrongWidth.getMessage().contains("found 3"), wrongWidth.getMessage());

        IllegalStateException badPixel = assertThrows(IllegalStateException.class,
                () -> parse(good + "\n" + good.replaceFirst("^3", "17") + "\n", 2));
        assertTrue(badPixel.getMessage().contains("line 2"), badPixel.getMessage());
        assertTrue(badPixel.getMessage().contains("column 1"), badPixel.getMessage());
        assertTrue(badPixel.getMessage().contains("'17'"), badPixel.getMessage());

        IllegalStateException notANumber = assertThrows(IllegalStateException.class,
                () -> parse(good.replaceFirst(",7$", ",x") + "\n", 1));
        assertTrue(notANumber.getMessage().contains("line 1"), notANumber.getMessage());
        assertTrue(notANumber.getMessage().contains("column 65"), notANumber.getMessage());
        assertTrue(notANumber.getMessage().contains("'x'"), notANumber.getMessage());

        IllegalStateException badLabel = assertThrows(IllegalStateException.class,
                () -> parse(good.replaceFirst(",7$", ",10") + "\n", 1));
        assertTrue(badLabel.getMessage().contains("'10'"), badLabel.getMessage());

        IllegalStateException blank = assertThrows(IllegalStateException.class,
                () -> parse(good + "\n\n" + good + "\n", 3));
        assertTrue(blank.getMessage().contains("line 2"), blank.getMessage());

        IllegalStateException tooFew = assertThrows(IllegalStateException.class,
                () -> parse(good + "\n", 2));
        assertTrue(tooFew.getMessage().contains("expected 2 rows but found 1"),
                tooFew.getMessage());

        IllegalStateException tooMany = assertThrows(IllegalStateException.class,
                () -> parse(good + "\n" + good + "\n", 1));
        assertTrue(tooMany.getMessage().contains("line 2"), tooMany.getMessage());
    }

    @Test
    void parsesWellFormedRows() throws Exception {
        Digits.Raw raw = parse(row(3, 7) + "\n" + row(16, 0) + "\n", 2);
        assertEquals(2, raw.size());
        assertEquals(7, raw.label(0));
        assertEquals(3, raw.pixel(0, 63));
        assertEquals(16, raw.pixel(1, 0));
        assertEquals(0, raw.label(1));
    }

    /**
     * Trains a 64-32-10 network on the train split: if the pixels were scrambled or the
     * labels misaligned it could not get anywhere near 85% on held-out data.
     */
    @Test
    void smallNetworkLearnsTheDigits() {
        Digits.Split split = Digits.split(DataType.FLOAT, 0.8, 12345);
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
                .seed(12345)
                .dataType(DataType.FLOAT)
                .updater(new Adam(1e-2))
                .weightInit(WeightInit.XAVIER)
                .list()
                .layer(new DenseLayer.Builder().nIn(64).nOut(32)
                        .activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT)
                        .nIn(32).nOut(10).activation(Activation.SOFTMAX).build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();

        net.fit(Digits.iterator(split.train(), 32), 10);

        Evaluation eval = net.evaluate(Digits.iterator(split.test(), 64));
        assertEquals(split.test().numExamples(), eval.getNumRowCounter());
        assertTrue(eval.accuracy() > 0.85, "test accuracy " + eval.accuracy());
    }

    private static Digits.Raw parse(String csv, int expectedRows) throws Exception {
        return Digits.parse(new BufferedReader(new StringReader(csv)), "test.csv", expectedRows);
    }

    /** A row whose 64 pixels all equal {@code pixel}, labelled {@code label}. */
    private static String row(int pixel, int label) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 64; i++) {
            sb.append(pixel).append(',');
        }
        return sb.append(label).toString();
    }

    private static List<DataSet> drain(DataSetIterator it) {
        List<DataSet> batches = new ArrayList<>();
        while (it.hasNext()) {
            batches.add(it.next());
        }
        return batches;
    }

    private static List<String> rowKeys(DataSet data) {
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < data.numExamples(); i++) {
            keys.add(Arrays.toString(data.getFeatures().getRow(i).toDoubleVector())
                    + "->" + data.getLabels().getRow(i).argMax().getInt(0));
        }
        return keys;
    }
}
