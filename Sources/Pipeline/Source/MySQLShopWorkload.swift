import Foundation
import Metrics

/// Why talking to the MySQL/MariaDB source failed, and what to do about it.
package struct MySQLSourceError: Error, CustomStringConvertible, Sendable {
    package var message: String
    package var advice: String
    package init(_ message: String, advice: String = "") {
        self.message = message
        self.advice = advice
    }
    package var description: String { advice.isEmpty ? message : "\(message); \(advice)" }
}

/// `mysql://user:password@host:port/database` (also `mariadb://`), as `cdctop generate --mysql` takes it.
package struct MySQLURL: Sendable, Equatable {
    package var user: String
    package var password: String?
    package var host: String
    package var port: Int
    package var database: String

    package init(_ text: String) throws(MySQLSourceError) {
        let usage =
            "expected mysql://user[:password]@host[:port]/database, e.g. mysql://cdctop:cdctop@127.0.0.1:23306/shop"
        var rest = Substring(text)
        guard let scheme = rest.range(of: "://"),
            ["mysql", "mariadb"].contains(rest[..<scheme.lowerBound].lowercased())
        else {
            throw MySQLSourceError("--mysql \(text): not a mysql:// URL", advice: usage)
        }
        rest = rest[scheme.upperBound...]
        guard let slash = rest.firstIndex(of: "/") else {
            throw MySQLSourceError("--mysql \(text): no database name", advice: usage)
        }
        database = String(rest[rest.index(after: slash)...])
        var authority = rest[..<slash]
        user = "root"
        password = nil
        if let at = authority.lastIndex(of: "@") {
            let credentials = authority[..<at]
            authority = authority[authority.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                user = String(credentials[..<colon])
                password = String(credentials[credentials.index(after: colon)...])
            } else {
                user = String(credentials)
            }
        }
        port = 3306
        if let colon = authority.lastIndex(of: ":") {
            guard let p = Int(authority[authority.index(after: colon)...]), (1...65535).contains(p) else {
                throw MySQLSourceError("--mysql \(text): the port is not a number in 1…65535", advice: usage)
            }
            port = p
            authority = authority[..<colon]
        }
        host = authority.isEmpty ? "127.0.0.1" : String(authority)
        guard !database.isEmpty, !database.contains("?") else {
            throw MySQLSourceError("--mysql \(text): no database name", advice: usage)
        }
    }
}

/// One `mariadb` (or `mysql`) command-line client in batch mode, kept open: statements go to its
/// stdin, tab-separated rows come back on its stdout. Without a MySQL C library in the build, this
/// is how `generate --mysql` talks to the source; it is a test-traffic tool, not a hot path.
final class MySQLClientSession {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private let errors = Pipe()
    private var buffer: [UInt8] = []
    private static let endMarker = "__cdctop_end__"

