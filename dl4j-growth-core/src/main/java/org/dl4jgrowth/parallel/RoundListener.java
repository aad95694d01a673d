package org.dl4jgrowth.parallel;

import org.deeplearning4j.nn.api.Model;
import org.dl4jgrowth.GrowthEvent;

import java.util.Optional;

/**
 * Told about each training round a distributed driver runs ({@link ParallelGrowth}, and the Spark
 * driver), on the driver's thread, with the master network. {@link #roundTrained} comes after the
 * round's training and before the growth decision (the network as trained), {@link #roundEnded}
 * after the growth (if any) and after the epoch count has advanced: the place to save the model
 * and its growth state ({@code GrowthController.writeModel}) for a later resume. An exception
 * thrown here ends the run; the driver shuts its engine down and puts the model's listeners back.
 */
public interface RoundListener {

    /** Round {@code epoch} (0-based, the master's epoch count) has trained; nothing has grown yet. */
    default void roundTrained(int epoch, Model master) {
    }

    /** Round {@code epoch} is over: {@code growth} is the event if the network grew after it. */
    default void roundEnded(int epoch, Model master, Optional<GrowthEvent> growth) {
    }
}
