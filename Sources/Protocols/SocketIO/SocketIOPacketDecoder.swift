/// Decodes the text part of a Socket.IO packet (`<type>[<n>-][<nsp>,][<id>][<JSON>]`) and checks
/// that its payload has the shape its type requires. Sans I/O: bytes in, a packet or an error out.
public struct SocketIOPacketDecoder: Sendable {
    /// Most attachments one packet may announce (the reference parser's default is 10).
    public var maxAttachments = 10
    /// Nesting limit of the JSON payload.
    public var maxDepth = JSONValue.defaultMaxDepth

    public init() {}

    /// Event names a peer may not use: the server's own lifecycle events.
    public static let reservedEvents: Set<String> = [
        "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
    ]

    /// Decodes one packet. For a binary type the result's `attachments` is empty and
    /// `attachmentCount` says how many binary messages complete it.
    public func decode(_ bytes: UnsafeRawBufferPointer) throws(SocketIOProtocolError) -> (packet: SocketIOPacket, attachmentCount: Int) {
        guard let first = bytes.first else { throw .empty }
        guard let type = SocketIOPacketType(digit: first) else { throw .unknownPacketType(first) }
        var i = 1
        let n = bytes.count
        @inline(__always) func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

        var attachmentCount = 0
        if type.isBinary {
            let start = i
            var count = 0
            while i < n, isDigit(bytes[i]) {
                // Checked before it grows: a long run of digits must fail, not overflow, even
                // when `maxAttachments` is set near Int.max.
                guard count <= (Int.max - 9) / 10 else { throw .tooManyAttachments(Int.max) }
                count = count * 10 + Int(bytes[i] - 0x30)
                if count > maxAttachments { throw .tooManyAttachments(count) }
                i += 1
            }
            guard i > start, i < n, bytes[i] == 0x2D else { throw .invalidAttachmentCount }  // "-"
            i += 1
            attachmentCount = count
        }

        var namespace = "/"
        if i < n, bytes[i] == 0x2F {  // "/"
            let start = i
            while i < n, bytes[i] != 0x2C { i += 1 }  // up to ","
            var end = i
            if i < n { i += 1 }
            // A client may append its connection query to the namespace (`/admin?x=1`): not part of the name.
            if let q = UnsafeRawBufferPointer(rebasing: bytes[start..<end]).firstIndex(of: 0x3F) { end = start + q }
            guard let name = String(validating: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self) else {
                throw .invalidNamespace
            }
            namespace = name
        }

        var id: UInt64?
        if i < n, isDigit(bytes[i]) {
            var value: UInt64 = 0
            while i < n, isDigit(bytes[i]) {
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (s, o2) = m.addingReportingOverflow(UInt64(bytes[i] - 0x30))
                if o1 || o2 { throw .invalidAckID }
                value = s
                i += 1
            }
            id = value
        }

        var data: JSONValue?
        if i < n {
            do throws(JSONError) {
                data = try JSONValue.parse(UnsafeRawBufferPointer(rebasing: bytes[i...]), maxDepth: maxDepth)
            } catch {
                throw .invalidJSON(error)
            }
        }
        guard Self.isValid(data, for: type) else { throw .invalidPayload(type) }
        return (SocketIOPacket(type, namespace: namespace, id: id, data: data), attachmentCount)
    }

    /// The payload rules of the reference parser.
    static func isValid(_ data: JSONValue?, for type: SocketIOPacketType) -> Bool {
        switch type {
        case .connect:
            guard let data else { return true }
            return data.objectValue != nil
        case .disconnect:
            return data == nil
        case .connectError:
            return data?.stringValue != nil || data?.objectValue != nil
        case .event, .binaryEvent:
            guard let array = data?.arrayValue, let name = array.first else { return false }
            if let s = name.stringValue { return !reservedEvents.contains(s) }
            return name.doubleValue != nil
        case .ack, .binaryAck:
            return data?.arrayValue != nil
        }
    }
}

/// Reassembles binary packets: a BINARY_EVENT or BINARY_ACK and the attachments after it. Feed
/// it every Engine.IO message of a session in order; it returns each packet once complete.
public struct SocketIOPacketAssembler: Sendable {
    public var decoder: SocketIOPacketDecoder
    private var pending: SocketIOPacket?
    private var expected = 0

    public init(decoder: SocketIOPacketDecoder = SocketIOPacketDecoder()) {
        self.decoder = decoder
    }

    /// Whether a binary packet is waiting for attachments.
    public var isAwaitingAttachments: Bool { pending != nil }

    /// A text message: a complete packet, or nil when it announces attachments still to come.
    public mutating func receive(text: UnsafeRawBufferPointer) throws(SocketIOProtocolError) -> SocketIOPacket? {
        guard pending == nil else { throw .unexpectedText }
        let (packet, count) = try decoder.decode(text)
        // A packet without attachments is data as sent: an object that looks like a placeholder
        // there is the peer's business (the reference parsers do not resolve it either).
        if count == 0 { return packet }
        pending = packet
        pending!.attachments.reserveCapacity(count)
        expected = count
        return nil
    }

    /// A binary message: the next attachment. Returns the packet when it was the last one.
    public mutating func receive(binary: UnsafeRawBufferPointer) throws(SocketIOProtocolError) -> SocketIOPacket? {
        guard var packet = pending else { throw .unexpectedBinary }
        packet.attachments.append(Array(binary))
        guard packet.attachments.count == expected else {
            pending = packet
            return nil
        }
        pending = nil
        try Self.checkPlaceholders(packet.data, count: expected)
        return packet
    }

    /// Every `{"_placeholder":true,...}` must carry an integer `num` naming an attachment.
    static func checkPlaceholders(_ value: JSONValue?, count: Int) throws(SocketIOProtocolError) {
        guard let value else { return }
        switch value {
        case .array(let items):
            for item in items { try checkPlaceholders(item, count: count) }
        case .object(let object):
            if object["_placeholder"] == .bool(true) {
                guard let num = object["num"]?.intValue, num >= 0, num < count else { throw .invalidPlaceholder }
                return
            }
            for (_, member) in object { try checkPlaceholders(member, count: count) }
        default:
            return
        }
    }
}
