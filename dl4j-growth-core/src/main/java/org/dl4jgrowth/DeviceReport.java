package org.dl4jgrowth;

import org.nd4j.shade.guava.base.Preconditions;
import org.bytedeco.javacpp.Pointer;
import org.dl4jgrowth.linalg.SvdEngines;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.environment.Nd4jEnvironment;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;
import org.nd4j.shade.jackson.annotation.JsonPropertyOrder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Serializable;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.function.Supplier;

/**
 * Where this thread's ND4J arrays live and compute, in one immutable value: the backend, the
 * current thread's device, its free and total memory, the BLAS library, ND4J's default data type and
 * the SVD engine GradMax would use. {@link #current()} answers "is this really running on the GPU I
 * think it is, and how much room is left?" before a long run, and {@link #toString()} says it in one
 * line for logs and the demo.
 *
 * <p>Backend-agnostic on purpose: everything comes from nd4j-api ({@link Nd4j#getBackend()}, the
 * environment, the affinity manager and {@code OpExecutioner.getEnvironmentInformation()}), so this
 * class works unchanged on the CPU backend, on CUDA and on any backend that fills the same keys, and
 * the core module needs no CUDA classes. On CUDA the executioner lists every device with its name,
 * free and total memory and compute capability; the report picks the entry of the current thread's
 * device, because ND4J binds each thread to one device.
 *
 * <p>On a host backend (CPU) the "device" is the host and the memory is the host's physical memory
 * (JavaCPP's {@link Pointer#availablePhysicalBytes()} and {@link Pointer#totalPhysicalBytes()}). The
 * executioner's own host keys are not used there: {@value Nd4jEnvironment#HOST_TOTAL_MEMORY_KEY} is
 * the JVM's maximum heap and {@value Nd4jEnvironment#HOST_FREE_MEMORY_KEY} what is left of JavaCPP's
 * off-heap budget, so the two do not describe the same memory. That budget
 * ({@code -Dorg.bytedeco.javacpp.maxbytes}) can be lower than the free physical memory reported here.
 *
 * <p>Unknown values are {@code null} for names and {@code -1} for numbers; {@link #current()} never
 * throws, so it is safe in a diagnostic path. It reads no array data.
 */
@JsonPropertyOrder({"backendKind", "backendClass", "host", "deviceId", "deviceCount", "deviceName",
        "computeCapability", "cpuCores", "freeMemoryBytes", "totalMemoryBytes", "blasVendor", "defaultDataType",
        "svdEngine"})
