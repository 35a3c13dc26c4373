/// Splits a byte stream from a Redis server into replies (RESP2 and RESP3), sans-I/O.
///
/// `decode` reads from a borrowed view (the reactor's receive buffer) and either returns the first
/// complete reply with the number of bytes it took, or nil when the view holds only part of one.
/// Nothing is copied or allocated for a partial reply: the caller keeps the unconsumed bytes (the
/// reactor does this for its handlers) and calls again with more appended.
///
/// Each reply is read in two passes over the same code: a scan that checks framing and limits and
/// finds the end without allocating, then, only once the reply is known to be complete and valid,
/// a pass that builds the value. So a reply arriving in many pieces costs one scan of its headers
/// per piece (bulk payloads are jumped over, never read), and never a wasted allocation; and when a
/// scan stops inside a long bulk payload, the decoder remembers how many bytes it needs and answers
/// the next calls at once until that many have arrived.
///
/// Supported: simple strings, errors, integers, bulk strings, arrays and both RESP2 nulls; RESP3
/// null, double, boolean, big number, verbatim string, blob error, map, set, push and attributes
/// (read and discarded: they describe the reply that follows, and no caller here uses them).
/// RESP3 streamed types are rejected (`unsupportedStreaming`): Redis never sends them.
public struct RESPDecoder {
    public var limits: RESPLimits
    /// Length the view must reach before the pending reply can be complete (0: unknown).
    private var needed = 0

    public init(limits: RESPLimits = .default) {
        precondition(limits.maxDepth <= 512, "the decoder recurses once per nesting level")
        self.limits = limits
    }

    /// The first complete reply in `bytes` and the number of bytes it took, or nil if `bytes` holds
    /// only a prefix of one. After nil, the next call must present the same bytes followed by more
    /// (the reactor's contract for unconsumed input), or the decoder must be `reset()` first.
    /// Throws when the bytes cannot be RESP; the stream is then unusable.
    public mutating func decode(_ bytes: UnsafeRawBufferPointer) throws(RESPError) -> (value: RESPValue, consumed: Int)? {
        if bytes.count < needed || bytes.isEmpty { return nil }
        var p = 0
        var missing = 0
        guard try value(bytes, &p, depth: 1, build: false, missing: &missing) != nil else {
            needed = missing
            return nil
        }
        needed = 0
        let end = p
        p = 0
        // The scan proved the reply complete and valid, so the build cannot fail or stop short.
        guard let v = try value(bytes, &p, depth: 1, build: true, missing: &missing), p == end else {
            preconditionFailure("RESP build pass disagreed with its scan")
        }
        return (v, end)
    }

    /// Forgets what the last incomplete decode learned (call when the input is replaced).
    public mutating func reset() { needed = 0 }

    // MARK: One value

