import ArgumentParser
import Foundation
import Metrics
import Pipeline

/// `cdctop warehouse …`: set up, fill and inspect the PostgreSQL warehouse.
struct WarehouseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "warehouse",
        abstract: "Set up, seed and inspect the PostgreSQL warehouse that cdctop writes closed windows to.",
        discussion: """
            The warehouse URL is --warehouse or the CDCTOP_WAREHOUSE environment variable, as a
            postgresql://user:password@host:port/database URL or a libpq key=value string.
            Tables: cdctop.kpi_window (one row per pipeline and window start) and
            cdctop.kpi_category_window (revenue per category of each window).
            """,
        subcommands: [Init.self, Seed.self, History.self, Status.self])

    struct Connection: ParsableArguments {
        @Option(
            name: .long,
            help: ArgumentHelp(
                "PostgreSQL URL or key=value connection string (default: $CDCTOP_WAREHOUSE).",
                valueName: "url"))
        var warehouse: String?

        func resolvedURL() throws -> String {
            if let warehouse, !warehouse.isEmpty { return warehouse }
            if let fromEnvironment = ProcessInfo.processInfo.environment["CDCTOP_WAREHOUSE"], !fromEnvironment.isEmpty {
                return fromEnvironment
            }
            throw ValidationError(
                "Give the warehouse with --warehouse postgresql://user@host:port/db (or set CDCTOP_WAREHOUSE).")
        }

        func connect() throws -> PostgresConnection {
            try PostgresConnection(try resolvedURL(), applicationName: "cdctop warehouse")
        }
    }

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Create the cdctop schema and tables (safe to run again).")

        @OptionGroup var connection: Connection

        func run() throws {
            let conn = try connection.connect()
            try WarehouseSchema.initialize(conn)
            print("warehouse ready on \(conn.endpoint): cdctop.kpi_window, cdctop.kpi_category_window")
        }
    }

    struct Seed: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "seed",
            abstract: "Fill the warehouse with realistic demo history (hour windows, weekly seasonality).",
            discussion: """
                Writes one row per hour for each of the last --days full UTC days before today, under
                --pipeline ('demo' by default, the pipeline `cdctop demo` uses), so the History view of
                that pipeline has something to show beside today's live figure. Deterministic: seeding
                again rewrites the same values, nothing doubles. Rows are marked synthetic.

                Safe on a real warehouse: it refuses to write to a pipeline that holds windows cdctop
                wrote from Kafka (real data), and says which; --force overrides that.
                Creates the schema first if it is missing, and upgrades an older one.
                """)

        @OptionGroup var connection: Connection
        @Option(help: "Days of history to write.") var days: Int = 90
        @Option(help: "Pipeline name the rows belong to (the History view reads its own pipeline).")
        var pipeline: String = WarehouseSeed.defaultPipeline
        @Flag(help: "Write even when the pipeline holds real windows (they are overwritten with demo data).")
        var force = false

        func validate() throws {
            guard (1...3_650).contains(days) else { throw ValidationError("--days must be between 1 and 3650.") }
            guard !pipeline.isEmpty else { throw ValidationError("--pipeline must not be empty.") }
        }

        func run() throws {
            let conn = try connection.connect()
            let written: Int
            do {
                written = try WarehouseSeed.seed(pipeline: pipeline, days: days, on: conn, force: force)
            } catch {
                guard error.kind == .wouldOverwrite else { throw error }
                FileHandle.standardError.write(
                    Data("cdctop warehouse seed: refused: \(error.message)\n  \(error.advice)\n".utf8))
                throw ExitCode(3)
            }
            print(
                "seeded \(days) days (\(written) hour windows) for pipeline '\(pipeline)' on \(conn.endpoint)"
                    + (force ? " (--force: real windows in that range were overwritten)" : ""))
            if pipeline == WarehouseSeed.defaultPipeline {
                print("see it with: cdctop demo --warehouse URL   (or cdctop warehouse history --pipeline \(pipeline))")
            }
        }
    }

    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "history",
            abstract: "Print daily transactions and revenue from the warehouse.")

        @OptionGroup var connection: Connection
        @Option(help: "Number of days, today included.") var days: Int = 30
        @Option(help: "Pipeline to read.") var pipeline: String = "shop"
        @Flag(help: "Also print revenue per category for each day.") var categories = false

        func validate() throws {
            guard days >= 1 else { throw ValidationError("--days must be at least 1.") }
        }

        func run() throws {
            let conn = try connection.connect()
            try conn.execute("SET DateStyle = ISO")
            let data = try HistoryQuery.default.load(days: days, pipeline: pipeline, on: conn)
            print(WarehouseCommand.historyTable(data, showCategories: categories))
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Show what the warehouse holds, per pipeline.")

        @OptionGroup var connection: Connection

        func run() throws {
            let conn = try connection.connect()
            guard try WarehouseSchema.isInitialized(conn) else {
                print(
                    "warehouse on \(conn.endpoint): schema cdctop is missing — run `cdctop warehouse init --warehouse URL`"
                )
                throw ExitCode(2)
            }
            let summaries = try WarehouseSchema.summaries(on: conn)
            print("warehouse on \(conn.endpoint): \(summaries.count) pipeline(s)")
            if summaries.isEmpty { return }
            let header = [
                "pipeline", "windows", "of which synthetic", "category rows", "first window (UTC)", "last window (UTC)",
                "last write (UTC)", "transactions", "revenue",
            ]
            let rows = summaries.map { s in
                [
                    s.pipeline, String(s.windows), String(s.syntheticWindows), String(s.categoryRows),
                    s.firstWindowStart,
                    s.lastWindowStart, s.lastUpdated, String(s.txCount), s.revenue.formatted(),
                ]
            }
            print(WarehouseCommand.table(header: header, rows: rows, rightAligned: [1, 2, 3, 7, 8]))
            if summaries.contains(where: { $0.syntheticWindows > 0 }) {
                print("synthetic windows were written by `warehouse seed` or `cdctop demo`, not from real changes")
            }
        }
    }

    /// The days table: day, transactions, revenue, a bar scaled to the best day; categories indented below.
    static func historyTable(_ data: HistoryData, showCategories: Bool) -> String {
        if data.days.isEmpty { return "no history in the warehouse for these days (try `cdctop warehouse seed`)" }
        let best = data.days.map(\.revenue.approximateDouble).max() ?? 0
        var rows: [[String]] = []
        for day in data.days {
            let width = best > 0 ? Int((day.revenue.approximateDouble / best * 30).rounded()) : 0
            rows.append([
                day.day, String(day.txCount), day.revenue.formatted(), String(repeating: "█", count: max(0, width)),
            ])
            if showCategories {
                for (name, revenue) in day.categoryRevenue.sorted(by: { $0.value > $1.value }) {
                    rows.append(["  " + name, "", revenue.formatted(), ""])
                }
            }
        }
        let totalTx = data.days.reduce(Int64(0)) { $0 &+ $1.txCount }
        let totalRevenue = data.days.reduce(Money.zero) { $0.addingSaturating($1.revenue) }
        rows.append(["total", String(totalTx), totalRevenue.formatted(), ""])
        return table(header: ["day", "transactions", "revenue", ""], rows: rows, rightAligned: [1, 2])
    }

    static func table(header: [String], rows: [[String]], rightAligned: Set<Int>) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            var parts: [String] = []
            for (i, cell) in cells.enumerated() {
                let pad = String(repeating: " ", count: max(0, widths[i] - cell.count))
                parts.append(rightAligned.contains(i) ? pad + cell : cell + pad)
            }
            var text = parts.joined(separator: "  ")
            while text.last == " " { text.removeLast() }
            return text
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}