public final class DeviceReport implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final Logger log = LoggerFactory.getLogger(DeviceReport.class);

    /** Used when a value cannot be found out. */
    public static final long UNKNOWN = -1;

    /** The backend kind never changes within a JVM; see {@link #currentBackend()}. */
    private static volatile String cachedKind;
    private static volatile Boolean cachedHost;

    private final String backendKind;
    private final String backendClass;
    private final boolean host;
    private final int deviceId;
    private final int deviceCount;
    private final String deviceName;
    private final String computeCapability;
    private final int cpuCores;
    private final long freeMemoryBytes;
    private final long totalMemoryBytes;
    private final String blasVendor;
    private final DataType defaultDataType;
    private final String svdEngine;

    @JsonCreator
    public DeviceReport(@JsonProperty("backendKind") String backendKind,
                        @JsonProperty("backendClass") String backendClass,
                        @JsonProperty("host") boolean host,
                        @JsonProperty("deviceId") int deviceId, @JsonProperty("deviceCount") int deviceCount,
                        @JsonProperty("deviceName") String deviceName,
                        @JsonProperty("computeCapability") String computeCapability,
                        @JsonProperty("cpuCores") int cpuCores,
                        @JsonProperty("freeMemoryBytes") long freeMemoryBytes,
                        @JsonProperty("totalMemoryBytes") long totalMemoryBytes,
                        @JsonProperty("blasVendor") String blasVendor,
                        @JsonProperty("defaultDataType") DataType defaultDataType,
                        @JsonProperty("svdEngine") String svdEngine) {
        this.backendKind = Preconditions.checkNotNull(backendKind, "backendKind must not be null");
        this.backendClass = Preconditions.checkNotNull(backendClass, "backendClass must not be null");
        this.host = host;
        Preconditions.checkArgument(deviceId >= -1, "deviceId must be >= 0, or -1 if unknown (got: %s)", deviceId);
        Preconditions.checkArgument(deviceCount >= -1, "deviceCount must be >= 0, or -1 if unknown (got: %s)",
                deviceCount);
        Preconditions.checkArgument(cpuCores >= -1, "cpuCores must be >= 0, or -1 if unknown (got: %s)", cpuCores);
        Preconditions.checkArgument(freeMemoryBytes >= -1,
                "freeMemoryBytes must be >= 0, or -1 if unknown (got: %s)", freeMemoryBytes);
        Preconditions.checkArgument(totalMemoryBytes >= -1,
                "totalMemoryBytes must be >= 0, or -1 if unknown (got: %s)", totalMemoryBytes);
        this.deviceId = deviceId;
        this.deviceCount = deviceCount;
        this.deviceName = deviceName;
        this.computeCapability = computeCapability;
        this.cpuCores = cpuCores;
        this.freeMemoryBytes = freeMemoryBytes;
        this.totalMemoryBytes = totalMemoryBytes;
        this.blasVendor = blasVendor;
        this.defaultDataType = defaultDataType;
        this.svdEngine = Preconditions.checkNotNull(svdEngine, "svdEngine must not be null");
    }

    /**
     * The report for the calling thread, asked of ND4J now (free memory changes; call again for a
     * fresh value). Never throws: whatever cannot be found out is reported as unknown.
     */
    public static DeviceReport current() {
        String backendClass = probe("backend class", () -> Nd4j.getBackend().getClass().getSimpleName(), "unknown");
        boolean host = probe("host", () -> Nd4j.getEnvironment().isCPU(), Boolean.FALSE);
        int deviceId = probe("device", () -> Nd4j.getAffinityManager().getDeviceForCurrentThread(), -1);
        int deviceCount = probe("device count", () -> Nd4j.getAffinityManager().getNumberOfDevices(), -1);
        DataType dataType = probe("default data type", Nd4j::dataType, null);
        long hostFree = host ? probe("free physical memory", Pointer::availablePhysicalBytes, UNKNOWN) : UNKNOWN;
        long hostTotal = host ? probe("total physical memory", Pointer::totalPhysicalBytes, UNKNOWN) : UNKNOWN;
        return from(environment(), backendClass, host, deviceId, deviceCount, dataType, svdEngineName(),
                hostFree, hostTotal);
    }

    /**
     * Bytes ND4J can still allocate on the current device, or {@link #UNKNOWN}: the free memory of
     * {@link #current()}, and on the host also no more than JavaCPP's own limit leaves
     * ({@code -Dorg.bytedeco.javacpp.maxbytes}, by default the JVM's maximum heap), since ND4J's
     * off-heap arrays count against it. Growth refuses requests beyond this before allocating.
     */
    public static long allocatableBytes() {
        DeviceReport r = current();
        // JavaCPP answers 0 where it cannot tell (no MemAvailable, an unsupported system): unknown.
        long free = r.freeMemoryBytes() > 0 ? r.freeMemoryBytes() : UNKNOWN;
        if (r.host()) {
            long max = probe("JavaCPP max bytes", Pointer::maxBytes, UNKNOWN);
            long used = probe("JavaCPP total bytes", Pointer::totalBytes, UNKNOWN);
            if (max > 0 && used >= 0) {
                long headroom = Math.max(0, max - used);
                free = free < 0 ? headroom : Math.min(free, headroom);
            }
        }
        return free;
    }

    /**
     * Builds a report from the executioner's environment properties and what was asked of ND4J
     * directly. Kept apart from {@link #current()} so that the parsing can be tested with a
     * CUDA-shaped {@code env} on a machine without a GPU. Missing or malformed keys give unknown
     * values, never an exception.
     *
     * @param env       {@code OpExecutioner.getEnvironmentInformation()}
     * @param host      whether the backend computes on the host (then memory is the host's, given
     *                  by {@code hostFree} and {@code hostTotal})
     * @param deviceId  the current thread's device, or -1 if unknown
     * @param hostFree  free physical host memory in bytes, or -1
     * @param hostTotal total physical host memory in bytes, or -1
     */
    static DeviceReport from(Properties env, String backendClass, boolean host, int deviceId, int deviceCount,
                             DataType defaultDataType, String svdEngine, long hostFree, long hostTotal) {
        Properties p = env == null ? new Properties() : env;
        String kind = kindOf(p, host, backendClass);
        String blas = string(p.get(Nd4jEnvironment.BLAS_VENDOR_KEY));
        int cores = (int) number(p.get(Nd4jEnvironment.CPU_CORES_KEY));
        String name = null;
        String cc = null;
        long free = UNKNOWN;
        long total = UNKNOWN;
        if (host) {
            free = hostFree >= 0 ? hostFree : UNKNOWN;
            total = hostTotal >= 0 ? hostTotal : UNKNOWN;
        } else {
            Map<?, ?> device = deviceEntry(p.get(Nd4jEnvironment.CUDA_DEVICE_INFORMATION_KEY), deviceId);
            if (device != null) {
                name = string(device.get(Nd4jEnvironment.CUDA_DEVICE_NAME_KEY));
                free = number(device.get(Nd4jEnvironment.CUDA_FREE_MEMORY_KEY));
                total = number(device.get(Nd4jEnvironment.CUDA_TOTAL_MEMORY_KEY));
                long major = number(device.get(Nd4jEnvironment.CUDA_DEVICE_MAJOR_VERSION_KEY));
                long minor = number(device.get(Nd4jEnvironment.CUDA_DEVICE_MINOR_VERSION_KEY));
                cc = major >= 0 && minor >= 0 ? major + "." + minor : null;
            }
            if (deviceCount < 0) {
                deviceCount = (int) number(p.get(Nd4jEnvironment.CUDA_NUM_GPUS_KEY));
            }
        }
        return new DeviceReport(kind, backendClass == null ? "unknown" : backendClass, host,
                Math.max(deviceId, -1), Math.max(deviceCount, -1), name, cc, Math.max(cores, -1), free, total, blas,
                defaultDataType, svdEngine == null ? "unavailable" : svdEngine);
    }

    /**
     * The short name of the calling thread's backend and device, as {@link #shortName()} would give it,
     * without the cost of a full report: the backend kind is looked up once per JVM (the backend
     * cannot change), the device on each call. Growth events record this.
     */
    static String currentBackend() {
        String kind = cachedKind;
        Boolean host = cachedHost;
        if (kind == null || host == null) {
            host = probe("host", () -> Nd4j.getEnvironment().isCPU(), Boolean.FALSE);
            String backendClass = probe("backend class", () -> Nd4j.getBackend().getClass().getSimpleName(),
                    "unknown");
            kind = kindOf(environment(), host, backendClass);
            cachedHost = host;
            cachedKind = kind;
        }
        int device = host ? -1 : probe("device", () -> Nd4j.getAffinityManager().getDeviceForCurrentThread(), -1);
        return shortName(kind, host, device);
    }

    /** "CPU" on a host backend, otherwise the kind and device, e.g. "CUDA:0". */
    private static String shortName(String kind, boolean host, int deviceId) {
        return host || deviceId < 0 ? kind : kind + ":" + deviceId;
    }

    /** The backend's own name for itself ("CPU", "CUDA"); if it gives none, "CPU" on the host or the class name. */
    private static String kindOf(Properties env, boolean host, String backendClass) {
        String kind = string(env.get(Nd4jEnvironment.BACKEND_KEY));
        if (kind != null) {
            return kind;
        }
        return host ? "CPU" : backendClass == null ? "unknown" : backendClass;
    }

    private static Properties environment() {
        return probe("environment information", () -> Nd4j.getExecutioner().getEnvironmentInformation(),
                new Properties());
    }

    private static String svdEngineName() {
        try {
            return SvdEngines.best().name();
        } catch (RuntimeException | LinkageError e) {
            String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            return "unavailable: " + message;
        }
    }

    /** The entry of {@code deviceId} in the executioner's per-device list, which is indexed by device. */
    private static Map<?, ?> deviceEntry(Object devices, int deviceId) {
        if (!(devices instanceof List) || deviceId < 0) {
            return null;
        }
        List<?> list = (List<?>) devices;
        if (deviceId >= list.size()) {
            return null;
        }
        Object entry = list.get(deviceId);
        return entry instanceof Map ? (Map<?, ?>) entry : null;
    }

    private static String string(Object value) {
        if (value == null) {
            return null;
        }
        String s = value.toString().trim();
        return s.isEmpty() ? null : s;
    }

    /** A non-negative whole number, or -1 for anything missing, negative or unreadable. */
    private static long number(Object value) {
        long n = UNKNOWN;
        if (value instanceof Number) {
            n = ((Number) value).longValue();
        } else if (value instanceof String) {
            try {
                n = Long.parseLong(((String) value).trim());
            } catch (NumberFormatException e) {
                n = UNKNOWN;
            }
        }
        return n >= 0 ? n : UNKNOWN;
    }

    /** Asks ND4J for one value; a failure is logged and gives {@code fallback}, so one gap does not hide the rest. */
    private static <T> T probe(String what, Supplier<T> query, T fallback) {
        try {
            T value = query.get();
            return value == null ? fallback : value;
        } catch (RuntimeException | LinkageError e) {
            log.debug("Device report: cannot determine the {}: {}", what, e.toString());
            return fallback;
        }
    }

    /** "CPU" or "CUDA", as the backend names itself. */
    @JsonProperty("backendKind")
    public String backendKind() {
        return backendKind;
    }

    /** Simple class name of the ND4J backend, e.g. {@code CpuBackend} or {@code JCublasBackend}. */
    @JsonProperty("backendClass")
    public String backendClass() {
        return backendClass;
    }

    /** Whether the backend computes on the host CPU; then the device is the host and the memory host memory. */
    @JsonProperty("host")
    public boolean host() {
        return host;
    }

    /** The device ND4J binds the reporting thread to; 0 on the CPU; -1 if unknown. */
    @JsonProperty("deviceId")
    public int deviceId() {
        return deviceId;
    }

    /** How many devices the backend can use; 1 on the CPU; -1 if unknown. */
    @JsonProperty("deviceCount")
    public int deviceCount() {
        return deviceCount;
    }

    /** The device's name (e.g. the GPU model); {@code null} on the host or if unknown. */
    @JsonProperty("deviceName")
    public String deviceName() {
        return deviceName;
    }

    /** A CUDA device's compute capability, e.g. "8.0"; {@code null} on the host or if unknown. */
    @JsonProperty("computeCapability")
    public String computeCapability() {
        return computeCapability;
    }

    /** Processors available to the JVM, as ND4J reports them; -1 if unknown. */
    @JsonProperty("cpuCores")
    public int cpuCores() {
        return cpuCores;
    }

    /** Free memory of the device (on the host: available physical memory) in bytes; -1 if unknown. */
    @JsonProperty("freeMemoryBytes")
    public long freeMemoryBytes() {
        return freeMemoryBytes;
    }

    /** Total memory of the device (on the host: physical memory) in bytes; -1 if unknown. */
    @JsonProperty("totalMemoryBytes")
    public long totalMemoryBytes() {
        return totalMemoryBytes;
    }

    /** The BLAS library ND4J calls, e.g. "OPENBLAS", "MKL" or "CUBLAS"; {@code null} if unknown. */
    @JsonProperty("blasVendor")
    public String blasVendor() {
        return blasVendor;
    }

    /** ND4J's default data type for new arrays; {@code null} if unknown. */
    @JsonProperty("defaultDataType")
    public DataType defaultDataType() {
        return defaultDataType;
    }

    /**
     * The name of the SVD engine GradMax would use ({@link SvdEngines#best()}), or
     * "unavailable: " and the reason if there is none (e.g. an unknown engine named by
     * {@value SvdEngines#ENGINE_PROPERTY}).
     */
    @JsonProperty("svdEngine")
    public String svdEngine() {
        return svdEngine;
    }

    /** "CPU" on a host backend, otherwise the backend kind and device, e.g. "CUDA:0"; growth events record it. */
    public String shortName() {
        return shortName(backendKind, host, deviceId);
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof DeviceReport)) {
            return false;
        }
        DeviceReport r = (DeviceReport) o;
        return backendKind.equals(r.backendKind) && backendClass.equals(r.backendClass) && host == r.host
                && deviceId == r.deviceId && deviceCount == r.deviceCount && Objects.equals(deviceName, r.deviceName)
                && Objects.equals(computeCapability, r.computeCapability) && cpuCores == r.cpuCores
                && freeMemoryBytes == r.freeMemoryBytes && totalMemoryBytes == r.totalMemoryBytes
                && Objects.equals(blasVendor, r.blasVendor) && defaultDataType == r.defaultDataType
                && svdEngine.equals(r.svdEngine);
    }

    @Override
    public int hashCode() {
        return Objects.hash(backendKind, backendClass, host, deviceId, deviceCount, deviceName, computeCapability,
                cpuCores, freeMemoryBytes, totalMemoryBytes, blasVendor, defaultDataType, svdEngine);
    }

    /**
     * One line, e.g. {@code ND4J backend CPU (CpuBackend, OPENBLAS), device 0 of 1 (host, 2 cores), free
     * memory 18.2 GiB of 23.5 GiB, default FLOAT, SVD engine exact} or {@code ND4J backend CUDA
     * (JCublasBackend, CUBLAS), device 1 of 2 (NVIDIA A100, cc 8.0), free memory 38.1 GiB of 40.0 GiB,
     * default FLOAT, SVD engine exact}.
     */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("ND4J backend ").append(backendKind).append(" (").append(backendClass);
        if (blasVendor != null) {
            sb.append(", ").append(blasVendor);
        }
        sb.append("), device ").append(deviceId < 0 ? "unknown" : String.valueOf(deviceId));
        if (deviceCount >= 0) {
            sb.append(" of ").append(deviceCount);
        }
        sb.append(" (");
        if (host) {
            sb.append("host");
            if (cpuCores >= 0) {
                sb.append(", ").append(cpuCores).append(cpuCores == 1 ? " core" : " cores");
            }
        } else {
            sb.append(deviceName == null ? "unknown device" : deviceName);
            if (computeCapability != null) {
                sb.append(", cc ").append(computeCapability);
            }
        }
        sb.append("), free memory ");
        if (freeMemoryBytes < 0 && totalMemoryBytes < 0) {
            sb.append("unknown");
        } else {
            sb.append(bytes(freeMemoryBytes)).append(" of ").append(bytes(totalMemoryBytes));
        }
        sb.append(", default ").append(defaultDataType == null ? "type unknown" : defaultDataType.name());
        return sb.append(", SVD engine ").append(svdEngine).toString();
    }

    /** Binary units with one decimal: "18.2 GiB", "512.0 MiB"; "unknown" for -1. */
    static String bytes(long n) {
        if (n < 0) {
            return "unknown";
        }
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = n;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return u == 0 ? n + " B" : String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
