package org.dl4jgrowth;

import org.dl4jgrowth.linalg.SvdEngines;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.environment.Nd4jEnvironment;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The device report on the CPU backend the tests run on, and its parsing of CUDA-shaped environment information. */
class DeviceReportTest {
    private static final long GIB = 1L << 30;

    @Test
    void reportsTheCpuBackendAndHostMemory() {
        DeviceReport r = DeviceReport.current();
        assertEquals("CPU", r.backendKind(), r.toString());
        assertEquals(Nd4j.getBackend().getClass().getSimpleName(), r.backendClass());
        assertTrue(r.host());
        assertEquals(0, r.deviceId());
        assertTrue(r.deviceCount() >= 1, r.toString());
        assertNull(r.deviceName(), "the host has no device name");
        assertEquals(Runtime.getRuntime().availableProcessors(), r.cpuCores());
        assertTrue(r.freeMemoryBytes() > 0, r.toString());
        assertTrue(r.totalMemoryBytes() > 0, r.toString());
        assertTrue(r.freeMemoryBytes() <= r.totalMemoryBytes(), r.toString());
        assertTrue(r.blasVendor() != null && !r.blasVendor().isEmpty(), r.toString());
        assertEquals(Nd4j.dataType(), r.defaultDataType());
        assertEquals("CPU", r.shortName());
        assertEquals("CPU", DeviceReport.currentBackend());
        String line = r.toString();
        assertFalse(line.contains("\n"), line);
        assertTrue(line.matches("ND4J backend CPU \\(" + r.backendClass() + ", " + r.blasVendor() + "\\), device 0 of "
                + r.deviceCount() + " \\(host, \\d+ cores?\\), free memory [\\d.]+ [KMGT]iB of [\\d.]+ [KMGT]iB, "
                + "default " + Nd4j.dataType() + ", SVD engine auto"), line);
    }

    @Test
    void svdEngineIsTheOneGradMaxWouldUse() {
        String saved = System.getProperty(SvdEngines.ENGINE_PROPERTY);
        try {
            System.clearProperty(SvdEngines.ENGINE_PROPERTY);
            assertEquals("auto", DeviceReport.current().svdEngine());
            System.setProperty(SvdEngines.ENGINE_PROPERTY, "randomized");
            assertEquals("randomized", DeviceReport.current().svdEngine());
            System.setProperty(SvdEngines.ENGINE_PROPERTY, "no-such-engine");
            DeviceReport r = DeviceReport.current();
            assertTrue(r.svdEngine().startsWith("unavailable: ") && r.svdEngine().contains("no-such-engine"),
                    r.svdEngine());
            assertTrue(r.toString().endsWith("SVD engine " + r.svdEngine()), r.toString());
        } finally {
            if (saved == null) {
                System.clearProperty(SvdEngines.ENGINE_PROPERTY);
            } else {
                System.setProperty(SvdEngines.ENGINE_PROPERTY, saved);
            }
        }
    }

    private static Map<String, Object> gpu(String name, long free, long total, long major, long minor) {
        Map<String, Object> d = new HashMap<>();
        d.put(Nd4jEnvironment.CUDA_DEVICE_NAME_KEY, name);
        d.put(Nd4jEnvironment.CUDA_FREE_MEMORY_KEY, free);
        d.put(Nd4jEnvironment.CUDA_TOTAL_MEMORY_KEY, total);
        d.put(Nd4jEnvironment.CUDA_DEVICE_MAJOR_VERSION_KEY, major);
        d.put(Nd4jEnvironment.CUDA_DEVICE_MINOR_VERSION_KEY, minor);
        return d;
    }

    /** Shaped like CudaExecutioner.getEnvironmentInformation() on a machine with two GPUs. */
    private static Properties twoGpus() {
        Properties p = new Properties();
        p.put(Nd4jEnvironment.BACKEND_KEY, "CUDA");
        p.put(Nd4jEnvironment.BLAS_VENDOR_KEY, "CUBLAS");
        p.put(Nd4jEnvironment.CPU_CORES_KEY, 32);
        p.put(Nd4jEnvironment.CUDA_NUM_GPUS_KEY, 2);
        p.put(Nd4jEnvironment.HOST_FREE_MEMORY_KEY, 7 * GIB);
        p.put(Nd4jEnvironment.HOST_TOTAL_MEMORY_KEY, 8 * GIB);
        List<Map<String, Object>> devices = new ArrayList<>();
        devices.add(gpu("NVIDIA A100-SXM4-40GB", 38 * GIB, 40 * GIB, 8, 0));
        devices.add(gpu("NVIDIA GeForce RTX 3090", 20 * GIB + GIB / 2, 24 * GIB, 8, 6));
        p.put(Nd4jEnvironment.CUDA_DEVICE_INFORMATION_KEY, devices);
        return p;
    }

