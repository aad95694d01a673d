package org.dl4jgrowth.bench;

import org.dl4jgrowth.data.FashionMnist;

import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/** What the report commands share: running their tasks in turn and printing every table again at the end. */
final class BenchTables {
    private BenchTables() {
    }

    /**
     * For each named task: {@code task} makes it (null: its data are not installed, and the task is
     * skipped with the install command), {@code table} runs it and returns its table, printed at
     * once; at the end all tables again and the total wall time since {@code start}.
     */
    static <T> void run(List<String> names, Function<String, T> task, Function<T, String> table, long start) {
        StringBuilder tables = new StringBuilder();
        for (String name : names) {
            T t = task.apply(name);
            if (t == null) {
                String skipped = "task " + name + " skipped: Fashion-MNIST is not installed ("
                        + FashionMnist.INSTALL_HINT + ")";
                System.out.println(skipped);
                tables.append(skipped).append("\n\n");
                continue;
            }
            String s = table.apply(t);
            System.out.println(s);
            tables.append(s).append('\n');
        }
        System.out.println("==== all tables ====");
        System.out.print(tables);
        System.out.printf(Locale.ROOT, "total wall time %.1f min%n", (System.nanoTime() - start) / 6e10);
    }
}
