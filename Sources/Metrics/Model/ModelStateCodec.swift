/// The model part of the durable state, as one versioned byte string written with every checkpoint
/// (in the same transaction as the offsets it reflects): remembered fact rows, joined rows, and each
/// anchor's sums, windows and resolution. Group totals and window sums are not saved: they follow
/// from the anchors and are rebuilt on load.
///
/// A full copy per checkpoint costs O(model state), unlike the built-in form's incremental journal;
/// fine for the dimension-sized states model profiles keep, and said in docs/profiles.md.
extension WindowedAggregator {
    static let modelStateVersion: UInt8 = 3

    /// Encodes the model state; `name` gives each partition key's topic and partition (keys are not
    /// stable across runs, names are).
    package func encodeModelState(name: (Int64) -> (topic: String, partition: Int32)) -> [UInt8] {
        guard modelPlan != nil else { return [] }
        var w = ByteWriter()
        w.byte(WindowedAggregator.modelStateVersion)
        w.int(keyCollisions)
        w.int(placeholderDeletes)
        w.int128(modelVolume.units)
        w.byte(UInt8(modelVolume.scale))
        w.int(Int64(modelVolumeScale))
        w.count(modelDirty.count)
        w.count(lookups.count)
        for table in lookups {
            w.count(table.rows.count)
            table.rows.forEach { key, cells in
                w.key(key)
                w.cells(cells)
            }
        }
        let held = parts.indices.filter { parts[$0].model != nil }
        w.count(held.count)
        for p in held {
            let (topic, partition) = name(partitionKeys[p])
            w.string(topic)
            w.int(Int64(partition))
            let m = parts[p].model!
            w.count(m.factRows.count)
            for rows in m.factRows {
                w.count(rows.count)
                rows.forEach { key, cells in
                    w.key(key)
                    w.cells(cells)
                }
            }
            w.count(m.kpis.count)
            for (k, kpi) in m.kpis.enumerated() {
                // A direct KPI keeps no anchors: its one group's total and window sums are saved instead.
                let direct = kpi.groupTotals.accum(0)
                w.accum(direct)
                var windows: [(Int64, KPIAccum)] = []
                parts[p].windows.forEach { key, accum in
                    // The one group (id 0), when it holds anything (as before sums by id: a group back at zero was gone).
                    if case .int(let start) = key, start >= horizonStart, k < accum.modelSums.count,
                        let sums = accum.modelSums[k].accum(group: 0)
                    {
                        windows.append((start, sums))
                    }
                }
                w.count(windows.count)
                for (start, a) in windows {
                    w.int(start)
                    w.accum(a)
                }
                w.count(kpi.anchorCount)
                for id in 0..<kpi.anchorCount {
                    w.cells(kpi.anchorKeys[id].cells)
                    w.accum(kpi.anchorTotals.accum(id))
                    var windows: [(start: Int64, entry: Int)] = []
                    kpi.forEachWindow(anchor: id) { start, e in if start >= horizonStart { windows.append((start, e)) }
                    }
                    w.count(windows.count)
                    for (start, e) in windows.reversed() {
                        w.int(start)
                        w.accum(kpi.windowSums.accum(e))
                    }
                    // Groups and dependencies are not saved: they follow from the joined rows, and are
                    // resolved again on load.
                }
            }
        }
        return w.bytes
    }