    init(_ url: MySQLURL) throws(MySQLSourceError) {
        let candidates = ["/usr/bin/mariadb", "/usr/bin/mysql", "/usr/local/bin/mariadb", "/usr/local/bin/mysql"]
        guard let client = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw MySQLSourceError(
                "no mariadb or mysql command-line client found",
                advice: "install Debian's mariadb-client (scripts/deps does)")
        }
        process.executableURL = URL(fileURLWithPath: client)
        var arguments = [
            "--no-defaults", "--batch", "--unbuffered", "--skip-column-names", "--raw", "--protocol=TCP",
            "-h", url.host, "-P", String(url.port), "-u", url.user,
        ]
        if let password = url.password { arguments.append("-p\(password)") }
        arguments.append(url.database)
        process.arguments = arguments
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        // A client that exits at once (server down, bad password) must not kill us with SIGPIPE when
        // we write to it: the write fails instead, and `failure` reports what the client said.
        signal(SIGPIPE, SIG_IGN)
        do { try process.run() } catch {
            throw MySQLSourceError("could not start \(client): \(error)")
        }
    }

    deinit {
        try? input.fileHandleForWriting.close()
        if process.isRunning { process.waitUntilExit() }
    }

    /// Runs `sql` (one or more statements, each ending in `;`) and returns the rows it printed.
    func run(_ sql: String) throws(MySQLSourceError) -> [[String]] {
        let text = sql + "\nSELECT '\(Self.endMarker)';\n"
        do { try input.fileHandleForWriting.write(contentsOf: Data(text.utf8)) } catch {
            throw failure(sql)
        }
        var rows: [[String]] = []
        while true {
            guard let line = readLine() else { throw failure(sql) }
            if line == Self.endMarker { return rows }
            rows.append(line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init))
        }
    }

    private func readLine() -> String? {
        let fd = output.fileHandleForReading.fileDescriptor
        while true {
            if let newline = buffer.firstIndex(of: 10) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, 4096) }
            if n <= 0 { return nil }
            buffer.append(contentsOf: chunk[0..<n])
        }
    }

    /// The client stopped (a failed statement ends a batch-mode client): its own words and the statement.
    private func failure(_ sql: String) -> MySQLSourceError {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
        let said = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let statement = sql.count > 200 ? String(sql.prefix(200)) + "…" : sql
        return MySQLSourceError(
            "the MySQL client stopped (exit \(process.terminationStatus)): \(said.isEmpty ? "no message" : said) (statement: \(statement))",
            advice: said.contains("doesn't exist")
                ? "load sql/shop-mysql.sql into this database first (scripts/stack up does)"
                : "check the URL, the user's grants and that the server is up (scripts/stack status)")
    }
}

