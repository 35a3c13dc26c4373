/// Decodes a `Decodable` value from a `JSONValue`: Swift's `Codable` over the project's own JSON,
/// with no Foundation (the `Decoder` protocols are the standard library's).
///
/// The reverse of `JSONValueEncoder`, and lenient where JSON's numbers are: an integer type reads
/// an `.int` or an integral `.double` (`2.0`) in its range; `Double` and `Float` read either case
/// (an `.int` beyond 2^53 is rounded). Anything else that does not fit is a `DecodingError` with the
/// coding path of the value that failed, never a trap:
/// - `typeMismatch` for the wrong kind (a string where a number was expected);
/// - `valueNotFound` for `null` where a value was required, or an array that ran out;
/// - `keyNotFound` for a missing member (an `Optional` property reads a missing or `null` member
///   as `nil`);
/// - `dataCorrupted` for a number out of the type's range, or with a fraction where an integer
///   was expected.
///
/// A member the type does not ask for is ignored. The value is already parsed (and its depth
/// bounded by the parser); decoding recurses only as deep as the type's own `init(from:)` does.
public struct JSONValueDecoder: Sendable {
    /// Handed to every `init(from:)` as `decoder.userInfo`.
    public var userInfo: [CodingUserInfoKey: any Sendable] = [:]

    public init() {}

    /// `value` read as a `T`.
    public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try JSONValueDecoding(value: value, codingPath: [], userInfo: userInfo).decode(T.self)
    }
}

// MARK: - The decoder

