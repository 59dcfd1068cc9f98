/// The profile as a compiled model: KPIs written as a small subset of SQL over the user's own
/// tables (see `docs/profiles.md`), compiled once into this plan, which the model aggregator walks.
///
/// Vocabulary:
/// - a *table* is one logical source table (one or several topics);
/// - a *fact* is the table a KPI's `from` names: one row, one contribution;
/// - a *lookup* is a table joined many-to-one from the fact (any depth: line → product → category);
/// - an *anchor* is the tuple of fact columns a KPI's joins and groups read: fact rows with the same
///   anchor always land in the same groups, so the aggregator keeps sums per anchor and moves them
///   when a lookup changes.

/// A column value as the decoder read it from a row image.
package enum Cell: Sendable, Hashable, CustomStringConvertible {
    /// The column is not in the row image (or there is no row image).
    case missing
    /// Debezium's `__debezium_unavailable_value` (an unchanged TOASTed value): use the remembered one.
    case unavailable
    case null
    case int(Int64)
    case decimal(ExactDecimal)
    case text(String)
    case bool(Bool)

    package var description: String {
        switch self {
        case .missing: "(missing)"
        case .unavailable: "(unavailable)"
        case .null: "null"
        case .int(let v): String(v)
        case .decimal(let d): d.description
        case .text(let s): s
        case .bool(let b): b ? "true" : "false"
        }
    }

    /// A value usable as a row key or a join key: integers stay integers, everything else is its text
    /// (a decimal key `12.0` and `12` both become `12`). Nil for null, missing and unavailable.
    package var rowKey: RowKey? {
        switch self {
        case .int(let v): .int(v)
        case .decimal(let d): d.int64.map { RowKey.int($0) } ?? .text(d.description)
        case .text(let s): .text(s)
        case .bool(let b): .text(b ? "true" : "false")
        case .missing, .unavailable, .null: nil
        }
    }

    /// The value as a number, when it is one (a numeric string too: `decimal.handling.mode=string`).
    package var number: ExactDecimal? {
        switch self {
        case .int(let v): ExactDecimal(v)
        case .decimal(let d): d
        case .text(let s): ExactDecimal.parse(s)
        default: nil
        }
    }
}

/// Where a column comes from in a compiled KPI: which of its tables (0 is the fact, then the joined
/// tables in the order of the query) and which of that table's referenced columns.
package struct ColumnRef: Sendable, Hashable {
    package var alias: Int
    package var slot: Int
    package init(alias: Int, slot: Int) {
        self.alias = alias
        self.slot = slot
    }
}

package enum UnaryOperator: Sendable, Hashable { case negate, not }

package enum BinaryOperator: Sendable, Hashable {
    case add, subtract, multiply
    case equal, notEqual, less, lessOrEqual, greater, greaterOrEqual
    case and, or
}

/// An expression of a KPI (a measure, a filter, a group key). `text` in errors is the source text.
package indirect enum Expr: Sendable, Hashable {
    case column(ColumnRef, name: String)
    case literal(Cell)
    case unary(UnaryOperator, Expr)
    case binary(BinaryOperator, Expr, Expr)
    /// `e is null` / `e is not null`.
    case isNull(Expr, negated: Bool)
    case coalesce([Expr])
    /// `case when c1 then v1 … else e end`; a missing else is null.
    case caseWhen([CaseBranch], otherwise: Expr?)
    /// `e in (a, b, …)` / `not in`.
    case inList(Expr, [Expr], negated: Bool)
}

package struct CaseBranch: Sendable, Hashable {
    package var condition: Expr
    package var value: Expr
    package init(condition: Expr, value: Expr) {
        self.condition = condition
        self.value = value
    }
}

/// What an expression evaluated to: SQL's values, three-valued logic included (null).
package enum EvalValue: Sendable, Hashable {
    case null
    case number(ExactDecimal)
    case text(String)
    case bool(Bool)
}

/// Why an expression could not be evaluated on a row: the event is counted as malformed with this text.
package struct EvalError: Error, Sendable, Hashable, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}

/// `count(*)`, `count(e)`, `sum(e)`, `avg(e)`: what can be kept exact under inserts, updates and deletes.
package enum AggregateKind: String, Sendable, Hashable { case countRows, count, sum, avg }

package struct Aggregate: Sendable, Hashable {
    package var kind: AggregateKind
    /// Nil for `count(*)`. Reads fact columns only.
    package var argument: Expr?
    /// Output column name: the `as` alias, or the expression's text.
    package var name: String
    package init(kind: AggregateKind, argument: Expr?, name: String) {
        self.kind = kind
        self.argument = argument
        self.name = name
    }
}

