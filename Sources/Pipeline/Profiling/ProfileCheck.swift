import Foundation
import Metrics

/// `cdctop profile check`: whether a model profile can work on a sample of the real topics — every
/// table and column it reads, keys, deletes, topic mappings, and the sample fed through a real engine.
package struct ProfileCheckReport: Sendable, Codable {
    package struct ColumnReport: Sendable, Codable {
        package var name: String
        /// present, null in every sampled row, missing in some rows, never present, not a number, no rows sampled.
        package var status: String
        package var ok: Bool
        package var readBy: [String]
        package var type: String
        package var detail: String?
    }
    package struct TableReport: Sendable, Codable {
        package var name: String
        package var topics: [String]
        /// `[tables.X] topics`, when the profile sets it.
        package var topicPattern: String?
        package var messages: Int
        package var ops: [String: Int]
        /// Where row keys come from: `record key (a, b)` or `profile key (a, b)`.
        package var key: String
        package var messagesWithoutKey: Int
        package var deletes: String
        package var columns: [ColumnReport]
    }
    package struct KPIReport: Sendable, Codable {
        package var name: String
        package var tables: [String]
        package var unresolvedRows: Int64
    }
    package struct MalformedReason: Sendable, Codable {
        package var table: String
        package var reason: String
        package var count: Int
    }

    package var profile: String
    package var source: String
    package var messagesPerTopic: Int
    package var messages: Int
    package var topics: [String]
    package var tables: [TableReport] = []
    package var kpis: [KPIReport] = []
    package var malformed: [MalformedReason] = []
    package var malformedTotal: Int64 = 0
    package var problems: [String] = []
    package var warnings: [String] = []
    package var notes: [String] = []

    package var usable: Bool { problems.isEmpty }
}

