package org.dl4jgrowth.parallel;

import org.deeplearning4j.nn.api.Model;
import org.dl4jgrowth.network.NetworkAdapter;
import org.dl4jgrowth.signal.GradientStatistic;
import org.dl4jgrowth.signal.StatisticProvider;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * GradMax's statistic summed over ParallelWrapper-style workers: the first {@code batches}
 * minibatches of an iterator are dealt out in turn to {@code workers} threads, each bound to a
 * device as ParallelWrapper binds its workers ({@code worker % devices}); each computes the
 * statistic of its minibatches on its own private copy of the master ({@link GradientStatistic}),
 * and the driver adds the partial sums. Minibatch boundaries are the iterator's, so batch-norm
 * statistics are those of one machine computing the same minibatches.
 */
final class WorkerStatistics implements StatisticProvider {
    private final DataSetIterator data;
    private final int batches;
    private final int workers;

    WorkerStatistics(DataSetIterator data, int batches, int workers) {
        this.data = data;
        this.batches = batches;
        this.workers = workers;
    }

    @Override
    public GradientSum compute(Model net, String layer) {
        List<List<MultiDataSet>> shares = new ArrayList<>();
        for (int w = 0; w < workers; w++) {
            shares.add(new ArrayList<>());
        }
        if (data.resetSupported()) {
            data.reset();
        }
        long examples = 0;
        int n = 0;
        while (n < batches && data.hasNext()) {
            MultiDataSet ds = NetworkAdapter.detached(NetworkAdapter.toMulti(data.next()));
            shares.get(n % workers).add(ds);
            examples += org.dl4jgrowth.signal.StatisticSignals.examplesCounted(ds);
            n++;
        }
        if (n == 0) {
            throw new IllegalStateException("statisticOnWorkers: the statistic iterator gave no minibatch for layer '"
                    + layer + "'" + (data.resetSupported() ? "" : " (it cannot be reset, and is used up)"));
        }
        int devices = Math.max(1, Nd4j.getAffinityManager().getNumberOfDevices());
        ExecutorService pool = Executors.newFixedThreadPool(workers, r -> {
            Thread t = new Thread(r, "dl4j-growth statistic worker");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<INDArray>> parts = new ArrayList<>();
            for (int w = 0; w < workers; w++) {
                List<MultiDataSet> share = shares.get(w);
                if (share.isEmpty()) {
                    continue;
                }
                int device = w % devices;
                // Each worker's replica is made here, on one thread: the master is only read, never
                // shared between threads (DL4J's networks and configurations are not thread-safe).
                Model replica = NetworkAdapter.of(net).privateCopy().model();
                parts.add(pool.submit(() -> {
                    Nd4j.getAffinityManager().unsafeSetDevice(device);
                    return GradientStatistic.computeMulti(replica, layer, share);
                }));
            }
            INDArray sum = null;
            for (Future<INDArray> f : parts) {
                INDArray part = f.get();
                sum = sum == null ? part : sum.addi(part);
            }
            return new GradientSum(sum, examples, n);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while the workers computed the statistic of '" + layer + "'", e);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException) {
                throw (RuntimeException) c;
            }
            throw new IllegalStateException("A worker failed computing the statistic of '" + layer + "': " + c, c);
        } finally {
            pool.shutdownNow();
        }
    }
}
