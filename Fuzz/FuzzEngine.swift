// libFuzzer target over the Debezium decoder, the aggregator and EngineCore's counters, plus the
// dashboard's full before/after rendering of each message. Not a SwiftPM target: scripts/fuzz builds
// Metrics and Pipeline with `-sanitize=fuzzer,address` (coverage + AddressSanitizer), compiles this
// file together with the harness Tests/PipelineTests/FuzzHarness.swift (shared with the regression
// tests) using `swiftc -sanitize=fuzzer,address -parse-as-library`, and links their objects.
// Input format and invariants: Fuzz/README.md.
#if canImport(Glibc)
    import Glibc
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let violations = FuzzHarness.run(UnsafeRawBufferPointer(start: data, count: size))
    if !violations.isEmpty {
        for v in violations { fputs("fuzz invariant violated: \(v)\n", stderr) }
        abort()  // libFuzzer saves the input as a crash
    }
    return 0
}
