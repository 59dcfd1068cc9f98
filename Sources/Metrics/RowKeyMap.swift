/// A hash map keyed by `RowKey`, for the aggregator's per-row state: one entry per live row, so it
/// holds most of the state's memory and takes most of its lookups.
///
/// Integer keys, the common case, live in an open-addressing table (linear probing, Fibonacci
/// hashing, backward-shift deletion): 8 bytes of key per slot, no SipHash, and a rehash that is a
/// plain loop. `Dictionary<RowKey, _>` spends 24 bytes on each key and hashes it with SipHash,
/// which was a fifth of the engine's time. Text keys go to a standard `Dictionary`.
///
/// Free slots hold `filler` (values are stored unboxed, with no Optional tag widening them).
struct RowKeyMap<Value> {
    /// Marks a free slot. A real key of this value is kept aside in `minKeyValue`.
    private static var free: Int64 { .min }
    /// Slots are grown when more than 3/4 would be used, so a probe for a missing key stays short.
    private static func maxCount(capacity: Int) -> Int { capacity - capacity / 4 }

    private var slotKeys: [Int64] = []
    private var slotValues: [Value] = []
    private let filler: Value
    /// 64 − log2(slot count): the hash keeps the product's top bits.
    private var shift: UInt64 = 64
    private var intCount = 0
    private var minKeyValue: Value?
    private var texts: [String: Value] = [:]

    init(filler: Value) { self.filler = filler }

    var count: Int { intCount + (minKeyValue == nil ? 0 : 1) + texts.count }
    var isEmpty: Bool { count == 0 }

