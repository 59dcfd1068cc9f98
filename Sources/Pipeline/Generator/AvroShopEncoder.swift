import Foundation
import Metrics

package struct AvroEncodeError: Error, Sendable, CustomStringConvertible {
    package var description: String
    init(_ description: String) { self.description = description }
}

/// Turns the shop workload's JsonConverter messages (`{"schema":…,"payload":…}`) into what Confluent's
/// AvroConverter would have written for the same Connect records: the Connect schema mapped to an Avro
/// schema (as `AvroData.fromConnectSchema` does: records named after the Connect schema, optional
/// fields as unions with null, `decimal` logical type, `connect.name` kept), registered under
/// `<topic>-key` / `<topic>-value`, and each message as 0x00 + 4-byte big-endian id + Avro binary.
/// Messages that are not enveloped JSON (garbage from --malformed-every, tombstones) pass unchanged.
package final class AvroShopEncoder {
    /// `(subject, Avro schema text) → id`; the registry client's `register`.
    private let register: (String, String) throws -> Int32
    /// Per subject and Connect schema: the registered id (each schema is registered once).
    private var ids: [String: [JSONValue: Int32]] = [:]

    package init(register: @escaping (String, String) throws -> Int32) { self.register = register }

    package func encode(_ message: GeneratedMessage) throws -> GeneratedMessage {
        var out = message
        if let key = try encode(message.key, subject: message.topic + "-key") { out.key = key }
        if let value = message.value, let encoded = try encode(value, subject: message.topic + "-value") {
            out.value = encoded
        }
        return out
    }

    /// nil when the bytes are not a `{"schema":…,"payload":…}` envelope (left as they are).
    func encode(_ bytes: [UInt8], subject: String) throws -> [UInt8]? {
        guard bytes.first == UInt8(ascii: "{"), let json = JSONValue.parse(bytes),
            let schema = json["schema"], case .object = schema, let payload = json["payload"]
        else { return nil }
        let id: Int32
        if let known = ids[subject]?[schema] {
            id = known
        } else {
            id = try register(subject, try AvroShopEncoder.avroSchemaText(connect: schema))
            ids[subject, default: [:]][schema] = id
        }
        var out: [UInt8] = [0]
        withUnsafeBytes(of: UInt32(bitPattern: id).bigEndian) { out.append(contentsOf: $0) }
        try AvroShopEncoder.write(payload, schema: schema, to: &out)
        return out
    }

    // MARK: schema

    package static func avroSchemaText(connect: JSONValue) throws -> String {
        var named = Set<String>()
        var out = ""
        try appendSchema(connect, named: &named, to: &out, topLevel: true)
        return out
    }

    private static func quoted(_ s: String) -> String {
        var o = ""
        JSONText.appendQuoted(s, to: &o)
        return o
    }

    private static func isOptional(_ s: JSONValue) -> Bool {
        if case .bool(true)? = s["optional"] { true } else { false }
    }

    private static func appendSchema(
        _ s: JSONValue, named: inout Set<String>, to out: inout String, topLevel: Bool = false
    ) throws {
        let optional = isOptional(s) && !topLevel
        let hasDefault = s["default"].map { !$0.isNull } ?? false
        if optional {
            // A null default puts null first; any other default must be the first branch (Avro's rule).
            out += hasDefault ? "[" : "[\"null\","
        }
        try appendPlain(s, named: &named, to: &out)
        if optional { out += hasDefault ? ",\"null\"]" : "]" }
    }

    private static func appendPlain(_ s: JSONValue, named: inout Set<String>, to out: inout String) throws {
        let type = s["type"]?.stringValue ?? ""
        let name = s["name"]?.stringValue
        var extras = ""
        if let version = s["version"]?.int64Value { extras += ",\"connect.version\":\(version)" }
        if case .object(let parameters)? = s["parameters"] {
            extras +=
                ",\"connect.parameters\":{"
                + parameters.map { quoted($0.key) + ":" + quoted($0.value.stringValue ?? "") }.joined(separator: ",")
                + "}"
        }
        if let d = s["default"], !d.isNull, type != "struct" { extras += ",\"connect.default\":" + jsonText(d) }
        if let name { extras += ",\"connect.name\":" + quoted(name) }
        switch type {
        case "struct":
            let fullName = name ?? "ConnectDefault"
            if named.contains(fullName) {
                out += quoted(fullName)
                return
            }
            named.insert(fullName)
            let dot = fullName.lastIndex(of: ".")
            out +=
                "{\"type\":\"record\",\"name\":"
                + quoted(dot.map { String(fullName[fullName.index(after: $0)...]) } ?? fullName)
            if let dot { out += ",\"namespace\":" + quoted(String(fullName[..<dot])) }
            out += ",\"fields\":["
            guard case .array(let fields)? = s["fields"] else {
                throw AvroEncodeError("struct \(fullName) without fields")
            }
            for (i, f) in fields.enumerated() {
                if i > 0 { out += "," }
                guard let fieldName = f["field"]?.stringValue else {
                    throw AvroEncodeError("field without a name in \(fullName)")
                }
                out += "{\"name\":" + quoted(fieldName) + ",\"type\":"
                try appendSchema(f, named: &named, to: &out)
                if let d = f["default"], !d.isNull {
                    out += ",\"default\":" + (try defaultText(d, schema: f))
                } else if isOptional(f) {
                    out += ",\"default\":null"
                }
                out += "}"
            }
            out += "]" + (name.map { ",\"connect.name\":" + quoted($0) } ?? "") + "}"
        case "int8", "int16":
            out += "{\"type\":\"int\",\"connect.type\":\"\(type)\"" + extras + "}"
        // JsonConverter's schemas name the float types "float" and "double"; Connect's own names too.
        case "int32", "int64", "float32", "float64", "float", "double", "boolean", "string", "bytes":
            let avro = ["int32": "int", "int64": "long", "float32": "float", "float64": "double"][type] ?? type
            if name == "org.apache.kafka.connect.data.Decimal" {
                let scale = s["parameters"]?["scale"]?.stringValue ?? "0"
                let precision = s["parameters"]?["connect.decimal.precision"]?.stringValue
                out +=
                    "{\"type\":\"bytes\",\"scale\":\(scale)" + (precision.map { ",\"precision\":\($0)" } ?? "") + extras
                    + ",\"logicalType\":\"decimal\"}"
            } else if extras.isEmpty {
                out += quoted(avro)
            } else {
                out += "{\"type\":" + quoted(avro) + extras + "}"
            }
        default:
            throw AvroEncodeError("Connect type \(type) is not supported by the Avro encoder")
        }
    }

    /// Avro field defaults: bytes as a string of code points 0–255 (the spec's rule).
    private static func defaultText(_ d: JSONValue, schema: JSONValue) throws -> String {
        if schema["type"]?.stringValue == "bytes", let b64 = d.stringValue, let data = Data(base64Encoded: b64) {
            return quoted(String(data.map { Character(Unicode.Scalar($0)) }))
        }
        return jsonText(d)
    }

    private static func jsonText(_ v: JSONValue) -> String {
        switch v {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return n
        case .string(let s): return quoted(s)
        case .array(let a): return "[" + a.map(jsonText).joined(separator: ",") + "]"
        case .object(let o):
            return "{" + o.map { quoted($0.key) + ":" + jsonText($0.value) }.joined(separator: ",") + "}"
        }
    }

    // MARK: binary

    static func write(_ value: JSONValue, schema: JSONValue, to out: inout [UInt8], topLevel: Bool = true) throws {
        if isOptional(schema) && !topLevel {
            let hasDefault = schema["default"].map { !$0.isNull } ?? false
            let nullBranch: Int64 = hasDefault ? 1 : 0
            if value.isNull {
                writeLong(nullBranch, to: &out)
                return
            }
            writeLong(1 - nullBranch, to: &out)
        } else if value.isNull {
            throw AvroEncodeError(
                "null for a required \(schema["type"]?.stringValue ?? "?") field \(schema["field"]?.stringValue ?? "")")
        }
        switch schema["type"]?.stringValue ?? "" {
        case "struct":
            guard case .array(let fields)? = schema["fields"] else { throw AvroEncodeError("struct without fields") }
            for f in fields {
                let v = value[f["field"]?.stringValue ?? ""] ?? .null
                try write(v, schema: f, to: &out, topLevel: false)
            }
        case "int8", "int16", "int32", "int64":
            guard let n = value.int64Value else { throw AvroEncodeError("not an integer: \(jsonText(value))") }
            writeLong(n, to: &out)
        case "float32", "float":
            guard case .number(let t) = value, let d = Float(t) else {
                throw AvroEncodeError("not a number: \(jsonText(value))")
            }
            withUnsafeBytes(of: d.bitPattern.littleEndian) { out.append(contentsOf: $0) }
        case "float64", "double":
            guard case .number(let t) = value, let d = Double(t) else {
                throw AvroEncodeError("not a number: \(jsonText(value))")
            }
            withUnsafeBytes(of: d.bitPattern.littleEndian) { out.append(contentsOf: $0) }
        case "boolean":
            guard case .bool(let b) = value else { throw AvroEncodeError("not a boolean: \(jsonText(value))") }
            out.append(b ? 1 : 0)
        case "string":
            guard let s = value.stringValue else { throw AvroEncodeError("not a string: \(jsonText(value))") }
            let bytes = Array(s.utf8)
            writeLong(Int64(bytes.count), to: &out)
            out.append(contentsOf: bytes)
        case "bytes":
            guard let b64 = value.stringValue, let data = Data(base64Encoded: b64) else {
                throw AvroEncodeError("bytes are not base64: \(jsonText(value))")
            }
            writeLong(Int64(data.count), to: &out)
            out.append(contentsOf: data)
        case let other:
            throw AvroEncodeError("Connect type \(other) is not supported by the Avro encoder")
        }
    }

    /// Avro `long`/`int`: zigzag, then 7 bits per byte, least significant first.
    static func writeLong(_ n: Int64, to out: inout [UInt8]) {
        var z = UInt64(bitPattern: (n << 1) ^ (n >> 63))
        while z >= 0x80 {
            out.append(UInt8(z & 0x7F) | 0x80)
            z >>= 7
        }
        out.append(UInt8(z))
    }
}
