import Foundation

/// Where a replay finds the schemas of Confluent-framed (Avro) messages, in this order:
/// 1. the recording's own schema lines (`{"schema_id":N,"schema":"…"}`, written by `cdctop record`);
/// 2. `--schemas DIR`: `DIR/<id>.json`, in the form of a state directory's `schemas/` cache
///    (`{"id":N,"schemaType":"AVRO","schema":"…"}`) or the bare Avro schema itself;
/// 3. `--schema-registry`: one request per id (a replay never waits for a registry that is away).
/// An id none of them has makes `schema(id:)` answer nil, which stops the engine core at that message;
/// `missingSchemaReason` then says which id, where it was looked for and what to pass.
///
/// Used on the replay's decoding thread only (schema lines travel there inside their batch).
package final class RecordingSchemas: ConfluentSchemaSource {
    package let directory: String?
    package let registry: SchemaRegistryClient?

    private struct Known {
        var schema: RegisteredSchema
        /// "line 3 of rec.jsonl", "/dir/7.json", "the schema registry": for conflicts.
        var origin: String
    }
    private var known: [Int32: Known] = [:]
    /// Why the last id asked for was not found (what each source said).
    private var lastMiss: (id: Int32, reasons: [String])?

    package init(directory: String? = nil, registry: SchemaRegistryClient? = nil) {
        self.directory = directory
        self.registry = registry
    }

    /// Every schema known so far, by id (from the recording, the directory or the registry).
    package var schemas: [RegisteredSchema] { known.values.map(\.schema).sorted { $0.id < $1.id } }

    /// A schema line of the recording. The same id again with the same schema is fine (recordings
    /// of one registry concatenated); with another schema it is an error: ids are only unique
    /// within one registry, and the engine has already decoded messages with the first one.
    package func add(_ line: RecordingBatch.SchemaLine, file: String) throws {
        let origin = "line \(line.line) of \(file)"
        if let existing = known[line.id] {
            if existing.schema.text == line.text && existing.schema.schemaType == line.schemaType { return }
            throw RecordingError(
                file: file, line: line.line,
                reason:
                    "schema id \(line.id) is defined again with a different schema (the one used so far came from \(existing.origin)): "
                    + "these recordings come from different schema registries; replay them separately")
        }
        known[line.id] = Known(
            schema: RegisteredSchema(id: line.id, schemaType: line.schemaType, text: line.text, subjects: []),
            origin: origin)
    }

    package func schema(id: Int32, whileWaiting: () -> Void) -> RegisteredSchema? {
        if let k = known[id] { return k.schema }
        var reasons = ["the recording has no {\"schema_id\":\(id),…} line before it"]
        if let directory {
            let path = (directory as NSString).appendingPathComponent("\(id).json")
            switch Self.load(path: path, id: id) {
            case .success(let schema):
                known[id] = Known(schema: schema, origin: path)
                return schema
            case .failure(let why):
                reasons.append(why.message)
            }
        }
        if let registry {
            do {
                let schema = try registry.fetch(id: id)
                known[id] = Known(schema: schema, origin: "the schema registry \(registry.target)")
                return schema
            } catch {
                reasons.append("the schema registry \(registry.target) did not give it: \(error.message)")
            }
        }
        lastMiss = (id, reasons)
        return nil
    }

    /// Why the replay stopped at the message at `topic`/`partition`/`offset`, and what to pass.
    package func missingSchemaReason(topic: String, partition: Int32, offset: Int64) -> String {
        guard let (id, reasons) = lastMiss else {
            return "\(topic)[\(partition)]@\(offset): the message could not be decoded (no schema)"
        }
        var advice: [String] = []
        if registry == nil { advice.append("--schema-registry URL (the registry the topics were written with)") }
        if directory == nil {
            advice.append("--schemas DIR (a folder of <id>.json files, like a watch state directory's schemas/)")
        }
        let pass =
            advice.isEmpty
            ? "check that --schemas and --schema-registry belong to these topics"
            : "pass " + advice.joined(separator: " or ")
        return "schema id \(id) (first needed by \(topic)[\(partition)]@\(offset)) is unknown: "
            + reasons.joined(separator: "; ")
            + ". To decode it, \(pass), or record with `cdctop record --schema-registry URL`, which writes every schema into the recording"
    }

    /// `DIR/<id>.json`: the cache form (`"schema"` a string) or a bare Avro schema.
    static func load(path: String, id: Int32) -> Result<RegisteredSchema, SchemaFileError> {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            return .failure(SchemaFileError(exists ? "\(path) cannot be read" : "there is no \(path)"))
        }
        let bytes = Array(data)
        guard let json = JSONValue.parse(bytes) else { return .failure(SchemaFileError("\(path) is not JSON")) }
        if let text = json["schema"]?.stringValue {
            if let stated = json["id"]?.int64Value, stated != Int64(id) {
                return .failure(SchemaFileError("\(path) says it holds schema id \(stated), not \(id)"))
            }
            return .success(
                RegisteredSchema(
                    id: id, schemaType: json["schemaType"]?.stringValue ?? "AVRO", text: text, subjects: []))
        }
        return .success(
            RegisteredSchema(id: id, schemaType: "AVRO", text: String(decoding: bytes, as: UTF8.self), subjects: []))
    }

    struct SchemaFileError: Error {
        var message: String
        init(_ message: String) { self.message = message }
    }
}
