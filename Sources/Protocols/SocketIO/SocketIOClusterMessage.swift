/// A cluster-wide operation of a Socket.IO namespace as it travels to the other loops and
/// processes (the reference's adapter requests), sans-I/O: make the sockets some rooms address
/// join or leave rooms, or disconnect; describe them (`fetchSockets`); or hand an event to the
/// other servers themselves (`serverSideEmit`).
///
///     sioQ <request id> <timeout in ms> <operation> <namespace> <rooms> <except> <operands>
///
/// Every field is length-prefixed in decimal as in `SocketIOBroadcastEnvelope`, a list being its
/// count then its strings. Operations and their operands:
///
///     j <rooms to join>            socketsJoin: no answer
///     l <rooms to leave>           socketsLeave: no answer
///     d <"1" to close, else "0">   disconnectSockets: no answer
///     f                            fetchSockets: each server answers (SocketIOBroadcastAckWire
///                                  replies) with a count of 1, then one response: a JSON array
///                                  of its sockets reached
///     e <ack "1"/"0"> <json> <attachments>
///                                  serverSideEmit: `json` is the event's data array (its name,
///                                  then its arguments); with an ack, each server answers with
///                                  a count of 1, then one response: its handler's answer
///
/// Operations without an answer carry request id 0 and timeout 0.
public struct SocketIOClusterMessage: Hashable, Sendable {
    public enum Operation: Hashable, Sendable {
        case join([String])
        case leave([String])
        case disconnect(close: Bool)
        case fetch
        case serverSideEmit(json: [UInt8], attachments: [[UInt8]], wantsAck: Bool)
    }

    public typealias DecodingError = SocketIOBroadcastEnvelope.DecodingError

    public var id: UInt64
    public var timeoutMilliseconds: Int
    public var namespace: String
    /// Sockets addressed (empty: every socket of the namespace), less those in `except`.
    public var rooms: Set<String>
    public var except: Set<String>
    public var operation: Operation

    public init(id: UInt64 = 0, timeoutMilliseconds: Int = 0, namespace: String, rooms: Set<String> = [], except: Set<String> = [],
                operation: Operation) {
        self.id = id
        self.timeoutMilliseconds = timeoutMilliseconds
        self.namespace = namespace
        self.rooms = rooms
        self.except = except
        self.operation = operation
    }

    static let magic = Array("sioQ".utf8)

    /// The longest timeout a request may carry: a day, as broadcast acks.
    public static let maxTimeoutMilliseconds = 86_400_000

    public static func isMessage(_ bytes: UnsafeRawBufferPointer) -> Bool { bytes.starts(with: magic) }

    /// The wire form (rooms sorted: one message, one encoding).
    public var encoded: [UInt8] {
        typealias E = SocketIOBroadcastEnvelope
        var out = Self.magic
        E.append(String(id).utf8, to: &out)
        E.append(String(timeoutMilliseconds).utf8, to: &out)
        func list(_ names: [String]) {
            E.appendCount(names.count, to: &out)
            for name in names { E.append(name.utf8, to: &out) }
        }
        switch operation {
        case .join: E.append("j".utf8, to: &out)
        case .leave: E.append("l".utf8, to: &out)
        case .disconnect: E.append("d".utf8, to: &out)
        case .fetch: E.append("f".utf8, to: &out)
        case .serverSideEmit: E.append("e".utf8, to: &out)
        }
        E.append(namespace.utf8, to: &out)
        list(rooms.sorted())
        list(except.sorted())
        switch operation {
        case .join(let names), .leave(let names):
            list(names)
        case .disconnect(let close):
            E.append((close ? "1" : "0").utf8, to: &out)
        case .fetch:
            break
        case .serverSideEmit(let json, let attachments, let wantsAck):
            E.append((wantsAck ? "1" : "0").utf8, to: &out)
            E.append(json, to: &out)
            E.appendCount(attachments.count, to: &out)
            for a in attachments { E.append(a, to: &out) }
        }
        return out
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(DecodingError) {
        guard bytes.starts(with: Self.magic) else { throw .unknownFormat }
        var reader = SocketIOBroadcastEnvelope.Reader(bytes: bytes)
        reader.position = Self.magic.count
        guard let id = UInt64(String(decoding: try reader.string(), as: UTF8.self)),
              let timeout = Int(String(decoding: try reader.string(), as: UTF8.self)),
              (0...Self.maxTimeoutMilliseconds).contains(timeout) else { throw .truncated }
        let kind = Array(try reader.string())
        let namespace = String(decoding: try reader.string(), as: UTF8.self)
        guard namespace.utf8.first == UInt8(ascii: "/") else { throw .invalidNamespace }
        func list() throws(DecodingError) -> [String] {
            var names: [String] = []
            for _ in 0..<(try reader.count()) { names.append(String(decoding: try reader.string(), as: UTF8.self)) }
            return names
        }
        func flag() throws(DecodingError) -> Bool {
            switch Array(try reader.string()) {
            case [UInt8(ascii: "1")]: return true
            case [UInt8(ascii: "0")]: return false
            default: throw .truncated
            }
        }
        let rooms = Set(try list())
        let except = Set(try list())
        let operation: Operation
        switch kind {
        case [UInt8(ascii: "j")]: operation = .join(try list())
        case [UInt8(ascii: "l")]: operation = .leave(try list())
        case [UInt8(ascii: "d")]: operation = .disconnect(close: try flag())
        case [UInt8(ascii: "f")]: operation = .fetch
        case [UInt8(ascii: "e")]:
            let wantsAck = try flag()
            let json = Array(try reader.string())
            var attachments: [[UInt8]] = []
            for _ in 0..<(try reader.count()) { attachments.append(Array(try reader.string())) }
            operation = .serverSideEmit(json: json, attachments: attachments, wantsAck: wantsAck)
        default:
            throw .unknownFormat
        }
        guard reader.position == bytes.count else { throw .trailingBytes }
        self.init(id: id, timeoutMilliseconds: timeout, namespace: namespace, rooms: rooms, except: except, operation: operation)
    }

    public init(decoding bytes: [UInt8]) throws(DecodingError) {
        let result: Result<Self, DecodingError> = bytes.withUnsafeBytes { b in
            do throws(DecodingError) { return .success(try Self(decoding: b)) } catch { return .failure(error) }
        }
        self = try result.get()
    }
}
