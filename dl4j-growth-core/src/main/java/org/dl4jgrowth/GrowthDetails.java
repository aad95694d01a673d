package org.dl4jgrowth;

import org.nd4j.shade.jackson.annotation.JsonTypeInfo;

import java.io.Serializable;

/**
 * A growth method's own record of one event, beside the fields every event has: Firefly's
 * candidate scores, NeST's sparsity. Small immutable values, JSON-serialisable through their class
 * name like policies; they must implement equals and hashCode. A planner returns them with its
 * proposal ({@link org.dl4jgrowth.plan.GrowthProposal#details()}).
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.CLASS, include = JsonTypeInfo.As.PROPERTY, property = "@class")
public interface GrowthDetails extends Serializable {
}
