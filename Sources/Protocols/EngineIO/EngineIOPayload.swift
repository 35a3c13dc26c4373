/// The polling transport's payload: packets joined by the record separator 0x1E, each a text
/// packet (`4hello`) or a binary message as `b` followed by its base64 (`bAQIDBA==`).
///
///     4hello␞bAQIDBA==␞2        a message, a binary message [1, 2, 3, 4], a ping
///
/// The separator cannot occur inside a packet: text packets are UTF-8 JSON-ish text in which
/// 0x1E would be a raw control character, and base64 never produces it.
public enum EngineIOPayload {
    /// The record separator between two packets.
    public static let separator: UInt8 = 0x1E

    /// The most packets one payload may hold unless the caller says otherwise: bounds the work
    /// one POST can cause (the byte size is bounded by `maxPayload` before decoding).
    public static let defaultMaxPackets = 10_000

    /// One packet of a payload being decoded. Text data borrows from the payload; binary data is
    /// decoded from base64 into a buffer owned by the decoder. Both are valid during the callback only.
    public enum Element {
        case text(EngineIOPacketType, UnsafeRawBufferPointer)
        case binary(UnsafeRawBufferPointer)
    }

    /// Decodes a POST body and calls `each` with every packet, in order.
    ///
    /// The whole payload is checked before the first packet is delivered, so a payload with a
    /// bad packet anywhere delivers nothing: the session is then closed, and acting on half of
    /// a rejected request would only make that harder to reason about.
    public static func decode(
        _ body: UnsafeRawBufferPointer, maxPackets: Int = defaultMaxPackets, _ each: (Element) -> Void
    ) throws(EngineIOProtocolError) {
        guard !body.isEmpty else { throw .emptyPacket }
        guard UTF8Validator.isValid(body) else { throw .invalidUTF8 }
        var count = 0
        try forEachSegment(body) { (segment: UnsafeRawBufferPointer) throws(EngineIOProtocolError) in
            count += 1
            if count > maxPackets { throw .tooManyPackets }
            if segment.first == 0x62 {  // "b": base64 binary
                guard Base64.decodedLength(UnsafeRawBufferPointer(rebasing: segment[1...])) != nil else {
                    throw .invalidBase64
                }
            } else {
                _ = try EngineIOPacket.decodeText(segment)
            }
        }
        var binary: [UInt8] = []
        try forEachSegment(body) { (segment: UnsafeRawBufferPointer) throws(EngineIOProtocolError) in
            if segment.first == 0x62 {
                binary = Base64.decode(UnsafeRawBufferPointer(rebasing: segment[1...])) ?? []
                binary.withUnsafeBytes { each(.binary($0)) }
            } else {
                let (type, data) = try EngineIOPacket.decodeText(segment)
                each(.text(type, data))
            }
        }
    }

    /// Decodes a body into owned packets: for tests, fuzzing and other slow paths.
    public static func decode(_ body: [UInt8], maxPackets: Int = defaultMaxPackets) throws(EngineIOProtocolError) -> [EngineIOPacket] {
        var packets: [EngineIOPacket] = []
        let result = body.withUnsafeBytes { b in
            Result { () throws(EngineIOProtocolError) in
                try decode(b, maxPackets: maxPackets) { element in
                    switch element {
                    case .text(let type, let data): packets.append(EngineIOPacket(type, data: Array(data)))
                    case .binary(let data): packets.append(.binary(Array(data)))
                    }
                }
            }
        }
        try result.get()
        return packets
    }

    private static func forEachSegment(
        _ body: UnsafeRawBufferPointer, _ each: (UnsafeRawBufferPointer) throws(EngineIOProtocolError) -> Void
    ) throws(EngineIOProtocolError) {
        var start = 0
        var i = 0
        while i <= body.count {
            if i == body.count || body[i] == separator {
                let segment = UnsafeRawBufferPointer(rebasing: body[start..<i])
                guard !segment.isEmpty else { throw .emptyPacket }
                try each(segment)
                start = i + 1
            }
            i += 1
        }
    }

    // MARK: Encoding

    /// Appends one packet in its polling form: text as digit and data, binary as `b` and base64.
    public static func append(_ packet: EngineIOPacket, to out: inout [UInt8]) {
        packet.data.withUnsafeBytes { data in
            appendPacket(type: packet.type, data: data, isBinary: packet.isBinary, to: &out)
        }
    }

    /// Appends a packet given by parts (the data is borrowed), in its polling form.
    public static func appendPacket(type: EngineIOPacketType, data: UnsafeRawBufferPointer, isBinary: Bool, to out: inout [UInt8]) {
        if isBinary {
            out.append(0x62)
            let start = out.count
            let length = Base64.encodedLength(data.count)
            out.append(contentsOf: repeatElement(0, count: length))
            out.withUnsafeMutableBytes { o in
                _ = Base64.encode(data, into: UnsafeMutableRawBufferPointer(rebasing: o[start...]))
            }
        } else {
            out.append(type.digit)
            out.append(contentsOf: data)
        }
    }

    /// The polling body holding `packets`, separated by 0x1E.
    public static func encode(_ packets: [EngineIOPacket]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(packets.reduce(0) { $0 + $1.data.count * 4 / 3 + 4 })
        for (i, packet) in packets.enumerated() {
            if i > 0 { out.append(separator) }
            append(packet, to: &out)
        }
        return out
    }
}
