import Metrics

/// The four tables of the shop schema, in the order Debezium snapshots them (alphabetical).
package enum ShopTable: Int, CaseIterable, Sendable {
    case customer, product, transaction, transactiondetail

    package var name: String {
        switch self {
        case .customer: "customer"
        case .product: "product"
        case .transaction: "transaction"
        case .transactiondetail: "transactiondetail"
        }
    }

    var primaryKey: String {
        switch self {
        case .customer: "customer_id"
        case .product: "product_id"
        case .transaction: "transaction_id"
        case .transactiondetail: "detail_id"
        }
    }
}

struct ProductRow {
    var productId: Int64
    var name: String
    var category: String
    var priceCents: Int64
}
struct CustomerRow {
    var customerId: Int64
    var name: String
    var city: String?
}
struct TransactionRow {
    var transactionId: Int64
    var customerId: Int64
    var amountCents: Int64
    var status: String
    var createdAtMicros: Int64
}
struct LineItemRow {
    var detailId: Int64
    var transactionId: Int64
    var productId: Int64
    var quantity: Int32
    var unitPriceCents: Int64
}

/// One row image (`before` or `after`) of a shop table.
enum ShopRow {
    case customer(CustomerRow)
    case product(ProductRow)
    case transaction(TransactionRow)
    case lineItem(LineItemRow)
}

/// `source.snapshot` as Debezium 3 writes it.
enum SnapshotMarker {
    case first, middle, last, firstInTable, lastInTable, live

    var text: StaticString {
        switch self {
        case .first: "first"
        case .middle: "true"
        case .last: "last"
        case .firstInTable: "first_in_data_collection"
        case .lastInTable: "last_in_data_collection"
        case .live: "false"
        }
    }
}

/// Where a row change sits in the source database: the `source` block of the envelope.
struct SourcePosition {
    var commitMicros: Int64
    var snapshot: SnapshotMarker
    var txId: Int64
    var lsn: Int64
    /// First element of `source.sequence`: the LSN that began the transaction; nil while snapshotting.
    var transactionStartLsn: Int64?
}

/// Writes Debezium 3.6 PostgreSQL-connector messages for the shop tables exactly as Kafka Connect's
/// JsonConverter (schemas.enable=true, decimal.handling.mode=precise) puts them on the wire:
/// compact JSON, the full envelope schema in every value, the key schema in every key.
/// Everything constant per table is rendered once; a message is a few byte copies plus its payload.
final class DebeziumShopEncoder {
    let topicPrefix: String
    /// Per table: `{"schema":<Envelope schema>,"payload":{"before":`.
    private var valueHeads: [[UInt8]] = []
    /// Per table: `{"schema":<Key schema>,"payload":{"<pk>":`.
    private var keyHeads: [[UInt8]] = []
    /// `,"source":{"version":"3.6.3.Final","connector":"postgresql","name":"<prefix>","ts_ms":`.
    private let sourceHead: [UInt8]
    /// Per table: `","table":"<table>","txId":`.
    private var tableTails: [[UInt8]] = []

