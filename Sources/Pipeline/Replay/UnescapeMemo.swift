/// The last kcat -J payload of a topic decoded the slow way: its escaped bytes, what they decode
/// to, and where the decoder stood at each clean word boundary. Debezium's JsonConverter puts the
/// schema (most of the bytes, and most of the ~600 escapes of a 3 KB message) first and repeats it
/// in every message of a topic: a payload whose escaped bytes start the same way takes the decoded
/// prefix with one copy and decodes only the rest. Exact: a prefix of escaped bytes that ends at a
/// clean point decodes to the same bytes whatever follows it.
package struct UnescapeMemo {
    package struct Marks {
        var input: [Int32] = []
        var output: [Int32] = []
        mutating func append(input i: Int, output d: Int) {
            input.append(Int32(truncatingIfNeeded: i))
            output.append(Int32(truncatingIfNeeded: d))
        }
        mutating func removeAll() {
            input.removeAll(keepingCapacity: true)
            output.removeAll(keepingCapacity: true)
        }
    }
    /// The escaped bytes of the string (and possibly a little after it) as they were in the line.
    var escaped: [UInt8] = []
    var decoded: [UInt8] = []
    var marks = Marks()
    /// Prefixes shorter than this are decoded the ordinary way (not worth the copy).
    static let minimumReuse = 256
    /// Escaped bytes kept: Debezium schemas are a few KB.
    static let maximumKept = 16_384

    package init() {}

    /// Like `JSONStringUnescaper.unescapeString`, reusing the decoding of the common prefix with the memo.
    package mutating func unescape(_ p: UnsafeMutablePointer<UInt8>, from: Int, limit: Int) -> (next: Int, length: Int)?
    {
        let available = limit - from
        if marks.input.count > 0 {
            // Bytes in common with the memo, a word at a time.
            let n = min(escaped.count, available)
            var k = 0
            escaped.withUnsafeBytes { e in
                let q = UnsafeRawPointer(p + from)
                while k &+ 8 <= n
                    && e.loadUnaligned(fromByteOffset: k, as: UInt64.self)
                        == q.loadUnaligned(fromByteOffset: k, as: UInt64.self)
                {
                    k &+= 8
                }
            }
            if k >= UnescapeMemo.minimumReuse {
                // The last clean point at or before k.
                var lo = 0
                var hi = marks.input.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if Int(marks.input[mid]) <= k { lo = mid + 1 } else { hi = mid }
                }
                if lo > 0 {
                    let i = Int(marks.input[lo - 1])
                    let d = Int(marks.output[lo - 1])
                    if i >= UnescapeMemo.minimumReuse && i - d >= 8 {
                        decoded.withUnsafeBytes { u in
                            (p + from).update(from: u.bindMemory(to: UInt8.self).baseAddress!, count: d)
                        }
                        return JSONStringUnescaper.unescapeRest(
                            p, i: from + i, d: from + d, from: from, limit: limit, marks: nil)
                    }
                }
            }
        }
        // The slow way, remembering it for the next payload of this topic.
        let kept = min(available, UnescapeMemo.maximumKept)
        escaped.removeAll(keepingCapacity: true)
        escaped.append(contentsOf: UnsafeBufferPointer(start: p + from, count: kept))
        marks.removeAll()
        guard let r = JSONStringUnescaper.unescapeString(p, from: from, limit: limit, marks: &marks) else {
            marks.removeAll()
            return nil
        }
        // Only marks inside what was kept can be matched.
        while let last = marks.input.last, Int(last) > kept {
            marks.input.removeLast()
            marks.output.removeLast()
        }
        decoded.removeAll(keepingCapacity: true)
        decoded.append(contentsOf: UnsafeBufferPointer(start: p + from, count: Int(marks.output.last ?? 0)))
        return r
    }
}
