/// Encodes an `Encodable` value into a `JSONValue`: Swift's `Codable` over the project's own JSON,
/// with no Foundation (the `Encoder` protocols are the standard library's).
///
/// What becomes what:
/// - a keyed container is an object, its members in the order they were encoded (a key encoded
///   twice keeps its first place and its last value); a `Dictionary` has no order of its own, so
///   its members come in the dictionary's iteration order. `Int` keys become their decimal text,
///   as the standard library's `CodingKey.stringValue` spells them;
/// - an unkeyed container is an array; a single value is that value alone, so a type that encodes
///   as a bare `String` or number is one at the top level too;
/// - `nil` is `null`;
/// - every integer type is `.int(Int64)`; a value out of `Int64`'s range (a `UInt64` above
///   `Int64.max`) throws `EncodingError.invalidValue` rather than losing digits;
/// - `Double` and `Float` are `.double`; NaN and the infinities throw `EncodingError.invalidValue`
///   (JSON has no spelling for them; the serializer would write `null`). A `Float` is stored as
///   the `Double` its shortest decimal names, so `0.1 as Float` serializes as `0.1`.
///
/// Asking one encoder for two kinds of container, or encoding twice into a single-value
/// container, is a programming error and traps, as in Foundation's `JSONEncoder`.
public struct JSONValueEncoder: Sendable {
    /// Handed to every `encode(to:)` as `encoder.userInfo`.
    public var userInfo: [CodingUserInfoKey: any Sendable] = [:]

    public init() {}

    /// `value` as a `JSONValue`; throws `EncodingError.invalidValue` for a number JSON cannot
    /// hold, or for a value that encodes nothing at all.
    public func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        let encoder = JSONValueEncoding(codingPath: [], userInfo: userInfo)
        try value.encode(to: encoder)
        guard let encoded = encoder.finish() else {
            throw EncodingError.invalidValue(value, EncodingError.Context(
                codingPath: [], debugDescription: "Top-level \(T.self) did not encode any values."))
        }
        return encoded
    }
}

// MARK: - What an encoder holds

/// What one encoder (or one slot in a container) has been given. Containers are handed out
/// before they are filled, so the ones that are not finished yet are held by reference and read
/// when their parent finishes. A value encoded through a child encoder is finished as soon as its
/// `encode(to:)` returns, so only nested containers and super encoders stay pending, and the
/// recursion in `build()` is only as deep as the nesting of containers inside one `encode(to:)`.
enum JSONEncodingNode {
    case value(JSONValue)
    case object(JSONObjectBuilder)
    case array(JSONArrayBuilder)
    /// A super encoder, which its caller fills after taking the slot.
    case encoder(JSONValueEncoding)

    func build() -> JSONValue {
        switch self {
        case .value(let value): value
        case .object(let builder): .object(builder.build())
        case .array(let builder): .array(builder.build())
        // A super encoder its caller never wrote to is an empty object, as in Foundation.
        case .encoder(let encoder): encoder.finish() ?? .object(JSONObject())
        }
    }
}

/// An object being encoded. Finished members are stored in place; a pending one holds a
/// `null` in its place (which keeps its position) until `build()`.
final class JSONObjectBuilder {
    private var object = JSONObject()
    private var pending: [(key: String, node: JSONEncodingNode)] = []

    func set(_ value: JSONValue, forKey key: String) {
        object[key] = value
        if !pending.isEmpty { pending.removeAll { JSONKey.sameUTF8($0.key, key) } }
    }

    /// Takes the slot `key` for a container or encoder that will be filled later.
    func setPending(_ node: JSONEncodingNode, forKey key: String) {
        set(.null, forKey: key)
        pending.append((key, node))
    }

    /// The pending object at `key` (a second `nestedContainer(keyedBy:forKey:)` for the same key
    /// adds to the first one), or a new one in that slot.
    func nestedObject(forKey key: String) -> JSONObjectBuilder {
        if let found = pending.last(where: { JSONKey.sameUTF8($0.key, key) }), case .object(let builder) = found.node {
            return builder
        }
        let builder = JSONObjectBuilder()
        setPending(.object(builder), forKey: key)
        return builder
    }