/// One value's decoder, and its single-value container.
struct JSONValueDecoding: Decoder, SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [any CodingKey]
    let options: [CodingUserInfoKey: any Sendable]

    var userInfo: [CodingUserInfoKey: Any] { options }

    init(value: JSONValue, codingPath: [any CodingKey], userInfo: [CodingUserInfoKey: any Sendable]) {
        self.value = value
        self.codingPath = codingPath
        self.options = userInfo
    }

    /// A decoder for a value inside this one.
    func child(_ value: JSONValue, at path: [any CodingKey]) -> JSONValueDecoding {
        JSONValueDecoding(value: value, codingPath: path, userInfo: options)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        switch value {
        case .object(let object):
            return KeyedDecodingContainer(JSONKeyedDecodingContainer<Key>(decoder: self, object: object))
        case .null:
            throw DecodingError.valueNotFound(KeyedDecodingContainer<Key>.self, DecodingError.Context(
                codingPath: codingPath, debugDescription: "Expected an object but found null instead."))
        default:
            throw DecodingError.typeMismatch([String: Any].self, DecodingError.Context(
                codingPath: codingPath, debugDescription: "Expected an object but found \(value.kindDescription) instead."))
        }
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        switch value {
        case .array(let elements):
            return JSONUnkeyedDecodingContainer(decoder: self, elements: elements)
        case .null:
            throw DecodingError.valueNotFound((any UnkeyedDecodingContainer).self, DecodingError.Context(
                codingPath: codingPath, debugDescription: "Expected an array but found null instead."))
        default:
            throw DecodingError.typeMismatch([Any].self, DecodingError.Context(
                codingPath: codingPath, debugDescription: "Expected an array but found \(value.kindDescription) instead."))
        }
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    // MARK: SingleValueDecodingContainer

    func decodeNil() -> Bool { value.isNull }
    func decode(_ type: Bool.Type) throws -> Bool { try value.decodeBool(at: codingPath) }
    func decode(_ type: String.Type) throws -> String { try value.decodeString(at: codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try value.decodeDouble(at: codingPath) }
    func decode(_ type: Float.Type) throws -> Float { try value.decodeFloat(at: codingPath) }
    func decode(_ type: Int.Type) throws -> Int { try value.decodeInteger(at: codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try value.decodeInteger(at: codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try value.decodeInteger(at: codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try value.decodeInteger(at: codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try value.decodeInteger(at: codingPath) }
    func decode(_ type: Int128.Type) throws -> Int128 { try value.decodeInteger(at: codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try value.decodeInteger(at: codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try value.decodeInteger(at: codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try value.decodeInteger(at: codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try value.decodeInteger(at: codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try value.decodeInteger(at: codingPath) }
    func decode(_ type: UInt128.Type) throws -> UInt128 { try value.decodeInteger(at: codingPath) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: self) }
}

// MARK: - Containers

struct JSONKeyedDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: JSONValueDecoding
    let object: JSONObject

    var codingPath: [any CodingKey] { decoder.codingPath }

    /// The members whose names are keys of `Key`, in the object's order.
    var allKeys: [Key] { object.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { object.index(forKey: key.stringValue) != nil }

    private func member(_ key: Key) throws -> JSONValue {
        guard let value = object[key.stringValue] else {
            throw DecodingError.keyNotFound(key, DecodingError.Context(
                codingPath: codingPath, debugDescription: "No value for key \"\(key.stringValue)\"."))
        }
        return value
    }

    private func path(_ key: Key) -> [any CodingKey] { codingPath + [key] }

    func decodeNil(forKey key: Key) throws -> Bool { try member(key).isNull }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try member(key).decodeBool(at: path(key)) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try member(key).decodeString(at: path(key)) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try member(key).decodeDouble(at: path(key)) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try member(key).decodeFloat(at: path(key)) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try member(key).decodeInteger(at: path(key)) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try member(key).decodeInteger(at: path(key)) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try member(key).decodeInteger(at: path(key)) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try member(key).decodeInteger(at: path(key)) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try member(key).decodeInteger(at: path(key)) }
    func decode(_ type: Int128.Type, forKey key: Key) throws -> Int128 { try member(key).decodeInteger(at: path(key)) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try member(key).decodeInteger(at: path(key)) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try member(key).decodeInteger(at: path(key)) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try member(key).decodeInteger(at: path(key)) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try member(key).decodeInteger(at: path(key)) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try member(key).decodeInteger(at: path(key)) }
    func decode(_ type: UInt128.Type, forKey key: Key) throws -> UInt128 { try member(key).decodeInteger(at: path(key)) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try T(from: decoder.child(try member(key), at: path(key)))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try decoder.child(try member(key), at: path(key)).container(keyedBy: NestedKey.self)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try decoder.child(try member(key), at: path(key)).unkeyedContainer()
    }

    /// The member `super`; a missing one reads as `null`, as in Foundation's `JSONDecoder`.
    func superDecoder() throws -> any Decoder {
        decoder.child(object[JSONCodingKey.superKey.stringValue] ?? .null, at: codingPath + [JSONCodingKey.superKey])
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        decoder.child(object[key.stringValue] ?? .null, at: path(key))
    }
}

/// Reads an array in order. A read that throws leaves `currentIndex` where it was, so the caller
/// may try the same element as another type.
struct JSONUnkeyedDecodingContainer: UnkeyedDecodingContainer {
    let decoder: JSONValueDecoding
    let elements: [JSONValue]
    private(set) var currentIndex = 0

    init(decoder: JSONValueDecoding, elements: [JSONValue]) {
        self.decoder = decoder
        self.elements = elements
    }

    var codingPath: [any CodingKey] { decoder.codingPath }
    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    /// The path of the element about to be read.
    private var path: [any CodingKey] { codingPath + [JSONCodingKey(index: currentIndex)] }

    private func ranOut(_ type: Any.Type) -> DecodingError {
        DecodingError.valueNotFound(type, DecodingError.Context(
            codingPath: path, debugDescription: "Expected \(type) but the array has no more elements."))
    }

    /// Reads the next element with `read`, and moves past it only if that succeeded.
    private mutating func next<T>(_ type: T.Type, _ read: (JSONValue, [any CodingKey]) throws -> T) throws -> T {
        guard !isAtEnd else { throw ranOut(T.self) }
        let result = try read(elements[currentIndex], path)
        currentIndex += 1
        return result
    }

    /// Moves past the next element if it is `null`.
    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { throw ranOut(Any?.self) }
        guard elements[currentIndex].isNull else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try next(type) { try $0.decodeBool(at: $1) } }
    mutating func decode(_ type: String.Type) throws -> String { try next(type) { try $0.decodeString(at: $1) } }
    mutating func decode(_ type: Double.Type) throws -> Double { try next(type) { try $0.decodeDouble(at: $1) } }
    mutating func decode(_ type: Float.Type) throws -> Float { try next(type) { try $0.decodeFloat(at: $1) } }
    mutating func decode(_ type: Int.Type) throws -> Int { try next(type) { try $0.decodeInteger(at: $1) } }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next(type) { try $0.decodeInteger(at: $1) } }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next(type) { try $0.decodeInteger(at: $1) } }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next(type) { try $0.decodeInteger(at: $1) } }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next(type) { try $0.decodeInteger(at: $1) } }
    mutating func decode(_ type: Int128.Type) throws -> Int128 { try next(type) { try $0.decodeInteger(at: $1) } }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next(type) { try $0.decodeInteger(at: $1) } }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next(type) { try $0.decodeInteger(at: $1) } }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next(type) { try $0.decodeInteger(at: $1) } }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next(type) { try $0.decodeInteger(at: $1) } }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next(type) { try $0.decodeInteger(at: $1) } }
    mutating func decode(_ type: UInt128.Type) throws -> UInt128 { try next(type) { try $0.decodeInteger(at: $1) } }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let decoder = self.decoder
        return try next(type) { try T(from: decoder.child($0, at: $1)) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let decoder = self.decoder
        return try next(KeyedDecodingContainer<NestedKey>.self) { try decoder.child($0, at: $1).container(keyedBy: NestedKey.self) }
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let decoder = self.decoder
        return try next((any UnkeyedDecodingContainer).self) { try decoder.child($0, at: $1).unkeyedContainer() }
    }

    mutating func superDecoder() throws -> any Decoder {
        let decoder = self.decoder
        return try next((any Decoder).self) { decoder.child($0, at: $1) }
    }
}

