import Metrics
import Pipeline

/// The Tables drill-down for Confluent-framed (Avro) messages: the change view decodes them with their
/// schema like JSON ones, and the raw view (`y`) shows, for the key and the value, `schema id N · subject S ·
/// version V` and the record rendered as JSON the way Debezium's JsonConverter writes the same row.
/// Schemas and subjects come from `DashboardFrame.schemaDetails`, which never waits on the registry.
enum RawMessageView {
    /// Without `--schema-registry`: nothing is known of any id.
    static let noRegistry: @Sendable (Int32, Bool) -> SchemaDetails = { _, _ in
        SchemaDetails(
            schema: nil, schemaProblem: "no schema registry given (--schema-registry URL)",
            subjects: .unknown("no schema registry given"))
    }

    /// Why an Avro value's schema is not at hand for the raw view (nil for JSON, or when it is): the change
    /// itself was decoded by the engine (`RecentChange.decoded`) or says why not (`undecodable`).
    static func missingSchema(_ value: [UInt8], frame: DashboardFrame) -> String? {
        guard let id = AvroWire.schemaID(value) else { return nil }
        let details = frame.schemaDetails(id, false)
        guard let schema = details.schema else {
            return "no schema for id \(id) (\(details.schemaProblem ?? "not known")): y shows the bytes"
        }
        guard case .avro = schema.kind else { return "schema id \(id) is a \(schema.schemaType) schema, not Avro" }
        return nil
    }

    struct Line: Equatable {
        var text: String
        var style: Style
        /// Shown dim after the text when it fits: what a base64 decimal or an integer time means.
        var note: String? = nil
    }

    /// The raw view of a change whose value or key is framed: key first (it is short), then the value.
    static func lines(_ change: RecentChange, value: [UInt8], frame: DashboardFrame, width: Int, glyphs g: Glyphs)
        -> [Line]
    {
        var out: [Line] = []
        if let key = change.framedKey, let id = change.keySchemaID {
            out += part("key  ", id: id, bytes: key, frame: frame, width: width, glyphs: g)
        } else {
            out.append(Line(text: "key    \(change.key)", style: Style(.accent, bold: true)))
        }
        if let id = change.valueSchemaID {
            out += part("value", id: id, bytes: value, frame: frame, width: width, glyphs: g)
        } else {
            out.append(Line(text: "value  JSON, \(Format.count(value.count)) bytes", style: Style(.accent, bold: true)))
            out += RawJSON.pretty(value).map { Line(text: "  " + $0, style: .text) }
        }
        return out.flatMap { line -> [Line] in
            if let note = line.note, DisplayWidth.of(line.text) + 2 + DisplayWidth.of(note) <= width { return [line] }
            // JSON is cut where the width ends (nothing dropped); sentences flow by words.
            let pieces = line.style == .text ? [line.text] : flow(line.text, width: width)
            return pieces.flatMap { RawJSON.hardWrap($0, width: width) }.map { Line(text: $0, style: line.style) }
        }
    }

    /// `value  schema id 3 · subject shop.public.transaction-value · version 1 · 187 bytes`, then the record as
    /// JSON (or why it cannot be shown, and its bytes).
    static func part(_ role: String, id: Int32, bytes: [UInt8], frame: DashboardFrame, width: Int, glyphs g: Glyphs)
        -> [Line]
    {
        let details = frame.schemaDetails(id, true)
        let dot = g == .ascii ? " - " : " · "
        var header = "\(role)  schema id \(id)\(dot)\(subjectText(details.subjects, separator: dot))"
        if let kind = details.schema?.schemaType, kind != "AVRO", !kind.isEmpty { header += "\(dot)\(kind)" }
        header += "\(dot)\(Format.count(bytes.count)) bytes"
        var out = [Line(text: header, style: Style(.accent, bold: true))]
        let payload = Array(bytes.dropFirst(AvroWire.headerSize))
        guard let schema = details.schema else {
            out.append(
                Line(
                    text:
                        "  no schema for id \(id) (\(details.schemaProblem ?? "not known")); the bytes after the 5-byte header:",
                    style: .warn))
            return out + hexDump(payload)
        }
        switch schema.kind {
        case .avro(let avro):
            do {
                let json = try payload.withUnsafeBytes { p throws(AvroError) in
                    try AvroJSONRendering.json(schema: avro, payload: p)
                }
                let compact = "  " + json
                // A short record (most keys) on one line; a longer one one member per line.
                if DisplayWidth.of(compact) <= width {
                    out.append(Line(text: compact, style: .text))
                } else {
                    let readable = AvroReadableValues(schema: avro)
                    out += RawJSON.pretty(Array(json.utf8)).map {
                        Line(text: "  " + $0, style: .text, note: note($0, readable))
                    }
                }
            } catch {
                out.append(
                    Line(
                        text: "  cannot be read with schema id \(id): \(error); the bytes after the 5-byte header:",
                        style: .warn))
                out += hexDump(payload)
            }
        case .json:
            out += RawJSON.pretty(payload).map { Line(text: "  " + $0, style: .text) }
        case .protobuf:
            out.append(
                Line(
                    text: "  a Protobuf schema: cdctop does not decode Protobuf; the bytes after the 5-byte header:",
                    style: .warn))
            out += hexDump(payload)
        case .unusable(let why):
            out.append(
                Line(
                    text: "  the registry's schema cannot be used: \(why); the bytes after the 5-byte header:",
                    style: .warn))
            out += hexDump(payload)
        }
        return out
    }

