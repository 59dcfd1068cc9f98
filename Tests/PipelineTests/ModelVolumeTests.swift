import Metrics
import Testing

@testable import Pipeline

/// A model profile's sums never overflow silently: an event that could push a sum (a total or a window's) past
/// what it can hold exactly is refused before it changes anything, and counted as refused.
@Suite("Model sums: exact or refused")
struct ModelVolumeTests {
    static let profile = """
        name = "volume"
        [kpi.sums]
        sql = "select sum(a), sum(b) from t"
        """

    /// An insert of row `id` into table `t`, its values written as JSON numbers exactly as given.
    static func insert(id: Int, a: String, b: String) -> (key: [UInt8], value: [UInt8]) {
        let key = #"{"id":\#(id)}"#
        let value =
            #"{"op":"c","ts_ms":1000,"source":{"ts_ms":1000,"table":"t","snapshot":"false"},"before":null,"#
            + #""after":{"id":\#(id),"a":\#(a),"b":\#(b)}}"#
        return (Array(key.utf8), Array(value.utf8))
    }

    static func sums(_ core: EngineCore) -> [ExactDecimal]? { core.result.totals.kpis[0].ungrouped?.sums }

    @Test("sums past Int64.max stay exact: ten values just under 10^18")
    func pastInt64Max() throws {
        let feeder = ModelFeeder(profile: try KPIProfile(tomlText: Self.profile, file: "volume.toml"))
        for id in 1...10 { feeder.send("t", Self.insert(id: id, a: "999999999999999999", b: "0.5")) }
        #expect(feeder.core.aggregator.refused == 0 && feeder.core.malformed == 0)
        #expect(Self.sums(feeder.core) == [ExactDecimal.parse("9999999999999999990")!, ExactDecimal.parse("5")!])
    }

    /// Two values of 38 places whose doubled magnitudes add up to fewer places (2.5e-37 × 4 = 1e-36): the
    /// bound on the sums must still count 38 places, or a later 10 is admitted and its sum, 10 at 38 places
    /// (10^39 units), overflows Int128 where nothing counts it and the total stays at the old value.
    @Test("a value that cannot be summed at the places already held is refused, and the sums stay exact")
    func placesLostInTheBoundAreStillCounted() throws {
        let feeder = ModelFeeder(profile: try KPIProfile(tomlText: Self.profile, file: "volume.toml"))
        let tiny = "0.00000000000000000000000000000000000025"
        feeder.send("t", Self.insert(id: 1, a: tiny, b: tiny))
        #expect(Self.sums(feeder.core) == [ExactDecimal.parse(tiny)!, ExactDecimal.parse(tiny)!])
        feeder.send("t", Self.insert(id: 2, a: "10", b: "0"))
        #expect(feeder.core.aggregator.refused == 1, "10 + 2.5e-37 does not fit 38 places of Int128")
        #expect(feeder.core.malformed == 0)
        // The refused event changed nothing: the sums are exactly the first row's.
        #expect(Self.sums(feeder.core) == [ExactDecimal.parse(tiny)!, ExactDecimal.parse(tiny)!])
        #expect(feeder.core.result.totals.kpis[0].ungrouped?.rows == 1)
    }
}
