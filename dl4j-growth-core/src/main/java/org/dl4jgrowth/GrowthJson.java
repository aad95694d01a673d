package org.dl4jgrowth;

import org.nd4j.shade.guava.base.Preconditions;
import org.nd4j.shade.jackson.annotation.JsonAutoDetect;
import org.nd4j.shade.jackson.annotation.PropertyAccessor;
import org.nd4j.shade.jackson.core.JsonProcessingException;
import org.nd4j.shade.jackson.databind.DeserializationFeature;
import org.nd4j.shade.jackson.databind.JsonMappingException;
import org.nd4j.shade.jackson.databind.MapperFeature;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.nd4j.shade.jackson.databind.SerializationFeature;
import org.nd4j.shade.jackson.databind.json.JsonMapper;

/**
 * The one JSON mapper for the library's configuration objects (initialisers, triggers, ...).
 *
 * <p>Uses ND4J's shaded Jackson so that the library adds no JSON dependency of its own and its
 * annotations are the same ones DL4J's configuration classes use. Properties are read from fields,
 * never from getters, so a convenience accessor added to a value class does not silently become
 * part of its stored form. Empty beans are allowed because several value objects (the
 * initialisers) are nothing but their class name. Unknown properties fail: a misspelt field in a
 * hand-written configuration should be an error, not a silently ignored setting.
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
     * @throws IllegalArgumentException if {@code json} is malformed, names an unknown class or
     *                                  property, or holds values the target type rejects
     */
    public static <T> T fromJson(String json, Class<T> type) {
        Preconditions.checkNotNull(json, "fromJson(json, type): json must not be null");
        Preconditions.checkNotNull(type, "fromJson(json, type): type must not be null");
        try {
            return MAPPER.readValue(json, type);
        } catch (JsonMappingException e) {
            // Validation failures inside a @JsonCreator arrive wrapped; their message is the useful part.
            Throwable cause = e.getCause();
            String detail = cause instanceof IllegalArgumentException ? cause.getMessage() : e.getOriginalMessage();
            throw new IllegalArgumentException("fromJson(json, " + type.getSimpleName()
                    + "): could not read JSON: " + detail, e);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("fromJson(json, " + type.getSimpleName()
                    + "): malformed JSON: " + e.getOriginalMessage(), e);
        }
    }
}
