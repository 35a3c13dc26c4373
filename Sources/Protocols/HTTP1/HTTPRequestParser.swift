import Glibc

/// What `HTTPRequestParser.next(_:)` found. Ranges are offsets into the buffer passed to that call.
public enum HTTPParserEvent {
    /// Nothing more can be done with these bytes. Drop `consumed` bytes (possibly 0: an incomplete
    /// head is never consumed), keep the rest, and call again when more bytes arrive.
    case needMoreData
    /// A complete, validated request head. `consumed` covers it.
    case head(HTTPRequestHead)
    /// A piece of the body (never empty): as many bytes as the input held, never waiting for the
    /// whole body. `consumed` covers it and any chunk framing before it.
    case body(Range<Int>)
    /// The request is complete; `consumed` covers any framing that ended it (the last chunk and
    /// trailers), and the parser is ready for the next pipelined request.
    case end
    /// The request is invalid; answer `error.status` with `Connection: close` and close. The
    /// parser returns this same error on every later call.
    case error(HTTPParserError)
}

/// A sans-I/O HTTP/1.1 request parser: bytes in, events out, no allocation per request.
///
/// Contract with the caller (the reactor's receive path):
/// - `next(_:)` is given a buffer that starts at the first byte not yet consumed. Bytes not
///   consumed must be presented again, unchanged, at the start of the next buffer, with any new
///   bytes after them. The parser never copies or buffers input: an incomplete head stays in
///   the caller's buffer (the reactor's per-connection tail) until it is complete.
/// - Call it in a loop until `.needMoreData` or `.error`; each call returns one event:
///
///       var rest = input
///       loop: while true {
///           let (event, consumed) = parser.next(rest)
///           switch event {
///           case .head(let head): handler.head(head)          // head valid during this call only
///           case .body(let r): handler.body(UnsafeRawBufferPointer(rebasing: rest[r]))
///           case .end: handler.end()                          // stop here if upgrading
///           case .needMoreData: rest = UnsafeRawBufferPointer(rebasing: rest[consumed...]); break loop
///           case .error(let e): answer(e.status); close(); return
///           }
///           rest = UnsafeRawBufferPointer(rebasing: rest[consumed...])
///       }
///       keepTail(rest)
///
/// The head scan is incremental: bytes already searched for the end of the head are not searched
/// again on the next call, so a head trickling in one byte per packet costs linear, not quadratic,
/// time. That relies on the contract above.
///
/// Bodies: Content-Length or chunked (extensions ignored, trailers validated and skipped). A
/// request with neither has no body, and `.end` follows the head.
///
/// Line endings: CRLF; a bare LF is accepted as RFC 9112 2.2 allows unless
/// `limits.allowsBareLineFeed` is false; a bare CR is always rejected.
public struct HTTPRequestParser {
    /// The bounds this parser enforces.
    public let limits: HTTPParserLimits
    let table: HTTPHeaderTable

    @usableFromInline
    enum Phase: UInt8 {
        case head
        case fixedBody
        case chunkSizeStart, chunkSizeDigits, chunkSizeWhitespace, chunkExtension, chunkSizeLF
        case chunkData, chunkDataCR, chunkDataLF
        case trailerLineStart, trailerName, trailerValue, trailerLF, trailerEndLF
        case endPending
        case failed
    }

    @usableFromInline var phase: Phase = .head
    @usableFromInline var failure: HTTPParserError = .malformedRequestLine

    // Head scan progress, relative to the first byte of the request line (which is offset 0 of
    // the next input whenever `scanned > 0`, since an incomplete head is not consumed).
    @usableFromInline var scanned = 0
    var scanLineStart = 0
    var scanLines = 0

    // Body progress.
    @usableFromInline var remaining = 0  // bytes left in the Content-Length body or in the current chunk
    var bodyTotal = 0  // chunked: sum of chunk sizes so far
    var chunkSize = 0
    var chunkLineLength = 0
    var trailerBytes = 0
    var trailerCount = 0