    @Test
    void picksTheCurrentThreadsDeviceFromCudaInformation() {
        DeviceReport r = DeviceReport.from(twoGpus(), "JCublasBackend", false, 1, 2, DataType.FLOAT, "exact", -1, -1);
        assertEquals("CUDA", r.backendKind());
        assertEquals("CUDA:1", r.shortName());
        assertFalse(r.host());
        assertEquals(1, r.deviceId());
        assertEquals(2, r.deviceCount());
        assertEquals("NVIDIA GeForce RTX 3090", r.deviceName());
        assertEquals("8.6", r.computeCapability());
        assertEquals(20 * GIB + GIB / 2, r.freeMemoryBytes());
        assertEquals(24 * GIB, r.totalMemoryBytes());
        assertEquals("CUBLAS", r.blasVendor());
        assertEquals("ND4J backend CUDA (JCublasBackend, CUBLAS), device 1 of 2 (NVIDIA GeForce RTX 3090, cc 8.6), "
                + "free memory 20.5 GiB of 24.0 GiB, default FLOAT, SVD engine exact", r.toString());

        DeviceReport first = DeviceReport.from(twoGpus(), "JCublasBackend", false, 0, -1, DataType.HALF, "exact", -1,
                -1);
        assertEquals("NVIDIA A100-SXM4-40GB", first.deviceName());
        assertEquals(38 * GIB, first.freeMemoryBytes());
        assertEquals(2, first.deviceCount(), "from the number of GPUs when the affinity manager gave none");
        assertEquals("CUDA:0", first.shortName());
    }

    @Test
    void missingOrMalformedKeysGiveUnknownValues() {
        DeviceReport empty = DeviceReport.from(new Properties(), "JCublasBackend", false, 0, 1, null, "exact", -1, -1);
        assertEquals("JCublasBackend", empty.backendKind(), "without BACKEND_KEY the class name stands in");
        assertNull(empty.deviceName());
        assertNull(empty.computeCapability());
        assertNull(empty.blasVendor());
        assertEquals(-1, empty.freeMemoryBytes());
        assertEquals(-1, empty.totalMemoryBytes());
        assertEquals(-1, empty.cpuCores());
        assertEquals("ND4J backend JCublasBackend (JCublasBackend), device 0 of 1 (unknown device), free memory "
                + "unknown, default type unknown, SVD engine exact", empty.toString());

        Properties odd = twoGpus();
        ((Map<?, ?>) ((List<?>) odd.get(Nd4jEnvironment.CUDA_DEVICE_INFORMATION_KEY)).get(1)).clear();
        odd.put(Nd4jEnvironment.CPU_CORES_KEY, "many");
        DeviceReport r = DeviceReport.from(odd, "JCublasBackend", false, 1, 2, DataType.FLOAT, "exact", -1, -1);
        assertNull(r.deviceName());
        assertNull(r.computeCapability());
        assertEquals(-1, r.freeMemoryBytes());
        assertEquals(-1, r.cpuCores());

        DeviceReport beyond = DeviceReport.from(twoGpus(), "JCublasBackend", false, 5, 2, DataType.FLOAT, "exact",
                -1, -1);
        assertNull(beyond.deviceName(), "no entry for device 5");
        DeviceReport unknownDevice = DeviceReport.from(twoGpus(), "JCublasBackend", false, -1, -1, DataType.FLOAT,
                "exact", -1, -1);
        assertNull(unknownDevice.deviceName());
        assertEquals("CUDA", unknownDevice.shortName());
        Properties notAList = twoGpus();
        notAList.put(Nd4jEnvironment.CUDA_DEVICE_INFORMATION_KEY, "two GPUs");
        assertNull(DeviceReport.from(notAList, "JCublasBackend", false, 0, 2, DataType.FLOAT, "exact", -1, -1)
                .deviceName());
        assertEquals("CPU", DeviceReport.from(null, "CpuBackend", true, 0, 1, DataType.FLOAT, "exact", -1, -1)
                .backendKind(), "no properties at all, on the host");
    }

    @Test
    void onTheHostMemoryIsPhysicalNotTheExecutionersHeapKeys() {
        Properties p = twoGpus();
        p.put(Nd4jEnvironment.BACKEND_KEY, "CPU");
        DeviceReport r = DeviceReport.from(p, "CpuBackend", true, 0, 1, DataType.FLOAT, "exact", 3 * GIB, 16 * GIB);
        assertEquals(3 * GIB, r.freeMemoryBytes());
        assertEquals(16 * GIB, r.totalMemoryBytes());
        assertNull(r.deviceName(), "the per-GPU list is ignored on the host");
        assertEquals(32, r.cpuCores());
        assertEquals("ND4J backend CPU (CpuBackend, CUBLAS), device 0 of 1 (host, 32 cores), free memory 3.0 GiB "
                + "of 16.0 GiB, default FLOAT, SVD engine exact", r.toString());
    }

    @Test
    void roundTripsThroughJsonAndChecksItsValues() {
        DeviceReport r = DeviceReport.from(twoGpus(), "JCublasBackend", false, 1, 2, DataType.FLOAT, "exact", -1, -1);
        assertEquals(r, GrowthJson.fromJson(GrowthJson.toJson(r), DeviceReport.class));
        DeviceReport cpu = DeviceReport.current();
        assertEquals(cpu, GrowthJson.fromJson(GrowthJson.toJson(cpu), DeviceReport.class));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new DeviceReport("CPU",
                "CpuBackend", true, 0, 1, null, null, 2, -5, 10, null, DataType.FLOAT, "exact"));
        assertTrue(e.getMessage().contains("freeMemoryBytes") && e.getMessage().contains("(got: -5)"),
                e.getMessage());
    }

    @Test
    void bytesAreBinaryUnitsWithOneDecimal() {
        assertEquals("unknown", DeviceReport.bytes(-1));
        assertEquals("512 B", DeviceReport.bytes(512));
        assertEquals("1.5 KiB", DeviceReport.bytes(1536));
        assertEquals("23.5 GiB", DeviceReport.bytes(25_275_953_152L));
    }
}