    /// Loads what `encodeModelState` wrote (before `finishRestore`), rebuilding group totals and the
    /// windows' KPI sums from the anchors. Throws a description of the damage; loads nothing partial
    /// that the caller keeps (it discards the aggregator on error).
    package mutating func restoreModelState(_ bytes: [UInt8], partitionKey: (String, Int32) -> Int64)
        throws(ModelStateError)
    {
        guard let plan = modelPlan else { return }
        var r = ByteReader(bytes)
        guard try r.byte() == WindowedAggregator.modelStateVersion else {
            throw ModelStateError("unknown model state version")
        }
        keyCollisions = try r.int()
        placeholderDeletes = try r.int()
        let volumeUnits = try r.int128()
        guard let volume = ExactDecimal(units: volumeUnits, scale: Int(try r.byte())) else {
            throw ModelStateError("bad volume")
        }
        modelVolume = volume
        modelVolumeScale = Int(try r.int())
        let kpiCount = plan.model.kpis.count
        let tableCount = plan.model.tables.count
        guard try r.count() == kpiCount else { throw ModelStateError("saved for another set of KPIs") }
        guard try r.count() == tableCount else { throw ModelStateError("saved for another set of tables") }
        for t in 0..<tableCount {
            for _ in 0..<(try r.count()) {
                let key = try r.key()
                let cells = try r.cells()
                _ = lookups[t].set(
                    key, cells, matchSlots: plan.tables[t].matchSlots, readSlots: plan.tables[t].readSlots)
            }
        }
        for _ in 0..<(try r.count()) {
            let topic = try r.string()
            guard let partition = Int32(exactly: try r.int()) else { throw ModelStateError("bad partition number") }
            let p = self.partition(partitionKey(topic, partition))
            var m = ModelPartition(plan: plan)
            guard try r.count() == tableCount else { throw ModelStateError("saved for another set of tables") }
            for t in 0..<tableCount {
                for _ in 0..<(try r.count()) {
                    let key = try r.key()
                    m.factRows[t][key] = try r.cells()
                }
            }
            guard try r.count() == kpiCount else { throw ModelStateError("saved for another set of KPIs") }
            var directWindows: [(k: Int, start: Int64, accum: KPIAccum)] = []
            for k in 0..<kpiCount {
                let aggregates = plan.model.kpis[k].aggregates.count
                let direct = try r.accum(aggregates)
                if plan.kpis[k].isDirect && !direct.isZero { m.kpis[k].groupTotals.add(0, direct) }
                for _ in 0..<(try r.count()) {
                    let start = try r.int()
                    let accum = try r.accum(aggregates)
                    if plan.kpis[k].isDirect { directWindows.append((k, start, accum)) }
                }
                for _ in 0..<(try r.count()) {
                    let key = AnchorKey(try r.cells())
                    let total = try r.accum(aggregates)
                    let id =
                        m.kpis[k].anchorID(key) ?? m.kpis[k].addAnchor(key, depRoom: plan.model.kpis[k].joins.count)
                    m.kpis[k].anchorTotals.add(id, total)
                    for _ in 0..<(try r.count()) {
                        let start = try r.int()
                        let accum = try r.accum(aggregates)
                        let e = m.kpis[k].windowEntry(anchor: id, start: start, horizon: .min)
                        m.kpis[k].windowSums.add(e, accum)
                    }
                }
            }
            // Every joined row is loaded (above): each anchor's chain resolves as it did before the stop.
            var scratch = ModelResolveScratch()
            for k in 0..<kpiCount where !plan.kpis[k].isDirect {
                for id in 0..<m.kpis[k].anchorCount {
                    let resolution = resolve(k, anchor: m.kpis[k].anchorKeys[id], scratch: &scratch)
                    m.kpis[k].setGroups(id, resolution)
                    m.kpis[k].setDeps(id, scratch.deps)
                    register(k, AnchorRef(partition: partitionKeys[p], id: Int32(id)), scratch.deps)
                }
            }
            parts[p].model = m
            for d in directWindows {
                var window = parts[p].windows[.int(d.start)] ?? WindowAccum()
                if window.modelSums.isEmpty { window.modelSums = Self.emptyModelSums(plan) }
                window.modelSums[d.k].add(group: 0, d.accum)
                parts[p].windows[.int(d.start)] = window
            }
            rebuildModelSums(p: p)
        }
        guard r.atEnd else { throw ModelStateError("trailing bytes") }
    }

    /// Group totals, unresolved sums and each held window's KPI sums, from the anchors of partition `p`.
    private mutating func rebuildModelSums(p: Int) {
        guard let plan = modelPlan else { return }
        let count = plan.model.kpis.count
        for k in 0..<count {
            let kpi = parts[p].model!.kpis[k]
            for id in 0..<kpi.anchorCount {
                let total = kpi.anchorTotals.accum(id)
                if let groups = kpi.groups(id) {
                    for g in groups {
                        parts[p].model!.kpis[k].groupTotals.add(Int(g), total)
                        kpi.forEachWindow(anchor: id) { w, e in
                            var window = parts[p].windows[.int(w)] ?? WindowAccum()
                            if window.modelSums.isEmpty { window.modelSums = Self.emptyModelSums(plan) }
                            window.modelSums[k].add(group: Int(g), kpi.windowSums.accum(e))
                            parts[p].windows[.int(w)] = window
                        }
                    }
                } else {
                    parts[p].model!.kpis[k].unresolved.add(total)
                    // Kept so that the chain's row, when it comes, moves the sums into the window.
                    kpi.forEachWindow(anchor: id) { w, _ in
                        if parts[p].windows[.int(w)] == nil { parts[p].windows[.int(w)] = WindowAccum() }
                    }
                }
            }
        }
    }
}