    /// Reads the value starting at `p` and moves `p` past it. Returns nil if the view ends first
    /// (setting `missing` to the view length needed when a bulk payload is what is missing).
    /// With `build` false nothing is allocated and complete values come back as `.null`.
    private func value(_ b: UnsafeRawBufferPointer, _ p: inout Int, depth: Int, build: Bool, missing: inout Int) throws(RESPError) -> RESPValue? {
        guard p < b.count else { return nil }
        let start = p
        let type = b[p]
        guard let lineEnd = try line(b, from: p + 1) else { return nil }
        let content = p + 1..<lineEnd
        var next = lineEnd + 2
        let result: RESPValue

        if content.count == 1 && b[content.lowerBound] == UInt8(ascii: "?") && Self.isLengthPrefixed(type) {
            throw RESPError(.unsupportedStreaming, at: start)
        }
        switch type {
        case UInt8(ascii: "+"):
            result = build ? .simpleString(text(b, content)) : .null
        case UInt8(ascii: "-"):
            result = build ? .error(text(b, content)) : .null
        case UInt8(ascii: ":"):
            result = .integer(try integer(b, content, at: start + 1))
        case UInt8(ascii: "_"):
            guard content.isEmpty else { throw RESPError(.badValue, at: start + 1) }
            result = .null
        case UInt8(ascii: "#"):
            guard content.count == 1 else { throw RESPError(.badValue, at: start + 1) }
            switch b[content.lowerBound] {
            case UInt8(ascii: "t"): result = .boolean(true)
            case UInt8(ascii: "f"): result = .boolean(false)
            default: throw RESPError(.badValue, at: start + 1)
            }
        case UInt8(ascii: ","):
            result = .double(try double(b, content, at: start + 1))
        case UInt8(ascii: "("):
            try checkBigNumber(b, content, at: start + 1)
            result = build ? .bigNumber(text(b, content)) : .null
        case UInt8(ascii: "$"), UInt8(ascii: "="), UInt8(ascii: "!"):
            let n = try integer(b, content, at: start + 1)
            if n == -1 && type == UInt8(ascii: "$") {
                result = .null
                break
            }
            guard n >= 0 else { throw RESPError(.badNumber, at: start + 1) }
            // The second bound holds whatever the limits say (they are plain vars): `length + 2`
            // and `next + length + 2` below can then never overflow.
            guard n <= limits.maxBulkLength, n <= Int64(Int.max / 2) else { throw RESPError(.bulkTooLong, at: start + 1) }
            let length = Int(n)
            guard b.count - next >= length + 2 else {
                missing = next + length + 2
                return nil
            }
            guard b[next + length] == 0x0D, b[next + length + 1] == 0x0A else {
                throw RESPError(.badBulkTerminator, at: next + length)
            }
            let payload = next..<next + length
            next += length + 2
            switch type {
            case UInt8(ascii: "$"):
                result = build ? .bulkString(Array(UnsafeRawBufferPointer(rebasing: b[payload]))) : .null
            case UInt8(ascii: "!"):
                result = build ? .blobError(Array(UnsafeRawBufferPointer(rebasing: b[payload]))) : .null
            default:
                // Verbatim: `fmt:` (three printable ASCII bytes and a colon) then the text.
                guard length >= 4, b[payload.lowerBound + 3] == UInt8(ascii: ":"),
                      b[payload.lowerBound..<payload.lowerBound + 3].allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                    throw RESPError(.badValue, at: payload.lowerBound)
                }
                result = build
                    ? .verbatimString(format: text(b, payload.lowerBound..<payload.lowerBound + 3),
                                      text: Array(UnsafeRawBufferPointer(rebasing: b[payload.lowerBound + 4..<payload.upperBound])))
                    : .null
            }
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "%"), UInt8(ascii: "|"):
            let n = try integer(b, content, at: start + 1)
            if n == -1 && type == UInt8(ascii: "*") {
                result = .null
                break
            }
            guard n >= 0 else { throw RESPError(.badNumber, at: start + 1) }
            // As for bulk lengths: `n * 2` for a map must not overflow, whatever the limit.
            guard n <= limits.maxAggregateCount, n <= Int64(Int.max / 4) else { throw RESPError(.aggregateTooLarge, at: start + 1) }
            guard depth <= limits.maxDepth else { throw RESPError(.nestedTooDeep, at: start) }
            let isPairs = type == UInt8(ascii: "%") || type == UInt8(ascii: "|")
            let count = Int(n) * (isPairs ? 2 : 1)
            var items: [RESPValue] = []
            if build { items.reserveCapacity(count) }
            for _ in 0..<count {
                guard let item = try value(b, &next, depth: depth + 1, build: build, missing: &missing) else { return nil }
                if build { items.append(item) }
            }
            if type == UInt8(ascii: "|") {
                // An attribute describes the reply that follows it; read that reply in its place.
                // One level deeper, so a chain of attributes is bounded by maxDepth too.
                p = next
                return try value(b, &p, depth: depth + 1, build: build, missing: &missing)
            }
            switch type {
            case UInt8(ascii: "*"): result = build ? .array(items) : .null
            case UInt8(ascii: "~"): result = build ? .set(items) : .null
            case UInt8(ascii: ">"): result = build ? .push(items) : .null
            default:
                result = build ? .map(stride(from: 0, to: items.count, by: 2).map { RESPPair(items[$0], items[$0 + 1]) }) : .null
            }
        default:
            throw RESPError(.unknownType(type), at: start)
        }
        p = next
        return result
    }

    private static func isLengthPrefixed(_ type: UInt8) -> Bool {
        switch type {
        case UInt8(ascii: "$"), UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: "%"), UInt8(ascii: ">"),
             UInt8(ascii: "="), UInt8(ascii: "!"), UInt8(ascii: "|"): true
        default: false
        }
    }

    // MARK: Lines and numbers

    /// The index of the CR that ends the line starting at `from`, nil if the view ends first.
    /// A lone CR or LF inside the line is an error (RESP lines never contain either).
    private func line(_ b: UnsafeRawBufferPointer, from: Int) throws(RESPError) -> Int? {
        let limit = min(b.count, from + limits.maxLineLength + 1)
        var i = from
        while i < limit {
            let c = b[i]
            if c == 0x0D {
                guard i + 1 < b.count else { return nil }
                guard b[i + 1] == 0x0A else { throw RESPError(.badLineEnding, at: i + 1) }
                return i
            }
            if c == 0x0A { throw RESPError(.badLineEnding, at: i) }
            i += 1
        }
        if i - from > limits.maxLineLength { throw RESPError(.lineTooLong, at: from) }
        return nil
    }

    /// A signed decimal that fits Int64: an optional `-` and at least one digit, nothing else.
    private func integer(_ b: UnsafeRawBufferPointer, _ r: Range<Int>, at offset: Int) throws(RESPError) -> Int64 {
        var i = r.lowerBound
        let negative = i < r.upperBound && b[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        guard i < r.upperBound else { throw RESPError(.badNumber, at: offset) }
        // Accumulate negatively so Int64.min parses too.
        var n: Int64 = 0
        while i < r.upperBound {
            let d = b[i] &- UInt8(ascii: "0")
            guard d <= 9 else { throw RESPError(.badNumber, at: i) }
            let (m, o1) = n.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.subtractingReportingOverflow(Int64(d))
            guard !o1, !o2 else { throw RESPError(.badNumber, at: i) }
            n = s
            i += 1
        }
        if negative { return n }
        guard n != .min else { throw RESPError(.badNumber, at: offset) }
        return -n
    }

    /// RESP3 doubles: `inf`, `-inf`, `nan` or a decimal with optional fraction and exponent.
    private func double(_ b: UnsafeRawBufferPointer, _ r: Range<Int>, at offset: Int) throws(RESPError) -> Double {
        let t = text(b, r)
        switch t {
        case "inf", "+inf": return .infinity
        case "-inf": return -.infinity
        case "nan", "-nan": return .nan
        default: break
        }
        var sawDigit = false
        for c in b[r] {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): sawDigit = true
            case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"): break
            default: throw RESPError(.badValue, at: offset)
            }
        }
        guard sawDigit, let d = Double(t) else { throw RESPError(.badValue, at: offset) }
        return d
    }

    private func checkBigNumber(_ b: UnsafeRawBufferPointer, _ r: Range<Int>, at offset: Int) throws(RESPError) {
        var i = r.lowerBound
        if i < r.upperBound && (b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+")) { i += 1 }
        guard i < r.upperBound else { throw RESPError(.badValue, at: offset) }
        while i < r.upperBound {
            guard b[i] &- UInt8(ascii: "0") <= 9 else { throw RESPError(.badValue, at: i) }
            i += 1
        }
    }

    private func text(_ b: UnsafeRawBufferPointer, _ r: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: b[r]), as: UTF8.self)
    }
}
