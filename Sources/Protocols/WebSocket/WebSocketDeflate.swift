import CZlib

/// The four bytes RFC 7692 strips from the end of each compressed message (an empty stored block
/// from a sync flush), which the receiver appends back before inflating.
private let syncFlushTail: [UInt8] = [0x00, 0x00, 0xFF, 0xFF]

/// Inflates permessage-deflate messages (RFC 7692) with the system zlib.
///
/// With no context takeover (the peer compresses each message on its own), the zlib stream and
/// its output buffer exist only while a compressed message is arriving: opened by the message's
/// first piece, released after its last, so an idle socket holds none of the ~72 KiB they take
/// (`heldBytes`). With context takeover they live as long as the socket, since the next message
/// may refer to this one's window.
public final class WebSocketInflater: WebSocketInflating {
    public typealias Result = WebSocketInflateResult

    private var stream: UnsafeMutablePointer<z_stream>?
    private var scratch = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    private let windowBits: Int32
    /// With no context takeover the peer compresses each message on its own: reset between them.
    public let noContextTakeover: Bool

    /// What an open stream costs: zlib's inflate state (about 7 KiB), its window, and the 32 KiB
    /// output buffer.
    public var heldBytes: Int { stream == nil ? 0 : 7 * 1024 + (1 << Int(windowBits)) + scratch.count }

    public init?(windowBits: Int = 15, noContextTakeover: Bool) {
        self.windowBits = Int32(windowBits)
        self.noContextTakeover = noContextTakeover
        if !noContextTakeover { guard open() else { return nil } }
    }

    deinit { close() }

    private func open() -> Bool {
        let s = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        s.initialize(to: z_stream())
        guard czlib_inflate_init_raw(s, windowBits) == Z_OK else {
            s.deallocate()
            return false
        }
        stream = s
        scratch = .allocate(byteCount: 32 * 1024, alignment: 16)
        return true
    }

    private func close() {
        guard let s = stream else { return }
        inflateEnd(s)
        s.deallocate()
        scratch.deallocate()
        scratch = UnsafeMutableRawBufferPointer(start: nil, count: 0)
        stream = nil
    }

    public func discardMessage() {
        if noContextTakeover { close() }
    }

    /// Inflates one piece of a compressed message, appending to `out`. At the end of the message
    /// the stripped tail is fed too, so everything buffered in zlib comes out.
    /// A stream that cannot be opened (zlib out of memory) is reported as `.tooBig`.
    public func inflate(_ input: UnsafeRawBufferPointer, endOfMessage: Bool, into out: inout [UInt8], limit: Int) -> Result {
        guard let stream = stream ?? (open() ? self.stream : nil) else { return .tooBig }
        var result = run(stream, input, into: &out, limit: limit)
        if result == .ok && endOfMessage {
            result = syncFlushTail.withUnsafeBytes { run(stream, $0, into: &out, limit: limit) }
        }
        if endOfMessage || result != .ok {
            if noContextTakeover { close() }
        }
        return result
    }

    private func run(_ stream: UnsafeMutablePointer<z_stream>, _ input: UnsafeRawBufferPointer, into out: inout [UInt8], limit: Int) -> Result {
        guard input.count > 0 else { return .ok }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        repeat {
            stream.pointee.next_out = scratch.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(scratch.count)
            let rc = CZlib.inflate(stream, Z_SYNC_FLUSH)
            if rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END { return .corrupt }
            let produced = scratch.count - Int(stream.pointee.avail_out)
            if out.count + produced > limit { return .tooBig }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[0..<produced]))
            // A peer may end a message's stream with BFINAL: start a fresh stream for the next.
            if rc == Z_STREAM_END { inflateReset(stream) }
            if produced == 0 && rc == Z_BUF_ERROR && stream.pointee.avail_in > 0 { return .corrupt }
        } while stream.pointee.avail_in > 0 || stream.pointee.avail_out == 0
        return .ok
    }
}

/// Compresses outgoing messages for permessage-deflate.
public final class WebSocketDeflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 32 * 1024, alignment: 16)
    public let noContextTakeover: Bool

    public init?(windowBits: Int = 15, noContextTakeover: Bool, level: Int32 = 6) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        self.noContextTakeover = noContextTakeover
        guard czlib_deflate_init_raw(stream, level, Int32(windowBits)) == Z_OK else {
            stream.deallocate()
            scratch.deallocate()
            return nil
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
        scratch.deallocate()
    }

    /// Compresses one whole message and strips the sync-flush tail, as RFC 7692 7.2.1 says.
    public func deflate(_ input: UnsafeRawBufferPointer) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(input.count / 2 + 64)
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        repeat {
            stream.pointee.next_out = scratch.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(scratch.count)
            _ = CZlib.deflate(stream, Z_SYNC_FLUSH)
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[0..<(scratch.count - Int(stream.pointee.avail_out))]))
        } while stream.pointee.avail_out == 0
        if out.count >= 4 && Array(out.suffix(4)) == syncFlushTail { out.removeLast(4) }
        if out.isEmpty { out = [0x00] }  // an empty message compresses to one empty block
        if noContextTakeover { deflateReset(stream) }
        return out
    }
}
