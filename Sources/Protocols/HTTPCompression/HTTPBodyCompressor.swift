import CZlib

// Apart from HTTP1/: the parser's files (fuzzed without zlib) do not link the C library; this
// one does. The choice of coding, a parser of `Accept-Encoding`, is HTTP1/HTTPContentCoding.

/// Compresses whole response bodies with one HTTP content coding (`gzip` or `deflate`), through
/// the system zlib, for answers built in full before they are sent (an Engine.IO long poll's).
///
/// One compressor serves every response of its loop in turn: each body is compressed on its own
/// (`deflateReset` between them), so its zlib state (about 256 KiB for the 32 KiB window at
/// memory level 8) is paid once per loop, as `WebSocketSharedDeflaters` does for
/// permessage-deflate. Not thread-safe; loop-bound.
public final class HTTPBodyCompressor {
    public let coding: HTTPContentCoding
    private let stream: UnsafeMutablePointer<z_stream>

    /// nil when zlib cannot set up its state (out of memory). `level`: zlib's 1 (fast) to 9
    /// (small); 6 is zlib's default and Node's.
    public init?(coding: HTTPContentCoding, level: Int32 = 6) {
        self.coding = coding
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        guard czlib_deflate_init_http(stream, level, coding == .gzip ? 1 : 0) == Z_OK else {
            stream.deallocate()
            return nil
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
    }

    /// `input` compressed, or nil when the result would not be smaller than `input` (the plain
    /// body is then the better answer). The output buffer is allocated once at `input.count - 1`
    /// bytes and never grows: what a peer's traffic can make this hold is bounded by the body it
    /// replaces.
    public func compress(_ input: UnsafeRawBufferPointer) -> [UInt8]? {
        let capacity = input.count - 1
        guard capacity > 0, input.count <= Int(UInt32.max), let base = input.baseAddress else { return nil }
        defer { deflateReset(stream) }
        var finished = false
        let out = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
            stream.pointee.avail_in = uInt(input.count)
            stream.pointee.next_out = buffer.baseAddress!
            stream.pointee.avail_out = uInt(capacity)
            // One call with Z_FINISH: Z_STREAM_END when everything fit, Z_OK or Z_BUF_ERROR
            // when the output buffer ran out first (the body does not compress).
            finished = CZlib.deflate(stream, Z_FINISH) == Z_STREAM_END
            count = finished ? capacity - Int(stream.pointee.avail_out) : 0
        }
        return finished ? out : nil
    }
}

/// The body compressors of one loop, one per coding, made on first use (`EventLoop.local`).
public final class HTTPBodyCompressors {
    private var gzip: HTTPBodyCompressor?
    private var deflate: HTTPBodyCompressor?

    public init() {}

    public func compressor(for coding: HTTPContentCoding) -> HTTPBodyCompressor? {
        switch coding {
        case .gzip:
            if gzip == nil { gzip = HTTPBodyCompressor(coding: .gzip) }
            return gzip
        case .deflate:
            if deflate == nil { deflate = HTTPBodyCompressor(coding: .deflate) }
            return deflate
        }
    }
}
