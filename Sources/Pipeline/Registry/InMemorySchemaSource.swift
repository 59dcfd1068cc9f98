/// Schemas held in memory, numbered from 1 in registration order as a fresh registry numbers them:
/// the schema source of `bench --avro` and of tests (no registry on the decoding path).
package final class InMemorySchemaSource: ConfluentSchemaSource {
    package private(set) var byID: [Int32: RegisteredSchema] = [:]
    private var ids: [String: Int32] = [:]

    package init() {}

    /// The id of an Avro schema's text, registered first when it is new.
    package func register(_ text: String) -> Int32 {
        if let id = ids[text] { return id }
        let id = Int32(ids.count + 1)
        set(id: id, text: text)
        return id
    }

    /// Keeps an Avro schema under a given id (a captured registry's numbering).
    package func set(id: Int32, text: String) {
        ids[text] = id
        byID[id] = RegisteredSchema(id: id, schemaType: "AVRO", text: text, subjects: [])
    }

    package func schema(id: Int32, whileWaiting: () -> Void) -> RegisteredSchema? { byID[id] }
}
