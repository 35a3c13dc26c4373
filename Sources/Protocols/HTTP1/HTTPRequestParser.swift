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

    enum Phase: UInt8 {
        case head
        case fixedBody
        case chunkSizeStart, chunkSizeDigits, chunkSizeWhitespace, chunkExtension, chunkSizeLF
        case chunkData, chunkDataCR, chunkDataLF
        case trailerLineStart, trailerName, trailerValue, trailerLF, trailerEndLF
        case endPending
        case failed
    }

    var phase: Phase = .head
    var failure: HTTPParserError = .malformedRequestLine

    // Head scan progress, relative to the first byte of the request line (which is offset 0 of
    // the next input whenever `scanned > 0`, since an incomplete head is not consumed).
    var scanned = 0
    var scanLineStart = 0
    var scanLines = 0

    // Body progress.
    var remaining = 0  // bytes left in the Content-Length body or in the current chunk
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

    /// The error the parser stopped on, if any.
    public var error: HTTPParserError? { phase == .failed ? failure : nil }

    /// Forgets any request in progress and any error: for a connection that is reused after the
    /// caller has discarded its buffered bytes.
    public mutating func reset() {
        self = HTTPRequestParser(limits: limits, headerTable: table)
    }

    /// Parses as far as the next event. See the type's documentation for the calling contract.
    /// `consumed` never exceeds `input.count`.
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

    private mutating func fail(_ e: HTTPParserError) -> (event: HTTPParserEvent, consumed: Int) {
        phase = .failed
        failure = e
        return (.error(e), 0)
    }

    // MARK: Head

    /// Finds the end of the head, enforcing the line and size limits as bytes arrive, then
    /// parses the complete head in one pass. Two passes keep the incremental part trivial
    /// (it only tracks line boundaries) and the parse itself free of "need more" checks.
    private mutating func nextHead(_ base: UnsafeRawPointer, _ count: Int) -> (event: HTTPParserEvent, consumed: Int) {
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

        var i = start + scanned
        var lineStart = start + scanLineStart
        var lines = scanLines
        var headEnd = -1
        while i < count {
            if i - start >= limits.maxHeadLength { return fail(.headTooLarge) }
            let c = at(i)
            if c == asciiLF {
                let hasCR = i > lineStart && at(i - 1) == asciiCR
                if !hasCR && !limits.allowsBareLineFeed { return fail(.bareLF) }
                if lines > 0 && (hasCR ? i - 1 : i) == lineStart {
                    headEnd = i + 1
                    break
                }
                lines += 1
                if lines - 1 > limits.maxHeaderCount { return fail(.tooManyHeaders) }
                lineStart = i + 1
            } else if c == asciiCR {
                // Decide on the CR only once the next byte is here; until then do not pass it.
                if i + 1 == count { break }
                if at(i + 1) != asciiLF { return fail(.bareCR) }
            } else if lines == 0 {
                // Request line: reject bytes that cannot appear in any part of it at once, so
                // a TLS handshake or binary garbage on a plain port is answered without waiting.
                if c < 0x20 || c >= 0x7F { return fail(.malformedRequestLine) }
                if i - lineStart + 1 > limits.maxRequestLineLength { return fail(.requestLineTooLong) }
            }
            i += 1
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
            head = try parseHead(base, start: start, end: headEnd)
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

    /// Parses a complete head in `[start, end)`, which the scan has proven to end with an empty
    /// line and to hold only CRs that precede an LF. Every loop below stops at the latest on the
    /// final LF, which is in no byte class they advance over.
    private func parseHead(_ base: UnsafeRawPointer, start: Int, end: Int) throws(HTTPParserError) -> HTTPRequestHead {
        @inline(__always) func at(_ i: Int) -> UInt8 { base.load(fromByteOffset: i, as: UInt8.self) }
        @inline(__always) func view(_ s: Int, _ e: Int) -> HTTPByteView { HTTPByteView(start: base + s, count: e - s) }

        // Request line: method SP request-target SP HTTP-version (RFC 9112 3), single spaces.
        var p = start
        while isTokenByte(at(p)) { p += 1 }
        let methodEnd = p
        guard at(p) == asciiSP else {
            throw (p == start || at(p) == asciiCR || at(p) == asciiLF) ? .malformedRequestLine : .invalidMethod
        }
        if p == start { throw .malformedRequestLine }
        let method = HTTPMethod(token: UnsafeRawBufferPointer(start: base + start, count: methodEnd - start))
        p += 1

        let targetStart = p
        var queryMark = -1
        while isTargetByte(at(p)) {
            let c = at(p)
            if c == 0x23 { throw .invalidTarget }  // '#': a fragment is never sent (RFC 9112 3.2)
            if c == 0x3F && queryMark < 0 { queryMark = p }
            p += 1
        }
        let targetEnd = p
        guard at(p) == asciiSP, p > targetStart else {
            throw (p == targetStart || at(p) == asciiCR || at(p) == asciiLF) ? .malformedRequestLine : .invalidTarget
        }
        p += 1

        let versionStart = p
        while at(p) != asciiCR && at(p) != asciiLF { p += 1 }
        let version = try parseVersion(view(versionStart, p))
        p += at(p) == asciiCR ? 2 : 1

        // Request target forms (RFC 9112 3.2) decide where the path begins.
        var pathStart = targetStart
        let pathEnd = queryMark >= 0 ? queryMark : targetEnd
        if method == .connect {
            pathStart = targetStart  // authority-form: no path, no query
        } else if at(targetStart) == 0x2F {
            // origin-form: the common case
        } else if targetEnd - targetStart == 1 && at(targetStart) == 0x2A {
            if method != .options { throw .invalidTarget }  // asterisk-form is OPTIONS only
        } else {
            // absolute-form: scheme "://" authority [path] ["?" query]
            var q = targetStart
            while q < targetEnd && isSchemeByte(at(q), first: q == targetStart) { q += 1 }
            guard q > targetStart, q + 3 <= targetEnd, at(q) == asciiColon, at(q + 1) == 0x2F, at(q + 2) == 0x2F else {
                throw .invalidTarget
            }
            q += 3
            while q < pathEnd && at(q) != 0x2F { q += 1 }
            pathStart = q
        }
        let pathRange = method == .connect ? targetStart..<targetStart : pathStart..<pathEnd
        let queryRange = (method != .connect && queryMark >= 0) ? (queryMark + 1)..<targetEnd : nil

        // Header fields: field-name ":" OWS field-value OWS (RFC 9112 5).
        var count = 0
        var hostCount = 0
        var contentLength = -1
        var transferEncodingSeen = false
        var codings = 0
        var chunkedLast = false
        var unsupportedCoding = false
        var connectionClose = false
        var connectionKeepAlive = false
        var connectionUpgrade = false
        var upgradeField = false
        var expectContinue = false
        let slots = table.slots

        while true {
            let lineStart = p
            let first = at(p)
            if first == asciiCR || first == asciiLF { break }  // the empty line
            if isOWS(first) { throw .obsoleteLineFolding }
            while isTokenByte(at(p)) { p += 1 }
            let nameEnd = p
            if at(p) != asciiColon {
                if nameEnd > lineStart && isOWS(at(p)) {
                    var q = p
                    while isOWS(at(q)) { q += 1 }
                    if at(q) == asciiColon { throw .whitespaceBeforeColon }
                }
                throw .invalidHeaderName
            }
            if nameEnd == lineStart { throw .invalidHeaderName }
            p += 1
            while isOWS(at(p)) { p += 1 }
            let valueStart = p
            while isFieldValueByte(at(p)) { p += 1 }
            let terminator = at(p)
            if terminator != asciiCR && terminator != asciiLF { throw .invalidHeaderValue }
            var valueEnd = p
            while valueEnd > valueStart && isOWS(at(valueEnd - 1)) { valueEnd -= 1 }
            p += terminator == asciiCR ? 2 : 1

            if count == limits.maxHeaderCount { throw .tooManyHeaders }
            slots[count] = HTTPHeaderTable.Slot(
                nameStart: Int32(lineStart), nameEnd: Int32(nameEnd),
                valueStart: Int32(valueStart), valueEnd: Int32(valueEnd))
            count += 1

            // The few fields that frame the exchange; dispatch on length before comparing.
            let name = view(lineStart, nameEnd)
            let value = view(valueStart, valueEnd)
            switch name.count {
            case 4 where name.equalsIgnoringCase("host"):
                hostCount += 1
            case 6 where name.equalsIgnoringCase("expect"):
                if value.equalsIgnoringCase("100-continue") { expectContinue = true }
            case 7 where name.equalsIgnoringCase("upgrade"):
                if !value.isEmpty { upgradeField = true }
            case 10 where name.equalsIgnoringCase("connection"):
                value.forEachListElement { token in
                    if token.equalsIgnoringCase("close") {
                        connectionClose = true
                    } else if token.equalsIgnoringCase("keep-alive") {
                        connectionKeepAlive = true
                    } else if token.equalsIgnoringCase("upgrade") {
                        connectionUpgrade = true
                    }
                    return true
                }
            case 14 where name.equalsIgnoringCase("content-length"):
                // RFC 9110 8.6: a list of identical values may be treated as one; any
                // difference, within a field or across fields, is a framing conflict.
                var valid = !value.isEmpty
                var conflict = false
                value.forEachListElement { element in
                    guard let n = parseDecimal(element) else { valid = false; return false }
                    if contentLength >= 0 && n != contentLength { conflict = true; return false }
                    contentLength = n
                    return true
                }
                if !valid || contentLength < 0 { throw .invalidContentLength }
                if conflict { throw .conflictingContentLength }
            case 17 where name.equalsIgnoringCase("transfer-encoding"):
                transferEncodingSeen = true
                value.forEachListElement { coding in
                    codings += 1
                    // Anything after chunked, a second chunked, or another coding: we cannot
                    // frame it, so 501 (the server implements no other transfer coding).
                    if chunkedLast { unsupportedCoding = true }
                    if coding.equalsIgnoringCase("chunked") {
                        chunkedLast = true
                    } else {
                        chunkedLast = false
                        unsupportedCoding = true
                    }
                    return true
                }
            default:
                break
            }
        }
        p += at(p) == asciiCR ? 2 : 1
        assert(p == end, "head scan and head parse disagree about the end of the head")

        let framing: HTTPRequestBodyFraming
        if transferEncodingSeen {
            // RFC 9112 6.1: both is a smuggling attempt or a broken intermediary; never guess.
            if contentLength >= 0 { throw .contentLengthWithTransferEncoding }
            if codings == 0 { throw .invalidTransferEncoding }
            if unsupportedCoding || !chunkedLast { throw .unsupportedTransferEncoding }
            framing = .chunked
        } else if contentLength > 0 {
            if contentLength > limits.maxBodyLength { throw .bodyTooLarge }
            framing = .contentLength(contentLength)
        } else {
            framing = .none
        }

        let http11 = version == .http1_1
        if hostCount > 1 { throw .multipleHost }
        if http11 && hostCount == 0 { throw .missingHost }

        let keepAlive: Bool
        if http11 {
            keepAlive = !connectionClose
        } else {
            // HTTP/1.0 with Transfer-Encoding: framing is suspect, close after (RFC 9112 6.1).
            keepAlive = connectionKeepAlive && !connectionClose && !transferEncodingSeen
        }

        return HTTPRequestHead(
            base: base, slots: UnsafePointer(slots), headerCount: count,
            method: method, version: version,
            methodRange: start..<methodEnd, targetRange: targetStart..<targetEnd,
            pathRange: pathRange, queryRange: queryRange, headRange: start..<end,
            bodyFraming: framing, keepAlive: keepAlive,
            expectsContinue: http11 && expectContinue,
            upgradeRequested: http11 && connectionUpgrade && upgradeField,
            hasHost: hostCount > 0)
    }

    /// `HTTP/` DIGIT `.` DIGIT, case-sensitive (RFC 9112 2.3); only 1.0 and 1.1 are served.
    private func parseVersion(_ v: HTTPByteView) throws(HTTPParserError) -> HTTPVersion {
        guard v.count == 8, v[0] == 0x48, v[1] == 0x54, v[2] == 0x54, v[3] == 0x50, v[4] == 0x2F,
              v[6] == 0x2E, (0x30...0x39).contains(v[5]), (0x30...0x39).contains(v[7])
        else { throw .malformedVersion }
        let version = HTTPVersion(major: v[5] - 0x30, minor: v[7] - 0x30)
        guard version == .http1_1 || version == .http1_0 else { throw .unsupportedVersion }
        return version
    }

    // MARK: Chunked body

    /// Walks chunk framing one byte at a time, consuming it as it goes (so nothing of a chunk
    /// line is ever re-read), and returns at the first chunk data, at the end, or when the input
    /// runs out. The trailer section is validated like header fields and then dropped.
    private mutating func nextChunked(_ base: UnsafeRawPointer, _ count: Int) -> (event: HTTPParserEvent, consumed: Int) {
        var i = 0
        while true {
            if phase == .chunkData {
                let n = min(remaining, count - i)
                guard n > 0 else { return (.needMoreData, i) }
                remaining -= n
                if remaining == 0 { phase = .chunkDataCR }
                return (.body(i..<(i + n)), i + n)
            }
            guard i < count else { return (.needMoreData, i) }
            let c = base.load(fromByteOffset: i, as: UInt8.self)
            i += 1

            switch phase {
            case .chunkSizeStart:
                guard let digit = hexValue(c) else { return fail(.invalidChunkSize) }
                chunkSize = digit
                chunkLineLength = 1
                phase = .chunkSizeDigits
            case .chunkSizeDigits, .chunkSizeWhitespace, .chunkExtension:
                chunkLineLength += 1
                if chunkLineLength > limits.maxChunkLineLength { return fail(.invalidChunkSize) }
                if c == asciiCR {
                    phase = .chunkSizeLF
                } else if c == asciiLF {
                    guard limits.allowsBareLineFeed else { return fail(.bareLF) }
                    if let e = chunkSizeLineEnded() { return fail(e) }
                } else if phase == .chunkSizeDigits, let digit = hexValue(c) {
                    // Saturate rather than overflow: any size this large fails the body limit.
                    chunkSize = chunkSize > (Int.max >> 5) ? chunkSize : chunkSize << 4 | digit
                } else if c == 0x3B {  // ';' starts an extension, which we ignore
                    if phase != .chunkExtension { phase = .chunkExtension }
                } else if phase == .chunkExtension {
                    if !isFieldValueByte(c) { return fail(.invalidChunkSize) }
                } else if isOWS(c) {
                    phase = .chunkSizeWhitespace  // BWS, allowed only before ';'
                } else {
                    return fail(.invalidChunkSize)
                }
            case .chunkSizeLF:
                guard c == asciiLF else { return fail(.bareCR) }
                if let e = chunkSizeLineEnded() { return fail(e) }
            case .chunkDataCR:
                if c == asciiCR {
                    phase = .chunkDataLF
                } else if c == asciiLF && limits.allowsBareLineFeed {
                    phase = .chunkSizeStart
                } else {
                    return fail(c == asciiLF ? .bareLF : .invalidChunkTerminator)
                }
            case .chunkDataLF:
                guard c == asciiLF else { return fail(.bareCR) }
                phase = .chunkSizeStart
            case .trailerLineStart, .trailerName, .trailerValue, .trailerLF, .trailerEndLF:
                trailerBytes += 1
                if trailerBytes > limits.maxHeadLength { return fail(.headTooLarge) }
                if let e = trailerByte(c) { return fail(e) }
                if phase == .endPending {
                    phase = .head
                    return (.end, i)
                }
            default:
                preconditionFailure("nextChunked in phase \(phase)")
            }
        }
    }

    /// At the LF of a chunk-size line: a zero size starts the trailer section, any other size
    /// the chunk data, after checking the running total against the body limit.
    private mutating func chunkSizeLineEnded() -> HTTPParserError? {
        if chunkSize == 0 {
            phase = .trailerLineStart
            trailerBytes = 0
            trailerCount = 0
            return nil
        }
        if chunkSize > limits.maxBodyLength - bodyTotal { return .bodyTooLarge }
        bodyTotal += chunkSize
        remaining = chunkSize
        phase = .chunkData
        return nil
    }

    /// One byte of the trailer section: field lines as in the head, then an empty line. Sets
    /// `phase` to `.endPending` at the final LF.
    private mutating func trailerByte(_ c: UInt8) -> HTTPParserError? {
        switch phase {
        case .trailerLineStart:
            if c == asciiCR {
                phase = .trailerEndLF
            } else if c == asciiLF {
                guard limits.allowsBareLineFeed else { return .bareLF }
                phase = .endPending
            } else if isOWS(c) {
                return .obsoleteLineFolding
            } else if isTokenByte(c) {
                trailerCount += 1
                if trailerCount > limits.maxHeaderCount { return .tooManyHeaders }
                phase = .trailerName
            } else {
                return .invalidHeaderName
            }
        case .trailerName:
            if c == asciiColon {
                phase = .trailerValue
            } else if isOWS(c) {
                return .whitespaceBeforeColon  // a later byte may not be ':', but either way it is invalid
            } else if !isTokenByte(c) {
                return .invalidHeaderName
            }
        case .trailerValue:
            if c == asciiCR {
                phase = .trailerLF
            } else if c == asciiLF {
                guard limits.allowsBareLineFeed else { return .bareLF }
                phase = .trailerLineStart
            } else if !isFieldValueByte(c) {
                return .invalidHeaderValue
            }
        case .trailerLF:
            guard c == asciiLF else { return .bareCR }
            phase = .trailerLineStart
        case .trailerEndLF:
            guard c == asciiLF else { return .bareCR }
            phase = .endPending
        default:
            preconditionFailure("trailerByte in phase \(phase)")
        }
        return nil
    }
}

/// `1*DIGIT` as an Int, saturating at Int.max (any such length fails the body limit); nil when
/// a byte is not a digit.
func parseDecimal(_ v: HTTPByteView) -> Int? {
    guard v.count > 0 else { return nil }
    var n = 0
    for c in v {
        guard c >= 0x30 && c <= 0x39 else { return nil }
        n = n > (Int.max - 9) / 10 ? Int.max : n * 10 + Int(c - 0x30)
    }
    return n
}

/// scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 3.1).
@inline(__always)
func isSchemeByte(_ c: UInt8, first: Bool) -> Bool {
    let alpha = (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A
    if first { return alpha }
    return alpha || (c >= 0x30 && c <= 0x39) || c == 0x2B || c == 0x2D || c == 0x2E
}
