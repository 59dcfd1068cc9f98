/// A small deterministic generator (SplitMix64): the same seed gives the same workload on every
/// platform and Swift version, which `SystemRandomNumberGenerator` and Swift's own
/// `RandomNumberGenerator` helpers (`Int.random(in:using:)`) do not promise.
struct SeededRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func nextUInt64() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `0..<bound` (bound > 0); the modulo bias is negligible for our small bounds.
    mutating func below(_ bound: Int) -> Int {
        Int(nextUInt64() % UInt64(bound))
    }

    /// Uniform in `range`.
    mutating func inRange(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + below(range.upperBound - range.lowerBound + 1)
    }

    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    /// Uniform in [0, 1).
    mutating func nextUnit() -> Double { Double(nextUInt64() >> 11) / Double(1 << 53) }
}
