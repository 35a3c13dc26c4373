import Protocols

// `socket.data` as a typed value. The socket keeps it in its wire form, `JSONValue`, because
// `fetchSockets` sends it to other loops and processes, which must read it without this
// process's Swift types; these encode a `Codable` value into that form with the project's own
// JSON coders (`JSONValueEncoder`, `JSONValueDecoder`: no Foundation), and read it back.

extension SocketIOSocket {
    /// Stores `value` as this socket's `data`, encoded as JSON, so `fetchSockets` on any loop or
    /// process can read it back with `data(as:)`. Throws `EncodingError.invalidValue` for what
    /// JSON cannot hold (NaN, an infinity, an integer beyond Int64); `data` is then unchanged.
    public func setData<T: Encodable>(_ value: T) throws {
        data = try JSONValueEncoder().encode(value)
    }

    /// This socket's `data` read as a `T`; throws the `DecodingError` (with the coding path of
    /// the value that did not fit) when it is not one, `valueNotFound` while nothing is set.
    public func data<T: Decodable>(as type: T.Type) throws -> T {
        try JSONValueDecoder().decode(T.self, from: data)
    }
}

extension SocketIORemoteSocket {
    /// The socket's `data`, as it was when described, read as a `T`: the value another loop or
    /// process stored with `setData(_:)`. Throws the `DecodingError` when it is not a `T`.
    public func data<T: Decodable>(as type: T.Type) throws -> T {
        try JSONValueDecoder().decode(T.self, from: data)
    }
}
