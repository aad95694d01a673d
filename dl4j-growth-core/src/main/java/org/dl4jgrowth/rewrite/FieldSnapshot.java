package org.dl4jgrowth.rewrite;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;

/**
 * A shallow copy of every instance field of an object, to put back after a failed swap. The swap
 * only ever replaces field values with new objects (it never writes into the old arrays), so
 * restoring the references restores the network bit for bit.
 */
final class FieldSnapshot {
    private final Object target;
    private final List<Field> fields = new ArrayList<>();
    private final List<Object> values = new ArrayList<>();

    private FieldSnapshot(Object target) {
        this.target = target;
    }

    static FieldSnapshot of(Object target) {
        FieldSnapshot s = new FieldSnapshot(target);
        for (Class<?> c = target.getClass(); c != null && c != Object.class; c = c.getSuperclass()) {
            for (Field f : c.getDeclaredFields()) {
                int mod = f.getModifiers();
                if (Modifier.isStatic(mod) || Modifier.isFinal(mod)) {
                    continue;
                }
                f.setAccessible(true);
                try {
                    s.values.add(f.get(target));
                } catch (IllegalAccessException e) {
                    throw new IllegalStateException("Cannot snapshot field " + f, e);
                }
                s.fields.add(f);
            }
        }
        return s;
    }

    void restore() {
        for (int i = 0; i < fields.size(); i++) {
            try {
                fields.get(i).set(target, values.get(i));
            } catch (IllegalAccessException e) {
                throw new IllegalStateException("Cannot restore field " + fields.get(i), e);
            }
        }
    }
}