    init(topicPrefix: String) {
        self.topicPrefix = topicPrefix
        var head = Array(#","source":{"version":"3.6.3.Final","connector":"postgresql","name":"#.utf8)
        head.appendJSONString(topicPrefix)
        head.append(contentsOf: Array(#","ts_ms":"#.utf8))
        sourceHead = head
        for table in ShopTable.allCases {
            let qualified = "\(topicPrefix).public.\(table.name)"
            let rowSchema = DebeziumShopEncoder.rowFields(table).joined(separator: ",")
            var envelope = #"{"schema":{"type":"struct","fields":["#
            for side in ["before", "after"] {
                envelope += #"{"type":"struct","fields":["# + rowSchema + #"],"optional":true,"name":"#
                envelope += JSONText.quoted(qualified + ".Value") + #","field":"# + JSONText.quoted(side) + "},"
            }
            envelope += DebeziumShopEncoder.sourceSchema + ","
            envelope += DebeziumShopEncoder.transactionBlockSchema + ","
            envelope +=
                #"{"type":"string","optional":false,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"},"#
            envelope +=
                #"{"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"}],"#
            envelope += #""optional":false,"name":"# + JSONText.quoted(qualified + ".Envelope") + #","version":2},"#
            envelope += #""payload":{"before":"#
            valueHeads.append(Array(envelope.utf8))

            var key = #"{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"default":0,"field":"#
            key += JSONText.quoted(table.primaryKey) + #"}],"optional":false,"name":"#
            key += JSONText.quoted(qualified + ".Key") + #"},"payload":{"# + JSONText.quoted(table.primaryKey) + ":"
            keyHeads.append(Array(key.utf8))

            tableTails.append(Array((#"","table":""# + table.name + #"","txId":"#).utf8))
        }
    }

    func key(_ table: ShopTable, id: Int64) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(keyHeads[table.rawValue].count + 24)
        out.append(contentsOf: keyHeads[table.rawValue])
        out.appendDecimal(id)
        out.appendASCII("}}")
        return out
    }

    /// A change event value. `emittedNanos` is when Connect processed it (the envelope's own ts_*).
    func value(
        _ table: ShopTable, op: UInt8, before: ShopRow?, after: ShopRow?,
        source: SourcePosition, emittedNanos: Int64
    ) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(valueHeads[table.rawValue].count + 900)
        out.append(contentsOf: valueHeads[table.rawValue])
        appendRow(before, to: &out)
        out.appendASCII(#","after":"#)
        appendRow(after, to: &out)

        out.append(contentsOf: sourceHead)
        let commitMs = JSONBytes.floorDivide(source.commitMicros, 1000).0
        out.appendDecimal(commitMs)
        out.appendASCII(#","snapshot":""#)
        out.appendASCII(source.snapshot.text)
        out.appendASCII(#"","db":"shop","sequence":"["#)
        if let start = source.transactionStartLsn {
            out.appendASCII(#"\""#)
            out.appendDecimal(start)
            out.appendASCII(#"\""#)
        } else {
            out.appendASCII("null")
        }
        out.appendASCII(#",\""#)
        out.appendDecimal(source.lsn)
        out.appendASCII(#"\"]","ts_us":"#)
        out.appendDecimal(source.commitMicros)
        out.appendASCII(#","ts_ns":"#)
        out.appendDecimal(source.commitMicros * 1000)
        out.appendASCII(#","schema":"public"#)
        out.append(contentsOf: tableTails[table.rawValue])
        out.appendDecimal(source.txId)
        out.appendASCII(#","lsn":"#)
        out.appendDecimal(source.lsn)
        out.appendASCII(#","xmin":null,"origin":null,"origin_lsn":null},"transaction":null,"op":""#)
        out.append(op)
        out.appendASCII(#"","ts_ms":"#)
        out.appendDecimal(JSONBytes.floorDivide(emittedNanos, 1_000_000).0)
        out.appendASCII(#","ts_us":"#)
        out.appendDecimal(JSONBytes.floorDivide(emittedNanos, 1000).0)
        out.appendASCII(#","ts_ns":"#)
        out.appendDecimal(emittedNanos)
        out.appendASCII("}}")
        return out
    }

    private func appendRow(_ row: ShopRow?, to out: inout [UInt8]) {
        guard let row else {
            out.appendASCII("null")
            return
        }
        switch row {
        case .customer(let c):
            out.appendASCII(#"{"customer_id":"#)
            out.appendDecimal(c.customerId)
            out.appendASCII(#","name":"#)
            out.appendJSONString(c.name)
            out.appendASCII(#","city":"#)
            if let city = c.city { out.appendJSONString(city) } else { out.appendASCII("null") }
            out.appendASCII("}")
        case .product(let p):
            out.appendASCII(#"{"product_id":"#)
            out.appendDecimal(p.productId)
            out.appendASCII(#","name":"#)
            out.appendJSONString(p.name)
            out.appendASCII(#","category":"#)
            out.appendJSONString(p.category)
            out.appendASCII(#","price":"#)
            JSONBytes.appendPreciseDecimal(unscaled: p.priceCents, to: &out)
            out.appendASCII("}")
        case .transaction(let t):
            out.appendASCII(#"{"transaction_id":"#)
            out.appendDecimal(t.transactionId)
            out.appendASCII(#","customer_id":"#)
            out.appendDecimal(t.customerId)
            out.appendASCII(#","amount":"#)
            JSONBytes.appendPreciseDecimal(unscaled: t.amountCents, to: &out)
            out.appendASCII(#","status":"#)
            out.appendJSONString(t.status)
            out.appendASCII(#","created_at":"#)
            JSONBytes.appendZonedTimestamp(epochMicros: t.createdAtMicros, to: &out)
            out.appendASCII("}")
        case .lineItem(let d):
            out.appendASCII(#"{"detail_id":"#)
            out.appendDecimal(d.detailId)
            out.appendASCII(#","transaction_id":"#)
            out.appendDecimal(d.transactionId)
            out.appendASCII(#","product_id":"#)
            out.appendDecimal(d.productId)
            out.appendASCII(#","quantity":"#)
            out.appendDecimal(Int64(d.quantity))
            out.appendASCII(#","unit_price":"#)
            JSONBytes.appendPreciseDecimal(unscaled: d.unitPriceCents, to: &out)
            out.appendASCII("}")
        }
    }

    // MARK: Schemas (the order of fields must match `appendRow`)

    private static let primaryKeyField = #"{"type":"int64","optional":false,"default":0,"field":"#
    private static func int64Field(_ name: String) -> String {
        #"{"type":"int64","optional":false,"field":""# + name + #""}"#
    }
    private static func stringField(_ name: String, optional: Bool = false) -> String {
        #"{"type":"string","optional":"# + (optional ? "true" : "false") + #","field":""# + name + #""}"#
    }
    private static func decimalField(_ name: String) -> String {
        #"{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"#
            + #""parameters":{"scale":"2","connect.decimal.precision":"12"},"field":""# + name + #""}"#
    }

    static func rowFields(_ table: ShopTable) -> [String] {
        let pk = primaryKeyField + JSONText.quoted(table.primaryKey) + "}"
        switch table {
        case .customer:
            return [pk, stringField("name"), stringField("city", optional: true)]
        case .product:
            return [pk, stringField("name"), stringField("category"), decimalField("price")]
        case .transaction:
            return [
                pk, int64Field("customer_id"), decimalField("amount"),
                #"{"type":"string","optional":false,"default":"new","field":"status"}"#,
                #"{"type":"string","optional":false,"name":"io.debezium.time.ZonedTimestamp","version":1,"#
                    + #""default":"1970-01-01T00:00:00.000000Z","field":"created_at"}"#,
            ]
        case .transactiondetail:
            return [
                pk, int64Field("transaction_id"), int64Field("product_id"),
                #"{"type":"int32","optional":false,"field":"quantity"}"#, decimalField("unit_price"),
            ]
        }
    }

    /// Verbatim from Debezium 3.6.3's PostgreSQL connector (see Tests/Fixtures/debezium).
    static let sourceSchema =
        #"{"type":"struct","fields":[{"type":"string","optional":false,"field":"version"},{"type":"string","optional":false,"field":"connector"},"#
        + #"{"type":"string","optional":false,"field":"name"},{"type":"int64","optional":false,"field":"ts_ms"},"#
        + #"{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},"default":"false","field":"snapshot"},"#
        + #"{"type":"string","optional":false,"field":"db"},{"type":"string","optional":true,"field":"sequence"},{"type":"int64","optional":true,"field":"ts_us"},"#
        + #"{"type":"int64","optional":true,"field":"ts_ns"},{"type":"string","optional":false,"field":"schema"},{"type":"string","optional":false,"field":"table"},"#
        + #"{"type":"int64","optional":true,"field":"txId"},{"type":"int64","optional":true,"field":"lsn"},{"type":"int64","optional":true,"field":"xmin"},"#
        + #"{"type":"string","optional":true,"field":"origin"},{"type":"int64","optional":true,"field":"origin_lsn"}],"optional":false,"#
        + #""name":"io.debezium.connector.postgresql.Source","version":1,"field":"source"}"#

    static let transactionBlockSchema =
        #"{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},{"type":"int64","optional":false,"field":"total_order"},"#
        + #"{"type":"int64","optional":false,"field":"data_collection_order"}],"optional":true,"name":"event.block","version":1,"field":"transaction"}"#
}
