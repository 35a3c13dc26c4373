import Protocols
import Reactor

/// One Engine.IO packet encoded once for many sessions: a broadcast hands the same message to
/// every recipient, and each wire form is produced at most once, by the first recipient on that
/// transport that needs it. A WebSocket session sends the shared frame by reference; a polling
/// session queues the shared polling form and copies it into its next poll response.
public final class EngineIOMessage {
    /// The packet as it travels in a WebSocket message: type digit and data for text, the bare
    /// bytes for binary.
    public let packet: SharedBytes
    public let isBinary: Bool
    /// Whether a poll answer carrying it may be compressed (`httpCompression`): false for a
    /// broadcast made with `compress(false)`. Its WebSocket frame, shared, is never compressed.
    public var compress = true
    let counters: EngineIOCounters?
    private var frame: SharedBytes?
    private var polling: SharedBytes?

    /// A text packet of `type` whose data `write` appends to the buffer it is given.
    public init(type: EngineIOPacketType = .message, counters: EngineIOCounters? = nil, writingData write: (inout [UInt8]) -> Void) {
        var bytes: [UInt8] = [type.digit]
        write(&bytes)
        self.packet = SharedBytes(bytes)
        self.isBinary = false
        self.counters = counters
    }

    /// A text message with `text` as its data.
    public convenience init(text: String, counters: EngineIOCounters? = nil) {
        self.init(counters: counters) { $0 += text.utf8 }
    }

    /// A binary message (the bytes are copied).
    public init(binary: UnsafeRawBufferPointer, counters: EngineIOCounters? = nil) {
        self.packet = SharedBytes(copying: binary)
        self.isBinary = true
        self.counters = counters
    }

    public init(binary: [UInt8], counters: EngineIOCounters? = nil) {
        self.packet = SharedBytes(binary)
        self.isBinary = true
        self.counters = counters
    }

    /// The packet as one unmasked WebSocket frame (text or binary).
    public var webSocketFrame: SharedBytes {
        if let frame { return frame }
        let encoded = packet.withUnsafeBytes {
            WebSocketFrameEncoder.serverFrame(opcode: isBinary ? .binary : .text, payload: $0)
        }
        counters?.webSocketFrames += 1
        frame = encoded
        return encoded
    }

    /// The packet as one segment of a polling payload (`b` and base64 for binary).
    public var pollingPacket: SharedBytes {
        if let polling { return polling }
        let encoded: SharedBytes
        if isBinary {
            var out: [UInt8] = []
            packet.withUnsafeBytes { EngineIOPayload.appendPacket(type: .message, data: $0, isBinary: true, to: &out) }
            encoded = SharedBytes(out)
        } else {
            encoded = packet  // a text packet's polling form is the packet itself
        }
        counters?.pollingPackets += 1
        polling = encoded
        return encoded
    }
}

/// How many wire encodings shared messages produced: for metrics, and for tests that check a
/// broadcast is encoded once per transport rather than once per recipient.
public final class EngineIOCounters {
    public internal(set) var webSocketFrames = 0
    public internal(set) var pollingPackets = 0
    public init() {}
}
