import CKafkaBaseline
import Foundation

/// The librdkafka-from-C side: marshals the setup into `ckb_target` and calls CKafkaBaseline on
/// a dedicated thread (the C functions block until their measurement is over).
struct CBaselineRunner: Sendable {
    let setup: BenchSetup

    func produce(_ target: BenchTarget) async throws -> ThroughputSample {
        let count = setup.messages
        let payloadBytes = Int32(setup.payloadBytes)
        let result = await call(target, "c-produce") { native, result in
            ckb_produce_throughput(native, Int64(count), payloadBytes, result)
        }
        return try sample(result, expected: count)
    }

    func consume(_ target: BenchTarget, expected: Int) async throws -> ThroughputSample {
        let result = await call(target, "c-consume") { native, result in
            ckb_consume_throughput(native, Int64(expected), 120_000, result)
        }
        return try sample(result, expected: expected)
    }

    /// One entry per record sent: its latency in nanoseconds, or -1 when it never arrived.
    func latency(_ target: BenchTarget) async throws -> [Int64] {
        let rate = Int32(setup.latencyRatePerSecond)
        let durationMilliseconds = Int32(setup.latencySeconds * 1000)
        let payloadBytes = Int32(setup.payloadBytes)
        let count = setup.latencyRecordCount
        let (latencies, result) = await DedicatedThread.run("c-latency") { () -> ([Int64], NativeResult) in
            var latencies = [Int64](repeating: -1, count: count)
            let result = withNativeTarget(target) { native in
                NativeResult { result in
                    latencies.withUnsafeMutableBufferPointer { buffer in
                        ckb_produce_consume_latency(
                            native, rate, durationMilliseconds, payloadBytes, buffer.baseAddress, Int64(buffer.count), result)
                    }
                }
            }
            return (latencies, result)
        }
        if let error = result.error { throw BenchError.baseline("latency", error) }
        return latencies
    }

    private func call(
        _ target: BenchTarget, _ name: String,
        _ body: @escaping @Sendable (UnsafePointer<ckb_target>, UnsafeMutablePointer<ckb_result>) -> Int32
    ) async -> NativeResult {
        await DedicatedThread.run(name) {
            withNativeTarget(target) { native in NativeResult { body(native, $0) } }
        }
    }

    private func sample(_ result: NativeResult, expected: Int) throws -> ThroughputSample {
        if let error = result.error { throw BenchError.baseline("\(expected) records", error) }
        return ThroughputSample(
            records: Int(result.delivered), failed: Int(result.failed), nanoseconds: result.elapsed, cpuNanoseconds: result.cpu)
    }

    /// Keeps C strings alive for the duration of `body`.
    private func withNativeTarget<Result>(_ target: BenchTarget, _ body: (UnsafePointer<ckb_target>) -> Result) -> Result {
        var allocated: [UnsafeMutablePointer<CChar>] = []
        func duplicate(_ text: String) -> UnsafePointer<CChar> {
            let copy = strdup(text)!
            allocated.append(copy)
            return UnsafePointer(copy)
        }
        defer { allocated.forEach { free($0) } }
        func flatten(_ properties: [String: String]) -> [UnsafePointer<CChar>?] {
            properties.sorted { $0.key < $1.key }.flatMap { [duplicate($0.key), duplicate($0.value)] } + [nil]
        }
        let producerProperties = flatten(setup.producerProperties)
        let consumerProperties = flatten(setup.consumerProperties)
        return producerProperties.withUnsafeBufferPointer { producer in
            consumerProperties.withUnsafeBufferPointer { consumer in
                var native = ckb_target(
                    bootstrap_servers: duplicate(target.bootstrapServers),
                    topic: duplicate(target.topic),
                    partitions: Int32(target.partitions),
                    producer_properties: producer.baseAddress,
                    consumer_properties: consumer.baseAddress)
                return body(&native)
            }
        }
    }
}

/// The Sendable part of a `ckb_result`.
struct NativeResult: Sendable {
    var elapsed: Int64
    var cpu: Int64
    var delivered: Int64
    var failed: Int64
    var error: String?

    init(_ body: (UnsafeMutablePointer<ckb_result>) -> Int32) {
        var native = ckb_result()
        let status = body(&native)
        elapsed = native.elapsed_ns
        cpu = native.cpu_ns
        delivered = native.delivered
        failed = native.failed
        let message = withUnsafeBytes(of: native.error) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        error = status == 0 ? nil : (message.isEmpty ? "failed with status \(status)" : message)
    }
}

enum BenchError: Error, CustomStringConvertible {
    case baseline(String, String)
    case wrapper(String)

    var description: String {
        switch self {
        case .baseline(let what, let reason): "C baseline (\(what)): \(reason)"
        case .wrapper(let reason): "Swift wrapper: \(reason)"
        }
    }
}