    @inline(__always) private func home(_ key: Int64) -> Int {
        // Fibonacci hashing: sequential and strided keys spread evenly over the slots.
        Int(truncatingIfNeeded: (UInt64(bitPattern: key) &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// The slot holding `key`, or the free slot where it would go.
    @inline(__always) private func probe(_ key: Int64) -> (slot: Int, found: Bool) {
        let mask = slotKeys.count - 1
        var i = home(key)
        while true {
            let k = slotKeys[i]
            if k == key { return (i, true) }
            if k == Self.free { return (i, false) }
            i = (i + 1) & mask
        }
    }

    subscript(key: RowKey) -> Value? {
        // Inlined: a getter called out of line made the caller copy the whole partition that holds the map.
        @inline(__always) get {
            switch key {
            case .int(let k):
                if k == Self.free { return minKeyValue }
                guard intCount > 0 else { return nil }
                let (slot, found) = probe(k)
                return found ? slotValues[slot] : nil
            case .text(let s):
                return texts.isEmpty ? nil : texts[s]
            }
        }
        set {
            guard let newValue else {
                removeValue(forKey: key)
                return
            }
            switch key {
            case .int(let k):
                if k == Self.free {
                    minKeyValue = newValue
                    return
                }
                slotValues[slot(for: k, inserting: newValue)] = newValue
            case .text(let s):
                texts[s] = newValue
            }
        }
    }

    /// The value for `key`, inserted first when absent; modified in place (one probe).
    subscript(key: RowKey, default defaultValue: @autoclosure () -> Value) -> Value {
        get { self[key] ?? defaultValue() }
        _modify {
            switch key {
            case .int(let k) where k != Self.free:
                let slot = slot(for: k, inserting: defaultValue())
                yield &slotValues[slot]
            case .int:
                var value = minKeyValue ?? defaultValue()
                defer { minKeyValue = value }
                yield &value
            case .text(let s):
                yield &texts[s, default: defaultValue()]
            }
        }
    }

    /// The slot of `key`, after inserting it with `value` when absent.
    @inline(__always) private mutating func slot(for key: Int64, inserting value: @autoclosure () -> Value) -> Int {
        if slotKeys.isEmpty { grow() }
        var (slot, found) = probe(key)
        if found { return slot }
        if intCount + 1 > Self.maxCount(capacity: slotKeys.count) {
            grow()
            slot = probe(key).slot
        }
        slotKeys[slot] = key
        slotValues[slot] = value()
        intCount += 1
        return slot
    }

    @discardableResult
    mutating func removeValue(forKey key: RowKey) -> Value? {
        switch key {
        case .int(let k):
            if k == Self.free {
                defer { minKeyValue = nil }
                return minKeyValue
            }
            guard intCount > 0 else { return nil }
            let (slot, found) = probe(k)
            guard found else { return nil }
            let old = slotValues[slot]
            removeSlot(slot)
            return old
        case .text(let s):
            return texts.removeValue(forKey: s)
        }
    }

    /// Backward-shift deletion: later entries of the same probe run move up into the hole, so
    /// lookups never meet tombstones and the table never needs a clean-up pass.
    private mutating func removeSlot(_ removed: Int) {
        let mask = slotKeys.count - 1
        var hole = removed
        var j = removed
        while true {
            j = (j + 1) & mask
            let k = slotKeys[j]
            if k == Self.free { break }
            // The entry at j may fill the hole if the hole lies between its home slot and j.
            if (j &- home(k)) & mask >= (j &- hole) & mask {
                slotKeys[hole] = k
                slotValues[hole] = slotValues[j]
                hole = j
            }
        }
        slotKeys[hole] = Self.free
        slotValues[hole] = filler
        intCount -= 1
    }

    private mutating func grow() {
        let oldKeys = slotKeys
        let oldValues = slotValues
        let capacity = max(16, oldKeys.count * 2)
        slotKeys = Array(repeating: Self.free, count: capacity)
        slotValues = Array(repeating: filler, count: capacity)
        shift = UInt64(64 - capacity.trailingZeroBitCount)
        let mask = capacity - 1
        for (i, k) in oldKeys.enumerated() where k != Self.free {
            var slot = home(k)
            while slotKeys[slot] != Self.free { slot = (slot + 1) & mask }
            slotKeys[slot] = k
            slotValues[slot] = oldValues[i]
        }
    }

    mutating func removeAll(keepingCapacity: Bool = false) {
        if keepingCapacity && !slotKeys.isEmpty {
            for i in slotKeys.indices where slotKeys[i] != Self.free {
                slotKeys[i] = Self.free
                slotValues[i] = filler
            }
        } else {
            slotKeys = []
            slotValues = []
            shift = 64
        }
        intCount = 0
        minKeyValue = nil
        texts.removeAll(keepingCapacity: keepingCapacity)
    }

    /// Every entry, in no particular order.
    func forEach(_ body: (RowKey, Value) throws -> Void) rethrows {
        if let v = minKeyValue { try body(.int(Self.free), v) }
        if intCount > 0 {
            for i in slotKeys.indices where slotKeys[i] != Self.free { try body(.int(slotKeys[i]), slotValues[i]) }
        }
        for (s, v) in texts { try body(.text(s), v) }
    }
}

extension RowKeyMap: Sendable where Value: Sendable {}

/// Row keys in the order they were noted (integers unboxed): the aggregator's journal of which keys
/// changed since the last checkpoint. Their values are read from the maps when the changes are taken,
/// so a change costs 8 bytes here instead of a copy of the row.
struct RowKeyList: Sendable {
    private(set) var ints: [Int64] = []
    private(set) var texts: [String] = []

    var count: Int { ints.count + texts.count }

    @inline(__always) mutating func append(_ key: RowKey) {
        switch key {
        case .int(let k): ints.append(k)
        case .text(let s): texts.append(s)
        }
    }

    mutating func removeAll(keepingCapacity: Bool) {
        ints.removeAll(keepingCapacity: keepingCapacity)
        texts.removeAll(keepingCapacity: keepingCapacity)
    }

    func forEach(_ body: (RowKey) throws -> Void) rethrows {
        for k in ints { try body(.int(k)) }
        for s in texts { try body(.text(s)) }
    }
}