/// A table joined into a KPI: `join T a on a.matchColumn = parent.parentColumn`.
package struct JoinStep: Sendable, Hashable {
    /// Index in `KPIModel.tables`.
    package var table: Int
    /// The alias as written (for messages).
    package var alias: String
    /// The alias this one hangs from (0 is the fact).
    package var parent: Int
    /// Slot, in the parent's table, of the column that holds the reference.
    package var parentColumn: Int
    /// Slot, in this table, of the column matched (usually its primary key; a link table's column otherwise).
    package var matchColumn: Int
    /// `left join`: a null or missing reference gives null columns instead of dropping the row.
    package var isLeft: Bool
    package init(table: Int, alias: String, parent: Int, parentColumn: Int, matchColumn: Int, isLeft: Bool) {
        self.table = table
        self.alias = alias
        self.parent = parent
        self.parentColumn = parentColumn
        self.matchColumn = matchColumn
        self.isLeft = isLeft
    }
}

/// One KPI, compiled from `select <groups>, <aggregates> from fact [join …] [where …] [group by …]`.
package struct CompiledKPI: Sendable, Hashable {
    /// The name in the profile (`[kpi.NAME]`): `transactions`, `revenue` and `category_sales` feed the
    /// built-in tiles; any other name is a KPI of the user's own.
    package var name: String
    package var sql: String
    /// Line of the profile file where the SQL starts (for messages).
    package var line: Int
    /// Index in `KPIModel.tables` of the fact table.
    package var fact: Int
    /// Alias of each table of the query, 0 being the fact.
    package var aliases: [String]
    package var joins: [JoinStep]
    /// The part of `where` that reads the fact only: applied to each fact row.
    package var rowFilter: Expr?
    /// The part of `where` that reads joined tables: applied to each resolved combination.
    package var joinFilter: Expr?
    /// `group by` expressions (they may read any alias), in output order.
    package var groups: [Expr]
    package var groupNames: [String]
    package var aggregates: [Aggregate]
    /// Fact column slots that the joins and the groups read: a fact row's anchor.
    package var anchorSlots: [Int]
    /// False for `[kpi.X] windows = false`: totals only (a KPI over the current state of a table).
    package var windowed: Bool

    package init(
        name: String, sql: String, line: Int, fact: Int, aliases: [String], joins: [JoinStep], rowFilter: Expr?,
        joinFilter: Expr?, groups: [Expr], groupNames: [String], aggregates: [Aggregate], anchorSlots: [Int],
        windowed: Bool = true
    ) {
        self.name = name
        self.sql = sql
        self.line = line
        self.fact = fact
        self.aliases = aliases
        self.joins = joins
        self.rowFilter = rowFilter
        self.joinFilter = joinFilter
        self.groups = groups
        self.groupNames = groupNames
        self.aggregates = aggregates
        self.anchorSlots = anchorSlots
        self.windowed = windowed
    }

    package var isGrouped: Bool { !groups.isEmpty }
}

/// One logical table of the model.
package struct ModelTable: Sendable, Hashable {
    /// The table's name as KPIs write it (and as Debezium's `source.table` / the topic's last part says).
    package var name: String
    /// Topics carrying this table's rows, as a regular expression (`[tables.NAME] topics = "…"`); nil:
    /// topics whose last name part is `name`.
    package var topicPattern: String?
    /// Key columns named in the profile (`key = ["a", "b"]`), overriding the record key; nil: the
    /// Kafka record key (Debezium's full primary key, composite included).
    package var keyColumns: [String]?
    /// Every column some KPI reads, in slot order (a `ColumnRef.slot` indexes this). Key override
    /// columns are included.
    package var columns: [String]
    package init(name: String, topicPattern: String? = nil, keyColumns: [String]? = nil, columns: [String] = []) {
        self.name = name
        self.topicPattern = topicPattern
        self.keyColumns = keyColumns
        self.columns = columns
    }

    /// Slot of a column, when some KPI reads it.
    package func slot(of column: String) -> Int? { columns.firstIndex(of: column) }
}

/// The compiled profile: tables and KPIs.
package struct KPIModel: Sendable, Hashable {
    package var tables: [ModelTable]
    package var kpis: [CompiledKPI]
    package init(tables: [ModelTable], kpis: [CompiledKPI]) {
        self.tables = tables
        self.kpis = kpis
    }

    package func tableIndex(named name: some StringProtocol) -> Int? { tables.firstIndex { $0.name == name } }

    /// The KPIs feeding the built-in tiles, when the profile defines them.
    package var transactions: Int? { kpis.firstIndex { $0.name == "transactions" } }
    package var revenue: Int? { kpis.firstIndex { $0.name == "revenue" } }
    package var categorySales: Int? { kpis.firstIndex { $0.name == "category_sales" } }
}
