// The second pass over a request head: once the scan in `nextHead` has found a complete head,
// parse it in place into an `HTTPRequestHead` and the header table.

extension HTTPRequestParser {
    /// Parses a complete head in `[start, end)`, which the scan has proven to end with an empty
    /// line and to hold only CRs that precede an LF. Every loop below stops at the latest on the
    /// final LF, which is in no byte class they advance over.
    ///
    /// Static, given the two things of the parser it reads: as a method, every call from
    /// `nextHead` (which holds the parser mutably) began with a copy of the whole parser.
    static func parseHead(
        _ base: UnsafeRawPointer, start: Int, end: Int, limits: HTTPParserLimits, table: HTTPHeaderTable
    ) throws(HTTPParserError) -> HTTPRequestHead {
        @inline(__always) func at(_ i: Int) -> UInt8 { base.load(fromByteOffset: i, as: UInt8.self) }
        @inline(__always) func view(_ s: Int, _ e: Int) -> HTTPByteView { HTTPByteView(start: base + s, count: e - s) }

        // Request line: method SP request-target SP HTTP-version (RFC 9112 3), single spaces.
        // The common method and version are compared as one word each, which finds what the
        // byte loops would (`GET` then SP; `HTTP/1.1` then the line end) without them.
        var p = start
        let method: HTTPMethod
        let methodEnd: Int
        if end - start >= 4 && UInt32(littleEndian: base.loadUnaligned(fromByteOffset: start, as: UInt32.self)) == 0x2054_4547 {
            method = .get  // "GET "
            methodEnd = start + 3
            p = start + 4
        } else {
            while isTokenByte(at(p)) { p += 1 }
            methodEnd = p
            guard at(p) == asciiSP else {
                throw (p == start || at(p) == asciiCR || at(p) == asciiLF) ? .malformedRequestLine : .invalidMethod
            }
            if p == start { throw .malformedRequestLine }
            method = HTTPMethod(token: UnsafeRawBufferPointer(start: base + start, count: methodEnd - start))
            p += 1
        }

        let targetStart = p
        var queryMark = -1
        // Most of a target is plain path bytes: pass them eight at a time up to the first byte
        // the loop below must judge (the space after the target at the latest).
        p = skipWords(base, from: p, end: end, stopMask: targetStopMask)
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

        let version: HTTPVersion
        if p + 9 <= end && UInt64(littleEndian: base.loadUnaligned(fromByteOffset: p, as: UInt64.self)) == 0x312E_312F_5054_5448
            && (at(p + 8) == asciiCR || at(p + 8) == asciiLF) {
            version = .http1_1  // "HTTP/1.1"
            p += 8
        } else {
            let versionStart = p
            while at(p) != asciiCR && at(p) != asciiLF { p += 1 }
            version = try parseVersion(view(versionStart, p))
        }
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
        var chunkedSeen = false
        var chunkedTwice = false
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
            // Values are most of a head's bytes: skip eight plain bytes at a time up to the first
            // byte that is not (a tab, the CR, or an invalid byte), then finish byte by byte.
            p = skipWords(base, from: p, end: end, stopMask: fieldValueStopMask)
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
            case 4 where name.equalsLowercase("host"):
                hostCount += 1
            case 6 where name.equalsLowercase("expect"):
                if value.equalsLowercase("100-continue") { expectContinue = true }
            case 7 where name.equalsLowercase("upgrade"):
                if !value.isEmpty { upgradeField = true }
            case 10 where name.equalsLowercase("connection"):
                value.forEachListElement { token in
                    if token.equalsLowercase("close") {
                        connectionClose = true
                    } else if token.equalsLowercase("keep-alive") {
                        connectionKeepAlive = true
                    } else if token.equalsLowercase("upgrade") {
                        connectionUpgrade = true
                    }
                    return true
                }
            case 14 where name.equalsLowercase("content-length"):
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
            case 17 where name.equalsLowercase("transfer-encoding"):
                transferEncodingSeen = true
                // Codings accumulate across fields in order (RFC 9110 5.3), so `chunkedLast`
                // carries over from an earlier Transfer-Encoding line.
                value.forEachListElement { coding in
                    codings += 1
                    if coding.equalsLowercase("chunked") {
                        if chunkedSeen { chunkedTwice = true }
                        chunkedSeen = true
                        chunkedLast = true
                    } else {
                        // A coding after chunked hides where the body ends (400 below); one before
                        // it is framed fine but a coding we do not implement (501).
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
            // RFC 9112 6.3: a request whose final coding is not chunked cannot be framed: the
            // server MUST answer 400 and close. Chunked applied twice breaks RFC 9112 7 (MUST NOT).
            if !chunkedLast { throw .transferEncodingNotChunkedLast }
            if chunkedTwice { throw .invalidTransferEncoding }
            if unsupportedCoding { throw .unsupportedTransferEncoding }
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
    private static func parseVersion(_ v: HTTPByteView) throws(HTTPParserError) -> HTTPVersion {
        guard v.count == 8, v[0] == 0x48, v[1] == 0x54, v[2] == 0x54, v[3] == 0x50, v[4] == 0x2F,
              v[6] == 0x2E, (0x30...0x39).contains(v[5]), (0x30...0x39).contains(v[7])
        else { throw .malformedVersion }
        let version = HTTPVersion(major: v[5] - 0x30, minor: v[7] - 0x30)
        guard version == .http1_1 || version == .http1_0 else { throw .unsupportedVersion }
        return version
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
