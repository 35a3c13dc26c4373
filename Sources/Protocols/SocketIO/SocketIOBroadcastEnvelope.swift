/// A Socket.IO broadcast as it travels to the other loops and processes of a server (through a
/// `PubSub` hub's relay, and Redis), sans-I/O: the namespace, the rooms addressed, the rooms left
/// out, and the packet already encoded, so a receiving loop delivers it to its own sockets without
/// encoding the JSON again (what socket.io-redis-adapter carries too, in its own format).
///
/// Wire form, binary-safe, every string length-prefixed in decimal (`<n>:<n bytes>`), a list being
/// its count (`<n>:`) followed by its strings:
///
///     sio1 <namespace> <rooms> <except> <packet> <attachments> [f<flags>]
///
/// `f<flags>`, written only when a flag is set, is one decimal digit: 1 volatile, 2 not
/// compressed (`compress(false)`), 3 both; a reader that does not know it would see trailing
/// bytes, so it is absent from every broadcast without modifiers.
/// written without the spaces, e.g. `sio15:/chat1:2:r11:20:<socket id>29:2/chat,["chat",{...}]0:`.
/// `packet` is the text part of an EVENT (`2…`) or BINARY_EVENT (`5<n>-…`) packet of that namespace,
/// as `SocketIOPacketEncoder` writes it; `attachments` are its binary parts. Rooms and except-rooms
/// are written in sorted order, so one broadcast always has one encoding.
public struct SocketIOBroadcastEnvelope: Hashable, Sendable {
    public var namespace: String
    /// Rooms addressed; empty: the whole namespace.
    public var rooms: Set<String>
    /// Rooms whose sockets are left out (a socket id names a one-socket room: "all but the sender").
    public var except: Set<String>
    /// The packet's text part.
    public var packet: [UInt8]
    public var attachments: [[UInt8]]
    /// The emit modifiers: dropped for a socket whose transport is not writable (`volatile`), and
    /// whether it may be compressed.
    public var flags: Flags

    /// The modifiers a receiving loop applies as the sender's did.
    public struct Flags: Hashable, Sendable {
        public var volatile: Bool
        public var compress: Bool
        public init(volatile: Bool = false, compress: Bool = true) {
            self.volatile = volatile
            self.compress = compress
        }

        var digit: UInt8? {
            let bits = (volatile ? 1 : 0) | (compress ? 0 : 2)
            return bits == 0 ? nil : UInt8(ascii: "0") + UInt8(bits)
        }

        init?(digit: UInt8) {
            guard digit >= UInt8(ascii: "1"), digit <= UInt8(ascii: "3") else { return nil }
            let bits = digit - UInt8(ascii: "0")
            self.init(volatile: bits & 1 != 0, compress: bits & 2 == 0)
        }
    }

    public init(namespace: String, rooms: Set<String> = [], except: Set<String> = [], packet: [UInt8], attachments: [[UInt8]] = [],
                flags: Flags = Flags()) {
        self.namespace = namespace
        self.rooms = rooms
        self.except = except
        self.packet = packet
        self.attachments = attachments
        self.flags = flags
    }

    static let magic = Array("sio1".utf8)

    /// The wire form.
    public var encoded: [UInt8] {
        packet.withUnsafeBytes { Self.encode(namespace: namespace, rooms: rooms, except: except, packet: $0, attachments: attachments, flags: flags) }
    }

    /// The wire form of a broadcast whose packet text is borrowed (from the message the sender
    /// built for its own sockets), without making an envelope value first.
    public static func encode(namespace: String, rooms: Set<String>, except: Set<String>,
                              packet: UnsafeRawBufferPointer, attachments: [[UInt8]], flags: Flags = Flags()) -> [UInt8] {
        var out = magic
        out.reserveCapacity(32 + namespace.utf8.count + packet.count + attachments.reduce(0) { $0 + $1.count + 8 })
        append(namespace.utf8, to: &out)
        for list in [rooms, except] {
            appendCount(list.count, to: &out)
            for room in list.sorted() { append(room.utf8, to: &out) }
        }
        append(packet, to: &out)
        appendCount(attachments.count, to: &out)
        for attachment in attachments { append(attachment, to: &out) }
        if let digit = flags.digit { out += [UInt8(ascii: "f"), digit] }
        return out
    }

    public enum DecodingError: Error, Sendable, Hashable {
        /// Not `sio1` (another writer on the channel, or a format this version does not know).
        case unknownFormat
        /// The bytes end inside a field, or a length or count is not a decimal followed by `:`.
        case truncated
        /// Bytes after the last attachment.
        case trailingBytes
        /// The namespace is not `/…`.
        case invalidNamespace
        /// The packet is not an event of the namespace, or its attachment count disagrees.
        case invalidPacket
    }

