package org.dl4jgrowth;

import org.dl4jgrowth.how.GradMaxOptInit;
import org.dl4jgrowth.how.RandomFanOutInit;
import org.dl4jgrowth.how.UnitInitializer;
import org.dl4jgrowth.plan.LayerwisePlanner;
import org.dl4jgrowth.when.GrowthTrigger;
import org.dl4jgrowth.where.GrowthAmount;
import org.dl4jgrowth.where.SiteSelector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.node.ArrayNode;
import org.nd4j.shade.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code GrowthPolicy.fromJson} refuses what the builder and the factories refuse, with their
 * messages. Each case edits the JSON tree of a valid policy in one place; the expected text is
 * computed by making the same mistake through the Java API, so a message that drifts apart in one
 * of the two paths fails here.
 */
class JsonValidationTest {

    /** A policy that uses most settings: an and-ed trigger naming a layer, caps, an initialiser with settings. */
    static final GrowthPolicy ADD = GrowthPolicy.builder()
            .when(GrowthTrigger.everyEpochs(2).and(GrowthTrigger.singularValueAbove(0.5, "h1")))
            .where(SiteSelector.layers("h1", "h2")).howMuch(GrowthAmount.add(4))
            .maxWidth(64).maxWidth("h2", 32).maxParams(100_000).initializer(UnitInitializer.gradMax(2.0)).seed(7)
            .build();
    static final GrowthPolicy FACTOR = GrowthPolicy.builder().when(GrowthTrigger.everyIterations(10))
            .where(SiteSelector.roundRobin("h1", "h2")).howMuch(GrowthAmount.factor(1.5)).build();
    static final LayerwisePlanner PLANNER = new LayerwisePlanner(GrowthTrigger.maxGrowths(2),
            SiteSelector.allGrowable(), GrowthAmount.add(1));
    static final GrowthPolicy WITH_PLANNER = GrowthPolicy.builder().planner(PLANNER).maxParams(5000).build();

    private static GrowthPolicy.Builder builder() {
        return ADD.toBuilder();
    }

    /** The message the Java API gives for the same mistake; fails if it gives none. */
    private static String messageOf(Executable javaCall) {
        Throwable t = assertThrows(RuntimeException.class, javaCall, "the Java API must refuse this too");
        assertTrue(t.getMessage() != null && !t.getMessage().isBlank(), t.toString());
        return t.getMessage();
    }