package enum ProfileChecker {
    package static func check(profile: KPIProfile, file: String, sample: MessageSample) -> ProfileCheckReport {
        var report = ProfileCheckReport(
            profile: file, source: sample.source, messagesPerTopic: sample.perTopicLimit,
            messages: sample.messages.count, topics: sample.topics)
        report.notes = sample.notes
        guard let model = profile.model else {
            report.problems.append(
                "\(file) is a profile of the older built-in form ([sale]/[line_item]/[dimension]); profile check reads KPIs written as SQL ([kpi.NAME])"
            )
            return report
        }
        // Topics pinned by [tables.X] topics.
        let patterns: [(String, Regex<AnyRegexOutput>)] = model.tables.compactMap { t in
            t.topicPattern.flatMap { try? Regex($0) }.map { (t.name, $0) }
        }
        let observation = SampleObservation(sample) { topic in
            patterns.first { topic.wholeMatch(of: $0.1) != nil }?.0
        }
        if sample.messages.isEmpty {
            report.problems.append(
                "the sample holds no message: check --topics (a regex starts with ^) and that the topics have data")
        }

        // Columns each KPI reads, and those it needs as numbers.
        var readers: [Int: [Int: [String]]] = [:]  // table → slot → KPI names
        var numericUse: [Int: [Int: [String]]] = [:]
        for kpi in model.kpis {
            let tableOf: (Int) -> Int = { $0 == 0 ? kpi.fact : kpi.joins[$0 - 1].table }
            var refs: [ColumnRef] = []
            kpi.rowFilter?.collectColumns(into: &refs)
            kpi.joinFilter?.collectColumns(into: &refs)
            for g in kpi.groups { g.collectColumns(into: &refs) }
            for a in kpi.aggregates { a.argument?.collectColumns(into: &refs) }
            for (i, j) in kpi.joins.enumerated() {
                refs.append(ColumnRef(alias: j.parent, slot: j.parentColumn))
                refs.append(ColumnRef(alias: i + 1, slot: j.matchColumn))
            }
            for r in refs where !(readers[tableOf(r.alias)]?[r.slot]?.contains(kpi.name) ?? false) {
                readers[tableOf(r.alias), default: [:]][r.slot, default: []].append(kpi.name)
            }
            var numeric: [ColumnRef] = []
            for a in kpi.aggregates where a.kind == .sum || a.kind == .avg {
                a.argument.map { numericRefs($0, numeric: true, into: &numeric) }
            }
            kpi.rowFilter.map { numericRefs($0, numeric: false, into: &numeric) }
            kpi.joinFilter.map { numericRefs($0, numeric: false, into: &numeric) }
            for g in kpi.groups { numericRefs(g, numeric: false, into: &numeric) }
            for r in numeric where !(numericUse[tableOf(r.alias)]?[r.slot]?.contains(kpi.name) ?? false) {
                numericUse[tableOf(r.alias), default: [:]][r.slot, default: []].append(kpi.name)
            }
        }

        for (ti, table) in model.tables.enumerated() {
            let obs = observation.table(table.name)
            var tr = ProfileCheckReport.TableReport(
                name: table.name, topics: obs?.topics ?? [], topicPattern: table.topicPattern,
                messages: obs?.messages ?? 0, ops: obs?.ops ?? [:], key: "", messagesWithoutKey: obs?.withoutKey ?? 0,
                deletes: obs.map { ProfileChecker.deletesText($0, profileKey: table.keyColumns) } ?? "-", columns: [])
            if let pattern = table.topicPattern {
                let matched = sample.topics.filter { t in
                    patterns.contains { $0.0 == table.name && t.wholeMatch(of: $0.1) != nil }
                }
                if matched.isEmpty {
                    report.problems.append(
                        "\(table.name): no sampled topic matches [tables.\(table.name)] topics = \"\(pattern)\" (the pattern must match the whole name; topics seen: \(sample.topics.prefix(8).joined(separator: ", ")))"
                    )
                }
            }
            guard let obs, obs.messages > 0 else {
                if table.topicPattern == nil {
                    report.problems.append(
                        "\(table.name): no message of this table in the sample (its topic should end in .\(table.name), or name it with [tables.\(table.name)] topics = \"…\"; topics seen: \(sample.topics.prefix(8).joined(separator: ", ")))"
                    )
                }
                tr.key =
                    table.keyColumns.map { "profile key (\($0.joined(separator: ", ")))" } ?? "record key (not seen)"
                for (slot, name) in table.columns.enumerated() {
                    tr.columns.append(
                        .init(
                            name: name, status: "no rows sampled", ok: false, readBy: readers[ti]?[slot] ?? [],
                            type: "-", detail: nil))
                }
                report.tables.append(tr)
                continue
            }
            // Keys.
            if let keys = table.keyColumns {
                tr.key = "profile key (\(keys.joined(separator: ", ")))"
                if obs.deletesNoBefore > 0 {
                    report.problems.append(
                        "\(table.name): \(obs.deletesNoBefore) deletes have no before image, so the profile's key columns (\(keys.joined(separator: ", "))) cannot be read from them: drop [tables.\(table.name)] key to use the record key, or set REPLICA IDENTITY FULL"
                    )
                }
                if obs.deletesKeyOnly > 0, !keys.allSatisfy(obs.keyColumns.contains) {
                    report.problems.append(
                        "\(table.name): deletes carry only the record key (\(obs.keyColumns.joined(separator: ", "))), not every column of the profile's key (\(keys.joined(separator: ", "))): use the record key, or set REPLICA IDENTITY FULL"
                    )
                }
            } else if obs.keyColumns.isEmpty {
                tr.key = "none: messages have no record key"
                report.problems.append(
                    "\(table.name): messages have no record key, so cdctop cannot tell its rows apart. Fixes: give the table a primary key; or set Debezium's message.key.columns (e.g. \"<db>.<schema>.\(table.name):id\"); or name the columns in the profile: [tables.\(table.name)] key = [\"…\"]"
                )
            } else {
                tr.key = "record key (\(obs.keyColumns.joined(separator: ", ")))"
                if obs.withoutKey > 0 {
                    report.problems.append(
                        "\(table.name): \(obs.withoutKey) of \(obs.messages) messages have no record key (they will be malformed): set message.key.columns, or name key columns with [tables.\(table.name)] key = [\"…\"]"
                    )
                }
            }
            if obs.unreadable > 0 {
                report.problems.append(
                    "\(table.name): \(obs.unreadable) messages are not change events cdctop can read (e.g. \(obs.unreadableExample ?? "?")): cdctop reads Debezium's JsonConverter output, and Confluent's AvroConverter output with --schema-registry"
                )
            }
            // Columns.
            for (slot, name) in table.columns.enumerated() {
                let by = readers[ti]?[slot] ?? (table.keyColumns?.contains(name) == true ? ["key"] : [])
                let byText =
                    by.isEmpty
                    ? ""
                    : " (read by \(by.map { $0 == "key" ? "[tables.\(table.name)] key" : "kpi.\($0)" }.joined(separator: ", ")))"
                guard let col = obs.column(name) else {
                    if obs.images == 0 {
                        tr.columns.append(
                            .init(
                                name: name, status: "no rows sampled", ok: true, readBy: by, type: "-",
                                detail: "the sample holds no row image of \(table.name) (only deletes or tombstones)"))
                        report.warnings.append(
                            "\(table.name): no row image in the sample, so its columns could not be checked")
                        continue
                    }
                    let hint = suggestion(for: name, among: obs.columns.map(\.name))
                    tr.columns.append(
                        .init(
                            name: name, status: "never present", ok: false, readBy: by, type: "-",
                            detail: hint.map { "did you mean \($0)?" }))
                    report.problems.append(
                        "\(table.name).\(name): never present in \(obs.images) sampled rows\(byText)"
                            + (hint.map { "; did you mean \($0)? (names are case-sensitive)" }
                                ?? "; columns seen: \(obs.columns.prefix(12).map(\.name).joined(separator: ", "))"))
                    continue
                }
                var status = "present"
                var ok = true
                var detail: String? = nil
                let numericBy = numericUse[ti]?[slot] ?? []
                if col.present < obs.images {
                    status = "missing in some rows"
                    ok = false
                    detail = "absent from \(obs.images - col.present) of \(obs.images) rows"
                    report.problems.append(
                        "\(table.name).\(name): absent from \(obs.images - col.present) of \(obs.images) sampled rows\(byText): those events will be malformed"
                    )
                } else if !numericBy.isEmpty && col.nonNumericValues > 0 {
                    status = "not a number"
                    ok = false
                    let example = col.examples.first { ExactDecimal.parse($0) == nil } ?? col.examples.first ?? "?"
                    let base64 =
                        !obs.hasSchema
                        && col.examples.contains {
                            $0.hasSuffix("=")
                                || $0.range(of: "^[A-Za-z0-9+/]{2,}={0,2}$", options: .regularExpression) != nil
                        }
                    detail = "\(col.typeSummary), e.g. '\(example)'"
                    report.problems.append(
                        "\(table.name).\(name): \(col.typeSummary), e.g. '\(example)', where kpi.\(numericBy.joined(separator: ", kpi.")) needs a number"
                            + (base64
                                ? " — this looks like Decimal bytes without a schema: set Debezium's decimal.handling.mode=string (or enable value schemas)"
                                : ""))
                } else if col.nulls == col.present {
                    status = "null in every sampled row"
                    detail = "null in all \(col.present) rows"
                    report.warnings.append("\(table.name).\(name): null in every sampled row\(byText)")
                } else if col.unavailable > 0 {
                    detail = "\(col.unavailable) unavailable (TOASTed) values: cdctop uses the remembered value"
                }
                tr.columns.append(
                    .init(name: name, status: status, ok: ok, readBy: by, type: col.typeSummary, detail: detail))
            }
            report.tables.append(tr)
        }

        // The sample through a real engine.
        let core = EngineCore(profile: profile)
        // Framed (Avro) messages decode with the schemas the sample fetched: the engine never waits here.
        if !sample.schemas.isEmpty { core.schemaSource = SampleSchemaSource(sample.schemas) }
        core.noteWallClock(nowMs: WallClock.nowMs())
        var reasons: [String: (table: String, count: Int)] = [:]
        var order: [String] = []
        for m in sample.messages {
            let before = core.malformed
            core.ingest(
                topic: m.topic, partition: m.partition, offset: m.offset, timestampMs: m.timestampMs, key: m.key,
                value: m.value)
            if core.malformed > before, let last = core.recentMalformed.last {
                let table = observation.tableOfTopic[m.topic] ?? DebeziumTopicName.table(of: m.topic)
                let reason = ProfileChecker.withoutPosition(last.reason)
                let key = table + "\u{1F}" + reason
                if reasons[key] == nil { order.append(key) }
                reasons[key, default: (table, 0)].count += 1
            }
        }
        report.malformedTotal = core.malformed
        for k in order {
            let r = reasons[k]!
            let reason = String(k.split(separator: "\u{1F}", maxSplits: 1).last ?? "")
            report.malformed.append(.init(table: r.table, reason: reason, count: r.count))
            report.problems.append("\(r.table): \(r.count) malformed: \(reason)")
        }
        let result = core.result
        for (k, kpi) in model.kpis.enumerated() {
            let tables = [model.tables[kpi.fact].name] + kpi.joins.map { model.tables[$0.table].name }
            let unresolved = k < result.totals.kpis.count ? result.totals.kpis[k].unresolvedRows : 0
            report.kpis.append(.init(name: kpi.name, tables: tables, unresolvedRows: unresolved))
            guard unresolved > 0 else { continue }
            let lookups = kpi.joins.map { model.tables[$0.table].name }
            let lookupTopics = lookups.flatMap { observation.table($0)?.topics ?? [] }
            let complete = !lookupTopics.isEmpty && lookupTopics.allSatisfy(sample.completeTopics.contains)
            let text =
                "kpi.\(kpi.name): \(unresolved) rows of \(tables[0]) whose chain (\(lookups.joined(separator: " → "))) does not resolve"
            if complete {
                report.problems.append(
                    text
                        + ": the lookup topics were read to their end, so the join columns do not match (check the on columns, their types, e.g. text '10' vs number 10)"
                )
            } else {
                report.warnings.append(
                    text
                        + " in the sample: the rows they need may lie beyond the first \(sample.perTopicLimit) messages (raise --messages to tell)"
                )
            }
        }
        return report
    }

    static func deletesText(_ t: TableObservation, profileKey: [String]?) -> String {
        var text = t.deleteImages
        if t.deletes > 0 && t.deletesFull == t.deletes {
            text += ": usable"
        } else if t.deletes > 0 && profileKey == nil {
            text += ": fine, cdctop remembers rows and retracts what it remembered"
        }
        return text
    }

    /// Column references used as numbers: summed or averaged, in arithmetic, compared with a number.
    static func numericRefs(_ e: Expr, numeric: Bool, into out: inout [ColumnRef]) {
        func isNumberLiteral(_ e: Expr) -> Bool {
            switch e {
            case .literal(.int), .literal(.decimal): true
            case .unary(.negate, let x): isNumberLiteral(x)
            default: false
            }
        }
        switch e {
        case .column(let ref, _): if numeric { out.append(ref) }
        case .literal: break
        case .unary(.negate, let x): numericRefs(x, numeric: true, into: &out)
        case .unary(.not, let x): numericRefs(x, numeric: false, into: &out)
        case .binary(let op, let l, let r):
            switch op {
            case .add, .subtract, .multiply:
                numericRefs(l, numeric: true, into: &out)
                numericRefs(r, numeric: true, into: &out)
            case .and, .or:
                numericRefs(l, numeric: false, into: &out)
                numericRefs(r, numeric: false, into: &out)
            default:
                let n = isNumberLiteral(l) || isNumberLiteral(r)
                numericRefs(l, numeric: n, into: &out)
                numericRefs(r, numeric: n, into: &out)
            }
        case .isNull(let x, _): numericRefs(x, numeric: false, into: &out)
        case .coalesce(let xs): for x in xs { numericRefs(x, numeric: numeric, into: &out) }
        case .caseWhen(let branches, let otherwise):
            for b in branches {
                numericRefs(b.condition, numeric: false, into: &out)
                numericRefs(b.value, numeric: numeric, into: &out)
            }
            otherwise.map { numericRefs($0, numeric: numeric, into: &out) }
        case .inList(let x, let items, _):
            numericRefs(x, numeric: items.contains(where: isNumberLiteral), into: &out)
        }
    }

    /// A column of the table spelled nearly the same (case, or at most two edits).
    static func suggestion(for name: String, among names: [String]) -> String? {
        if let same = names.first(where: { $0.lowercased() == name.lowercased() }) { return same }
        let wanted = name.lowercased()
        let best = names.map { ($0, EditDistance.between($0.lowercased(), wanted)) }.min { $0.1 < $1.1 }
        return best.flatMap { $0.1 <= 2 ? $0.0 : nil }
    }

    /// Malformed reasons end with the byte position they refer to, and Avro's with the schema id
    /// (`(schema id N, at byte P)`): grouped without them, so one problem is one line whichever
    /// message or schema version carried it, and Avro topics report what JSON topics of the same rows do.
    static func withoutPosition(_ reason: String) -> String {
        if let r = reason.range(of: " (schema id ", options: .backwards), reason.hasSuffix(")"),
            reason[r.upperBound...].contains(", at byte ")
        {
            return String(reason[..<r.lowerBound])
        }
        if let r = reason.range(of: " (at byte ", options: .backwards), reason.hasSuffix(")") {
            return String(reason[..<r.lowerBound])
        }
        if let r = reason.range(of: " at byte ", options: .backwards) { return String(reason[..<r.lowerBound]) }
        return reason
    }
}

