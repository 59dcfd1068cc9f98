import Foundation
import Metrics
import Synchronization

/// One subject naming a schema id and the version the id has there.
package struct SubjectVersion: Sendable, Hashable {
    package var subject: String
    /// Nil when only the subject is known (an id this run registered itself).
    package var version: Int64?

    package init(subject: String, version: Int64?) {
        self.subject = subject
        self.version = version
    }

    /// `RegisteredSchema.subjects` keeps them as `"subject vN"` (the cache file's form).
    init(cached text: String) {
        if let cut = text.range(of: " v", options: .backwards), let v = Int64(text[cut.upperBound...]) {
            self.init(subject: String(text[..<cut.lowerBound]), version: v)
        } else {
            self.init(subject: text, version: nil)
        }
    }

    var cached: String { version.map { "\(subject) v\($0)" } ?? subject }
}

/// What the raw view shows beside a schema id: the schema (to render the message) and its subjects.
package struct SchemaDetails: Sendable {
    package enum Subjects: Sendable, Hashable {
        /// Asked on the lookup's thread; the next frame shows the answer.
        case asking
        /// The registry's answer (empty: it names no subject for the id).
        case known([SubjectVersion])
        /// Why they are not known: no registry, the registry unreachable, or without the endpoint.
        case unknown(String)
    }

    package var schema: RegisteredSchema?
    /// Why `schema` is nil ("asking the registry", or the registry's error); nil when it is there.
    package var schemaProblem: String?
    package var subjects: Subjects

    package init(schema: RegisteredSchema?, schemaProblem: String? = nil, subjects: Subjects) {
        self.schema = schema
        self.schemaProblem = schemaProblem
        self.subjects = subjects
    }
}

