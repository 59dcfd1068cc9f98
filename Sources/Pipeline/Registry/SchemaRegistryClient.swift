import Foundation
import Metrics
import Synchronization

/// What the registry's answer for a schema id is, compiled once.
package enum RegisteredSchemaKind: Sendable {
    case avro(AvroSchema)
    /// Confluent's JSON-Schema framing: the bytes after the header are JSON text.
    case json
    case protobuf
    /// The registry's text could not be compiled: every message with this id is malformed.
    case unusable(String)
}

/// One schema id as the registry answered it (or as the cache kept it).
package final class RegisteredSchema: Sendable {
    package let id: Int32
    package let schemaType: String
    package let text: String
    /// `subject` and `version` pairs naming this id, when the registry says (`/schemas/ids/{id}/versions`).
    package let subjects: [String]
    package let kind: RegisteredSchemaKind

    package init(id: Int32, schemaType: String, text: String, subjects: [String]) {
        self.id = id
        self.schemaType = schemaType
        self.text = text
        self.subjects = subjects
        switch schemaType {
        case "JSON": kind = .json
        case "PROTOBUF": kind = .protobuf
        case "AVRO", "":
            do { kind = .avro(try AvroSchema(json: text)) } catch { kind = .unusable("\(error)") }
        default: kind = .unusable("schema type \(schemaType) is not supported")
        }
    }

    /// The cache file's content: `{"id":N,"schemaType":"AVRO","schema":"…","subjects":["s v1"]}`.
    var cacheJSON: String {
        var out = "{\"id\":\(id),\"schemaType\":"
        JSONText.appendQuoted(schemaType, to: &out)
        out += ",\"schema\":"
        JSONText.appendQuoted(text, to: &out)
        out += ",\"subjects\":["
        for (i, s) in subjects.enumerated() {
            if i > 0 { out += "," }
            JSONText.appendQuoted(s, to: &out)
        }
        return out + "]}\n"
    }

    static func fromCache(_ json: JSONValue) -> RegisteredSchema? {
        guard let id = json["id"]?.int64Value, let text = json["schema"]?.stringValue else { return nil }
        var subjects: [String] = []
        if case .array(let items)? = json["subjects"] { subjects = items.compactMap(\.stringValue) }
        return RegisteredSchema(
            id: Int32(truncatingIfNeeded: id), schemaType: json["schemaType"]?.stringValue ?? "AVRO",
            text: text, subjects: subjects)
    }
}

/// Where `EngineCore` gets the schema of a Confluent-framed message. `schema(id:)` blocks until the
/// schema is known and returns nil only when the run is stopping (the message is then left unread).
package protocol ConfluentSchemaSource: AnyObject {
    func schema(id: Int32, whileWaiting: () -> Void) -> RegisteredSchema?
    /// The same, naming the partition whose message needs the id (`/metrics` shows it while it waits).
    func schema(id: Int32, neededBy partition: (topic: String, partition: Int32)?, whileWaiting: () -> Void)
        -> RegisteredSchema?
}

extension ConfluentSchemaSource {
    package func schema(id: Int32, neededBy partition: (topic: String, partition: Int32)?, whileWaiting: () -> Void)
        -> RegisteredSchema?
    {
        schema(id: id, whileWaiting: whileWaiting)
    }
}

/// Credentials for the registry: from `--schema-registry-auth-file` or `$CDCTOP_SCHEMA_REGISTRY_AUTH`
/// (`user:password` or `bearer TOKEN`), never from the command line.
package enum SchemaRegistryAuth: Sendable, Equatable {
    case none
    case basic(user: String, password: String)
    case bearer(String)

    package static let environmentVariable = "CDCTOP_SCHEMA_REGISTRY_AUTH"

    package init(parsing text: String, origin: String) throws(SchemaRegistryError) {
        let line =
            text.split(whereSeparator: \.isNewline).first.map(String.init)?.trimmingCharacters(in: .whitespaces) ?? ""
        if line.lowercased().hasPrefix("bearer ") {
            let token = line.dropFirst("bearer ".count).trimmingCharacters(in: .whitespaces)
            guard !token.isEmpty else { throw SchemaRegistryError("\(origin): 'bearer' without a token") }
            self = .bearer(token)
        } else if let colon = line.firstIndex(of: ":"), colon != line.startIndex {
            self = .basic(user: String(line[..<colon]), password: String(line[line.index(after: colon)...]))
        } else {
            throw SchemaRegistryError("\(origin): expected one line 'user:password' or 'bearer TOKEN'")
        }
    }

    /// The file when given, else the environment variable, else none.
    package static func load(file: String?, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(SchemaRegistryError) -> SchemaRegistryAuth
    {
        if let file {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw SchemaRegistryError("--schema-registry-auth-file \(file): cannot read the file")
            }
            return try SchemaRegistryAuth(parsing: text, origin: file)
        }
        if let value = environment[environmentVariable], !value.isEmpty {
            return try SchemaRegistryAuth(parsing: value, origin: "$\(environmentVariable)")
        }
        return .none
    }
}