    /// A new array in the slot `key`.
    func nestedArray(forKey key: String) -> JSONArrayBuilder {
        let builder = JSONArrayBuilder()
        setPending(.array(builder), forKey: key)
        return builder
    }

    func build() -> JSONObject {
        var result = object
        for (key, node) in pending { result[key] = node.build() }  // replaces the placeholder in place
        return result
    }
}

/// An array being encoded; a pending element holds a `null` in its place until `build()`.
final class JSONArrayBuilder {
    private var elements: [JSONValue] = []
    private var pending: [(index: Int, node: JSONEncodingNode)] = []

    var count: Int { elements.count }

    func append(_ value: JSONValue) { elements.append(value) }

    func appendPending(_ node: JSONEncodingNode) {
        pending.append((elements.count, node))
        elements.append(.null)
    }

    func build() -> [JSONValue] {
        var result = elements
        for (index, node) in pending { result[index] = node.build() }
        return result
    }
}

// MARK: - The encoder

/// One value's encoder, and its single-value container. A class, because the containers it hands
/// out write into it after it has returned them.
final class JSONValueEncoding: Encoder, SingleValueEncodingContainer {
    let codingPath: [any CodingKey]
    let options: [CodingUserInfoKey: any Sendable]
    private(set) var node: JSONEncodingNode?

    var userInfo: [CodingUserInfoKey: Any] { options }

    init(codingPath: [any CodingKey], userInfo: [CodingUserInfoKey: any Sendable]) {
        self.codingPath = codingPath
        self.options = userInfo
    }

    /// What was encoded; nil if nothing was.
    func finish() -> JSONValue? { node?.build() }

