package org.dl4jgrowth.rewrite;

/** Told when each step of a rewrite has completed; tests use it to inject failures. */
@FunctionalInterface
interface RewriteObserver {
    RewriteObserver NONE = step -> { };

    void stepDone(RewriteStep step);
}
