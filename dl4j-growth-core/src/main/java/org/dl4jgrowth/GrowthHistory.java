package org.dl4jgrowth;

import org.nd4j.shade.guava.base.Preconditions;
import org.nd4j.shade.guava.collect.ImmutableList;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonInclude;
import org.nd4j.shade.jackson.annotation.JsonPropertyOrder;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The growth events of one network, in order, with what produced them ({@link #provenance()}).
 * Appending is synchronised; reads are snapshots.
 */
@JsonPropertyOrder({"provenance", "events", "skips"})
public final class GrowthHistory {
    private final List<GrowthEvent> events = new ArrayList<>();
    /** {@link #events()} until the next {@link #add}; null: to be made. Not part of the JSON. */
    @org.nd4j.shade.jackson.annotation.JsonIgnore
    private transient List<GrowthEvent> snapshot;
    /** Growths asked for and not made (bad data, no room); absent from histories without any. */
    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    private final List<GrowthSkip> skips = new ArrayList<>();
    @JsonInclude(JsonInclude.Include.NON_NULL)
    private final Provenance provenance;

    public GrowthHistory() {
        this((Provenance) null);
    }

    /** An empty history of a network grown as {@code provenance} says. */
    public GrowthHistory(Provenance provenance) {
        this.provenance = provenance;
    }

    GrowthHistory(Provenance provenance, List<GrowthEvent> events) {
        this(provenance, events, null);
    }

    @JsonCreator
    GrowthHistory(@JsonProperty("provenance") Provenance provenance, @JsonProperty("events") List<GrowthEvent> events,
                  @JsonProperty("skips") List<GrowthSkip> skips) {
        this.provenance = provenance;
        if (events != null) {
            this.events.addAll(events);
        }
        if (skips != null) {
            this.skips.addAll(skips);
        }
    }

    /** The policy and library versions that produced this history; null in histories written before 0.2. */
    @JsonProperty("provenance")
    public Provenance provenance() {
        return provenance;
    }

    synchronized void add(GrowthEvent e) {
        Preconditions.checkArgument(e.index() == events.size(), "event index %s out of order (expected %s)",
                e.index(), events.size());
        events.add(e);
        snapshot = null;
    }

    /** An immutable snapshot of the events so far. */
    @JsonProperty("events")
    public synchronized List<GrowthEvent> events() {
        // Planners get it at every iteration: copied once per event, not once per iteration.
        if (snapshot == null) {
            snapshot = ImmutableList.copyOf(events);
        }
        return snapshot;
    }

    /**
     * Records a skip, merged into the last record when it continues the same run.
     *
     * @return true when a new record was started (worth writing and warning about at once)
     */
    synchronized boolean addSkip(GrowthSkip s) {
        if (!skips.isEmpty() && skips.get(skips.size() - 1).sameRun(s)) {
            skips.set(skips.size() - 1, skips.get(skips.size() - 1).plus(s));
            return false;
        }
        skips.add(s);
        return true;
    }

    /** Growths the policy asked for and the controller skipped (see {@link BadGrowthAction}), oldest first. */
    @JsonProperty("skips")
    public synchronized List<GrowthSkip> skips() {
        return ImmutableList.copyOf(skips);
    }

    public synchronized int size() {
        return events.size();
    }

    public String toJson() {
        return GrowthJson.toJson(this);
    }

    public static GrowthHistory fromJson(String json) {
        return GrowthJson.fromJson(json, GrowthHistory.class);
    }

    /** Writes the history as JSON, replacing the file atomically so a reader never sees half of it. */
    public void writeJson(Path file) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            Path tmp = Files.createTempFile(parent, file.getFileName().toString(), ".tmp");
            try {
                Files.write(tmp, toJson().getBytes(StandardCharsets.UTF_8));
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                // Only left over when the write or the move failed; retries must not pile them up.
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write the growth history to " + file, e);
        }
    }

    @Override
    public synchronized boolean equals(Object o) {
        return o instanceof GrowthHistory && ((GrowthHistory) o).events().equals(events)
                && ((GrowthHistory) o).skips().equals(skips)
                && java.util.Objects.equals(((GrowthHistory) o).provenance, provenance);
    }

    @Override
    public synchronized int hashCode() {
        return 31 * events.hashCode() + java.util.Objects.hashCode(provenance);
    }

    @Override
    public synchronized String toString() {
        return "GrowthHistory" + events;
    }
}