extension ProfileCheckReport {
    /// The one-screen text report.
    package func text() -> String {
        var out: [String] = []
        out.append(
            "cdctop profile check \(profile): \(messages) messages of \(source) (at most \(messagesPerTopic) per topic)"
        )
        for n in notes { out.append("note: \(n)") }
        for t in tables {
            out.append("")
            let ops = ["r", "c", "u", "d", "t"].compactMap { o in t.ops[o].map { "\(o) \($0)" } }.joined(separator: " ")
            var head = "\(t.name): \(t.messages) messages"
            if !t.topics.isEmpty { head += " on \(t.topics.joined(separator: ", "))" }
            if let p = t.topicPattern { head += " (topics = \"\(p)\")" }
            if !ops.isEmpty { head += "; ops \(ops)" }
            out.append(head)
            out.append(
                "  key: \(t.key)\(t.messagesWithoutKey > 0 ? "; \(t.messagesWithoutKey) messages without a record key" : "")"
            )
            out.append("  deletes: \(t.deletes)")
            let width = min(24, t.columns.map(\.name.count).max() ?? 0)
            for c in t.columns {
                let mark = c.ok ? (c.status == "present" ? "ok  " : "warn") : "FAIL"
                let name = c.name.padding(toLength: max(width, c.name.count), withPad: " ", startingAt: 0)
                var line = "  \(mark) \(name)  \(c.status)"
                if c.status == "present" || c.status == "null in every sampled row" { line += ", \(c.type)" }
                if let d = c.detail { line += " — \(d)" }
                if !c.readBy.isEmpty { line += "  [\(c.readBy.joined(separator: ", "))]" }
                out.append(line)
            }
        }
        out.append("")
        let unresolvedList = kpis.filter { $0.unresolvedRows > 0 }.map { "\($0.name) \($0.unresolvedRows)" }.joined(
            separator: ", ")
        let unresolved = unresolvedList.isEmpty ? "none" : unresolvedList
        out.append(
            "engine: \(messages) messages, \(malformedTotal) malformed; rows whose chain does not resolve: \(unresolved)"
        )
        for m in malformed.prefix(5) { out.append("  \(m.count)× \(m.table): \(m.reason)") }
        if !warnings.isEmpty {
            out.append("")
            out.append("warnings (\(warnings.count)):")
            for w in warnings.prefix(8) { out.append("  - \(w)") }
            if warnings.count > 8 { out.append("  … and \(warnings.count - 8) more (--json lists all)") }
        }
        out.append("")
        if problems.isEmpty {
            out.append("usable: every table and column the profile reads is there.")
        } else {
            out.append("NOT usable, \(problems.count) problem\(problems.count == 1 ? "" : "s"):")
            for p in problems.prefix(12) { out.append("  - \(p)") }
            if problems.count > 12 { out.append("  … and \(problems.count - 12) more (--json lists all)") }
        }
        return out.joined(separator: "\n")
    }

    /// One JSON object (for scripts): every field of the report, plus `usable`.
    package func json() -> String {
        struct Wrapped: Encodable {
            var usable: Bool
            var report: ProfileCheckReport
            enum CodingKeys: String, CodingKey { case usable }
            func encode(to encoder: Encoder) throws {
                try report.encode(to: encoder)
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(usable, forKey: .usable)
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let data = (try? encoder.encode(Wrapped(usable: usable, report: self))) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
