package org.dl4jgrowth.rewrite;

import org.deeplearning4j.nn.api.Model;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.shade.guava.collect.MapMaker;

import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * The flat buffers a network's rewrites build into: parameters, the gradient view and the
 * optimizer state. Each rewrite writes the new network's arrays into buffers the network does not
 * use, and the swap installs them; the buffers it replaced are kept as the spare that the next
 * rewrite writes into, instead of asking the allocator for fresh memory every time.
 *
 * <p>Why: on the machine measured here fresh native memory costs about 3-4 ms per MB (page
 * faults on first touch, and ND4J frees the replaced arrays only when the garbage collector finds
 * them; integration-tests' {@code CopyBench.freshArray}) against ~25 us per MB to copy, which made
 * a rewrite of a 784-512-512-10 MLP cost more than a training iteration although it copies only
 * ~12 MB (docs/benchmarks.md, "Performance I").
 *
 * <p>The cost, and the contract:
 * <ul>
 *   <li>memory: a network that grew holds a second generation of these buffers (its parameters,
 *       gradient and optimizer state once more), each with {@value #HEADROOM_PERCENT}% headroom so
 *       that a few growths fit before a larger buffer is needed;</li>
 *   <li>arrays: the network's {@code params()}, gradient and updater state are views ([1, n] at
 *       offset 0) of a larger buffer; ND4J writes and serialises them as what they are;</li>
 *   <li>an array taken from the network before the growth before last (its {@code params()},
 *       a parameter table, the updater's state) is overwritten by a later growth. It is never
 *       freed while referenced, so this is stale data, never a crash. {@code dup()} what must
 *       survive a growth; the rewrite's own snapshots do.</li>
 * </ul>
 * {@code -Ddl4jgrowth.rewrite.reuseMemory=false} turns reuse off: every rewrite then allocates
 * exact-size arrays, as before.
 *
 * <p>The swap stays atomic: a rewrite only ever writes into the spare, and only a completed swap
 * makes the replaced buffers the new spare; a failed prepare or swap gives the spare back
 * untouched in meaning (its contents were scratch anyway).
 */
final class RewriteBuffers {
    static final String PROPERTY = "dl4jgrowth.rewrite.reuseMemory";
    static final int HEADROOM_PERCENT = 25;

    private static final Map<Model, RewriteBuffers> BY_NETWORK = new MapMaker().weakKeys().makeMap();

    /** One generation: the buffers a network uses (live) or may be built into (spare). */
    private static final class Generation {
        INDArray params;
        INDArray gradient;
        INDArray state;
    }

    private Generation live;
    private Generation spare;
    private Lease lent;
    /** The remaps' temporaries, one buffer per slot, kept between rewrites (used by the lent lease only). */
    private final INDArray[] temps = new INDArray[Temps.SLOTS];

    /** For tests: the generation the network uses (params, gradient, state buffers), or null if not ours. */
    static INDArray[] liveOf(Model network) {
        RewriteBuffers b = BY_NETWORK.get(network);
        return b == null ? null : b.arrays(b.live);
    }

    /** For tests: the spare generation, or null. */
    static INDArray[] spareOf(Model network) {
        RewriteBuffers b = BY_NETWORK.get(network);
        return b == null ? null : b.arrays(b.spare);
    }

    /**
     * The native memory kept for {@code network}'s rewrites, in bytes: both generations' buffers
     * (the live one is what the network's parameters, gradient and optimizer state are views of)
     * and the remaps' temporaries; 0 for a network that never grew with reuse on.
     */
    static long keptBytes(Model network) {
        RewriteBuffers b = BY_NETWORK.get(network);
        return b == null ? 0 : b.keptBytes();
    }

    private synchronized long keptBytes() {
        long sum = 0;
        for (Generation g : new Generation[]{live, spare, lent == null ? null : lent.borrowed}) {
            if (g != null) {
                sum += bytes(g.params) + bytes(g.gradient) + bytes(g.state);
            }
        }
        for (INDArray t : temps) {
            sum += bytes(t);
        }
        return sum;
    }

    private static long bytes(INDArray a) {
        return a == null ? 0 : a.length() * a.dataType().width();
    }

    private synchronized INDArray[] arrays(Generation g) {
        return g == null ? null : new INDArray[]{g.params, g.gradient, g.state};
    }

    static boolean enabled() {
        return !"false".equalsIgnoreCase(System.getProperty(PROPERTY, "true"));
    }

    /** The buffers of {@code network}; null when reuse is off. */
    static RewriteBuffers of(Model network) {
        if (!enabled()) {
            return null;
        }
        return BY_NETWORK.computeIfAbsent(network, n -> new RewriteBuffers());
    }

    /**
     * Lends the spare generation to one rewrite being prepared. If another prepared rewrite holds it
     * and can still be applied (the network has not changed since), this one gets fresh buffers; a
     * stale holder can never be applied, so its lease is revoked.
     */
    synchronized Lease lease(ModelHandle handle, INDArray... inUse) {
        Generation g = null;
        if (lent != null && !lent.done) {
            if (lent.stillApplicable(handle)) {
                return new Lease(this, null, handle);
            }
            lent.revoked = true;
            g = lent.borrowed;
            lent = null;
        } else {
            g = spare;
        }
        spare = null;
        // Never build into what the network uses now (a user's init(params, false) or setUpdater may
        // have installed one of our buffers somewhere we did not put it).
        Set<Long> used = new HashSet<>();
        for (INDArray a : inUse) {
            if (a != null) {
                used.add(root(a.data()));
            }
        }
        if (g != null && (uses(used, g.params) || uses(used, g.gradient) || uses(used, g.state))) {
            g = null;
        }
        lent = new Lease(this, g, handle);
        return lent;
    }

    private static boolean uses(Set<Long> inUse, INDArray buffer) {
        return buffer != null && inUse.contains(root(buffer.data()));
    }

    /** The address of the memory a buffer (or the buffer it is a window of) starts at. */
    private static long root(DataBuffer b) {
        while (b.originalDataBuffer() != null && b.originalDataBuffer() != b) {
            b = b.originalDataBuffer();
        }
        return b.address();
    }

    private synchronized void swapped(Lease l) {
        if (lent == l) {
            lent = null;
        }
        // What the network used until now is ours only if we installed it; DL4J's own arrays are left
        // to the garbage collector (they are exact-size and anyone may hold them).
        spare = live;
        live = l.built;
    }

    private synchronized void returned(Lease l) {
        if (lent == l) {
            lent = null;
            if (spare == null && !l.revoked) {
                spare = l.borrowed;
            }
        }
    }

    /**
     * The buffers one rewrite builds into: views of the borrowed spare where it is large enough
     * (and not more than twice too large), fresh buffers with headroom otherwise.
     */
    static final class Lease {
        private final RewriteBuffers owner;
        private final Generation borrowed;
        private final Generation built = new Generation();
        private final Object confAtLease;
        private final long iterationAtLease;
        private volatile boolean revoked;
        private boolean done;

        private Lease(RewriteBuffers owner, Generation borrowed, ModelHandle handle) {
            this.owner = owner;
            this.borrowed = borrowed;
            this.confAtLease = handle.liveConfiguration();
            this.iterationAtLease = handle.iterationCount();
        }

        private boolean stillApplicable(ModelHandle handle) {
            return handle.liveConfiguration() == confAtLease && handle.iterationCount() == iterationAtLease;
        }

        /** Whether a later prepare took these buffers back; the rewrite must then not be applied. */
        boolean revoked() {
            return revoked;
        }

        /** A [1, n] row for the parameters; its contents are arbitrary. */
        INDArray params(DataType type, long n) {
            built.params = buffer(borrowed == null ? null : borrowed.params, type, n);
            return view(built.params, new long[]{1, n}, new long[]{n, 1});
        }

        /** A [1, n] row for the gradient, zeroed: DL4J's own gradient view starts at zero. */
        INDArray gradient(DataType type, long n) {
            built.gradient = buffer(borrowed == null ? null : borrowed.gradient, type, n);
            // The whole buffer at once (a native memset is several times faster here than assigning
            // zero through the view).
            Nd4j.getMemoryManager().memset(built.gradient);
            return view(built.gradient, new long[]{1, n}, new long[]{n, 1});
        }

        /** A [n] vector for the optimizer state, as DL4J lays it out; its contents are arbitrary. */
        INDArray state(DataType type, long n) {
            built.state = buffer(borrowed == null ? null : borrowed.state, type, n);
            return view(built.state, new long[]{n}, new long[]{1});
        }

        private static INDArray buffer(INDArray spare, DataType type, long n) {
            if (spare != null && spare.dataType() == type && spare.length() >= n && spare.length() <= 2 * n) {
                return spare;
            }
            long capacity = n + Math.max(1, n * HEADROOM_PERCENT / 100);
            return Nd4j.createUninitialized(type, capacity);
        }

        private static INDArray view(INDArray buffer, long[] shape, long[] stride) {
            return Nd4j.create(buffer.data(), shape, stride, 0, 'c');
        }

        /** The swap installed what was built: the replaced generation becomes the spare. */
        void swapped() {
            done = true;
            owner.swapped(this);
        }

        /**
         * Temporaries for this rewrite's remaps: slots of buffers this network keeps between
         * rewrites when this lease holds the spare, fresh arrays freed after use otherwise.
         */
        Temps temps() {
            synchronized (owner) {
                return owner.lent == this ? new Temps(owner.temps) : Temps.FRESH;
            }
        }

        /** The rewrite failed or was not applied: the borrowed spare goes back. */
        void giveBack() {
            done = true;
            owner.returned(this);
        }
    }

    /**
     * Arrays a remap needs only while it runs (a parameter-shaped copy to slice, a result to build
     * in). Slots are numbered; an array from slot i is valid until slot i is asked for again. In
     * the parameter's own order, so copies in and out are straight copies, not transposes.
     */
    static final class Temps {
        static final int SLOTS = 2;
        /** No pooling: every array is allocated, and freed by {@link #done}. */
        static final Temps FRESH = new Temps(null);

        private final INDArray[] slots;

        private Temps(INDArray[] slots) {
            this.slots = slots;
        }

        /** Zeros of {@code shape} in {@code order}. */
        INDArray zeros(int slot, DataType type, char order, long[] shape) {
            if (slots == null) {
                return Nd4j.create(type, shape, order);   // zero-filled
            }
            INDArray a = take(slot, type, order, shape);
            a.assign(0);
            return a;
        }

        /** A private copy of {@code src} in its own order. */
        INDArray copyOf(int slot, INDArray src) {
            if (slots == null) {
                return src.dup(src.ordering());
            }
            INDArray a = take(slot, src.dataType(), src.ordering(), src.shape());
            a.assign(src);
            return a;
        }

        /** A private array of {@code shape} in {@code order} holding {@code flat}'s values in that order. */
        INDArray copyOf(int slot, INDArray flat, char order, long[] shape) {
            if (slots == null) {
                return flat.reshape(order, shape).dup(order);
            }
            // Copied as the vectors they are (a straight copy), then viewed with the shape: reshaping
            // a slice of a flat state array can cost ND4J a copy of its own.
            take(slot, flat.dataType(), 'c', new long[]{flat.length()}).assign(flat.reshape(flat.length()));
            return take(slot, flat.dataType(), order, shape);
        }

        private INDArray take(int slot, DataType type, char order, long[] shape) {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            INDArray b = slots[slot];
            if (b == null || b.dataType() != type || b.length() < n) {
                b = Nd4j.createUninitialized(type, n + Math.max(1, n * HEADROOM_PERCENT / 100));
                slots[slot] = b;
            }
            return Nd4j.create(b.data(), shape.clone(), Nd4j.getStrides(shape, order), 0, order);
        }

        /**
         * Writes {@code shaped}, an array from {@link #copyOf(int, INDArray, char, long[])} or
         * {@link #zeros}, into the vector {@code flat} in {@code shaped}'s own order.
         */
        void copyFlatInto(INDArray shaped, INDArray flat) {
            if (slots == null) {
                flat.assign(shaped.reshape(shaped.ordering(), new long[]{shaped.length()}));
                return;
            }
            flat.reshape(flat.length()).assign(Nd4j.create(shaped.data(), new long[]{shaped.length()}, new long[]{1}, 0, 'c'));
        }

        /** Frees what this object allocated (nothing when pooled). */
        void done(INDArray... arrays) {
            if (slots == null) {
                Remap.release(arrays);
            }
        }
    }
}