    /// `"amount": "AiMb",` → `1400.59`: a member line of the pretty JSON whose column's value is not readable as is.
    static func note(_ line: String, _ readable: AvroReadableValues) -> String? {
        let member = line.drop(while: { $0 == " " })
        guard member.first == "\"", let colon = member.range(of: "\": ") else { return nil }
        let name = String(member[member.index(after: member.startIndex)..<colon.lowerBound])
        var value = member[colon.upperBound...]
        if value.last == "," { value = value.dropLast() }
        guard let parsed = JSONValue.parse(String(value)) else { return nil }
        return readable.readable(column: name, value: parsed).map { "= \($0)" }
    }

    /// `subject shop.public.transaction-value · version 1`, or why the subject is not known.
    static func subjectText(_ subjects: SchemaDetails.Subjects, separator dot: String = " · ") -> String {
        switch subjects {
        case .asking: return "subject … (asking the registry)"
        case .unknown(let why): return "subject unknown (\(why))"
        case .known(let list):
            guard let first = list.first else { return "subject unknown (the registry names none for this id)" }
            var text = "subject \(first.subject)\(first.version.map { "\(dot)version \($0)" } ?? "")"
            if list.count > 1 {
                text +=
                    " (also "
                    + list.dropFirst().map { "\($0.subject)\($0.version.map { " v\($0)" } ?? "")" }.joined(
                        separator: ", ") + ")"
            }
            return text
        }
    }

    /// A sentence broken at spaces to fit `width`, the lines after the first indented two more than it.
    static func flow(_ text: String, width: Int) -> [String] {
        guard width > 8, DisplayWidth.of(text) > width else { return [text] }
        let indent = String(repeating: " ", count: text.prefix(while: { $0 == " " }).count + 2)
        var out: [String] = []
        var rest = Substring(text)
        while DisplayWidth.of(String(rest)) > width {
            let fits = rest.prefix(width + 1).dropFirst(indent.count)
            // The last space that does not part a number from its unit ("6 bytes" stays on one line).
            var candidate = fits.lastIndex(of: " ")
            while let c = candidate, let before = fits[..<c].split(separator: " ").last,
                before.allSatisfy({ $0.isNumber || $0 == "," }), let earlier = fits[..<c].lastIndex(of: " ")
            {
                candidate = earlier
            }
            guard let space = candidate else { break }
            out.append(String(rest[..<space]))
            rest = Substring(indent + rest[rest.index(after: space)...])
        }
        return out + [String(rest)]
    }

    /// `  0000  00 01 02 …` 16 bytes a line, at most 16 lines (what follows is counted, not shown).
    static func hexDump(_ bytes: [UInt8], maxLines: Int = 16) -> [Line] {
        let digits = Array("0123456789abcdef")
        var out: [Line] = []
        var offset = 0
        while offset < bytes.count, out.count < maxLines {
            var text = "  " + String(format: "%04x", offset & 0xFFFF) + " "
            for b in bytes[offset..<min(offset + 16, bytes.count)] {
                text += " " + String(digits[Int(b >> 4)]) + String(digits[Int(b & 15)])
            }
            out.append(Line(text: text, style: .dim))
            offset += 16
        }
        if offset < bytes.count {
            out.append(Line(text: "  … \(Format.count(bytes.count - offset)) more bytes", style: .dim))
        }
        return out
    }
}