    /** {@code policy}'s JSON with {@code edit} applied to its tree. */
    private static String edited(GrowthPolicy policy, Consumer<ObjectNode> edit) {
        try {
            ObjectNode tree = (ObjectNode) GrowthJson.mapper().readTree(policy.toJson());
            edit.accept(tree);
            String json = GrowthJson.mapper().writeValueAsString(tree);
            assertNotEquals(policy.toJson(), json, "the edit changed nothing");
            return json;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static ObjectNode at(ObjectNode tree, String... path) {
        JsonNode n = tree;
        for (String p : path) {
            n = p.matches("\\d+") ? n.get(Integer.parseInt(p)) : n.get(p);
        }
        return (ObjectNode) n;
    }

    private static JsonNode tree(Object value) {
        return GrowthJson.mapper().valueToTree(value);
    }

    /** Sets {@code field} of {@code tree} to {@code value}'s JSON and returns that, to edit further. */
    private static ObjectNode replace(ObjectNode tree, String field, Object value) {
        tree.set(field, tree(value));
        return (ObjectNode) tree.get(field);
    }

    private static Arguments refused(String name, Supplier<String> json, Supplier<String> expected) {
        return Arguments.of(name, json, expected);
    }

    static Stream<Arguments> badPolicies() {
        return Stream.of(
                // how much
                refused("add 0", () -> edited(ADD, t -> at(t, "howMuch").put("add", 0)),
                        () -> messageOf(() -> GrowthAmount.add(0))),
                refused("add -3", () -> edited(ADD, t -> at(t, "howMuch").put("add", -3)),
                        () -> messageOf(() -> GrowthAmount.add(-3))),
                refused("add 0 alone", () -> edited(ADD, t -> at(t, "howMuch").put("add", 0).remove("factor")),
                        () -> messageOf(() -> GrowthAmount.add(0))),
                refused("factor 1.0", () -> edited(FACTOR, t -> at(t, "howMuch").put("factor", 1.0)),
                        () -> messageOf(() -> GrowthAmount.factor(1.0))),
                refused("factor -2", () -> edited(FACTOR, t -> at(t, "howMuch").put("factor", -2.0)),
                        () -> messageOf(() -> GrowthAmount.factor(-2.0))),
                refused("factor \"NaN\" (Jackson reads the string as NaN)",
                        () -> edited(FACTOR, t -> at(t, "howMuch").put("factor", "NaN")),
                        () -> messageOf(() -> GrowthAmount.factor(Double.NaN))),
                refused("factor 0 alone", () -> edited(FACTOR, t -> at(t, "howMuch").put("factor", 0.0).remove("add")),
                        () -> messageOf(() -> GrowthAmount.factor(0.0))),
                refused("add and factor together", () -> edited(ADD, t -> at(t, "howMuch").put("factor", 1.5)),
                        () -> "GrowthAmount: give add (GrowthAmount.add(n)) or factor (GrowthAmount.factor(f)), "
                                + "not both (got: add 4, factor 1.5)"),
                refused("neither add nor factor", () -> edited(ADD, t -> at(t, "howMuch").removeAll()),
                        () -> "GrowthAmount: give add (GrowthAmount.add(n), n >= 1) or factor"),
                refused("add 3000000000 overflows an int",
                        () -> edited(ADD, t -> at(t, "howMuch").put("add", 3_000_000_000L)),
                        () -> "at howMuch.add: Numeric value (3000000000) out of range of int"),
                refused("add 2.5 is no integer", () -> edited(ADD, t -> at(t, "howMuch").put("add", 2.5)),
                        () -> "at howMuch.add: Cannot coerce Floating-point value (2.5)"),

                // caps
                refused("maxWidth 0", () -> edited(ADD, t -> t.put("maxWidth", 0)),
                        () -> messageOf(() -> builder().maxWidth(0))),
                refused("maxWidth -3", () -> edited(ADD, t -> t.put("maxWidth", -3)),
                        () -> messageOf(() -> builder().maxWidth(-3))),
                refused("maxWidth 3000000000 overflows an int",
                        () -> edited(ADD, t -> t.put("maxWidth", 3_000_000_000L)),
                        () -> "at maxWidth: Numeric value (3000000000) out of range of int"),
                refused("maxWidths entry 0", () -> edited(ADD, t -> at(t, "maxWidths").put("h2", 0)),
                        () -> messageOf(() -> builder().maxWidth("h2", 0))),
                refused("maxWidths entry null", () -> edited(ADD, t -> at(t, "maxWidths").putNull("h2")),
                        () -> "maxWidth(\"h2\", units): units must be at least 1 (got: null)"),
                refused("maxWidths entry for layer \"\"", () -> edited(ADD, t -> at(t, "maxWidths").put("", 5)),
                        () -> messageOf(() -> builder().maxWidth("", 5))),
                refused("maxParams 0", () -> edited(ADD, t -> t.put("maxParams", 0)),
                        () -> messageOf(() -> builder().maxParams(0))),
                refused("maxParams -5", () -> edited(ADD, t -> t.put("maxParams", -5)),
                        () -> messageOf(() -> builder().maxParams(-5))),

                // the parts
                refused("planner together with when", () -> edited(WITH_PLANNER,
                                t -> t.set("when", tree(GrowthTrigger.everyEpochs(1)))),
                        () -> messageOf(() -> WITH_PLANNER.toBuilder().when(GrowthTrigger.everyEpochs(1)).build())),
                refused("missing when", () -> edited(ADD, t -> t.remove("when")),
                        () -> messageOf(() -> GrowthPolicy.builder().where(ADD.where()).howMuch(ADD.howMuch())
                                .build())),
                refused("when null", () -> edited(ADD, t -> t.putNull("when")),
                        () -> messageOf(() -> GrowthPolicy.builder().where(ADD.where()).howMuch(ADD.howMuch())
                                .build())),
                refused("missing where", () -> edited(ADD, t -> t.remove("where")),
                        () -> messageOf(() -> GrowthPolicy.builder().when(ADD.when()).howMuch(ADD.howMuch())
                                .build())),
                refused("missing howMuch", () -> edited(ADD, t -> t.remove("howMuch")),
                        () -> messageOf(() -> GrowthPolicy.builder().when(ADD.when()).where(ADD.where()).build())),
                refused("initializer null", () -> edited(ADD, t -> t.putNull("initializer")),
                        () -> messageOf(() -> builder().initializer(null))),
                refused("missing initializer", () -> edited(ADD, t -> t.remove("initializer")),
                        () -> messageOf(() -> builder().initializer(null))),

                // whole input
                refused("the JSON literal null", () -> "null", () -> "a policy JSON object was expected"),
                refused("empty string", () -> "", () -> "a policy JSON object was expected"),
                refused("blank string", () -> " \n ", () -> "a policy JSON object was expected"),
                refused("no string", () -> null, () -> "a policy JSON object was expected"),
                refused("an array", () -> "[]", () -> "Cannot deserialize value of type `org.dl4jgrowth.GrowthPolicy`"),
                refused("unknown property", () -> edited(ADD, t -> t.put("maxWidthh", 8)),
                        () -> "Unrecognized field \"maxWidthh\""),
                refused("unknown property in a trigger", () -> edited(ADD, t -> at(t, "when", "triggers", "0")
                        .put("m", 3)), () -> "Unrecognized field \"m\""),
                refused("unknown class",
                        () -> edited(ADD, t -> at(t, "where").put("@class", "org.dl4jgrowth.where.Nope")),
                        () -> "Could not resolve type id 'org.dl4jgrowth.where.Nope'"),
                refused("a class of the wrong kind",
                        () -> edited(ADD, t -> t.set("where", tree(UnitInitializer.zeros()))),
                        () -> "as a subtype of `org.dl4jgrowth.where.SiteSelector`"),
                refused("a field given twice", () -> ADD.toJson().replace("\"seed\":7", "\"seed\":7,\"seed\":8"),
                        () -> "Duplicate field 'seed'"),
                refused("text after the policy", () -> ADD.toJson() + " {}", () -> "Trailing token"),

                // when
                refused("everyEpochs 0", () -> edited(ADD, t -> at(t, "when", "triggers", "0").put("n", 0)),
                        () -> messageOf(() -> GrowthTrigger.everyEpochs(0))),
                refused("everyEpochs without n", () -> edited(ADD, t -> at(t, "when", "triggers", "0").remove("n")),
                        () -> messageOf(() -> GrowthTrigger.everyEpochs(0))),
                refused("singularValueAbove negative threshold",
                        () -> edited(ADD, t -> at(t, "when", "triggers", "1").put("threshold", -0.5)),
                        () -> messageOf(() -> GrowthTrigger.singularValueAbove(-0.5, "h1"))),
                refused("singularValueAbove an empty layer name",
                        () -> edited(ADD, t -> ((ArrayNode) at(t, "when", "triggers", "1").get("layers")).add("")),
                        () -> messageOf(() -> GrowthTrigger.singularValueAbove(0.5, "h1", ""))),
                refused("atIterations with a negative",
                        () -> edited(ADD, t -> replace(t, "when", GrowthTrigger.atIterations(5))
                                .withArray("iterations").add(-1)),
                        () -> messageOf(() -> GrowthTrigger.atIterations(5, -1))),
                refused("maxGrowths 0", () -> edited(WITH_PLANNER, t -> at(t, "planner", "when").put("n", 0)),
                        () -> messageOf(() -> GrowthTrigger.maxGrowths(0))),
                refused("and of nothing", () -> edited(ADD, t -> at(t, "when").withArray("triggers").removeAll()),
                        () -> messageOf(() -> GrowthTrigger.and())),
                refused("a null trigger in an or", () -> edited(ADD, t -> replace(t, "when",
                                GrowthTrigger.everyEpochs(1).or(GrowthTrigger.everyEpochs(2))).withArray("triggers")
                                .addNull()),
                        () -> "or(triggers): triggers must not be null (got: null at index 2"),

                // where
                refused("layers with an empty list",
                        () -> edited(ADD, t -> at(t, "where").withArray("names").removeAll()),
                        () -> messageOf(() -> SiteSelector.layers())),
                refused("layers naming one twice",
                        () -> edited(ADD, t -> at(t, "where").withArray("names").add("h1")),
                        () -> messageOf(() -> SiteSelector.layers("h1", "h2", "h1"))),
                refused("roundRobin with a null name", () -> edited(FACTOR, t -> at(t, "where").withArray("names")
                        .addNull()), () -> messageOf(() -> SiteSelector.roundRobin("h1", "h2", null))),
                refused("bySingularValue count 0", () -> edited(ADD,
                                t -> replace(t, "where", SiteSelector.bySingularValue(1, "h1")).put("count", 0)),
                        () -> messageOf(() -> SiteSelector.bySingularValue(0, "h1"))),

                // how
                refused("gradMax with a negative scale",
                        () -> edited(ADD, t -> at(t, "initializer").put("scale", -1.0)),
                        () -> messageOf(() -> UnitInitializer.gradMax(-1.0))),
                refused("randomFanOut with an infinite fixedNorm", () -> edited(ADD, t -> replace(t, "initializer",
                                UnitInitializer.randomFanOut()).put("fixedNorm", "Infinity")),
                        () -> messageOf(() -> new RandomFanOutInit(1.0, Double.POSITIVE_INFINITY))),
                refused("gradMaxOptimized with -1 steps", () -> edited(ADD, t -> replace(t, "initializer",
                                UnitInitializer.gradMaxOptimized()).put("steps", -1)),
                        () -> messageOf(() -> new GradMaxOptInit(GradMaxOptInit.INIT_RANDOM, -1,
                                GradMaxOptInit.DEFAULT_STEP_SIZE, 1.0, 0.0, false))),
                refused("gradMaxOptimized with an unknown start", () -> edited(ADD, t -> replace(t, "initializer",
                                UnitInitializer.gradMaxOptimized()).put("init", "best")),
                        () -> messageOf(() -> new GradMaxOptInit("best", 1, 1.0, 1.0, 0.0, false))),

                // a planner's parts
                refused("a layer-wise planner without howMuch", () -> edited(WITH_PLANNER,
                                t -> at(t, "planner").remove("howMuch")),
                        () -> messageOf(() -> new LayerwisePlanner(PLANNER.when(), PLANNER.where(), null))),
                refused("a layer-wise planner adding 0", () -> edited(WITH_PLANNER,
                                t -> at(t, "planner", "howMuch").put("add", 0)),
                        () -> messageOf(() -> GrowthAmount.add(0))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badPolicies")
    void fromJsonRefusesWhatTheJavaApiRefuses(String name, Supplier<String> json, Supplier<String> expected) {
        String text = json.get();
        String message = expected.get();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GrowthPolicy.fromJson(text),
                () -> "accepted: " + text);
        assertTrue(e.getMessage().contains(message),
                "\nexpected the message to contain: " + message + "\nbut it was: " + e.getMessage());
    }

    /** The builder really gives the messages the cases above expect from it (they are not empty or generic). */
    @Test
    void theJavaApiMessagesAreSpecific() {
        assertEquals("GrowthAmount.add(n): n must be at least 1 (got: 0)", messageOf(() -> GrowthAmount.add(0)));
        assertEquals("maxWidth(units): units must be at least 1 (got: 0)", messageOf(() -> builder().maxWidth(0)));
        assertEquals("maxWidth(\"h2\", units): units must be at least 1 (got: 0)",
                messageOf(() -> builder().maxWidth("h2", 0)));
        assertEquals("initializer(init): init must not be null", messageOf(() -> builder().initializer(null)));
        assertTrue(messageOf(() -> GrowthPolicy.builder().build()).startsWith("GrowthPolicy: when(...) is required"));
    }

    /** What the builder accepts reads back equal, including forms written by hand. */
    @Test
    void validPoliciesRead() {
        for (GrowthPolicy p : new GrowthPolicy[]{ADD, FACTOR, WITH_PLANNER}) {
            assertEquals(p, GrowthPolicy.fromJson(p.toJson()), p.toJson());
        }
        assertEquals(ADD, GrowthPolicy.fromJson(edited(ADD, t -> at(t, "howMuch").remove("factor"))),
                "{\"add\": 4} alone");
        assertEquals(FACTOR, GrowthPolicy.fromJson(edited(FACTOR, t -> at(t, "howMuch").remove("add"))),
                "{\"factor\": 1.5} alone");
        GrowthPolicy lean = GrowthPolicy.fromJson(edited(FACTOR,
                t -> t.remove(java.util.List.of("maxWidth", "maxWidths", "maxParams", "seed"))));
        assertEquals(FACTOR, lean, "numbers left out are the builder's defaults");
        assertEquals(Integer.MAX_VALUE, lean.maxWidth("h1"));
        assertEquals(Long.MAX_VALUE, lean.maxParams());
        assertEquals(FACTOR.toBuilder().seed(0).build(),
                GrowthPolicy.fromJson(edited(FACTOR.toBuilder().seed(3).build(), t -> t.putNull("seed"))));
        assertEquals(FACTOR.toBuilder().where(SiteSelector.roundRobin()).build(),
                GrowthPolicy.fromJson(edited(FACTOR, t -> at(t, "where").remove("names"))),
                "roundRobin without names cycles over all growable layers, like roundRobin()");
    }

    /** A history's provenance holds a policy: it is checked the same way when the history is read. */
    @Test
    void aPolicyInsideAHistoryIsCheckedToo() throws IOException {
        GrowthHistory h = new GrowthHistory(Provenance.of(ADD));
        ObjectNode tree = (ObjectNode) GrowthJson.mapper().readTree(h.toJson());
        at(tree, "provenance", "policy", "howMuch").put("add", 0);
        String json = GrowthJson.mapper().writeValueAsString(tree);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GrowthHistory.fromJson(json));
        assertTrue(e.getMessage().contains("at provenance.policy.howMuch: " + messageOf(() -> GrowthAmount.add(0))),
                e.getMessage());
        assertEquals(ADD, GrowthHistory.fromJson(h.toJson()).provenance().policy(), "unedited, it reads");
    }
}
