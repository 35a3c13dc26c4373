/// How a response body is delimited on the wire.
public enum HTTPResponseFraming: Hashable, Sendable {
    /// `Content-Length: n`.
    case contentLength(Int)
    /// `Transfer-Encoding: chunked` (HTTP/1.1 clients only; see `HTTPChunkedEncoder`).
    case chunked
    /// No framing header: a status without a body (1xx, 204, 304) or a body ended by closing.
    case none
}

/// Writes a response head (status line, header fields, empty line) into a caller-provided
/// buffer, typically the loop's cork buffer, so a response costs no allocation.
///
///     var w = HTTPResponseHeadEncoder(into: buffer, status: .ok)
///     dateCache.withBytes { w.date($0) }
///     w.framing(.contentLength(body.count))
///     w.connection(keepAlive: head.keepAlive, requestVersion: head.version)
///     w.header("Content-Type", "text/plain")
///     guard let n = w.finish() else { /* did not fit, or a bad header */ }
///
/// or, in one call, `HTTPResponseHeadEncoder.encode(status:framing:keepAlive:...)`.
///
/// Header names must be tokens and values must hold no control bytes other than HTAB: a value
/// with CR or LF (response splitting) fails the whole head instead of being written.
public struct HTTPResponseHeadEncoder {
    /// Why `finish()` returned nil.
    public enum Failure: Hashable, Sendable {
        /// The buffer is too small for the head.
        case doesNotFit
        /// A header name is not a token, or a value holds a control byte.
        case invalidHeader
    }

    private let buffer: UnsafeMutableRawBufferPointer
    /// Bytes written so far.
    public private(set) var count = 0
    /// The first failure, after which every write is ignored.
    public private(set) var failure: Failure?
    private let status: HTTPStatus

    /// Starts a head for `status` with the status line `HTTP/1.1 200 OK`. The server answers
    /// HTTP/1.0 clients with 1.1 too (RFC 9110 6.2: it is the version it supports).
    public init(into buffer: UnsafeMutableRawBufferPointer, status: HTTPStatus, version: HTTPVersion = .http1_1) {
        self.buffer = buffer
        self.status = status
        append("HTTP/")
        appendByte(0x30 + version.major % 10)
        appendByte(0x2E)
        appendByte(0x30 + version.minor % 10)
        appendByte(0x20)
        appendByte(UInt8(0x30 + status.code / 100))
        appendByte(UInt8(0x30 + status.code / 10 % 10))
        appendByte(UInt8(0x30 + status.code % 10))
        appendByte(0x20)
        append(status.reasonPhrase)
        append("\r\n")
    }

    /// Appends `name: value`. Any mix of `StaticString`, `String`, `Substring`, `HTTPByteView`
    /// and `Int` is copied straight into the buffer.
    ///
    /// Inlinable, over a non-generic writer: the server (in Connections) calls it for every
    /// response, and a generic call across the module boundary would go through witness tables
    /// and metadata look-ups instead of being specialised for its text types.
    @inlinable
    public mutating func header<Name: HTTPHeaderText, Value: HTTPHeaderText>(_ name: Name, _ value: Value) {
        guard failure == nil else { return }
        name.withHeaderBytes { n in value.withHeaderBytes { v in header(bytes: n, v) } }
    }

    /// `name: value` from bytes, each checked: a name must be a token, a value must hold no
    /// control byte but HTAB.
    @usableFromInline
    mutating func header(bytes name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        guard failure == nil else { return }
        guard name.count > 0, name.allSatisfy(isTokenByte) else { failure = .invalidHeader; return }
        appendBytes(name)
        append(": ")
        guard value.allSatisfy(isFieldValueByte) else { failure = .invalidHeader; return }
        appendBytes(value)
        append("\r\n")
    }

    /// Appends `Date: <29 bytes>`; `imfFixdate` comes from `HTTPDateCache`.
    public mutating func date(_ imfFixdate: UnsafeRawBufferPointer) {
        append("Date: ")
        appendBytes(imfFixdate)
        append("\r\n")
    }

    /// Appends `Content-Length` or `Transfer-Encoding: chunked`. Writes nothing for `.none`,
    /// nor for 1xx and 204, which must not carry either (RFC 9110 8.6, RFC 9112 6.1).
    public mutating func framing(_ framing: HTTPResponseFraming) {
        if status.code < 200 || status.code == 204 { return }
        switch framing {
        case .contentLength(let n):
            precondition(n >= 0, "negative Content-Length")
            append("Content-Length: ")
            guard failure == nil else { return }
            if let end = writeDecimal(n, into: buffer, at: count) { count = end } else { failure = .doesNotFit }
            append("\r\n")
        case .chunked:
            append("Transfer-Encoding: chunked\r\n")
        case .none:
            break
        }
    }

    /// Appends a Connection field when the default for the request's version differs from what
    /// the server will do: `close` when not keeping the connection, `keep-alive` when keeping
    /// an HTTP/1.0 one. Nothing for an HTTP/1.1 connection that stays open (its default).
    public mutating func connection(keepAlive: Bool, requestVersion: HTTPVersion) {
        if !keepAlive {
            append("Connection: close\r\n")
        } else if requestVersion < .http1_1 {
            append("Connection: keep-alive\r\n")
        }
    }

    /// Ends the head with the empty line. Returns the head's length in bytes, or nil when it did
    /// not fit or a header was invalid (see `failure`); the buffer content is then meaningless.
    public mutating func finish() -> Int? {
        append("\r\n")
        return failure == nil ? count : nil
    }

    /// Encodes a whole head in one call: status line, Date (if given), framing, Connection, then
    /// `extraHeaders`, then the empty line. Returns bytes written, or nil if it does not fit or a
    /// header is invalid. Inlinable, as `header` is: the server's headers closure is then
    /// inlined rather than called through a context.
    @inlinable
    public static func encode(
        status: HTTPStatus,
        framing: HTTPResponseFraming,
        keepAlive: Bool,
        requestVersion: HTTPVersion = .http1_1,
        date: UnsafeRawBufferPointer? = nil,
        into buffer: UnsafeMutableRawBufferPointer,
        extraHeaders: (inout HTTPResponseHeadEncoder) -> Void = { _ in }
    ) -> Int? {
        var w = HTTPResponseHeadEncoder(into: buffer, status: status)
        if let date { w.date(date) }
        w.framing(framing)
        w.connection(keepAlive: keepAlive, requestVersion: requestVersion)
        extraHeaders(&w)
        return w.finish()
    }

    // MARK: Raw appends

    private mutating func append(_ s: StaticString) {
        appendBytes(UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    private mutating func appendByte(_ b: UInt8) {
        guard failure == nil else { return }
        guard count < buffer.count else { failure = .doesNotFit; return }
        buffer[count] = b
        count += 1
    }

    private mutating func appendBytes(_ bytes: UnsafeRawBufferPointer) {
        guard failure == nil, bytes.count > 0 else { return }
        guard bytes.count <= buffer.count - count else { failure = .doesNotFit; return }
        UnsafeMutableRawBufferPointer(rebasing: buffer[count...]).copyMemory(from: bytes)
        count += bytes.count
    }
}