    /// Creates a parser with its own header table of `limits.maxHeaderCount` slots: the one
    /// allocation of a connection.
    public init(limits: HTTPParserLimits = .default) {
        self.init(limits: limits, headerTable: HTTPHeaderTable(capacity: limits.maxHeaderCount))
    }

    /// Creates a parser that records header fields in `headerTable`, which may be shared by every
    /// parser on the same thread (see `HTTPHeaderTable`). Its capacity must be at least
    /// `limits.maxHeaderCount`.
    public init(limits: HTTPParserLimits, headerTable: HTTPHeaderTable) {
        precondition(headerTable.capacity >= limits.maxHeaderCount, "header table smaller than maxHeaderCount")
        self.limits = limits
        self.table = headerTable
    }

    /// Whether the parser is between requests with nothing of the next one seen yet: the point
    /// where an idle timeout (rather than a header-read timeout) applies, and where a graceful
    /// shutdown may close the connection.
    public var isIdle: Bool { phase == .head && scanned == 0 }

    /// `isIdle` of the parser at `parser`, read field by field where it lies. For a parser kept
    /// behind a pointer (the server's connection state): a property read through a pointer
    /// copies the whole value first (136 bytes, and a retain and release of its header table:
    /// about 140 instructions), since nothing proves the memory stays put while it is borrowed.
    @inlinable
    public static func isIdle(at parser: UnsafePointer<HTTPRequestParser>) -> Bool {
        parser.pointee.phase == .head && parser.pointee.scanned == 0
    }

    /// The error the parser stopped on, if any.
    public var error: HTTPParserError? { phase == .failed ? failure : nil }

    /// Forgets any request in progress and any error: for a connection that is reused after the
    /// caller has discarded its buffered bytes.
    public mutating func reset() {
        self = HTTPRequestParser(limits: limits, headerTable: table)
    }

    /// Parses as far as the next event. See the type's documentation for the calling contract.
    /// `consumed` never exceeds `input.count`. Offsets are kept as Int32, so `input` must be
    /// shorter than 2 GiB (the reactor's receive buffer is a few dozen KiB).
    // Inlinable: the server (in Connections) calls it for every request; inlined, a body byte
    // costs the caller a switch, as it did when the server and the parser were one module.
    @inlinable
    public mutating func next(_ input: UnsafeRawBufferPointer) -> (event: HTTPParserEvent, consumed: Int) {
        switch phase {
        case .failed:
            return (.error(failure), 0)
        case .endPending:
            phase = .head
            return (.end, 0)
        case .head:
            guard let base = input.baseAddress, input.count > 0 else { return (.needMoreData, 0) }
            return nextHead(base, input.count)
        case .fixedBody:
            let n = min(remaining, input.count)
            guard n > 0 else { return (.needMoreData, 0) }
            remaining -= n
            if remaining == 0 { phase = .endPending }
            return (.body(0..<n), n)
        default:
            guard let base = input.baseAddress, input.count > 0 else { return (.needMoreData, 0) }
            return nextChunked(base, input.count)
        }
    }

    mutating func fail(_ e: HTTPParserError) -> (event: HTTPParserEvent, consumed: Int) {
        phase = .failed
        failure = e
        return (.error(e), 0)
    }

    // MARK: Head

