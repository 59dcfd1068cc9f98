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
public enum Cell: Sendable, Hashable, CustomStringConvertible {
    /// The column is not in the row image (or there is no row image).
    case missing
    /// Debezium's `__debezium_unavailable_value` (an unchanged TOASTed value): use the remembered one.
    case unavailable
    case null
    case int(Int64)
    case decimal(ExactDecimal)
    case text(String)
    case bool(Bool)

    public var description: String {
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
    public var rowKey: RowKey? {
        switch self {
        case .int(let v): .int(v)
        case .decimal(let d): d.int64.map { RowKey.int($0) } ?? .text(d.description)
        case .text(let s): .text(s)
        case .bool(let b): .text(b ? "true" : "false")
        case .missing, .unavailable, .null: nil
        }
    }

    /// The value as a number, when it is one (a numeric string too: `decimal.handling.mode=string`).
    public var number: ExactDecimal? {
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
public struct ColumnRef: Sendable, Hashable {
    public var alias: Int
    public var slot: Int
    public init(alias: Int, slot: Int) { self.alias = alias; self.slot = slot }
}

public enum UnaryOperator: Sendable, Hashable { case negate, not }

public enum BinaryOperator: Sendable, Hashable {
    case add, subtract, multiply
    case equal, notEqual, less, lessOrEqual, greater, greaterOrEqual
    case and, or
}

/// An expression of a KPI (a measure, a filter, a group key). `text` in errors is the source text.
public indirect enum Expr: Sendable, Hashable {
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

public struct CaseBranch: Sendable, Hashable {
    public var condition: Expr
    public var value: Expr
    public init(condition: Expr, value: Expr) { self.condition = condition; self.value = value }
}

/// What an expression evaluated to: SQL's values, three-valued logic included (null).
public enum EvalValue: Sendable, Hashable {
    case null
    case number(ExactDecimal)
    case text(String)
    case bool(Bool)
}

/// Why an expression could not be evaluated on a row: the event is counted as malformed with this text.
public struct EvalError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// `count(*)`, `count(e)`, `sum(e)`, `avg(e)`: what can be kept exact under inserts, updates and deletes.
public enum AggregateKind: String, Sendable, Hashable { case countRows, count, sum, avg }

public struct Aggregate: Sendable, Hashable {
    public var kind: AggregateKind
    /// Nil for `count(*)`. Reads fact columns only.
    public var argument: Expr?
    /// Output column name: the `as` alias, or the expression's text.
    public var name: String
    public init(kind: AggregateKind, argument: Expr?, name: String) { self.kind = kind; self.argument = argument; self.name = name }
}

/// A table joined into a KPI: `join T a on a.matchColumn = parent.parentColumn`.
public struct JoinStep: Sendable, Hashable {
    /// Index in `KPIModel.tables`.
    public var table: Int
    /// The alias as written (for messages).
    public var alias: String
    /// The alias this one hangs from (0 is the fact).
    public var parent: Int
    /// Slot, in the parent's table, of the column that holds the reference.
    public var parentColumn: Int
    /// Slot, in this table, of the column matched (usually its primary key; a link table's column otherwise).
    public var matchColumn: Int
    /// `left join`: a null or missing reference gives null columns instead of dropping the row.
    public var isLeft: Bool
    public init(table: Int, alias: String, parent: Int, parentColumn: Int, matchColumn: Int, isLeft: Bool) {
        self.table = table; self.alias = alias; self.parent = parent
        self.parentColumn = parentColumn; self.matchColumn = matchColumn; self.isLeft = isLeft
    }
}

/// One KPI, compiled from `select <groups>, <aggregates> from fact [join …] [where …] [group by …]`.
public struct CompiledKPI: Sendable, Hashable {
    /// The name in the profile (`[kpi.NAME]`): `transactions`, `revenue` and `category_sales` feed the
    /// built-in tiles; any other name is a KPI of the user's own.
    public var name: String
    public var sql: String
    /// Line of the profile file where the SQL starts (for messages).
    public var line: Int
    /// Index in `KPIModel.tables` of the fact table.
    public var fact: Int
    /// Alias of each table of the query, 0 being the fact.
    public var aliases: [String]
    public var joins: [JoinStep]
    /// The part of `where` that reads the fact only: applied to each fact row.
    public var rowFilter: Expr?
    /// The part of `where` that reads joined tables: applied to each resolved combination.
    public var joinFilter: Expr?
    /// `group by` expressions (they may read any alias), in output order.
    public var groups: [Expr]
    public var groupNames: [String]
    public var aggregates: [Aggregate]
    /// Fact column slots that the joins and the groups read: a fact row's anchor.
    public var anchorSlots: [Int]
    /// False for `[kpi.X] windows = false`: totals only (a KPI over the current state of a table).
    public var windowed: Bool

    public init(name: String, sql: String, line: Int, fact: Int, aliases: [String], joins: [JoinStep], rowFilter: Expr?,
                joinFilter: Expr?, groups: [Expr], groupNames: [String], aggregates: [Aggregate], anchorSlots: [Int],
                windowed: Bool = true) {
        self.name = name; self.sql = sql; self.line = line; self.fact = fact; self.aliases = aliases; self.joins = joins
        self.rowFilter = rowFilter; self.joinFilter = joinFilter; self.groups = groups; self.groupNames = groupNames
        self.aggregates = aggregates; self.anchorSlots = anchorSlots; self.windowed = windowed
    }

    public var isGrouped: Bool { !groups.isEmpty }
}

/// One logical table of the model.
public struct ModelTable: Sendable, Hashable {
    /// The table's name as KPIs write it (and as Debezium's `source.table` / the topic's last part says).
    public var name: String
    /// Topics carrying this table's rows, as a regular expression (`[tables.NAME] topics = "…"`); nil:
    /// topics whose last name part is `name`.
    public var topicPattern: String?
    /// Key columns named in the profile (`key = ["a", "b"]`), overriding the record key; nil: the
    /// Kafka record key (Debezium's full primary key, composite included).
    public var keyColumns: [String]?
    /// Every column some KPI reads, in slot order (a `ColumnRef.slot` indexes this). Key override
    /// columns are included.
    public var columns: [String]
    public init(name: String, topicPattern: String? = nil, keyColumns: [String]? = nil, columns: [String] = []) {
        self.name = name; self.topicPattern = topicPattern; self.keyColumns = keyColumns; self.columns = columns
    }

    /// Slot of a column, when some KPI reads it.
    public func slot(of column: String) -> Int? { columns.firstIndex(of: column) }
}

/// The compiled profile: tables and KPIs.
public struct KPIModel: Sendable, Hashable {
    public var tables: [ModelTable]
    public var kpis: [CompiledKPI]
    public init(tables: [ModelTable], kpis: [CompiledKPI]) { self.tables = tables; self.kpis = kpis }

    public func tableIndex(named name: some StringProtocol) -> Int? { tables.firstIndex { $0.name == name } }

    /// The KPIs feeding the built-in tiles, when the profile defines them.
    public var transactions: Int? { kpis.firstIndex { $0.name == "transactions" } }
    public var revenue: Int? { kpis.firstIndex { $0.name == "revenue" } }
    public var categorySales: Int? { kpis.firstIndex { $0.name == "category_sales" } }
}
