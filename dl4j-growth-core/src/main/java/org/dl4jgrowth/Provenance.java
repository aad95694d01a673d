package org.dl4jgrowth;

import org.nd4j.shade.guava.base.Preconditions;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.util.Objects;
import java.util.Properties;

/**
 * What produced a growth history: the policy, and the versions of this library, DL4J, ND4J and
 * Java. Written at the head of every history file, so a history read later says on its own which
 * settings and code made the network's shape. Immutable.
 */
public final class Provenance implements Serializable {
    private static final long serialVersionUID = 1L;
    private final GrowthPolicy policy;
    private final String library;
    private final String dl4j;
    private final String nd4j;
    private final String java;

    @JsonCreator
    public Provenance(@JsonProperty("policy") GrowthPolicy policy, @JsonProperty("library") String library,
                      @JsonProperty("dl4j") String dl4j, @JsonProperty("nd4j") String nd4j,
                      @JsonProperty("java") String java) {
        this.policy = Preconditions.checkNotNull(policy, "provenance: policy must not be null");
        this.library = library;
        this.dl4j = dl4j;
        this.nd4j = nd4j;
        this.java = java;
    }

    /** The provenance of a history grown now by {@code policy}, on the classpath as it is. */
    public static Provenance of(GrowthPolicy policy) {
        return new Provenance(policy, version("/org/dl4jgrowth/version.properties", "version"),
                version("/META-INF/maven/org.deeplearning4j/deeplearning4j-nn/pom.properties", "version"),
                version("/META-INF/maven/org.nd4j/nd4j-api/pom.properties", "version"),
                System.getProperty("java.version"));
    }

    private static String version(String resource, String key) {
        try (InputStream in = Provenance.class.getResourceAsStream(resource)) {
            if (in == null) {
                return "unknown";
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty(key, "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }

    @JsonProperty("policy")
    public GrowthPolicy policy() {
        return policy;
    }

    /** This library's version, e.g. "0.1.0-SNAPSHOT". */
    @JsonProperty("library")
    public String library() {
        return library;
    }

    @JsonProperty("dl4j")
    public String dl4j() {
        return dl4j;
    }

    @JsonProperty("nd4j")
    public String nd4j() {
        return nd4j;
    }

    @JsonProperty("java")
    public String java() {
        return java;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof Provenance)) {
            return false;
        }
        Provenance p = (Provenance) o;
        return policy.equals(p.policy) && Objects.equals(library, p.library) && Objects.equals(dl4j, p.dl4j)
                && Objects.equals(nd4j, p.nd4j) && Objects.equals(java, p.java);
    }

    @Override
    public int hashCode() {
        return Objects.hash(policy, library, dl4j, nd4j, java);
    }

    @Override
    public String toString() {
        return "dl4j-growth " + library + " (DL4J " + dl4j + ", ND4J " + nd4j + ", Java " + java + "), " + policy;
    }
}
