package org.dl4jgrowth.bench.jmh;

import java.util.concurrent.TimeUnit;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The ND4J primitives a rewrite is made of, per call on 1 MB of FLOAT (262,144 values), which is
 * why the rewrite copies the way it does (core's RewriteBuffers and FlatMatrix):
 * <ul>
 *   <li>{@code freshArray}: a new zeroed 1 MB array, left to the garbage collector as ND4J leaves
 *       replaced arrays (new memory each time);</li>
 *   <li>{@code contiguousDirect}: a 1 MB copy between two arrays made directly over flat buffers
 *       at an offset ({@code Nd4j.create(buffer, shape, stride, offset, order)});</li>
 *   <li>{@code contiguousThroughGet}: the same range copied through {@code get(interval)} views
 *       made once;</li>
 *   <li>{@code contiguousThroughNewGet}: the same, with the two views made by {@code get(interval)}
 *       in each call, as a remap that slices per run does;</li>
 *   <li>{@code stridedRowsDirect}: a [512, 512] block of an 'f'-ordered [513, 512] matrix (the
 *       kept rows of a consumer whose input grew by one) from a [512, 512] one, both made
 *       directly over the memory.</li>
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx4g")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class CopyBench {
    static final int N = 262_144;

    private INDArray from;
    private INDArray to;
    private INDArray fromRange;
    private INDArray toRange;
    private INDArray fromView;
    private INDArray toView;
    private INDArray rowsFrom;
    private INDArray rowsTo;

    @Setup(Level.Trial)
    public void setUp() {
        INDArray a = Nd4j.rand(DataType.FLOAT, 2 * N);
        INDArray b = Nd4j.rand(DataType.FLOAT, 2 * N);
        fromRange = Nd4j.create(a.data(), new long[]{N}, new long[]{1}, 7000, 'c');
        toRange = Nd4j.create(b.data(), new long[]{N}, new long[]{1}, 1000, 'c');
        fromView = a.get(NDArrayIndex.interval(7000, 7000 + N));
        toView = b.get(NDArrayIndex.interval(1000, 1000 + N));
        rowsFrom = Nd4j.create(a.data(), new long[]{512, 512}, new long[]{1, 512}, 7000, 'f');
        rowsTo = Nd4j.create(b.data(), new long[]{512, 512}, new long[]{1, 513}, 1000, 'f');
        from = a;
        to = b;
    }

    @Benchmark
    public INDArray freshArray() {
        return Nd4j.zeros(DataType.FLOAT, 1, N);
    }

    @Benchmark
    public INDArray contiguousDirect() {
        return toRange.assign(fromRange);
    }

    @Benchmark
    public INDArray contiguousThroughGet() {
        return toView.assign(fromView);
    }

    @Benchmark
    public INDArray contiguousThroughNewGet() {
        return to.get(NDArrayIndex.interval(1000, 1000 + N)).assign(from.get(NDArrayIndex.interval(7000, 7000 + N)));
    }

    @Benchmark
    public INDArray stridedRowsDirect() {
        return rowsTo.assign(rowsFrom);
    }
}
