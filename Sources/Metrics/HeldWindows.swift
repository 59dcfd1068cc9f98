/// The windows any partition of a `WindowedAggregator` holds, ascending by start, each beside its
/// result merged over partitions, with which of them are final, stale or changed.
///
/// Merged results are rebuilt only for windows changed since the last read (`staleMerged`), so
/// reading the windows costs what changed, not what is held; final windows are kept as the
/// watermark passes them, so a snapshot shares the set instead of rebuilding it.
struct HeldWindows: Sendable {
    /// Window starts held by any partition, ascending, and beside each its merged result.
    var starts: [Int64] = []
    var results: [WindowResult] = []
    /// Windows whose merged result must be rebuilt (the last one noted is cached: most events of a
    /// run hit the same window).
    var staleMerged: Set<Int64> = []
    var lastStaleMerged: Int64 = .min
    /// Held windows the watermark has passed (start < `finalBeforeMs`).
    var finalStarts: Set<Int64> = []
    /// `windowStart(of: watermarkMs)`: every window starting before it is final.
    var finalBeforeMs: Int64 = .min
    /// Windows whose merged result changed or that became final since the last `takeWindowChanges()`.
    var changes: Set<Int64> = []
    /// False after a restore: what changed since the last `takeWindowChanges()` is unknown.
    var changesKnown = true

