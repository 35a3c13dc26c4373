/// A JSON value, as Socket.IO and the polling endpoints exchange them.
///
/// Numbers come in two cases so that what was written comes back unchanged:
/// - `int(Int64)` for a number written without a fraction or exponent that fits 64 bits,
///   exactly (`9007199254740993` stays `9007199254740993`, which a `Double` cannot hold);
/// - `double(Double)` for everything else (`1.5`, `5.0`, `1e3`), and for an integer literal
///   outside Int64's range, which is read as the nearest `Double`, as JavaScript would.
///
/// `1` and `1.0` are therefore different values (they serialize differently), though
/// `intValue` and `doubleValue` read either. A `double` that is NaN or infinite cannot come
/// from the parser; if one is built by hand it serializes as `null`, as JavaScript's
/// `JSON.stringify` does, and (being NaN) it is not even equal to itself.
///
/// Objects keep their key order; see `JSONObject`.
///
/// Equality is JSON's, not Swift's: strings (and keys) are equal when their UTF-8 bytes are,
/// as in Python and JavaScript, so U+00E9 and `e` + U+0301 differ (Swift's `String ==` would
/// call them equal). Object member order is ignored. `int` and `double` never compare equal.
public enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

// MARK: - Equality

extension JSONValue {
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.int(let a), .int(let b)): return a == b
        case (.double(let a), .double(let b)): return a == b
        case (.string(let a), .string(let b)): return JSONKey.sameUTF8(a, b)
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)): return a == b
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0 as UInt8)
        case .bool(let value): hasher.combine(1 as UInt8); hasher.combine(value)
        case .int(let value): hasher.combine(2 as UInt8); hasher.combine(value)
        case .double(let value): hasher.combine(3 as UInt8); hasher.combine(value)
        case .string(let value): hasher.combine(4 as UInt8); hasher.combine(JSONKey(value))
        case .array(let value): hasher.combine(5 as UInt8); hasher.combine(value)
        case .object(let value): hasher.combine(6 as UInt8); hasher.combine(value)
        }
    }
}

// MARK: - Reading

extension JSONValue {
    /// True for `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The Boolean, if this is `true` or `false`.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The string, if this is a string.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The number as an `Int64`, if it is an integer that fits: an `int`, or a `double` with
    /// no fractional part in range (`2.0` gives 2, `2.5` gives nil).
    public var int64Value: Int64? {
        switch self {
        case .int(let value): return value
        case .double(let value): return Int64(exactly: value)
        default: return nil
        }
    }

    /// The number as an `Int`, under the same rule as `int64Value`.
    public var intValue: Int? {
        int64Value.flatMap { Int(exactly: $0) }
    }

    /// The number as a `Double`; an `int` beyond 2^53 is rounded to the nearest `Double`.
    public var doubleValue: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .double(let value): return value
        default: return nil
        }
    }

    /// The elements, if this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The members, if this is an object.
    public var objectValue: JSONObject? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// The member `key` of an object; nil if this is not an object or has no such key.
    ///
    /// Setting works on objects only (setting nil removes the member), for building payloads:
    /// `var ack: JSONValue = [:]; ack["sid"] = "abc"`. Setting a key on anything else is a
    /// programming error and traps.
    public subscript(key: String) -> JSONValue? {
        get {
            if case .object(let object) = self { return object[key] }
            return nil
        }
        set {
            guard case .object(var object) = self else {
                preconditionFailure("JSONValue: cannot set key \"\(key)\" on a value that is not an object")
            }
            self = .null  // drop this reference first, so the object is not copied on write
            object[key] = newValue
            self = .object(object)
        }
    }

    /// The element at `index` of an array; nil if this is not an array or the index is out of
    /// range (a peer's payload is not trusted to have the shape we expect, so no trap).
    public subscript(index: Int) -> JSONValue? {
        if case .array(let array) = self, array.indices.contains(index) { return array[index] }
        return nil
    }
}

// MARK: - Literals

extension JSONValue: ExpressibleByNilLiteral {
    public init(nilLiteral: ()) { self = .null }
}

extension JSONValue: ExpressibleByBooleanLiteral {
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension JSONValue: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int64) { self = .int(value) }
}

extension JSONValue: ExpressibleByFloatLiteral {
    public init(floatLiteral value: Double) { self = .double(value) }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByStringInterpolation {
    public init(stringLiteral value: String) { self = .string(value) }
}

extension JSONValue: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
}

extension JSONValue: ExpressibleByDictionaryLiteral {
    /// Keeps the written order; a repeated key keeps its first position and last value.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(JSONObject(elements))
    }
}

// MARK: - Convenience initialisers

extension JSONValue {
    /// An `int`.
    public init(_ value: Int) { self = .int(Int64(value)) }
    /// A `double`.
    public init(_ value: Double) { self = .double(value) }
    /// A `string`.
    public init(_ value: String) { self = .string(value) }
    /// A `bool`.
    public init(_ value: Bool) { self = .bool(value) }
}

// MARK: - Text

extension JSONValue: CustomStringConvertible {
    /// The compact JSON text, as `serialized()` gives it.
    public var description: String { serialized() }
}
