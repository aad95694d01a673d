package org.dl4jgrowth.cuda;

import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.factory.Nd4jBackend;

/**
 * Whether ND4J is running on its CUDA backend, decided by class name so that this module loads, and its
 * engine reports itself unavailable, on a classpath without any of the CUDA jars.
 */
public final class CudaBackend {

    /** ND4J's CUDA backend, {@code org.nd4j.linalg.jcublas.JCublasBackend} in nd4j-cuda-11.6. */
    public static final String BACKEND_CLASS = "org.nd4j.linalg.jcublas.JCublasBackend";

    private CudaBackend() {
    }

    /** True when ND4J's active backend is the CUDA one (which implies at least one CUDA device). */
    public static boolean isActive() {
        try {
            Nd4jBackend backend = Nd4j.getBackend();
            return backend != null && isCudaBackend(backend.getClass(), Nd4j.getEnvironment().isCPU());
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }

    /** Whether the CUDA backend's classes are on the classpath, whether or not ND4J chose that backend. */
    public static boolean classesPresent() {
        try {
            Class.forName(BACKEND_CLASS, false, CudaBackend.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    /** One line saying why the CUDA engine can or cannot run here; for logs and test-skip reasons. */
    public static String describe() {
        if (isActive()) {
            return "ND4J runs on its CUDA backend";
        }
        String active;
        try {
            active = Nd4j.getBackend().getClass().getSimpleName();
        } catch (RuntimeException | LinkageError e) {
            active = "no backend (" + e + ")";
        }
        return "ND4J runs on " + active + ", not on its CUDA backend: " + (classesPresent()
                ? "the CUDA backend is on the classpath but did not start (no CUDA device or driver, or its "
                        + "natives (org.nd4j:nd4j-cuda-11.6:linux-x86_64; in this project only with -Pcuda) or the "
                        + "CUDA 11.6 libraries are missing; ND4J logs why at start-up)"
                : "org.nd4j:nd4j-cuda-11.6 is not on the classpath");
    }

    /**
     * The backend check itself, on a class and the environment's CPU flag, so that it can be tested
     * without a GPU. A subclass of ND4J's CUDA backend counts as CUDA.
     */
    static boolean isCudaBackend(Class<?> backendClass, boolean cpuEnvironment) {
        if (cpuEnvironment) {
            return false;
        }
        for (Class<?> c = backendClass; c != null; c = c.getSuperclass()) {
            if (BACKEND_CLASS.equals(c.getName())) {
                return true;
            }
        }
        return false;
    }
}
