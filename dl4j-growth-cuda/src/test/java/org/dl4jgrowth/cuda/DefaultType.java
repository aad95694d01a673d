package org.dl4jgrowth.cuda;

import java.util.function.Supplier;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/** Runs code with ND4J's global default types set to one type, restoring them afterwards. */
final class DefaultType {

    private DefaultType() {
    }

    static <T> T with(DataType type, Supplier<T> body) {
        DataType savedData = Nd4j.dataType();
        DataType savedFloat = Nd4j.defaultFloatingPointType();
        Nd4j.setDefaultDataTypes(type, type);
        try {
            return body.get();
        } finally {
            Nd4j.setDefaultDataTypes(savedData, savedFloat);
        }
    }

    static void with(DataType type, Runnable body) {
        with(type, () -> {
            body.run();
            return null;
        });
    }
}
