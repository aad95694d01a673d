package org.dl4jgrowth.spark;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.deeplearning4j.nn.api.Model;
import org.dl4jgrowth.network.NetworkAdapter;
import org.dl4jgrowth.signal.GradientStatistic;
import org.dl4jgrowth.signal.StatisticProvider;
import org.dl4jgrowth.signal.StatisticSignals;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;

/**
 * GradMax's statistic computed on the executors, where the data is: the master's configuration and
 * parameters are broadcast, each partition rebuilds the network and computes the statistic of its
 * minibatches (each {@code DataSet} of the RDD is one minibatch, so batch-norm statistics are those
 * of the same minibatches on one machine) as a sum and a count, and the partial sums are merged
 * with {@code treeAggregate}, as DL4J's parameter averaging merges parameters. Only the sum (the
 * size of the layer's input times its consumer's width) travels back to the driver, never data.
 */
public final class SparkStatistics implements StatisticProvider {
    private final JavaSparkContext sc;
    private final JavaRDD<DataSet> data;
    private final int depth;

    /** Over every minibatch of {@code data}, merged in a tree of {@code depth} levels (Spark's default: 2). */
    public SparkStatistics(JavaSparkContext sc, JavaRDD<DataSet> data, int depth) {
        this.sc = sc;
        this.data = data;
        this.depth = depth;
    }

    @Override
    public GradientSum compute(Model net, String layer) {
        NetworkAdapter a = NetworkAdapter.of(net);
        Broadcast<String> conf = sc.broadcast(a.configurationJson());
        Broadcast<INDArray> params = sc.broadcast(net.params().dup());
        try {
            Partial total = data.mapPartitions(new PartitionStatistic(a.typeName(), conf, params, layer))
                    .treeAggregate(Partial.EMPTY, Partial::merge, Partial::merge, depth);
            if (total.batches == 0) {
                throw new IllegalStateException("SparkGrowth: the statistic RDD holds no minibatch, so layer '" + layer
                        + "' has no gradient statistic; give statisticData(...) an RDD with data");
            }
            return new GradientSum(total.sum, total.examples, total.batches);
        } finally {
            conf.unpersist(false);
            params.unpersist(false);
        }
    }

    /** One partition's (sum, examples, minibatches); EMPTY where a partition had no data. */
    static final class Partial implements Serializable {
        private static final long serialVersionUID = 1L;
        static final Partial EMPTY = new Partial(null, 0, 0);
        final INDArray sum;
        final long examples;
        final long batches;

        Partial(INDArray sum, long examples, long batches) {
            this.sum = sum;
            this.examples = examples;
            this.batches = batches;
        }

        /** A new Partial: never adds into EMPTY, which Spark hands every partition as its start. */
        static Partial merge(Partial a, Partial b) {
            if (a.sum == null) {
                return b;
            }
            if (b.sum == null) {
                return a;
            }
            return new Partial(a.sum.add(b.sum), a.examples + b.examples, a.batches + b.batches);
        }
    }

    /** Runs on an executor: the partition's minibatches on a replica built from the broadcast master. */
    static final class PartitionStatistic implements FlatMapFunction<Iterator<DataSet>, Partial> {
        private static final long serialVersionUID = 1L;
        private final String type;
        private final Broadcast<String> conf;
        private final Broadcast<INDArray> params;
        private final String layer;

        PartitionStatistic(String type, Broadcast<String> conf, Broadcast<INDArray> params, String layer) {
            this.type = type;
            this.conf = conf;
            this.params = params;
            this.layer = layer;
        }

        @Override
        public Iterator<Partial> call(Iterator<DataSet> partition) {
            List<MultiDataSet> batches = new ArrayList<>();
            long examples = 0;
            while (partition.hasNext()) {
                MultiDataSet ds = NetworkAdapter.toMulti(partition.next());
                batches.add(ds);
                examples += StatisticSignals.examplesCounted(ds);
            }
            if (batches.isEmpty()) {
                return Collections.emptyIterator();
            }
            Model replica = NetworkAdapter.replica(type, conf.getValue(), params.getValue()).model();
            INDArray sum = GradientStatistic.computeMulti(replica, layer, batches);
            return Collections.singletonList(new Partial(sum, examples, batches.size())).iterator();
        }
    }
}