/// Subjects and versions of schema ids (`GET /schemas/ids/{id}/versions`, Confluent's API and Apicurio's
/// ccompat), and schemas the engine never needed (a key's, under the built-in profile), for the dashboard's
/// raw view. `details(id:)` never waits: it answers from memory and queues what is missing for one
/// background thread, so the screen never blocks on the registry and the engine never asks for
/// subjects. Each id is asked once; an answer is kept beside the schema in the state directory's
/// `schemas/<id>.json` (`"subjects":["name vN"]`), so a restart shows it with the registry down. A failure
/// is shown as it is and asked again, when the view still wants it, after `retryAfterMs`.
package final class SchemaDetailsLookup: Sendable {
    private let registry: SchemaRegistryClient?
    /// Schemas known without a registry (replays, tests); asked after the registry's own.
    private let localSchema: @Sendable (Int32) -> RegisteredSchema?
    private struct Entry {
        var subjects: SchemaDetails.Subjects = .asking
        var schemaProblem: String? = nil
        /// When a failed answer may be asked again.
        var retryAtMs: Int64 = 0
    }
    private let state = Mutex<(entries: [Int32: Entry], queue: [Int32])>(([:], []))
    private let worker = WorkerThread(name: "cdctop-registry-details")
    package static let retryAfterMs: Int64 = 30_000

    package init(
        registry: SchemaRegistryClient, localSchema: @escaping @Sendable (Int32) -> RegisteredSchema? = { _ in nil }
    ) {
        self.registry = registry
        self.localSchema = localSchema
    }

    /// Without a registry: schemas from `localSchema`, subjects unknown.
    package init(localSchema: @escaping @Sendable (Int32) -> RegisteredSchema?) {
        self.registry = nil
        self.localSchema = localSchema
    }

    /// What is known of `id` now; whatever is missing is asked for in the background. `askSubjects` false
    /// (the change list, which only needs the schema): memory only, nothing is asked.
    package func details(id: Int32, askSubjects: Bool = true, nowMs: Int64 = WallClock.nowMs()) -> SchemaDetails {
        let schema = registry?.knownSchema(id: id) ?? localSchema(id)
        guard let registry else {
            return SchemaDetails(
                schema: schema, schemaProblem: schema == nil ? "no schema registry given (--schema-registry URL)" : nil,
                subjects: .unknown("no schema registry given"))
        }
        // Cached or answered before: nothing to ask.
        if let schema, !schema.subjects.isEmpty {
            return SchemaDetails(schema: schema, subjects: .known(schema.subjects.map(SubjectVersion.init(cached:))))
        }
        guard askSubjects else {
            return SchemaDetails(
                schema: schema, schemaProblem: schema == nil ? "not fetched yet" : nil, subjects: .unknown("not asked"))
        }
        let (entry, queued) = state.withLock { s -> (Entry, Bool) in
            var e = s.entries[id] ?? Entry(retryAtMs: 0)
            let fresh = s.entries[id] == nil
            let retry: Bool = if case .unknown = e.subjects { nowMs >= e.retryAtMs } else { false }
            guard fresh || retry else { return (e, false) }
            e.subjects = .asking
            if schema == nil { e.schemaProblem = "asking the registry" }
            s.entries[id] = e
            if !s.queue.contains(id) { s.queue.append(id) }
            return (e, true)
        }
        if queued {
            startWorker(registry)
            worker.wake()
        }
        return SchemaDetails(
            schema: schema, schemaProblem: schema == nil ? entry.schemaProblem : nil, subjects: entry.subjects)
    }

    /// Ends the background thread (after the request under way, if any).
    package func stop() { worker.stop(waitSeconds: 0.1) }

    private func startWorker(_ registry: SchemaRegistryClient) {
        worker.start { [self] in
            while !worker.isStopping {
                let next = state.withLock { s -> Int32? in s.queue.isEmpty ? nil : s.queue.removeFirst() }
                guard let id = next else {
                    worker.sleep(seconds: 60)
                    continue
                }
                let entry = answer(id, registry)
                state.withLock { $0.entries[id] = entry }
            }
        }
    }

    /// Asks the registry for what `details` lacked: the schema if unknown, then the id's subjects.
    private func answer(_ id: Int32, _ registry: SchemaRegistryClient) -> Entry {
        var schema = registry.knownSchema(id: id) ?? localSchema(id)
        if schema == nil {
            do { schema = try registry.fetch(id: id) } catch {
                return Entry(
                    subjects: .unknown("registry: \(error.message)"),
                    schemaProblem: "the registry did not answer: \(error.message)",
                    retryAtMs: WallClock.nowMs() + SchemaDetailsLookup.retryAfterMs)
            }
        }
        let subjects: [SubjectVersion]
        do {
            subjects = try SchemaDetailsLookup.subjects(id: id, registry: registry)
        } catch {
            if let schema { registry.keep(schema) }  // a schema fetched here is still worth keeping
            return Entry(
                subjects: .unknown("registry: \(error.message)"),
                retryAtMs: WallClock.nowMs() + SchemaDetailsLookup.retryAfterMs)
        }
        if let schema {
            registry.keep(
                RegisteredSchema(
                    id: id, schemaType: schema.schemaType, text: schema.text, subjects: subjects.map(\.cached)))
        }
        return Entry(subjects: .known(subjects))
    }

    /// `GET /schemas/ids/{id}/versions` → `[{"subject":"…","version":N}]`.
    static func subjects(id: Int32, registry: SchemaRegistryClient) throws(SchemaRegistryError) -> [SubjectVersion] {
        let path = "/schemas/ids/\(id)/versions"
        let response = try registry.request(
            path: path, expect404: "HTTP 404 for GET \(path): no such endpoint, or the id is not there")
        guard case .array(let items)? = JSONValue.parse(response.body) else {
            throw SchemaRegistryError("GET \(path) did not answer a JSON array: \(response.text.prefix(120))")
        }
        return items.compactMap { item in
            item["subject"]?.stringValue.map { SubjectVersion(subject: $0, version: item["version"]?.int64Value) }
        }
    }
}