    /// Parses a wire form. Every length is checked against the bytes that remain before anything
    /// is allocated for it, so no input can make this allocate more than its own size.
    public init(decoding bytes: UnsafeRawBufferPointer) throws(DecodingError) {
        var reader = Reader(bytes: bytes)
        guard bytes.count >= Self.magic.count, bytes.prefix(Self.magic.count).elementsEqual(Self.magic) else { throw .unknownFormat }
        reader.position = Self.magic.count
        let namespace = String(decoding: try reader.string(), as: UTF8.self)
        guard namespace.utf8.first == UInt8(ascii: "/") else { throw .invalidNamespace }
        var lists: [Set<String>] = []
        for _ in 0..<2 {
            let count = try reader.count()
            var set = Set<String>()
            for _ in 0..<count { set.insert(String(decoding: try reader.string(), as: UTF8.self)) }
            lists.append(set)
        }
        let packet = Array(try reader.string())
        var attachments: [[UInt8]] = []
        for _ in 0..<(try reader.count()) { attachments.append(Array(try reader.string())) }
        var flags = Flags()
        if bytes.count - reader.position == 2, bytes[reader.position] == UInt8(ascii: "f"),
           let parsed = Flags(digit: bytes[reader.position + 1]) {
            flags = parsed
            reader.position += 2
        }
        guard reader.position == bytes.count else { throw .trailingBytes }
        guard Self.isEvent(packet, of: namespace, attachments: attachments.count) else { throw .invalidPacket }
        self.init(namespace: namespace, rooms: lists[0], except: lists[1], packet: packet, attachments: attachments, flags: flags)
    }

    public init(decoding bytes: [UInt8]) throws(DecodingError) {
        let result: Result<Self, DecodingError> = bytes.withUnsafeBytes { b in
            do throws(DecodingError) { return .success(try Self(decoding: b)) } catch { return .failure(error) }
        }
        self = try result.get()
    }

    /// Whether `packet` is `2[<nsp>,]…` with no attachments, or `5<n>-[<nsp>,]…` with n of them:
    /// a receiving loop forwards it as it is, so it must not speak for another namespace.
    static func isEvent(_ p: [UInt8], of namespace: String, attachments: Int) -> Bool {
        if p.first == UInt8(ascii: "2") && attachments != 0 { return false }
        return eventHeaderLength(p, of: namespace, attachments: attachments) != nil
    }

    /// Where an event's ack id or data starts: past its type, its attachment count (which must be
    /// `attachments` when given) and its namespace; nil when `p` is not an event of `namespace`.
    static func eventHeaderLength(_ p: [UInt8], of namespace: String, attachments: Int? = nil) -> Int? {
        guard let type = p.first else { return nil }
        var i = 1
        switch type {
        case UInt8(ascii: "2"):
            break
        case UInt8(ascii: "5"):
            var n = 0
            let start = i
            while i < p.count, i - start < 6, p[i] >= UInt8(ascii: "0"), p[i] <= UInt8(ascii: "9") {
                n = n * 10 + Int(p[i] - UInt8(ascii: "0"))
                i += 1
            }
            guard i > start, i < p.count, p[i] == UInt8(ascii: "-"), attachments.map({ n == $0 }) ?? true else { return nil }
            i += 1
        default:
            return nil
        }
        let rest = p[i...]
        if namespace == "/" { return rest.first != UInt8(ascii: "/") ? i : nil }
        guard rest.starts(with: namespace.utf8) && rest.dropFirst(namespace.utf8.count).first == UInt8(ascii: ",") else { return nil }
        return i + namespace.utf8.count + 1
    }

    static func appendCount(_ n: Int, to out: inout [UInt8]) {
        out += String(n).utf8
        out.append(UInt8(ascii: ":"))
    }

    static func append<C: Collection>(_ bytes: C, to out: inout [UInt8]) where C.Element == UInt8 {
        appendCount(bytes.count, to: &out)
        out += bytes
    }

    struct Reader {
        let bytes: UnsafeRawBufferPointer
        var position = 0

        /// `<decimal>:`, at most 9 digits (under 1 GB: more than any message carries).
        mutating func count() throws(DecodingError) -> Int {
            var n = 0
            let start = position
            while position < bytes.count, position - start < 9, bytes[position] >= UInt8(ascii: "0"), bytes[position] <= UInt8(ascii: "9") {
                n = n * 10 + Int(bytes[position] - UInt8(ascii: "0"))
                position += 1
            }
            guard position > start, position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw .truncated }
            position += 1
            // A count is never used to reserve memory: each item it announces must be read from
            // the input, so a huge count on a short input ends as `.truncated` after a few items.
            return n
        }

        /// `<length>:<bytes>`, borrowed from the input.
        mutating func string() throws(DecodingError) -> UnsafeRawBufferPointer.SubSequence {
            let n = try count()
            guard n <= bytes.count - position else { throw .truncated }
            defer { position += n }
            return bytes[position..<position + n]
        }
    }
}
