package org.dl4jgrowth.rewrite;

/** The steps of a rewrite, in order; a failure names the step it happened in. */
public enum RewriteStep {
    /** Checking the unit maps against the network and changing widths on a cloned configuration. */
    PLAN,
    /** Computing the signals (GradMax's gradient statistic) the initialisers of the planned sites read. */
    SIGNALS,
    /** Running the initialisers of fresh units and building the new parameter array. */
    PARAMETERS,
    /** Building the new optimizer-state array. */
    UPDATER_STATE,
    /** Swap: the network now holds the new configuration. */
    CONFIGURATION,
    /** Swap: the network has been re-initialised on the new parameters. */
    INITIALISATION,
    /** Swap: the network holds the new updater; the rewrite is complete. */
    UPDATER;

    /** True for the steps that change the user's network (failures there are rolled back). */
    public boolean isSwap() {
        return ordinal() >= CONFIGURATION.ordinal();
    }
}
