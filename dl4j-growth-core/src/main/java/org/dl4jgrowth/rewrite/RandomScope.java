package org.dl4jgrowth.rewrite;

import org.nd4j.linalg.api.rng.Random;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.factory.RandomFactory;

import java.lang.reflect.Field;

/**
 * Runs code with the calling thread's ND4J random generator temporarily replaced by a given one.
 *
 * <p>Why: DL4J's weight initialisers draw from {@code Nd4j.getRandom()}, the thread's global
 * generator, which also drives dropout and weight noise during training. Drawing new units'
 * weights from it would shift every later random draw of training; reseeding it would repeat them.
 * Swapping in the growth generator for the duration of an initialiser leaves the training
 * generator's state exactly as it was, and makes growth reproducible from its own seed. ND4J keeps
 * one generator per thread in a private {@code ThreadLocal} of {@link RandomFactory}; the swap
 * touches only the calling thread's slot, so other training threads are unaffected.
 */
public final class RandomScope {
    private static final Field THREAD_RANDOM;

    static {
        try {
            THREAD_RANDOM = RandomFactory.class.getDeclaredField("threadRandom");
            THREAD_RANDOM.setAccessible(true);
        } catch (NoSuchFieldException e) {
            throw new ExceptionInInitializerError("ND4J's RandomFactory has no threadRandom field: "
                    + "dl4j-growth supports ND4J 1.0.0-M2.1");
        }
    }

    private RandomScope() {
    }

    /** Computes {@code body} with {@code rng} as this thread's ND4J generator; null runs it unchanged. */
    public static <T> T call(Random rng, java.util.function.Supplier<T> body) {
        Object[] out = new Object[1];
        run(rng, () -> out[0] = body.get());
        @SuppressWarnings("unchecked")
        T t = (T) out[0];
        return t;
    }

    /** Runs {@code body} with {@code rng} as this thread's ND4J generator; null runs it unchanged. */
    public static void run(Random rng, Runnable body) {
        if (rng == null) {
            body.run();
            return;
        }
        ThreadLocal<Random> slot = slot();
        Random previous = slot.get();
        slot.set(rng);
        try {
            body.run();
        } finally {
            if (previous == null) {
                slot.remove();
            } else {
                slot.set(previous);
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static ThreadLocal<Random> slot() {
        try {
            return (ThreadLocal<Random>) THREAD_RANDOM.get(Nd4j.getRandomFactory());
        } catch (IllegalAccessException e) {
            throw new IllegalStateException("Cannot reach ND4J's per-thread random generator", e);
        }
    }
}
