/// One field of one of cdctop's outputs (`--json`, `/metrics`, the Redis mirror, the warehouse): what a reader
/// sees, declared once. The encoders write through these values or are checked against them, and the
/// documents in docs/outputs/ are generated from them (see Output/README.md, "Adding a KPI").
package struct OutputField: Sendable, Hashable {
    /// The name as the reader sees it: a Prometheus family, a JSON key path (`lag.partitions[].topic`), a
    /// Redis hash field or a warehouse column.
    package let name: String
    /// In the output's own vocabulary: Prometheus TYPE, JSON type, Redis type, SQL type.
    package let type: String
    /// What one unit of the value is ("seconds", "Unix ms", "money", "0/1"); empty for a plain count or text.
    package let unit: String
    /// Label names (Prometheus) in the order a sample writes them; empty elsewhere.
    package let labels: [String]
    /// One or two sentences for the reader. For Prometheus this is the HELP line, byte for byte.
    package let help: String
    /// Where the value comes from in cdctop's own values (`KPIState.result.messages`), for the next engineer.
    package let source: String

    package init(
        _ name: String, type: String, unit: String = "", labels: [String] = [], help: String, source: String
    ) {
        self.name = name
        self.type = type
        self.unit = unit
        self.labels = labels
        self.help = help
        self.source = source
    }
}

/// An output's fields under one heading, the unit of a generated document section.
package struct OutputSection: Sendable {
    /// The Redis key, the warehouse table, the JSON object; empty for a flat output such as Prometheus.
    package let container: String
    package let about: String
    package let fields: [OutputField]

    package init(_ container: String, about: String, fields: [OutputField]) {
        self.container = container
        self.about = about
        self.fields = fields
    }
}

/// One output's documented schema: what docs/outputs/<file> says, generated, never edited by hand.
package struct OutputSchema: Sendable {
    /// The document's file name under docs/outputs/.
    package let file: String
    package let title: String
    package let intro: String
    package let sections: [OutputSection]

    package init(file: String, title: String, intro: String, sections: [OutputSection]) {
        self.file = file
        self.title = title
        self.intro = intro
        self.sections = sections
    }

    package var fields: [OutputField] { sections.flatMap(\.fields) }

    /// The document, one table per section. The test that compares it with docs/outputs/<file> prints how to
    /// regenerate it (`CDCTOP_WRITE_OUTPUT_DOCS=1`), so a changed schema is one command away from its document.
    package func markdown() -> String {
        var out = "<!-- Generated from Sources/Pipeline/Output/ by OutputSchemaTests; do not edit by hand. -->\n"
        out += "# \(title)\n\n\(intro)\n"
        let withLabels = fields.contains { !$0.labels.isEmpty }
        for section in sections {
            out += "\n"
            if !section.container.isEmpty { out += "## `\(section.container)`\n\n" }
            if !section.about.isEmpty { out += section.about + "\n\n" }
            out +=
                withLabels
                ? "| name | type | unit | labels | help | source |\n|---|---|---|---|---|---|\n"
                : "| name | type | unit | help | source |\n|---|---|---|---|---|\n"
            for f in section.fields {
                out += "| `\(f.name)` | \(f.type) | \(Self.cell(f.unit)) | "
                if withLabels { out += Self.cell(f.labels.map { "`\($0)`" }.joined(separator: ", ")) + " | " }
                out += "\(Self.cell(f.help)) | \(Self.cell(f.source.isEmpty ? "" : "`\(f.source)`")) |\n"
            }
        }
        return out
    }

    /// A table cell: a `|` in the text would end the cell.
    static func cell(_ text: String) -> String {
        text.split(separator: "|", omittingEmptySubsequences: false).joined(separator: "\\|")
    }
}