// MARK: - Scalars

extension JSONValue {
    /// The error for a value of the wrong kind: `valueNotFound` for `null` (a value was required),
    /// `typeMismatch` for anything else.
    func mismatch(_ type: Any.Type, at path: [any CodingKey]) -> DecodingError {
        if case .null = self {
            return DecodingError.valueNotFound(type, DecodingError.Context(
                codingPath: path, debugDescription: "Expected \(type) but found null instead."))
        }
        return DecodingError.typeMismatch(type, DecodingError.Context(
            codingPath: path, debugDescription: "Expected \(type) but found \(kindDescription) instead."))
    }

    func decodeBool(at path: [any CodingKey]) throws -> Bool {
        guard case .bool(let value) = self else { throw mismatch(Bool.self, at: path) }
        return value
    }

    func decodeString(at path: [any CodingKey]) throws -> String {
        guard case .string(let value) = self else { throw mismatch(String.self, at: path) }
        return value
    }

    /// An `.int`, or a `.double` with no fraction, that fits `I`.
    func decodeInteger<I: FixedWidthInteger>(at path: [any CodingKey]) throws -> I {
        let exact: I?
        switch self {
        case .int(let value): exact = I(exactly: value)
        case .double(let value): exact = I(exactly: value)
        default: throw mismatch(I.self, at: path)
        }
        guard let exact else {
            throw DecodingError.dataCorrupted(DecodingError.Context(
                codingPath: path, debugDescription: "The number \(self) does not fit \(I.self)."))
        }
        return exact
    }

    func decodeDouble(at path: [any CodingKey]) throws -> Double {
        switch self {
        case .int(let value): return Double(value)
        case .double(let value): return value
        default: throw mismatch(Double.self, at: path)
        }
    }

    /// The number rounded to the nearest `Float`; one beyond `Float`'s range is `dataCorrupted`
    /// rather than an infinity.
    func decodeFloat(at path: [any CodingKey]) throws -> Float {
        let double = try decodeDouble(at: path)
        let float = Float(double)
        guard float.isFinite || !double.isFinite else {
            throw DecodingError.dataCorrupted(DecodingError.Context(
                codingPath: path, debugDescription: "The number \(self) does not fit Float."))
        }
        return float
    }
}