    /// The index of `start` in `starts`, or where it would be inserted.
    @inline(__always) func index(of start: Int64) -> Int {
        var lo = 0
        var hi = starts.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if starts[mid] < start { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    @inline(__always) mutating func markStale(_ w: Int64) {
        if w != lastStaleMerged {
            staleMerged.insert(w)
            lastStaleMerged = w
        }
    }

    /// Holds a new window (a no-op when it is held already).
    mutating func hold(_ start: Int64) {
        // An empty result until the next refresh merges it (the caller marks it changed).
        let placeholder = WindowResult(windowStartMs: start, txCount: 0, revenue: .zero, categoryRevenue: [:])
        if let last = starts.last, last >= start {
            let i = index(of: start)
            if i < starts.count && starts[i] == start { return }
            starts.insert(start, at: i)
            results.insert(placeholder, at: i)
        } else {
            starts.append(start)
            results.append(placeholder)
        }
        if start < finalBeforeMs { finalStarts.insert(start) }
    }

    /// Marks the windows starting before `boundary` as final: O(windows that became final).
    mutating func advanceFinal(to boundary: Int64) {
        guard boundary > finalBeforeMs else { return }
        var i = finalBeforeMs == .min ? 0 : index(of: finalBeforeMs)
        while i < starts.count && starts[i] < boundary {
            finalStarts.insert(starts[i])
            changes.insert(starts[i])
            i += 1
        }
        finalBeforeMs = boundary
    }

    /// Rebuilds the final windows from a boundary (after a restore).
    mutating func rebuildFinal(boundary: Int64) {
        finalBeforeMs = boundary
        finalStarts = Set(starts.lazy.filter { $0 < boundary })
    }

    /// Forgets the windows starting before `horizon` and returns them.
    mutating func evict(before horizon: Int64) -> ArraySlice<Int64> {
        guard let first = starts.first, first < horizon else { return [] }
        let cut = starts.firstIndex(where: { $0 >= horizon }) ?? starts.count
        let expired = starts[..<cut]
        for w in expired {
            staleMerged.remove(w)
            finalStarts.remove(w)
            changes.remove(w)
        }
        starts.removeFirst(cut)
        results.removeFirst(cut)
        lastStaleMerged = .min
        return expired
    }

    /// After a restore: every window held, each to be merged again; what changed before is unknown.
    mutating func restore(starts restored: Set<Int64>) {
        starts = restored.sorted()
        results = starts.map { WindowResult(windowStartMs: $0, txCount: 0, revenue: .zero, categoryRevenue: [:]) }
        staleMerged = restored
        lastStaleMerged = .min
    }
}

extension WindowedAggregator {
    /// The window start to count an event in, or nil when that window was already evicted (dropped).
    mutating func windowFor(_ commitTimeMs: Int64, p: Int) -> Int64? {
        let start = windowStart(of: commitTimeMs)
        if start < horizonStart {
            dropped += 1
            return nil
        }
        if parts[p].windows[.int(start)] == nil {
            parts[p].windows[.int(start)] = WindowAccum()
            held.hold(start)
            // Saved even while it holds nothing but parked line items: their category arrives later.
            markChanged(start, p: p)
        }
        if watermarkMs >= start + windowMs { lateCorrections += 1 }
        return start
    }

    /// Marks the windows the watermark has just passed as final.
    mutating func advanceFinalBoundary() {
        guard progress.clockMs != .min else { return }
        held.advanceFinal(to: windowStart(of: watermarkMs))
    }

    /// Rebuilds the final windows from the watermark (after a restore).
    mutating func rebuildFinalWindows() {
        // The saved state keeps the newest commit time, not the read progress: the watermark restarts there.
        if maxCommitTimeMs != .min { progress.restore(clockMs: maxCommitTimeMs) }
        held.rebuildFinal(boundary: progress.clockMs == .min ? .min : windowStart(of: watermarkMs))
    }

    /// Windows whose result changed, or that became final, since the last call (the snapshot
    /// passes them on so the warehouse sink compares only those). Nil when that is unknown (the
    /// first call after a restore): compare every window.
    package mutating func takeWindowChanges() -> Set<Int64>? {
        refreshMergedWindows()
        let changed = held.changes
        held.changes = []
        defer { held.changesKnown = true }
        return held.changesKnown ? changed : nil
    }

    mutating func evictExpiredWindows() {
        let (h, overflow) = watermarkMs.subtractingReportingOverflow(profile.retentionMs)
        let newHorizon = overflow ? Int64.min : windowStart(of: h)
        advanceFinalBoundary()
        guard newHorizon > horizonStart else { return }
        horizonStart = newHorizon
        let expired = held.evict(before: newHorizon)
        guard !expired.isEmpty else { return }
        for p in parts.indices {
            for w in expired {
                parts[p].windows[.int(w)] = nil
                parts[p].journal.changedWindows.remove(w)
            }
        }
        // Products' expired window sums are dropped lazily, when the product is next touched (see
        // `addLineAmount`): eviction costs O(windows expired), not O(products).
        for p in parts.indices { parts[p].journal.lastChangedWindow = .min }
    }

    // MARK: change tracking

    @inline(__always) mutating func markMergedStale(_ w: Int64) { held.markStale(w) }

    @inline(__always) mutating func markChanged(_ w: Int64, p: Int) {
        held.markStale(w)
        if journaling { parts[p].journal.noteWindow(w) }
    }

    /// One hash lookup per window update (the window exists: `windowFor` created it).
    @inline(__always) mutating func mutateWindow(_ start: Int64, p: Int, _ body: (inout WindowAccum) -> Void) {
        body(&parts[p].windows[.int(start), default: WindowAccum()])
        markChanged(start, p: p)
    }

    // MARK: merged results

    /// Windows held, sorted by start, zero category entries left out. Only windows changed since
    /// the last call are merged again over partitions.
    package var windowResults: [WindowResult] {
        mutating get {
            refreshMergedWindows()
            return held.results
        }
    }

    package func isFinal(windowStart start: Int64) -> Bool { watermarkMs >= start + windowMs }

    mutating func refreshMergedWindows() {
        refreshModelResolutions()
        guard !held.staleMerged.isEmpty else { return }
        var orphaned: [Int] = []
        for w in held.staleMerged {
            let i = held.index(of: w)
            guard i < held.starts.count && held.starts[i] == w else { continue }
            held.changes.insert(w)
            if let merged = merge(window: w) { held.results[i] = merged } else { orphaned.append(i) }
        }
        held.staleMerged.removeAll(keepingCapacity: true)
        held.lastStaleMerged = .min
        // Held by no partition any more (after a drop): gone from the results.
        for i in orphaned.sorted(by: >) {
            held.finalStarts.remove(held.starts[i])
            held.starts.remove(at: i)
            held.results.remove(at: i)
        }
    }

    private func merge(window w: Int64) -> WindowResult? {
        var found = false
        var tx: Int64 = 0
        var revenue = Money.zero
        var categories: [String: Money] = [:]
        for part in parts {
            guard let accum = part.windows[.int(w)] else { continue }
            found = true
            tx += accum.txCount
            revenue += accum.revenue
            for (c, m) in accum.categorySums.enumerated() { categories[categoryNames[c], default: .zero] += m }
        }
        guard found else { return nil }
        if modelPlan != nil {
            let values = modelWindow(w)
            let builtins = modelBuiltins(values)
            var result = WindowResult(
                windowStartMs: w, txCount: builtins.tx, revenue: builtins.revenue, categoryRevenue: builtins.categories)
            result.kpis = values
            return result
        }
        return WindowResult(
            windowStartMs: w, txCount: tx, revenue: revenue, categoryRevenue: categories.filter { !$0.value.isZero })
    }
}
