import Foundation
import Metrics
import Pipeline
import TestSupport
import Testing

/// `warehouse init` creates exactly the columns `WarehouseTablesSchema` declares (name and type), and the sink's
/// statements write only declared columns: a column in one and not the other fails.
@Suite(.tags(.postgres)) struct WarehouseTablesSchemaTests {
    @Test("the tables warehouse init creates are WarehouseTablesSchema's, column for column")
    func initCreatesTheSchema() throws {
        guard let server = TestServices.environment("CDCTOP_TEST_PG"), !server.isEmpty else {
            throw OutputTestSetupError(
                "CDCTOP_TEST_PG is not set: run the tests with scripts/test (it starts PostgreSQL)")
        }
        let name = "cdctop_output_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
        let admin = try PostgresConnection(server)
        let quoted = try admin.quoteQualifiedIdentifier(name)
        try admin.execute("CREATE DATABASE \(quoted)")
        defer { _ = try? admin.execute("DROP DATABASE IF EXISTS \(quoted) WITH (FORCE)") }
        let connection = try PostgresConnection(postgresURL(server, database: name))
        try WarehouseSchema.initialize(connection)

        let rows = try connection.execute(
            """
            SELECT table_schema || '.' || table_name, column_name,
                   CASE WHEN data_type = 'ARRAY' THEN substr(udt_name, 2) || '[]' ELSE data_type END
            FROM information_schema.columns WHERE table_schema = 'cdctop'
            """
        ).rows
        var created = Set<String>()
        for row in rows { created.insert("\(row[0] ?? "") \(row[1] ?? "") \(row[2] ?? "")") }
        // The schema's types as PostgreSQL's catalogue names them.
        let catalogue = ["timestamptz": "timestamp with time zone"]
        var declared = Set<String>()
        for section in WarehouseTablesSchema.sections {
            for f in section.fields { declared.insert("\(section.container) \(f.name) \(catalogue[f.type] ?? f.type)") }
        }
        #expect(
            created == declared,
            "created, not declared: \(created.subtracting(declared).sorted()); declared, not created: \(declared.subtracting(created).sorted())"
        )
        #expect(declared.count == 18)

        // The sink's inserts name only declared columns, and together every column a row gets from cdctop.
        var inserted = Set<String>()
        for sql in WarehouseTables.insertStatements {
            let into = try #require(sql.range(of: "INSERT INTO "), "not an INSERT: \(sql)")
            let rest = sql[into.upperBound...]
            let table = String(rest.prefix { $0 != " " })
            let columns = rest.drop { $0 != "(" }.dropFirst().prefix { $0 != ")" }
            for c in columns.split(separator: ",") {
                inserted.insert("\(table) \(c.trimmingCharacters(in: .whitespaces))")
            }
        }
        let declaredColumns = Set(
            WarehouseTablesSchema.sections.flatMap { s in s.fields.map { "\(s.container) \($0.name)" } })
        #expect(
            inserted == declaredColumns,
            "inserted vs declared: \(inserted.symmetricDifference(declaredColumns).sorted())")
    }
}
