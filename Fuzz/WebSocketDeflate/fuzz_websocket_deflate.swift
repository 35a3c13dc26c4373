// libFuzzer target for permessage-deflate input: masked client frames with RSV1 through
// WebSocketEndpoint with a real zlib WebSocketInflater, as a server that negotiated deflate
// receives them.
//
// The first byte holds the options: bit 0 no context takeover, bit 1 tiny limits, bit 2 text
// (else binary), bit 3 the mode, bits 4-7 the fragment size. Mode 0 (round trip): the rest is up
// to four messages split at 0xFE, each compressed by our WebSocketDeflater and sent in fragments;
// every message must come back as sent (or fail with 1009 when over the limit). Mode 1 (raw): the
// rest is the compressed data itself, cut into fragments of one message: whatever zlib makes of
// it, the endpoint must end in a delivered message or a defined close (1007, 1009), never a trap.
// Each stream is delivered whole and one byte at a time, with the same events expected.

enum FuzzEvent: Equatable {
    case text([UInt8]), binary([UInt8]), ping([UInt8]), pong([UInt8]), close(UInt16, [UInt8]), failure(UInt16)
}

func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("invariant violated: \(message())") }
}

/// A masked client frame.
func frame(_ opcode: UInt8, fin: Bool, rsv1: Bool, _ payload: ArraySlice<UInt8>, key: UInt32) -> [UInt8] {
    var out: [UInt8] = [(fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode]
    if payload.count < 126 {
        out.append(0x80 | UInt8(payload.count))
    } else if payload.count <= 0xFFFF {
        out += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
    } else {
        out.append(0x80 | 127)
        for k in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: payload.count >> k)) }
    }
    let keyBytes = [UInt8(key >> 24), UInt8(key >> 16 & 0xFF), UInt8(key >> 8 & 0xFF), UInt8(key & 0xFF)]
    out += keyBytes
    for (i, b) in payload.enumerated() { out.append(b ^ keyBytes[i & 3]) }
    return out
}

/// One compressed message in fragments of `size` bytes (an empty message is one frame).
func fragments(_ compressed: [UInt8], opcode: UInt8, size: Int, key: UInt32) -> [UInt8] {
    var out: [UInt8] = []
    var start = 0
    repeat {
        let end = min(compressed.count, start + size)
        out += frame(start == 0 ? opcode : 0, fin: end == compressed.count, rsv1: start == 0, compressed[start..<end], key: key)
        start = end
    } while start < compressed.count
    return out
}

func run(_ stream: [UInt8], noContextTakeover: Bool, limits: WebSocketLimits, byteAtATime: Bool) -> [FuzzEvent] {
    var endpoint = WebSocketEndpoint(role: .server, limits: limits)
    guard let inflater = WebSocketInflater(noContextTakeover: noContextTakeover) else { fatalError("inflateInit2 failed") }
    endpoint.enableDeflate(inflater)
    var events: [FuzzEvent] = []
    var pending: [UInt8] = []
    var offset = 0
    while offset < stream.count {
        let end = byteAtATime ? offset + 1 : stream.count
        pending += stream[offset..<end]
        offset = end
        let consumed = pending.withUnsafeMutableBytes { buffer in
            endpoint.process(buffer) { event in
                switch event {
                case .text(let b):
                    check(UTF8Validator.isValid(b), "invalid UTF-8 delivered as text")
                    check(b.count <= limits.maxMessageSize, "text over the message limit")
                    events.append(.text(Array(b)))
                case .binary(let b):
                    check(b.count <= limits.maxMessageSize, "binary over the message limit")
                    events.append(.binary(Array(b)))
                case .ping(let b): events.append(.ping(Array(b)))
                case .pong(let b): events.append(.pong(Array(b)))
                case .close(let c, let r): events.append(.close(c.rawValue, Array(r)))
                case .failure(let c, _):
                    check([1002, 1007, 1009].contains(c.rawValue), "failure code \(c.rawValue)")
                    events.append(.failure(c.rawValue))
                }
            }
        }
        check(consumed >= 0 && consumed <= pending.count, "consumed \(consumed) of \(pending.count)")
        pending.removeFirst(consumed)
    }
    return events
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let options = data[0]
    let rest = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let noContextTakeover = options & 1 != 0
    var limits = WebSocketLimits()
    if options & 2 != 0 {
        limits.maxFrameSize = 64
        limits.maxMessageSize = 100
    }
    let text = options & 4 != 0
    let fragmentSize = Int(options >> 4) * 9 + 1
    let key = UInt32(truncatingIfNeeded: size &* 2_654_435_761)

    var stream: [UInt8] = []
    var expected: [FuzzEvent]?
    if options & 8 == 0 {
        // Round trip through our own deflater.
        guard let deflater = WebSocketDeflater(noContextTakeover: noContextTakeover) else { fatalError("deflateInit2 failed") }
        var sent: [FuzzEvent] = []
        for message in rest.split(separator: 0xFE, maxSplits: 3, omittingEmptySubsequences: false) {
            let bytes = Array(message)
            let asText = text && bytes.withUnsafeBytes { UTF8Validator.isValid($0) }
            let compressed = bytes.withUnsafeBytes { deflater.deflate($0) }
            stream += fragments(compressed, opcode: asText ? 1 : 2, size: fragmentSize, key: key)
            if min(fragmentSize, compressed.count) > limits.maxFrameSize || bytes.count > limits.maxMessageSize {
                sent = []  // a limit fails the stream: only compare when none is reached
                expected = nil
                break
            }
            sent.append(asText ? .text(bytes) : .binary(bytes))
            expected = sent
        }
    } else {
        stream = fragments(rest, opcode: text ? 1 : 2, size: fragmentSize, key: key)
        // A ping after the message: delivered only if the message did not fail the connection.
        stream += frame(0x9, fin: true, rsv1: false, [1, 2, 3], key: key)
    }

    let whole = run(stream, noContextTakeover: noContextTakeover, limits: limits, byteAtATime: false)
    if let expected { check(whole == expected, "round trip changed the messages") }
    if stream.count <= 1024 {
        let bytewise = run(stream, noContextTakeover: noContextTakeover, limits: limits, byteAtATime: true)
        check(bytewise == whole, "byte-at-a-time delivery differs")
    }
    if case .failure(_)? = whole.last {} else if options & 8 != 0 {
        check(whole.last == .ping([1, 2, 3]), "the ping after a message that did not fail went missing")
    }
    return 0
}
