import Foundation
import Metrics
import Testing

@testable import App
@testable import Pipeline

/// How the dashboard writes typed cells: decimals of a column at one scale and right-aligned, binary as
/// `N bytes` in the change list and as hex in the event view. The snapshot comes from the real engine fed
/// real Debezium output of a numeric(14,4)/bytea table (Tests/Fixtures/debezium/valuesfx*.public.ledger.jsonl);
/// the frame cannot decode anything, so what is shown is what the engine decoded.
@Suite struct ValueCellsRenderingTests {
    static func messages(_ file: String) throws -> [OwnedMessage] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/debezium/\(file)")
        let text = try String(contentsOf: url, encoding: .utf8)
        return try text.split(separator: "\n").enumerated().compactMap {
            try RecordingReader.parse(line: $1, file: file, lineNumber: $0 + 1)
        }
    }

    /// The ledger's changes through EngineCore, oldest first (the file's commit order) at offsets 0…
    static func frame(_ file: String) throws -> DashboardFrame {
        let core = EngineCore(profile: .samples)
        core.captureRecentChanges = true
        for (n, m) in try messages(file).enumerated() {
            core.ingest(
                topic: m.topic, partition: 0, offset: Int64(n), timestampMs: m.timestampMs, key: m.key, value: m.value)
        }
        var s = core.snapshot(sequence: 1, takenAtMs: 0)
        let nowMs = s.kpis.maxCommitTimeMs + 400
        s.takenAtMs = nowMs
        var f = DashboardFrame(snapshot: s, nowMs: nowMs)
        f.title = "values fixture"
        return f
    }

    static func screen(_ keys: [Key], _ frame: DashboardFrame, width: Int, height: Int) -> [String] {
        var model = DashboardModel()
        for key in keys {
            model.adopt(DashboardRenderer.render(model, frame, width: width, height: height).1)
            _ = model.handle(key)
        }
        return DashboardRenderer.render(model, frame, width: width, height: height).0.text.split(separator: "\n").map(
            String.init)
    }

    /// Column (in characters) of the decimal point of `column=…` on each line that has it.
    static func points(_ lines: [String], _ column: String) -> [Int] {
        lines.compactMap { line -> Int? in
            guard let at = line.range(of: column + "=") else { return nil }
            let rest = line[at.upperBound...].drop { $0 == " " }
            guard let dot = rest.prefix(while: { $0 != " " }).firstIndex(of: ".") else { return nil }
            return line.distance(from: line.startIndex, to: dot)
        }
    }

    @Test func theChangeListAlignsDecimalsAtTheColumnsScale() throws {
        for file in ["valuesfxdbl.public.ledger.jsonl", "valuesfx.public.ledger.jsonl"] {
            let lines = Self.screen([.char("2"), .enter], try Self.frame(file), width: 160, height: 24)
            let rows = lines.filter { $0.contains("amount=") }
            // The three inserts and the delete (the update lists what changed: `amount old → new`).
            #expect(rows.count == 4, "\(file)\n\(lines.joined(separator: "\n"))")
            for amount in ["12.5000", "3.1416", "7.0000"] {
                #expect(rows.contains { $0.contains(amount) }, "\(file) \(amount)")
            }
            #expect(!rows.contains { $0.contains("=12.5 ") || $0.contains("=7.0 ") })
            // Right-aligned: every amount's decimal point in the same place, and the fee's.
            #expect(Set(Self.points(rows, "amount")).count == 1, "\(file)\n\(rows.joined(separator: "\n"))")
            #expect(
                Set(Self.points(rows.filter { !$0.contains("fee=null") }, "fee")).count == 1,
                "\(file)\n\(rows.joined(separator: "\n"))")
            if file.hasPrefix("valuesfx.") {
                // bytea with a schema: its size, not base64.
                #expect(
                    rows.contains { $0.contains("payload=38 bytes") }
                        && rows.contains { $0.contains("payload=300 bytes") })
                #expect(!lines.contains { $0.contains("AAECAwQF") })
            }
        }
    }

    @Test func alignedSummariesPadEarlierCellsToTheLargerScale() {
        typealias F = ChangeDescription.Field
        func row(_ amount: String, _ scale: Int) -> ChangeDescription {
            ChangeDescription(
                op: .create, table: "t", commitTimeMs: 0, before: nil,
                after: [F(name: "amount", value: amount, kind: .decimal(scale: scale)), F(name: "note", value: "x")])
        }
        let got = ValueCells.alignedSummaries(
            [row("12.5", 1), row("3.1416", 4), nil, row("1234567890.1234", 4)], glyphs: .unicode)
        // Right-aligned as whole `name=value` cells: the padding is before the name, never after the `=`.
        #expect(
            got == [
                "        amount=12.5000 note=x", "         amount=3.1416 note=x", nil, "amount=1234567890.1234 note=x",
            ])
        // A row alone is not padded (the placeholder-delete summary and its test are unchanged).
        #expect(TablesView.summary(row("12.5", 1), glyphs: .unicode) == "amount=12.5 note=x")
    }

    @Test func hexDumpLayout() {
        let bytes: [UInt8] = Array(0...0x1f) + [0x63, 0x64, 0x63, 0x7a, 0x74, 0xf0]
        #expect(
            ValueCells.hexLines(bytes, maxLines: 16) == [
                "0000  00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f  |................|",
                "0010  10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f  |................|",
                "0020  63 64 63 7a 74 f0                                |cdczt.|",
            ])
        // Bounded: 300 bytes at 16 lines is 256 shown and the rest counted.
        let long = ValueCells.hexLines(Array(repeating: 0xca, count: 300), maxLines: 16, ellipsis: "...")
        #expect(long.count == 17 && long[15].hasPrefix("00f0  ca ca") && long[16] == "... 44 more bytes")
    }

    @Test func theEventViewShowsDecimalsAlignedAndBinaryInHex() throws {
        let frame = try Self.frame("valuesfx.public.ledger.jsonl")
        // Newest first: delete, update, insert 3, insert 2, insert 1. The update of row 1:
        let update = Self.screen([.char("2"), .enter, .down, .enter], frame, width: 120, height: 30)
        let text = update.joined(separator: "\n")
        #expect(text.contains("12.5000") && text.contains("1234567890.1234"), "\(text)")
        let amount = try #require(update.first { $0.contains("│amount") || $0.contains(" amount ") }, "\(text)")
        let fee = try #require(update.first { $0.contains(" fee ") || $0.contains("│fee ") }, "\(text)")
        // Numbers right-aligned within each image: the fee's point under the amount's.
        let amountDots = amount.indices.filter { amount[$0] == "." }.map {
            amount.distance(from: amount.startIndex, to: $0)
        }
        let feeDots = fee.indices.filter { fee[$0] == "." }.map { fee.distance(from: fee.startIndex, to: $0) }
        #expect(amountDots == feeDots && amountDots.count == 2, "\(amount)\n\(fee)")
        #expect(update.contains { $0.contains("payload") && $0.contains("38 bytes") })
        // The payload's 38 bytes in hex under the columns.
        #expect(text.contains("payload (after, 38 bytes) in hex"), "\(text)")
        #expect(text.contains("0000  00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f  |................|"))
        #expect(text.contains("0020  63 64 63 7a 74 f0"))
        // Insert 3: 300 bytes, bounded with the rest counted, at 80×24 too.
        for (w, h) in [(80, 24), (200, 60)] {
            let third = Self.screen([.char("2"), .enter, .down, .down, .enter], frame, width: w, height: h).joined(
                separator: "\n")
            #expect(third.contains("payload (after, 300 bytes) in hex"), "\(w)x\(h)\n\(third)")
            #expect(third.contains("0000  ca fe ca fe"), "\(w)x\(h)\n\(third)")
            #expect(third.contains("more bytes"), "\(w)x\(h)\n\(third)")
        }
    }

    /// Categories of a numeric(14,4) line-item price: every amount at 4 places (`12.5000`, not `12.50`), so
    /// the decimal points of each money column stand in one column at 80 and 200 wide.
    @Test func theCategoriesViewShowsMoneyAtOneScaleAligned() throws {
        var frame = Fixture.frame()
        var s = try #require(frame.snapshot)
        let fourPlaces: [String: Int128] = [
            "books": 125_000, "garden": 31_416, "toys": 1_234_567_891_234, "grocery": 70_000, "music": 5,
        ]
        s.kpis.result.totals.categoryRevenue = fourPlaces.mapValues { Money(unscaled: $0, scale: 4)! }
        frame.snapshot = s
        for (w, h) in [(80, 24), (200, 60)] {
            let lines = Self.screen([.char("3")], frame, width: w, height: h)
            let text = lines.joined(separator: "\n")
            #expect(text.contains("12.5000") && text.contains("123,456,789.1234") && text.contains("0.0005"), "\(text)")
            #expect(!text.contains("12.50 "), "\(text)")
            // The total column: the point of every category's total in one screen column.
            var totalPoints: Set<Int> = []
            for name in fourPlaces.keys {
                let line = try #require(lines.first { $0.contains("│\(name) ") }, "\(name)\n\(text)")
                // The last amount with a point before the share (`12.3%`) is the total.
                let amounts = line.indices.filter { line[$0] == "." }.map {
                    line.distance(from: line.startIndex, to: $0)
                }
                #expect(amounts.count >= 2, "\(line)")
                totalPoints.insert(amounts[amounts.count - 2])
            }
            #expect(totalPoints.count == 1, "\(w)x\(h)\n\(text)")
        }
    }

    /// The shop's transaction list at 80 columns (real engine, EngineFixture): the amount comes first and is
    /// whole, then the other numbers; no `name= value` padding; the row's own key (the key column) goes last.
    @Test func theTransactionListAt80ShowsTheAmountFirstAndWhole() throws {
        let frame = EngineFixture.frame()
        var found: [String]?
        for down in 0..<5 where found == nil {
            let lines = Self.screen(
                [.char("2")] + Array(repeating: .down, count: down) + [.enter], frame, width: 80, height: 24)
            if lines.contains(where: { $0.contains("transaction · FOLLOWING") }) { found = lines }
        }
        let lines = try #require(found, "no transaction change list")
        let text = lines.joined(separator: "\n")
        let rows = lines.filter { $0.contains("amount=") && !$0.contains("→") }
        #expect(rows.count >= 5, "\(text)")
        for row in rows {
            #expect(!row.contains("= ") && !row.contains("=…"), "\(row)")
            #expect(row.range(of: #"amount=[0-9][0-9,]*\.[0-9]{2}[ │]"#, options: .regularExpression) != nil, "\(row)")
            let amount = try #require(row.range(of: "amount="))
            if let customer = row.range(of: "customer_id=") {
                #expect(amount.lowerBound < customer.lowerBound, "\(row)")
            }
            if let id = row.range(of: "transaction_id=") { #expect(amount.lowerBound < id.lowerBound, "\(row)") }
        }
        #expect(Set(Self.points(rows, "amount")).count == 1, "\(text)")
    }
}
