import Metrics

/// The SQL dialect of the source database the reconciler compares with.
///
/// Only PostgreSQL is executed today (the reconciler connects with libpq); the MySQL text is generated
/// and unit-tested so that a MySQL client path can run it as it is.
package enum SQLDialect: String, Sendable, Hashable {
    case postgres, mysql

    var quote: Character { self == .postgres ? "\"" : "`" }

    /// An identifier, always quoted (so `UnitPrice` keeps its case on PostgreSQL and keywords are safe).
    func identifier(_ name: String) -> String {
        var out = String(quote)
        for c in name {
            if c == quote { out.append(quote) }
            out.append(c)
        }
        out.append(quote)
        return out
    }

    /// `schema.table` quoted part by part.
    func qualified(_ name: String) -> String {
        name.split(separator: ".", omittingEmptySubsequences: false).map { identifier(String($0)) }.joined(
            separator: ".")
    }

    /// A text literal (MySQL's default mode also treats the backslash as an escape).
    func literal(_ text: String) -> String {
        var out = "'"
        for c in text {
            if c == "'" { out += "''" } else if c == "\\" && self == .mysql { out += "\\\\" } else { out.append(c) }
        }
        return out + "'"
    }

    /// A value as text (PostgreSQL prints booleans `t`/`f` otherwise; Debezium sends `true`/`false`).
    func asText(_ sql: String) -> String {
        self == .postgres ? "(\(sql))::text" : "CAST(\(sql) AS CHAR)"
    }

    /// A group column as the comparison reads it: text on PostgreSQL (booleans as `true`/`false`);
    /// MySQL's booleans are already integers, as Debezium sends them.
    func groupColumn(_ sql: String) -> String { self == .postgres ? asText(sql) : sql }
}

/// Data types of the source tables' columns, read once per connection from `information_schema.columns`.
///
/// Float columns (PostgreSQL `real`/`double precision`, MySQL `float`/`double`) are read through their
/// text (`col::text::numeric`, MySQL `CAST(CAST(col AS CHAR) AS DECIMAL(65,30))`): Debezium sends them as
/// JSON numbers printed the shortest way (`14.4`, not 14.3999996185302734375), which cdctop sums exactly;
/// SQL's float arithmetic would not. `date` columns are compared as days since 1970-01-01, which is
/// what Debezium sends for them.
package struct SourceColumnTypes: Sendable, Hashable {
    /// Table name (as the profile writes it, unqualified) → column name → data type (lowercase).
    package var types: [String: [String: String]]

    package init(types: [String: [String: String]] = [:]) { self.types = types }

    /// Rows of `catalogQuery`: (table_name, column_name, data_type).
    package init(rows: [[String?]]) {
        var types: [String: [String: String]] = [:]
        for row in rows where row.count >= 3 {
            guard let table = row[0], let column = row[1], let type = row[2] else { continue }
            // The first visible schema wins (the query orders by search-path position).
            if types[table]?[column] == nil { types[table, default: [:]][column] = type.lowercased() }
        }
        self.types = types
    }

    package func type(table: String, column: String) -> String? { types[Self.bare(table)]?[column] }

    package func hasTable(_ table: String) -> Bool { types[Self.bare(table)] != nil }

    package func isFloat(table: String, column: String) -> Bool {
        guard let t = type(table: table, column: column) else { return false }
        return ["real", "double precision", "float", "double", "float4", "float8"].contains(t)
    }

    package func isDate(table: String, column: String) -> Bool { type(table: table, column: column) == "date" }

    /// The table part of `schema.table`.
    static func bare(_ table: String) -> String {
        table.split(separator: ".", omittingEmptySubsequences: false).last.map(String.init) ?? table
    }

    /// `(table_name, column_name, data_type)` of the given tables (`schema.table` restricts the schema;
    /// a bare name looks in PostgreSQL's search path / MySQL's current database).
    package static func catalogQuery(tables: [String], dialect: SQLDialect) -> String {
        var bare: [String] = []
        var qualified: [(String, String)] = []
        for t in Set(tables).sorted() {
            let parts = t.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            if parts.count >= 2 {
                qualified.append((parts[parts.count - 2], parts[parts.count - 1]))
            } else {
                bare.append(t)
            }
        }
        var conditions: [String] = []
        switch dialect {
        case .postgres:
            if !bare.isEmpty {
                conditions.append(
                    "(table_schema = any(current_schemas(false)) and table_name in (\(bare.map(dialect.literal).joined(separator: ", "))))"
                )
            }
            for (s, t) in qualified {
                conditions.append("(table_schema = \(dialect.literal(s)) and table_name = \(dialect.literal(t)))")
            }
            let whereText = conditions.isEmpty ? "false" : conditions.joined(separator: " or ")
            return
                "select table_name::text, column_name::text, data_type::text from information_schema.columns where \(whereText) "
                + "order by array_position(current_schemas(false), table_schema::name), table_name, ordinal_position"
        case .mysql:
            if !bare.isEmpty {
                conditions.append(
                    "(table_schema = database() and table_name in (\(bare.map(dialect.literal).joined(separator: ", "))))"
                )
            }
            for (s, t) in qualified {
                conditions.append("(table_schema = \(dialect.literal(s)) and table_name = \(dialect.literal(t)))")
            }
            let whereText = conditions.isEmpty ? "false" : conditions.joined(separator: " or ")
            return
                "select table_name, column_name, data_type from information_schema.columns where \(whereText) order by table_name, ordinal_position"
        }
    }
}