package struct SchemaRegistryError: Error, Sendable, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}

package struct SchemaRegistryConfig: Sendable {
    /// Base URLs, tried in order (the last one that answered first). A base may carry a path, e.g.
    /// Apicurio's `http://host:8080/apis/ccompat/v7`.
    package var urls: [String]
    package var auth: SchemaRegistryAuth = .none
    package var caFile: String?
    /// `<state dir>/schemas`: every fetched id is written there and loaded at start; nil: memory only.
    package var cacheDirectory: String?
    package var attemptTimeoutSeconds: Double = 2
    package var maxBackoffSeconds: Double = 5

    package init(urls: [String]) { self.urls = urls }

    /// `--schema-registry URL[,URL…]`.
    package static func parseURLs(_ text: String) throws(SchemaRegistryError) -> [String] {
        let urls = text.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter {
            !$0.isEmpty
        }
        guard !urls.isEmpty else {
            throw SchemaRegistryError("--schema-registry needs a URL, e.g. http://127.0.0.1:8081")
        }
        return try urls.map { url throws(SchemaRegistryError) -> String in
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw SchemaRegistryError("--schema-registry: \(url) is not an http:// or https:// URL")
            }
            var u = url
            while u.hasSuffix("/") { u.removeLast() }
            return u
        }
    }
}