    /// `value` encoded by a child encoder at `path`: finished at once (see `JSONEncodingNode`).
    func encodeChild<T: Encodable>(_ value: T, at path: [any CodingKey]) throws -> JSONValue {
        let child = JSONValueEncoding(codingPath: path, userInfo: options)
        try value.encode(to: child)
        return child.finish() ?? .object(JSONObject())  // encoded nothing: `{}`, as in Foundation
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        let builder: JSONObjectBuilder
        switch node {
        case .object(let existing)?:
            builder = existing  // a second keyed container adds to the first, as in Foundation
        case nil:
            builder = JSONObjectBuilder()
            node = .object(builder)
        default:
            preconditionFailure("JSONValueEncoder: a keyed container asked for after another kind at \(codingPath.pathText)")
        }
        return KeyedEncodingContainer(JSONKeyedEncodingContainer<Key>(encoder: self, builder: builder, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let builder: JSONArrayBuilder
        switch node {
        case .array(let existing)?:
            builder = existing
        case nil:
            builder = JSONArrayBuilder()
            node = .array(builder)
        default:
            preconditionFailure("JSONValueEncoder: an unkeyed container asked for after another kind at \(codingPath.pathText)")
        }
        return JSONUnkeyedEncodingContainer(encoder: self, builder: builder, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { self }

    // MARK: SingleValueEncodingContainer

    private func store(_ value: JSONValue) {
        precondition(node == nil, "JSONValueEncoder: a single value encoded twice, or after a container, at \(codingPath.pathText)")
        node = .value(value)
    }

    /// A `JSONValue` stored as it is (its own `encode(to:)` comes here): no container round trip.
    func encodeJSONValue(_ value: JSONValue) throws { store(value) }

    func encodeNil() throws { store(.null) }
    func encode(_ value: Bool) throws { store(.bool(value)) }
    func encode(_ value: String) throws { store(.string(value)) }
    func encode(_ value: Double) throws { store(try JSONValue.encoding(value, at: codingPath)) }
    func encode(_ value: Float) throws { store(try JSONValue.encoding(value, at: codingPath)) }
    func encode(_ value: Int) throws { store(try JSONValue.encoding(value, at: codingPath)) }
    func encode(_ value: Int8) throws { store(try JSONValue.encoding(value, at: codingPath)) }
    func encode(_ value: Int16) throws { store(try JSONValue.encoding(value, at: codingPath)) }
    func encode(_ value: Int32) throws { store(try JSONValue.encoding(value, at: codingPath)) }
    func encode(_ value: Int64) throws { store(try JSONValue.encoding(value, at: codingPath)) }
    func encode(_ value: Int128) throws { store(try JSONValue.encoding(value, at: codingPath)) }
    func encode(_ value: UInt) throws { store(try JSONValue.encoding(value, at: codingPath)) }
    func encode(_ value: UInt8) throws { store(try JSONValue.encoding(value, at: codingPath)) }
    func encode(_ value: UInt16) throws { store(try JSONValue.encoding(value, at: codingPath)) }
    func encode(_ value: UInt32) throws { store(try JSONValue.encoding(value, at: codingPath)) }
    func encode(_ value: UInt64) throws { store(try JSONValue.encoding(value, at: codingPath)) }
    func encode(_ value: UInt128) throws { store(try JSONValue.encoding(value, at: codingPath)) }

    func encode<T: Encodable>(_ value: T) throws {
        precondition(node == nil, "JSONValueEncoder: a single value encoded twice, or after a container, at \(codingPath.pathText)")
        // Encoded into this very encoder: the value's own `encode(to:)` picks the container.
        try value.encode(to: self)
    }
}

// MARK: - Containers

struct JSONKeyedEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let encoder: JSONValueEncoding
    let builder: JSONObjectBuilder
    let codingPath: [any CodingKey]

    private func set(_ value: JSONValue, _ key: Key) { builder.set(value, forKey: key.stringValue) }
    private func path(_ key: Key) -> [any CodingKey] { codingPath + [key] }

    mutating func encodeNil(forKey key: Key) throws { set(.null, key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { set(.bool(value), key) }
    mutating func encode(_ value: String, forKey key: Key) throws { set(.string(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { set(try .encoding(value, at: path(key)), key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { set(try .encoding(value, at: path(key)), key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { set(try .encoding(value, at: path(key)), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { set(try .encoding(value, at: path(key)), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { set(try .encoding(value, at: path(key)), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { set(try .encoding(value, at: path(key)), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { set(try .encoding(value, at: path(key)), key) }
    mutating func encode(_ value: Int128, forKey key: Key) throws { set(try .encoding(value, at: path(key)), key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { set(try .encoding(value, at: path(key)), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { set(try .encoding(value, at: path(key)), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { set(try .encoding(value, at: path(key)), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { set(try .encoding(value, at: path(key)), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { set(try .encoding(value, at: path(key)), key) }
    mutating func encode(_ value: UInt128, forKey key: Key) throws { set(try .encoding(value, at: path(key)), key) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        set(try encoder.encodeChild(value, at: path(key)), key)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let nested = builder.nestedObject(forKey: key.stringValue)
        return KeyedEncodingContainer(JSONKeyedEncodingContainer<NestedKey>(encoder: encoder, builder: nested, codingPath: path(key)))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        JSONUnkeyedEncodingContainer(encoder: encoder, builder: builder.nestedArray(forKey: key.stringValue), codingPath: path(key))
    }

    mutating func superEncoder() -> any Encoder { superEncoder(named: JSONCodingKey.superKey) }

    mutating func superEncoder(forKey key: Key) -> any Encoder { superEncoder(named: key) }

    private func superEncoder(named key: any CodingKey) -> any Encoder {
        let child = JSONValueEncoding(codingPath: codingPath + [key], userInfo: encoder.options)
        builder.setPending(.encoder(child), forKey: key.stringValue)
        return child
    }
}

struct JSONUnkeyedEncodingContainer: UnkeyedEncodingContainer {
    let encoder: JSONValueEncoding
    let builder: JSONArrayBuilder
    let codingPath: [any CodingKey]

    var count: Int { builder.count }

    /// The path of the element about to be appended.
    private var next: [any CodingKey] { codingPath + [JSONCodingKey(index: builder.count)] }

    mutating func encodeNil() throws { builder.append(.null) }
    mutating func encode(_ value: Bool) throws { builder.append(.bool(value)) }
    mutating func encode(_ value: String) throws { builder.append(.string(value)) }
    mutating func encode(_ value: Double) throws { builder.append(try .encoding(value, at: next)) }
    mutating func encode(_ value: Float) throws { builder.append(try .encoding(value, at: next)) }
    mutating func encode(_ value: Int) throws { builder.append(try .encoding(value, at: next)) }
    mutating func encode(_ value: Int8) throws { builder.append(try .encoding(value, at: next)) }
    mutating func encode(_ value: Int16) throws { builder.append(try .encoding(value, at: next)) }
    mutating func encode(_ value: Int32) throws { builder.append(try .encoding(value, at: next)) }
    mutating func encode(_ value: Int64) throws { builder.append(try .encoding(value, at: next)) }
    mutating func encode(_ value: Int128) throws { builder.append(try .encoding(value, at: next)) }
    mutating func encode(_ value: UInt) throws { builder.append(try .encoding(value, at: next)) }
    mutating func encode(_ value: UInt8) throws { builder.append(try .encoding(value, at: next)) }
    mutating func encode(_ value: UInt16) throws { builder.append(try .encoding(value, at: next)) }
    mutating func encode(_ value: UInt32) throws { builder.append(try .encoding(value, at: next)) }
    mutating func encode(_ value: UInt64) throws { builder.append(try .encoding(value, at: next)) }
    mutating func encode(_ value: UInt128) throws { builder.append(try .encoding(value, at: next)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        builder.append(try encoder.encodeChild(value, at: next))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let path = next
        let nested = JSONObjectBuilder()
        builder.appendPending(.object(nested))
        return KeyedEncodingContainer(JSONKeyedEncodingContainer<NestedKey>(encoder: encoder, builder: nested, codingPath: path))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let path = next
        let nested = JSONArrayBuilder()
        builder.appendPending(.array(nested))
        return JSONUnkeyedEncodingContainer(encoder: encoder, builder: nested, codingPath: path)
    }

    mutating func superEncoder() -> any Encoder {
        let child = JSONValueEncoding(codingPath: next, userInfo: encoder.options)
        builder.appendPending(.encoder(child))
        return child
    }
}

// MARK: - Numbers

extension JSONValue {
    /// An integer of any width as `.int`, or `EncodingError.invalidValue` when it does not fit.
    static func encoding<I: FixedWidthInteger>(_ value: I, at path: [any CodingKey]) throws -> JSONValue {
        guard let exact = Int64(exactly: value) else {
            throw EncodingError.invalidValue(value, EncodingError.Context(
                codingPath: path, debugDescription: "\(I.self) \(value) does not fit a JSON integer (Int64)."))
        }
        return .int(exact)
    }

    /// A finite `Double` as `.double`, or `EncodingError.invalidValue` for NaN and the infinities.
    static func encoding(_ value: Double, at path: [any CodingKey]) throws -> JSONValue {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, EncodingError.Context(
                codingPath: path, debugDescription: "\(value) is not a JSON number."))
        }
        return .double(value)
    }

    /// A finite `Float` as the `Double` its shortest decimal spelling names (`0.1`, not
    /// `0.10000000149011612`), if that reads back as the same `Float`; else its exact value.
    static func encoding(_ value: Float, at path: [any CodingKey]) throws -> JSONValue {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, EncodingError.Context(
                codingPath: path, debugDescription: "\(value) is not a JSON number."))
        }
        if let decimal = Double(value.description), Float(decimal) == value { return .double(decimal) }
        return .double(Double(value))
    }
}

extension Array where Element == any CodingKey {
    /// A coding path for a trap message, its keys joined by dots: `user.tags.Index 2`.
    var pathText: String {
        isEmpty ? "the top level" : map(\.stringValue).joined(separator: ".")
    }
}