/// One reconciliation query: a KPI of the profile printed back as SQL for the source database.
package struct ReconcileQuery: Sendable, Hashable {
    /// Index of the KPI in `KPIModel.kpis`.
    package var kpi: Int
    package var name: String
    /// `select <groups>, <aggregates> from … group by …`: the group columns first, then one column per aggregate.
    package var sql: String
    package var groupCount: Int
    package var kinds: [AggregateKind]
    /// True when `sql` was given by the caller (an override), not generated.
    package var isOverride: Bool

    package init(kpi: Int, name: String, sql: String, groupCount: Int, kinds: [AggregateKind], isOverride: Bool = false)
    {
        self.kpi = kpi
        self.name = name
        self.sql = sql
        self.groupCount = groupCount
        self.kinds = kinds
        self.isOverride = isOverride
    }
}

/// Prints a profile's KPIs back as SQL for the source database, float columns read exactly.
package enum ReconcileSQL {
    /// Every table the model's KPIs read (the catalog query's argument).
    package static func tables(of model: KPIModel) -> [String] {
        var used = Set<Int>()
        for kpi in model.kpis {
            used.insert(kpi.fact)
            for j in kpi.joins { used.insert(j.table) }
        }
        return used.sorted().map { model.tables[$0].name }
    }

    /// The reconciliation query of every KPI. `overrides` (KPI name → SQL) replaces a generated
    /// query: it must return the group columns, then one column per aggregate, like the KPI.
    package static func queries(
        for model: KPIModel, types: SourceColumnTypes, dialect: SQLDialect = .postgres,
        overrides: [String: String] = [:]
    ) -> [ReconcileQuery] {
        model.kpis.enumerated().map { k, kpi in
            let kinds = kpi.aggregates.map(\.kind)
            if let sql = overrides[kpi.name] {
                return ReconcileQuery(
                    kpi: k, name: kpi.name, sql: sql, groupCount: kpi.groups.count, kinds: kinds, isOverride: true)
            }
            return ReconcileQuery(
                kpi: k, name: kpi.name, sql: query(for: kpi, model: model, types: types, dialect: dialect),
                groupCount: kpi.groups.count, kinds: kinds)
        }
    }

    /// `select <group exprs>, <aggregates> from <fact> <alias> [left] join … where … group by …`.
    package static func query(
        for kpi: CompiledKPI, model: KPIModel, types: SourceColumnTypes, dialect: SQLDialect = .postgres
    ) -> String {
        let printer = ReconcilePrinter(kpi: kpi, model: model, types: types, dialect: dialect)
        var select: [String] = kpi.groups.map { dialect.groupColumn(printer.text($0)) }
        for a in kpi.aggregates {
            guard let argument = a.argument else {
                select.append("count(*)")
                continue
            }
            let arg = printer.text(argument)
            switch a.kind {
            case .countRows, .count: select.append("count(\(arg))")
            case .sum: select.append("sum(\(arg))")
            case .avg: select.append("avg(\(arg))")
            }
        }
        var sql = "select " + select.joined(separator: ", ")
        sql += " from " + dialect.identifier(model.tables[kpi.fact].name) + " " + dialect.identifier(kpi.aliases[0])
        for (i, j) in kpi.joins.enumerated() {
            let alias = i + 1
            let parentTable = j.parent == 0 ? kpi.fact : kpi.joins[j.parent - 1].table
            let own = printer.column(alias: alias, table: j.table, name: model.tables[j.table].columns[j.matchColumn])
            let parent = printer.column(
                alias: j.parent, table: parentTable, name: model.tables[parentTable].columns[j.parentColumn])
            sql +=
                (j.isLeft ? " left join " : " join ") + dialect.identifier(model.tables[j.table].name) + " "
                + dialect.identifier(kpi.aliases[alias]) + " on " + own + " = " + parent
        }
        let filters = [kpi.rowFilter, kpi.joinFilter].compactMap { $0 }
        if !filters.isEmpty {
            sql +=
                " where "
                + filters.map { filters.count > 1 ? "(" + printer.text($0) + ")" : printer.text($0) }.joined(
                    separator: " and ")
        }
        if !kpi.groups.isEmpty {
            sql += " group by " + kpi.groups.map { printer.text($0) }.joined(separator: ", ")
        }
        return sql
    }

    // MARK: Legacy (sale / line item / dimension) profiles

    /// `count(*)` and `sum(amount)` of the sale table; the amount read exactly when it is a float column.
    package static func legacyTotals(
        saleTable: String, amount: String, types: SourceColumnTypes, dialect: SQLDialect = .postgres
    ) -> String {
        let column = exactColumn(
            dialect.identifier(amount), isFloat: types.isFloat(table: saleTable, column: amount), isDate: false,
            dialect: dialect)
        switch dialect {
        case .postgres: return "SELECT count(*), coalesce(sum(\(column)), 0)::text FROM \(dialect.qualified(saleTable))"
        case .mysql:
            return "SELECT count(*), CAST(coalesce(sum(\(column)), 0) AS CHAR) FROM \(dialect.qualified(saleTable))"
        }
    }

    /// Line-item sales (quantity × unit price) per category of the referenced product, as the engine
    /// attributes them: a null or empty category, or no product row, is `uncategorized`.
    package static func legacyCategories(
        lineItem: KPIProfile.LineItemTable, dimension: KPIProfile.DimensionTable,
        uncategorized: String, types: SourceColumnTypes, dialect: SQLDialect = .postgres
    ) -> String {
        let d = dialect.identifier("d")
        let p = dialect.identifier("p")
        func col(_ alias: String, _ table: String, _ name: String) -> String {
            exactColumn(
                alias + "." + dialect.identifier(name), isFloat: types.isFloat(table: table, column: name),
                isDate: false, dialect: dialect)
        }
        let category = dialect.asText(col(p, dimension.table, dimension.category))
        let label = dialect.literal(uncategorized)
        let groupText = "coalesce(nullif(\(category), ''), \(label))"
        return
            "select \(groupText), sum(\(col(d, lineItem.table, lineItem.quantity)) * \(col(d, lineItem.table, lineItem.unitPrice)))"
            + " from \(dialect.qualified(lineItem.table)) \(d) left join \(dialect.qualified(dimension.table)) \(p)"
            + " on \(col(p, dimension.table, dimension.key)) = \(col(d, lineItem.table, lineItem.productKey))"
            + " group by \(groupText)"
    }

    /// A column reference read the way Debezium sends it.
    static func exactColumn(_ reference: String, isFloat: Bool, isDate: Bool, dialect: SQLDialect) -> String {
        switch (dialect, isFloat, isDate) {
        case (.postgres, true, _): return "(\(reference)::text::numeric)"
        case (.mysql, true, _): return "CAST(CAST(\(reference) AS CHAR) AS DECIMAL(65,30))"
        case (.postgres, false, true): return "(\(reference) - date '1970-01-01')"
        case (.mysql, false, true): return "DATEDIFF(\(reference), '1970-01-01')"
        default: return reference
        }
    }
}

/// Prints a KPI's expressions with every column qualified by its alias and read exactly.
private struct ReconcilePrinter {
    let kpi: CompiledKPI
    let model: KPIModel
    let types: SourceColumnTypes
    let dialect: SQLDialect

    func tableIndex(ofAlias alias: Int) -> Int { alias == 0 ? kpi.fact : kpi.joins[alias - 1].table }

    func column(alias: Int, table: Int, name: String) -> String {
        let tableName = model.tables[table].name
        return ReconcileSQL.exactColumn(
            dialect.identifier(kpi.aliases[alias]) + "." + dialect.identifier(name),
            isFloat: types.isFloat(table: tableName, column: name),
            isDate: types.isDate(table: tableName, column: name), dialect: dialect)
    }

    /// `e` by the one SQL printer (Metrics' `sqlText`), columns qualified and read exactly, literals
    /// escaped for the dialect.
    func text(_ e: Expr) -> String {
        sqlText(
            e, column: { ref, name in column(alias: ref.alias, table: tableIndex(ofAlias: ref.alias), name: name) },
            literal: { dialect.literal($0) })
    }
}
