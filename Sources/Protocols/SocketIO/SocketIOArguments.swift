/// The arguments of an event or an acknowledgement: JSON values, plus the binary attachments the
/// values point at with `{"_placeholder":true,"num":n}`.
///
/// Binary data stays where the sender put it, at any depth, as a placeholder; `binary(_:)`
/// resolves one, `append(binary:)` and `placeholder(for:)` add one. Sending the arguments back
/// as they came (an echo) therefore sends binary as binary, on either transport.
///
///     socket.on("upload") { args, ack in
///         guard let name = args[0]?.stringValue, let bytes = args.binary(at: 1) else { return }
///         ...
///     }
///     var reply = SocketIOArguments(["thumbnail"])
///     reply.append(binary: thumbnailBytes)
///     socket.emit("ready", reply)
public struct SocketIOArguments: Hashable, Sendable, ExpressibleByArrayLiteral, CustomStringConvertible {
    public var values: [JSONValue]
    public var attachments: [[UInt8]]

    public init(_ values: [JSONValue] = [], attachments: [[UInt8]] = []) {
        self.values = values
        self.attachments = attachments
    }

    public init(arrayLiteral elements: JSONValue...) {
        self.init(elements)
    }

    public var count: Int { values.count }
    public var isEmpty: Bool { values.isEmpty }

    /// The value at `index`, or nil past the end (a peer's arguments are not trusted to have
    /// the count we expect, so no trap).
    public subscript(index: Int) -> JSONValue? {
        // Spelled `.none`: a bare `nil` here would be the JSON `null` (JSONValue is nil-literal expressible).
        values.indices.contains(index) ? values[index] : Optional<JSONValue>.none
    }

    /// Appends a JSON value.
    public mutating func append(_ value: JSONValue) { values.append(value) }

    /// Appends a binary argument.
    public mutating func append(binary bytes: [UInt8]) { values.append(placeholder(for: bytes)) }

    /// Adds `bytes` as an attachment and returns the placeholder to put where they belong (inside
    /// an object or array argument, say).
    public mutating func placeholder(for bytes: [UInt8]) -> JSONValue {
        attachments.append(bytes)
        return Self.placeholder(attachments.count - 1)
    }

    /// The bytes `value` stands for, if it is a placeholder of one of these attachments.
    public func binary(_ value: JSONValue?) -> [UInt8]? {
        guard let value, let n = Self.placeholderIndex(value), n < attachments.count else { return nil }
        return attachments[n]
    }

    /// The binary argument at `index`.
    public func binary(at index: Int) -> [UInt8]? { binary(self[index]) }

    /// `{"_placeholder":true,"num":n}`.
    public static func placeholder(_ n: Int) -> JSONValue {
        ["_placeholder": true, "num": .int(Int64(n))]
    }

    /// The attachment index of a placeholder, or nil if `value` is not one.
    public static func placeholderIndex(_ value: JSONValue) -> Int? {
        guard let object = value.objectValue, object["_placeholder"] == .bool(true),
              let n = object["num"]?.intValue, n >= 0 else { return nil }
        return n
    }

    public var description: String {
        let json = JSONValue.array(values).serialized()
        return attachments.isEmpty ? json : "\(json) +\(attachments.count) attachments"
    }
}
