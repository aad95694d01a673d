package org.dl4jgrowth;

import org.nd4j.shade.guava.base.Preconditions;
import org.nd4j.shade.jackson.annotation.JsonAutoDetect;
import org.nd4j.shade.jackson.annotation.PropertyAccessor;
import org.nd4j.shade.jackson.core.JsonProcessingException;
import org.nd4j.shade.jackson.core.StreamReadFeature;
import org.nd4j.shade.jackson.databind.DeserializationFeature;
import org.nd4j.shade.jackson.databind.JsonMappingException;
import org.nd4j.shade.jackson.databind.MapperFeature;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.nd4j.shade.jackson.databind.SerializationFeature;
import org.nd4j.shade.jackson.databind.exc.ValueInstantiationException;
import org.nd4j.shade.jackson.databind.json.JsonMapper;

/**
 * The one JSON mapper for the library's configuration objects (initialisers, triggers, ...).
 *
 * <p>Uses ND4J's shaded Jackson so that the library adds no JSON dependency of its own and its
 * annotations are the same ones DL4J's configuration classes use. Properties are read from fields,
 * never from getters, so a convenience accessor added to a value class does not silently become
 * part of its stored form. Empty beans are allowed because several value objects (the
 * initialisers) are nothing but their class name. Unknown properties fail: a misspelt field in a
 * hand-written configuration should be an error, not a silently ignored setting. For the same
 * reason reading is strict where Jackson is lenient by default: a field given twice, text after
 * the value, and a fraction where an integer belongs ({@code "add": 2.5}, which Jackson would
 * truncate to 2) are errors; so is a number beyond its field's range ({@code "add": 3000000000}).
 *
 * <p>The mapper is configured once and never changed afterwards, which is what makes sharing it
 * between threads safe.
 */
public final class GrowthJson {

    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .visibility(PropertyAccessor.ALL, JsonAutoDetect.Visibility.NONE)
            .visibility(PropertyAccessor.FIELD, JsonAutoDetect.Visibility.ANY)
            .visibility(PropertyAccessor.CREATOR, JsonAutoDetect.Visibility.ANY)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(MapperFeature.SORT_PROPERTIES_ALPHABETICALLY)
            .build();

    private GrowthJson() {
    }

    /** The shared mapper, for callers that need streaming or tree access. Do not reconfigure it. */
    public static ObjectMapper mapper() {
        return MAPPER;
    }

    /**
     * @throws IllegalArgumentException if {@code value} cannot be written as JSON
     */
    public static String toJson(Object value) {
        Preconditions.checkNotNull(value, "toJson(value): value must not be null");
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("toJson(value): could not write "
                    + value.getClass().getName() + " as JSON: " + e.getOriginalMessage(), e);
        }
    }

    /**
     * Reads one value of {@code type}. Values check themselves as they are created (their
     * {@code @JsonCreator}s run the same checks as their factories), so what reads is valid.
     *
     * @throws IllegalArgumentException if {@code json} is empty, the JSON literal {@code null},
     *                                  malformed, names an unknown class or property, or holds
     *                                  values the target type rejects; the message names the place
     *                                  in the JSON (e.g. {@code at howMuch.add}) and carries the
     *                                  value's own message
     */
    public static <T> T fromJson(String json, Class<T> type) {
        Preconditions.checkNotNull(json, "fromJson(json, type): json must not be null");
        Preconditions.checkNotNull(type, "fromJson(json, type): type must not be null");
        String what = "fromJson(json, " + type.getSimpleName() + ")";
        if (json.isBlank()) {
            throw new IllegalArgumentException(what + ": expected a JSON object for " + type.getSimpleName()
                    + " (got: an empty string)");
        }
        T value;
        try {
            value = MAPPER.readValue(json, type);
        } catch (JsonMappingException e) {
            // Validation failures inside a @JsonCreator arrive wrapped; their message is the useful part.
            Throwable cause = e.getCause();
            String detail = cause instanceof IllegalArgumentException
                    || (e instanceof ValueInstantiationException && cause != null && cause.getMessage() != null)
                    ? cause.getMessage() : e.getOriginalMessage();
            throw new IllegalArgumentException(what + ": could not read JSON" + at(e) + ": " + detail, e);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(what + ": malformed JSON: " + e.getOriginalMessage(), e);
        }
        if (value == null) {
            // Jackson reads the literal null as a null value; callers expect a value or an exception.
            throw new IllegalArgumentException(what + ": expected a JSON object for " + type.getSimpleName()
                    + " (got: null)");
        }
        return value;
    }

    /** " at howMuch.add", " at when.triggers[1].n", or "" for the top level. */
    private static String at(JsonMappingException e) {
        StringBuilder path = new StringBuilder();
        for (JsonMappingException.Reference r : e.getPath()) {
            if (r.getFieldName() != null) {
                path.append(path.length() == 0 ? "" : ".").append(r.getFieldName());
            } else if (r.getIndex() >= 0) {
                path.append('[').append(r.getIndex()).append(']');
            }
        }
        return path.length() == 0 ? "" : " at " + path;
    }
}