/// The MySQL flavour of `ShopSourceWorkload`: the same traffic (orders with 1–4 lines, shipping,
/// refunds, cancellations, price and category changes, one database transaction each) written into a
/// MySQL or MariaDB database with the schema of sql/shop-mysql.sql, so that Debezium's MySQL connector
/// produces the events. A cancellation deletes the order's lines itself: MySQL does not binlog the rows
/// an ON DELETE CASCADE removes.
package final class MySQLShopWorkload {
    private let session: MySQLClientSession
    private var choices: SourceTrafficChoices
    private var customerIDs: [Int64] = []
    private var products: [(id: Int64, priceCents: Int64)] = []
    private var categories: [String] = []

    package private(set) var committed: [SourceChange: Int64] = [:]

    package init(url: String, seed: UInt64 = 42, mix: SourceWorkloadMix = .shop) throws(MySQLSourceError) {
        session = try MySQLClientSession(try MySQLURL(url))
        choices = SourceTrafficChoices(mix: mix, seed: seed)
        customerIDs = try session.run("SELECT customer_id FROM customer ORDER BY customer_id;").compactMap {
            Int64($0[0])
        }
        products = try session.run("SELECT product_id, price FROM product ORDER BY product_id;").compactMap { row in
            guard row.count == 2, let id = Int64(row[0]), let cents = ShopSourceWorkload.cents(row[1]) else {
                return nil
            }
            return (id, cents)
        }
        categories = try session.run("SELECT DISTINCT category FROM product ORDER BY 1;").map { $0[0] }
        choices.openOrders = try session.run(
            "SELECT transaction_id FROM `transaction` WHERE status = 'new' ORDER BY transaction_id DESC LIMIT 1000;"
        ).compactMap { Int64($0[0]) }.reversed()
        guard !customerIDs.isEmpty, !products.isEmpty else {
            throw MySQLSourceError(
                "the shop database has no customers or no products",
                advice: "load sql/shop-mysql.sql into this database first (scripts/stack up does)")
        }
    }

    package func step() throws(MySQLSourceError) -> SourceCommit {
        let change = choices.next(categoryCount: categories.count)
        var transactionID: Int64? = nil
        switch change {
        case .order: transactionID = try insertOrder()
        case .shipping:
            let id = choices.takeOpenOrder()
            transactionID = id
            _ = try session.run("UPDATE `transaction` SET status = 'shipped', paid = 1 WHERE transaction_id = \(id);")
        case .refund:
            let id = choices.takeOpenOrder()
            transactionID = id
            let percent = choices.random.inRange(10...50)
            _ = try session.run(
                "UPDATE `transaction` SET amount = amount - ROUND(amount * \(percent) / 100, 2), status = 'refunded' WHERE transaction_id = \(id);"
            )
        case .cancel:
            let id = choices.takeOpenOrder()
            transactionID = id
            _ = try session.run(
                """
                START TRANSACTION;
                DELETE FROM transactiondetail WHERE transaction_id = \(id);
                DELETE FROM `transaction` WHERE transaction_id = \(id);
                COMMIT;
                """)
        case .priceChange:
            let index = choices.random.below(products.count)
            let old = products[index].priceCents
            let new = max(50, old + old * Int64(choices.random.inRange(-10...10)) / 100)
            _ = try session.run(
                "UPDATE product SET price = \(ShopSourceWorkload.decimalText(new)) WHERE product_id = \(products[index].id);"
            )
            products[index].priceCents = new
        case .categoryMove:
            let product = choices.random.pick(products)
            let category = choices.random.pick(categories).replacingOccurrences(of: "'", with: "''")
            _ = try session.run("UPDATE product SET category = '\(category)' WHERE product_id = \(product.id);")
        }
        committed[change, default: 0] += 1
        return SourceCommit(change: change, transactionID: transactionID, committedAtMs: WallClock.nowMs())
    }

    private func insertOrder() throws(MySQLSourceError) -> Int64 {
        let lineCount = choices.random.inRange(1...4)
        var values: [String] = []
        var amountCents: Int64 = 0
        for _ in 0..<lineCount {
            let product = choices.random.pick(products)
            let quantity = Int64(choices.random.inRange(1...3))
            values.append("(@t, \(product.id), \(quantity), \(ShopSourceWorkload.decimalText(product.priceCents)))")
            amountCents += quantity * product.priceCents
        }
        let customer = choices.random.pick(customerIDs)
        let rows = try session.run(
            """
            START TRANSACTION;
            INSERT INTO `transaction` (customer_id, amount, status) VALUES (\(customer), \(ShopSourceWorkload.decimalText(amountCents)), 'new');
            SET @t = LAST_INSERT_ID();
            INSERT INTO transactiondetail (transaction_id, product_id, quantity, unit_price) VALUES \(values.joined(separator: ", "));
            COMMIT;
            SELECT @t;
            """)
        guard let id = rows.first.flatMap({ Int64($0[0]) }) else {
            throw MySQLSourceError("INSERT INTO transaction gave no LAST_INSERT_ID()")
        }
        choices.noteOpenOrder(id)
        return id
    }

    /// `count(*)`, `sum(amount)` and the category join, in one consistent snapshot.
    package func totals() throws(MySQLSourceError) -> SourceTotals {
        let rows = try session.run(
            """
            START TRANSACTION WITH CONSISTENT SNAPSHOT;
            SELECT 'T', count(*), coalesce(sum(amount), 0) FROM `transaction`;
            SELECT 'C', p.category, sum(d.quantity * d.unit_price)
            FROM transactiondetail d JOIN product p ON p.product_id = d.product_id GROUP BY p.category;
            COMMIT;
            """)
        var count: Int64? = nil
        var revenue: Money? = nil
        var categories: [String: Money] = [:]
        for row in rows {
            if row.count == 3 && row[0] == "T" {
                count = Int64(row[1])
                revenue = Money(decimalText: row[2])
            } else if row.count == 3 && row[0] == "C", let value = Money(decimalText: row[2]) {
                if value != .zero { categories[row[1]] = value }
            }
        }
        guard let count, let revenue else {
            throw MySQLSourceError("count/sum of transaction could not be read: \(rows)")
        }
        return SourceTotals(txCount: count, revenue: revenue, categoryRevenue: categories)
    }
}