/// A Confluent-compatible schema registry (Confluent, Apicurio's ccompat API, Karapace, the test stand-in):
/// `GET /schemas/ids/{id}` per unknown id, kept in memory and in the state directory. The engine thread
/// asks it; while the registry is away it waits (bounded attempts, growing pauses) and says why.
package final class SchemaRegistryClient: ConfluentSchemaSource, Sendable {
    package let config: SchemaRegistryConfig
    private let known = Mutex<[Int32: RegisteredSchema]>([:])
    private let cancelled = Atomic<Bool>(false)
    private let preferred = Atomic<Int>(0)
    private struct StatusState {
        var status: ServiceStatus
        var fetched = 0
        var fromCache = 0
        /// Failed passes over the URLs while an id was awaited, and the partitions held meanwhile (for /metrics).
        var fetchErrors: Int64 = 0
        var waits: [SchemaWait] = []
    }
    private let statusState: Mutex<StatusState>
    /// What the status names as the registry (URLs without passwords).
    package let target: String

    package init(config: SchemaRegistryConfig) {
        self.config = config
        target = config.urls.map(CurlHTTP.redacted).joined(separator: ",")
        statusState = Mutex(
            StatusState(
                status: ServiceStatus(
                    .ok, "\(config.urls.count == 1 ? "" : "\(config.urls.count) URLs, ")no schema id needed yet")))
        loadCache()
    }

    /// Ends every wait (the run is stopping): `schema(id:)` then returns nil.
    package func cancelWaits() { cancelled.store(true, ordering: .relaxed) }

    package var status: ServiceStatus { statusState.withLock { $0.status } }

    /// What `/metrics` shows of the registry (read under the client's own locks, never the engine's).
    package var metrics: SchemaRegistryMetrics {
        let known = known.withLock { $0.count }
        return statusState.withLock {
            SchemaRegistryMetrics(
                up: $0.status.state == .ok, schemasKnown: known, fetched: $0.fetched, fromCache: $0.fromCache,
                fetchErrors: $0.fetchErrors, waits: $0.waits)
        }
    }

    /// Every id known so far (fetched or cached), by id.
    package var knownSchemas: [RegisteredSchema] { known.withLock { Array($0.values) }.sorted { $0.id < $1.id } }

    // MARK: the engine's question

    package func schema(id: Int32, whileWaiting: () -> Void) -> RegisteredSchema? {
        schema(id: id, neededBy: nil, whileWaiting: whileWaiting)
    }

    package func schema(id: Int32, neededBy partition: (topic: String, partition: Int32)?, whileWaiting: () -> Void)
        -> RegisteredSchema?
    {
        if let s = known.withLock({ $0[id] }) { return s }
        let sinceMs = WallClock.nowMs()
        let wait = SchemaWait(
            schemaID: id, topic: partition?.topic ?? "", partition: partition?.partition ?? -1, sinceMs: sinceMs)
        defer { statusState.withLock { $0.waits.removeAll { $0 == wait } } }
        var pause = 0.2
        var attempts = 0
        while !cancelled.load(ordering: .relaxed) {
            do {
                let s = try fetch(id: id)
                remember(s, fetched: true)
                return s
            } catch {
                if cancelled.load(ordering: .relaxed) { break }
                attempts += 1
                let next = WallClock.nowMs() + Int64(pause * 1000)
                let why = "waiting for schema id \(id) since \(SchemaRegistryClient.clock(sinceMs)) (\(error.message))"
                statusState.withLock {
                    $0.status = ServiceStatus(
                        .error, why, error: error.message, attempts: attempts, nextRetryAtMs: next)
                    $0.fetchErrors += 1
                    if attempts == 1 { $0.waits.append(wait) }
                }
                // Sleep in slices: a stop is noticed within 50 ms, and the engine publishes meanwhile.
                var slept = 0.0
                var sinceHook = 1.0
                while slept < pause && !cancelled.load(ordering: .relaxed) {
                    if sinceHook >= 0.2 {
                        whileWaiting()
                        sinceHook = 0
                    }
                    Thread.sleep(forTimeInterval: 0.05)
                    slept += 0.05
                    sinceHook += 0.05
                }
                pause = min(pause * 2, config.maxBackoffSeconds)
            }
        }
        return nil
    }

    /// One pass over the URLs (the one that answered last first); throws the last failure.
    package func fetch(id: Int32) throws(SchemaRegistryError) -> RegisteredSchema {
        let body = try request(path: "/schemas/ids/\(id)", expect404: "schema id \(id) is not in the registry (40403)")
        guard let json = JSONValue.parse(body.body), let text = json["schema"]?.stringValue else {
            throw SchemaRegistryError("GET /schemas/ids/\(id): the answer has no \"schema\": \(body.text.prefix(200))")
        }
        // Subjects and versions are asked only when a raw view shows this id (SchemaDetailsLookup), never here.
        return RegisteredSchema(id: id, schemaType: json["schemaType"]?.stringValue ?? "AVRO", text: text, subjects: [])
    }

    /// `POST /subjects/{subject}/versions` (the generator): the id of the schema, registering it if new.
    package func register(subject: String, schema: String, schemaType: String = "AVRO") throws(SchemaRegistryError)
        -> Int32
    {
        var body = "{\"schema\":"
        JSONText.appendQuoted(schema, to: &body)
        if schemaType != "AVRO" {
            body += ",\"schemaType\":"
            JSONText.appendQuoted(schemaType, to: &body)
        }
        body += "}"
        let path = "/subjects/\(SchemaRegistryClient.percentEncoded(subject))/versions"
        let response = try request(path: path, method: "POST", body: Array(body.utf8), expect404: "")
        guard let id = JSONValue.parse(response.body)?["id"]?.int64Value else {
            throw SchemaRegistryError("POST \(path): the answer has no id: \(response.text.prefix(200))")
        }
        remember(
            RegisteredSchema(
                id: Int32(truncatingIfNeeded: id), schemaType: schemaType, text: schema, subjects: [subject]),
            fetched: false)
        return Int32(truncatingIfNeeded: id)
    }

    func request(path: String, method: String = "GET", body: [UInt8]? = nil, expect404: String)
        throws(SchemaRegistryError) -> CurlHTTP.Response
    {
        let count = config.urls.count
        let start = preferred.load(ordering: .relaxed)
        var failures: [String] = []
        for step in 0..<count {
            let index = (start + step) % count
            let base = config.urls[index]
            var r = CurlHTTP.Request(url: base + path)
            r.method = method
            r.body = body
            r.headers = ["Accept: application/vnd.schemaregistry.v1+json, application/json"]
            if body != nil { r.headers.append("Content-Type: application/vnd.schemaregistry.v1+json") }
            r.caFile = config.caFile
            r.timeoutSeconds = config.attemptTimeoutSeconds
            switch config.auth {
            case .none: break
            case .basic(let user, let password): r.userPassword = "\(user):\(password)"
            case .bearer(let token): r.bearerToken = token
            }
            let here = count > 1 ? "\(CurlHTTP.redacted(base)): " : ""
            let response: CurlHTTP.Response
            do {
                response = try CurlHTTP.perform(r, cancelled: { [self] in self.cancelled.load(ordering: .relaxed) })
            } catch {
                failures.append(here + error.message)
                continue
            }
            switch response.status {
            case 200..<300:
                preferred.store(index, ordering: .relaxed)
                return response
            case 401, 403:
                let how =
                    config.auth == .none
                    ? "the registry wants credentials: put 'user:password' or 'bearer TOKEN' in --schema-registry-auth-file or $\(SchemaRegistryAuth.environmentVariable)"
                    : "the registry refused the credentials: check --schema-registry-auth-file / $\(SchemaRegistryAuth.environmentVariable)"
                failures.append(
                    here + "HTTP \(response.status) \(response.status == 401 ? "Unauthorized" : "Forbidden"): " + how)
            case 404 where !expect404.isEmpty:
                failures.append(here + expect404)
            default:
                let message =
                    JSONValue.parse(response.body)?["message"]?.stringValue ?? String(response.text.prefix(200))
                failures.append(here + "HTTP \(response.status) for \(method) \(path): \(message)")
            }
        }
        throw SchemaRegistryError(failures.joined(separator: "; "))
    }

    // MARK: cache

    /// The schema of `id` when already known (fetched or cached); never asks the registry.
    package func knownSchema(id: Int32) -> RegisteredSchema? { known.withLock { $0[id] } }

    /// Keeps `s` (e.g. with its subjects filled in for the raw view) in memory and in the cache file.
    func keep(_ s: RegisteredSchema) {
        known.withLock { $0[s.id] = s }
        guard let directory = config.cacheDirectory else { return }
        // Atomic: a crash leaves the old file or the new one, never half of one.
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try? s.cacheJSON.write(
            toFile: (directory as NSString).appendingPathComponent("\(s.id).json"), atomically: true, encoding: .utf8)
    }

    private func remember(_ s: RegisteredSchema, fetched: Bool) {
        if fetched { keep(s) } else { known.withLock { $0[s.id] = s } }
        statusState.withLock {
            if fetched { $0.fetched += 1 }
            $0.status = ServiceStatus(.ok, describe(fetched: $0.fetched, fromCache: $0.fromCache, latest: s))
        }
    }

    private func describe(fetched: Int, fromCache: Int, latest: RegisteredSchema?) -> String {
        var text = "\(fetched) schema id\(fetched == 1 ? "" : "s") fetched, \(fromCache) from the cache"
        if let latest {
            text += "; last: id \(latest.id) \(latest.schemaType)\(latest.subjects.first.map { " (\($0))" } ?? "")"
        }
        return text
    }

    private func loadCache() {
        guard let directory = config.cacheDirectory,
            let names = try? FileManager.default.contentsOfDirectory(atPath: directory)
        else { return }
        var loaded = 0
        for name in names where name.hasSuffix(".json") {
            let path = (directory as NSString).appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: path), let json = JSONValue.parse(Array(data)),
                let s = RegisteredSchema.fromCache(json)
            else { continue }
            known.withLock { $0[s.id] = s }
            loaded += 1
        }
        statusState.withLock {
            $0.fromCache = loaded
            $0.status = ServiceStatus(.ok, describe(fetched: 0, fromCache: loaded, latest: nil))
        }
    }

    // MARK: text

    /// `https://u:secret@h` → `https://u:***@h`.
    static func percentEncoded(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/")))
            ?? s
    }

    /// `12:00:03`, local time.
    static func clock(_ ms: Int64) -> String {
        var t = time_t(ms / 1000)
        var parts = tm()
        localtime_r(&t, &parts)
        return String(format: "%02d:%02d:%02d", parts.tm_hour, parts.tm_min, parts.tm_sec)
    }
}