    /// Finds the end of the head, enforcing the line and size limits as bytes arrive, then
    /// parses the complete head in one pass. Two passes keep the incremental part trivial
    /// (it only tracks line boundaries) and the parse itself free of "need more" checks.
    @usableFromInline
    mutating func nextHead(_ base: UnsafeRawPointer, _ count: Int) -> (event: HTTPParserEvent, consumed: Int) {
        @inline(__always) func at(_ i: Int) -> UInt8 { base.load(fromByteOffset: i, as: UInt8.self) }

        // RFC 9112 2.2: ignore empty lines before a request line (clients send a stray CRLF
        // after a POST body). They are consumed, so they count toward no limit.
        var start = 0
        if scanned == 0 {
            while start < count {
                let c = at(start)
                if c == asciiLF {
                    guard limits.allowsBareLineFeed else { return fail(.bareLF) }
                    start += 1
                } else if c == asciiCR {
                    if start + 1 == count { break }
                    guard at(start + 1) == asciiLF else { return fail(.bareCR) }
                    start += 2
                } else {
                    break
                }
            }
        }

        if start + scanned > count {
            // The caller broke the contract (a shorter buffer than last time): rescan from the top
            // rather than trust progress made on bytes that are gone.
            scanned = 0
            scanLineStart = 0
            scanLines = 0
        }
        var i = start + scanned
        var lineStart = start + scanLineStart
        var lines = scanLines
        var headEnd = -1
        let limitEnd = start + limits.maxHeadLength  // a byte at this index makes the head too long

        // The request line, byte by byte: it is short, and bytes that cannot appear in any part of
        // it are refused at once, so a TLS handshake or binary garbage on a plain port is answered
        // without waiting for a line end that may never come.
        while lines == 0 && i < count {
            // Printable bytes short of both limits pass every check below unchanged: skip them in
            // a tight loop (most of the line), and judge the byte that stops it as before.
            // Eight at a time while whole words fit, then byte by byte.
            let plainEnd = min(count, limitEnd, lineStart + limits.maxRequestLineLength)
            while i + 8 <= plainEnd && isPrintableASCIIWord(base.loadUnaligned(fromByteOffset: i, as: UInt64.self)) { i += 8 }
            while i < plainEnd && at(i) &- 0x20 < 0x5F { i += 1 }
            if i == count { break }
            if i >= limitEnd { return fail(.headTooLarge) }
            let c = at(i)
            if c == asciiLF {
                let hasCR = i > lineStart && at(i - 1) == asciiCR
                if !hasCR && !limits.allowsBareLineFeed { return fail(.bareLF) }
                lines = 1
                lineStart = i + 1
            } else if c == asciiCR {
                // Decide on the CR only once the next byte is here; until then do not pass it.
                if i + 1 == count { break }
                if at(i + 1) != asciiLF { return fail(.bareCR) }
            } else {
                if c < 0x20 || c >= 0x7F { return fail(.malformedRequestLine) }
                if i - lineStart + 1 > limits.maxRequestLineLength { return fail(.requestLineTooLong) }
            }
            i += 1
        }

        // Header lines: find each LF with memchr (vectorised in glibc), then check the completed
        // line. A line is judged only once its LF is within the head limit, so the outcome does
        // not depend on where the input was cut: a line that crosses the limit is 431 whatever
        // it holds, a complete line with a bare CR is 400.
        while lines > 0 && i < count {
            let windowEnd = min(count, limitEnd)
            guard i < windowEnd else { return fail(.headTooLarge) }
            guard let lf = memchr(base + i, Int32(asciiLF), windowEnd - i) else {
                if count > limitEnd { return fail(.headTooLarge) }
                i = windowEnd
                break
            }
            let j = base.distance(to: UnsafeRawPointer(lf))
            let hasCR = j > lineStart && at(j - 1) == asciiCR
            if !hasCR && !limits.allowsBareLineFeed { return fail(.bareLF) }
            let contentEnd = hasCR ? j - 1 : j
            if contentEnd > lineStart && memchr(base + lineStart, Int32(asciiCR), contentEnd - lineStart) != nil {
                return fail(.bareCR)
            }
            if contentEnd == lineStart {
                headEnd = j + 1
                break
            }
            lines += 1
            if lines - 1 > limits.maxHeaderCount { return fail(.tooManyHeaders) }
            lineStart = j + 1
            i = j + 1
        }

        guard headEnd >= 0 else {
            scanned = i - start
            scanLineStart = lineStart - start
            scanLines = lines
            return (.needMoreData, start)
        }
        scanned = 0
        scanLineStart = 0
        scanLines = 0

        let head: HTTPRequestHead
        do {
            head = try Self.parseHead(base, start: start, end: headEnd, limits: limits, table: table)
        } catch {
            return fail(error)
        }
        switch head.bodyFraming {
        case .none:
            phase = .endPending
        case .contentLength(let n):
            phase = .fixedBody
            remaining = n
        case .chunked:
            phase = .chunkSizeStart
            bodyTotal = 0
        }
        return (.head(head), headEnd)
    }
}