package struct ModelStateError: Error, Sendable, CustomStringConvertible {
    package var description: String
    init(_ description: String) { self.description = description }
}

/// Little-endian, length-prefixed bytes for the model state.
struct ByteWriter {
    var bytes: [UInt8] = []
    mutating func byte(_ b: UInt8) { bytes.append(b) }
    mutating func int(_ v: Int64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func count(_ n: Int) { int(Int64(n)) }
    mutating func string(_ s: String) {
        count(s.utf8.count)
        bytes.append(contentsOf: s.utf8)
    }
    mutating func int128(_ v: Int128) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func key(_ k: RowKey) {
        switch k {
        case .int(let v):
            byte(0)
            int(v)
        case .text(let s):
            byte(1)
            string(s)
        }
    }
    mutating func cells(_ cells: [Cell]) {
        count(cells.count)
        for c in cells {
            switch c {
            case .missing: byte(0)
            case .unavailable: byte(1)
            case .null: byte(2)
            case .int(let v):
                byte(3)
                int(v)
            case .decimal(let d):
                byte(4)
                int128(d.units)
                byte(UInt8(d.scale))
            case .text(let s):
                byte(5)
                string(s)
            case .bool(let b): byte(b ? 7 : 6)
            }
        }
    }
    mutating func accum(_ a: KPIAccum) {
        int(a.rows)
        for i in a.sums.indices {
            int128(a.sums[i].units)
            byte(UInt8(a.sums[i].scale))
            int(a.counts[i])
        }
    }
}

struct ByteReader {
    let bytes: [UInt8]
    var at = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    var atEnd: Bool { at == bytes.count }

    mutating func take(_ n: Int) throws(ModelStateError) -> ArraySlice<UInt8> {
        guard n >= 0, n <= bytes.count - at else { throw ModelStateError("truncated at byte \(at)") }
        defer { at += n }
        return bytes[at..<at + n]
    }
    mutating func byte() throws(ModelStateError) -> UInt8 { try take(1).first! }
    mutating func int() throws(ModelStateError) -> Int64 {
        var v: Int64 = 0
        for (i, b) in try take(8).enumerated() { v |= Int64(b) << (8 * i) }
        return v
    }
    mutating func count() throws(ModelStateError) -> Int {
        let n = try int()
        guard n >= 0, n <= Int64(bytes.count) else { throw ModelStateError("bad count \(n) at byte \(at)") }
        return Int(n)
    }
    mutating func int128() throws(ModelStateError) -> Int128 {
        var v: UInt128 = 0
        for (i, b) in try take(16).enumerated() { v |= UInt128(b) << (8 * i) }
        return Int128(bitPattern: v)
    }
    mutating func string() throws(ModelStateError) -> String {
        let n = try count()
        guard let s = String(validating: try take(n), as: UTF8.self) else {
            throw ModelStateError("bad text at byte \(at)")
        }
        return s
    }
    mutating func key() throws(ModelStateError) -> RowKey {
        switch try byte() {
        case 0: return .int(try int())
        case 1: return .text(try string())
        default: throw ModelStateError("bad key at byte \(at)")
        }
    }
    mutating func cells() throws(ModelStateError) -> [Cell] {
        let n = try count()
        var out: [Cell] = []
        out.reserveCapacity(n)
        for _ in 0..<n {
            switch try byte() {
            case 0: out.append(.missing)
            case 1: out.append(.unavailable)
            case 2: out.append(.null)
            case 3: out.append(.int(try int()))
            case 4:
                let units = try int128()
                guard let d = ExactDecimal(units: units, scale: Int(try byte())) else {
                    throw ModelStateError("bad decimal at byte \(at)")
                }
                out.append(.decimal(d))
            case 5: out.append(.text(try string()))
            case 6: out.append(.bool(false))
            case 7: out.append(.bool(true))
            default: throw ModelStateError("bad value at byte \(at)")
            }
        }
        return out
    }
    mutating func accum(_ aggregates: Int) throws(ModelStateError) -> KPIAccum {
        var a = KPIAccum(aggregates: aggregates)
        a.rows = try int()
        for i in 0..<aggregates {
            let units = try int128()
            guard let sum = ExactDecimal(units: units, scale: Int(try byte())) else {
                throw ModelStateError("bad sum at byte \(at)")
            }
            a.sums[i] = sum
            a.counts[i] = try int()
        }
        return a
    }
}
