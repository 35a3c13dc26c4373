/// Framing for a chunked response body (RFC 9112 7.1): each chunk is `hex-size CRLF data CRLF`,
/// and the body ends with `0 CRLF CRLF`.
///
/// The pieces are separate so the glue can send a chunk without copying its data: the header
/// into the cork buffer, the data as shared bytes in the same `writev`, then `chunkEnd`.
public enum HTTPChunkedEncoder {
    /// The longest chunk header: 16 hex digits for an Int size, plus CRLF.
    public static let maxChunkHeaderLength = 18

    /// The CRLF that follows every chunk's data.
    public static let chunkEnd: StaticString = "\r\n"

    /// The last chunk and the empty trailer section that end a chunked body.
    public static let lastChunk: StaticString = "0\r\n\r\n"

    /// Bytes `writeChunkHeader(size:into:)` writes for `size`.
    public static func chunkHeaderLength(size: Int) -> Int {
        precondition(size > 0, "a chunk must not be empty: size 0 is the last chunk")
        var digits = 1
        var rest = UInt(size) >> 4
        while rest > 0 { digits += 1; rest >>= 4 }
        return digits + 2
    }

    /// Writes `hex(size) CRLF` (lowercase hex, no leading zeros). Returns bytes written, or nil
    /// when the buffer is too small. `size` must be positive: an empty chunk would end the body.
    public static func writeChunkHeader(size: Int, into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        let n = chunkHeaderLength(size: size)
        guard n <= buffer.count else { return nil }
        var v = UInt(size)
        var i = n - 2
        repeat {
            i -= 1
            buffer[i] = Hex.digit(UInt8(truncatingIfNeeded: v))
            v >>= 4
        } while v > 0
        buffer[n - 2] = 0x0D
        buffer[n - 1] = 0x0A
        return n
    }

    /// Writes a whole chunk (header, copy of `data`, CRLF). Returns bytes written (0 for empty
    /// data, which must not be framed), or nil when the buffer is too small.
    public static func writeChunk(_ data: UnsafeRawBufferPointer, into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        guard data.count > 0 else { return 0 }
        guard let h = writeChunkHeader(size: data.count, into: buffer), buffer.count - h >= data.count + 2 else {
            return nil
        }
        UnsafeMutableRawBufferPointer(rebasing: buffer[h...]).copyMemory(from: data)
        buffer[h + data.count] = 0x0D
        buffer[h + data.count + 1] = 0x0A
        return h + data.count + 2
    }

    /// Writes `0 CRLF CRLF`. Returns 5, or nil when the buffer is too small.
    public static func writeLastChunk(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        let n = lastChunk.utf8CodeUnitCount
        guard buffer.count >= n else { return nil }
        buffer.copyMemory(from: UnsafeRawBufferPointer(start: lastChunk.utf8Start, count: n))
        return n
    }
}
