/// How a request's body is delimited (RFC 9112 6.3). A request with neither Content-Length nor
/// Transfer-Encoding has no body: requests are never read until close.
public enum HTTPRequestBodyFraming: Hashable, Sendable {
    /// No body: the `end` event follows the head at once.
    case none
    /// Exactly this many bytes follow the head (never 0: `Content-Length: 0` is `.none`).
    case contentLength(Int)
    /// `Transfer-Encoding: chunked`; the length is known only at the last chunk.
    case chunked
}

/// One header field: a name and a value, both borrowed from the input.
public struct HTTPHeaderField {
    /// The name as sent (case preserved); compare it with `equalsIgnoringCase`.
    public let name: HTTPByteView
    /// The value with leading and trailing whitespace removed.
    public let value: HTTPByteView
    /// Where the name lies in the buffer passed to `next(_:)`.
    public let nameRange: Range<Int>
    /// Where the value lies in the buffer passed to `next(_:)`.
    public let valueRange: Range<Int>
}

/// The header fields of a head, in the order received. Random access, no allocation.
public struct HTTPHeaderFields: RandomAccessCollection {
    let base: UnsafeRawPointer
    let slots: UnsafePointer<HTTPHeaderTable.Slot>
    public let count: Int

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    public subscript(position: Int) -> HTTPHeaderField {
        precondition(position >= 0 && position < count, "header index out of range")
        let s = slots[position]
        let name = Int(s.nameStart)..<Int(s.nameEnd)
        let value = Int(s.valueStart)..<Int(s.valueEnd)
        return HTTPHeaderField(
            name: HTTPByteView(start: base + name.lowerBound, count: name.count),
            value: HTTPByteView(start: base + value.lowerBound, count: value.count),
            nameRange: name,
            valueRange: value)
    }
}

/// A parsed request head: the request line, the header fields, and the facts the server needs
/// to frame the exchange, all computed once while parsing.
///
/// Borrowed, like `HTTPByteView`: it points into the buffer passed to the `next(_:)` call that
/// returned it (its `base`) and into the parser's header table, so it is valid until that buffer
/// goes away or the parser is called again, whichever comes first. The glue hands it to the
/// application during the read callback; the application copies out what it keeps.
///
/// Ranges are offsets into that same buffer, so the glue can also slice the buffer itself.
///
/// Reading headers:
///
///     if let host = head.value(of: "host") { ... host.equals("example.com") ... }
///     for field in head.headers where field.name.equalsIgnoringCase("accept") { ... }
///     let kept = head.value(of: "user-agent")?.string   // allocates, on request only
public struct HTTPRequestHead {
    // Stored compactly (offsets as Int32, flags in a byte): the head travels by value inside
    // every `.head` event, and at 150 bytes its copies showed up as memmove in profiles.

    /// Start of the buffer passed to `next(_:)`; every range is relative to it.
    public internal(set) var base: UnsafeRawPointer  // set only by `rebased`
    var slots: UnsafePointer<HTTPHeaderTable.Slot>  // set only by `rebased`
    private let contentLengthValue: Int
    private let count: Int32
    private let methodEnd: Int32
    private let targetStart: Int32
    private let targetEnd: Int32
    private let pathStart: Int32
    private let pathEnd: Int32
    private let queryStart: Int32  // -1: no query
    private let headStart: Int32
    private let headEnd: Int32
    private let flags: UInt8
    /// The method; for `.other` read `methodName`.
    public let method: HTTPMethod
    /// HTTP/1.0 or HTTP/1.1 (others are rejected with 505).
    public let version: HTTPVersion

    private static let chunkedFlag: UInt8 = 1
    private static let keepAliveFlag: UInt8 = 2
    private static let continueFlag: UInt8 = 4
    private static let upgradeFlag: UInt8 = 8
    private static let hostFlag: UInt8 = 16

    /// Number of header fields.
    public var headerCount: Int { Int(count) }
    /// The method token.
    public var methodRange: Range<Int> { Int(headStart)..<Int(methodEnd) }
    /// The request target as sent (origin form `/a/b?x=1`, absolute form, authority form, `*`).
    public var targetRange: Range<Int> { Int(targetStart)..<Int(targetEnd) }
    /// The path part of the target, still percent-encoded. Empty for an authority-form target
    /// and for an absolute-form target without a path.
    public var pathRange: Range<Int> { Int(pathStart)..<Int(pathEnd) }
    /// The query after `?`, undecoded, or nil when the target has no `?`.
    public var queryRange: Range<Int>? { queryStart < 0 ? nil : Int(queryStart)..<Int(targetEnd) }
    /// Bytes from the first byte of the request line through the empty line that ends the head.
    public var headRange: Range<Int> { Int(headStart)..<Int(headEnd) }

    /// How the body is delimited.
    public var bodyFraming: HTTPRequestBodyFraming {
        if flags & Self.chunkedFlag != 0 { return .chunked }
        return contentLengthValue > 0 ? .contentLength(contentLengthValue) : .none
    }
    /// Whether the connection may carry another request after this one: HTTP/1.1 unless
    /// `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`. False when an HTTP/1.0
    /// request uses Transfer-Encoding (RFC 9112 6.1: its framing cannot be trusted).
    public var keepAlive: Bool { flags & Self.keepAliveFlag != 0 }
    /// `Expect: 100-continue` on an HTTP/1.1 request (ignored on 1.0, RFC 9110 10.1.1): answer
    /// `100 Continue` before reading the body, or a final status instead.
    public var expectsContinue: Bool { flags & Self.continueFlag != 0 }
    /// HTTP/1.1 with an `upgrade` token in Connection and an Upgrade field. If the glue accepts
    /// the upgrade, the bytes after the `end` event's `consumed` belong to the new protocol and
    /// must not be fed to this parser again.
    public var upgradeRequested: Bool { flags & Self.upgradeFlag != 0 }
    /// Whether a Host field is present (required on HTTP/1.1, so false only on HTTP/1.0).
    public var hasHost: Bool { flags & Self.hostFlag != 0 }

    init(
        base: UnsafeRawPointer, slots: UnsafePointer<HTTPHeaderTable.Slot>, headerCount: Int,
        method: HTTPMethod, version: HTTPVersion, methodRange: Range<Int>, targetRange: Range<Int>,
        pathRange: Range<Int>, queryRange: Range<Int>?, headRange: Range<Int>,
        bodyFraming: HTTPRequestBodyFraming, keepAlive: Bool, expectsContinue: Bool,
        upgradeRequested: Bool, hasHost: Bool
    ) {
        self.base = base
        self.slots = slots
        self.count = Int32(headerCount)
        self.method = method
        self.version = version
        assert(methodRange.lowerBound == headRange.lowerBound)
        self.methodEnd = Int32(methodRange.upperBound)
        self.targetStart = Int32(targetRange.lowerBound)
        self.targetEnd = Int32(targetRange.upperBound)
        self.pathStart = Int32(pathRange.lowerBound)
        self.pathEnd = Int32(pathRange.upperBound)
        assert(queryRange == nil || queryRange!.upperBound == targetRange.upperBound)
        self.queryStart = queryRange.map { Int32($0.lowerBound) } ?? -1
        self.headStart = Int32(headRange.lowerBound)
        self.headEnd = Int32(headRange.upperBound)
        var flags: UInt8 = 0
        switch bodyFraming {
        case .none: contentLengthValue = 0
        case .contentLength(let n): contentLengthValue = n
        case .chunked: contentLengthValue = 0; flags |= Self.chunkedFlag
        }
        if keepAlive { flags |= Self.keepAliveFlag }
        if expectsContinue { flags |= Self.continueFlag }
        if upgradeRequested { flags |= Self.upgradeFlag }
        if hasHost { flags |= Self.hostFlag }
        self.flags = flags
    }

    private func view(_ r: Range<Int>) -> HTTPByteView {
        HTTPByteView(start: base + r.lowerBound, count: r.count)
    }

    /// The method token as sent; useful for `.other`.
    public var methodName: HTTPByteView { view(methodRange) }
    /// The request target as sent.
    public var target: HTTPByteView { view(targetRange) }
    /// The path, still percent-encoded (see `decodedPath`).
    public var path: HTTPByteView { view(pathRange) }
    /// The undecoded query after `?`, or nil (see `queryValue(_:)`).
    public var query: HTTPByteView? { queryRange.map(view) }

    /// The Content-Length, when the body is framed by one (nil for none or chunked).
    public var contentLength: Int? {
        if case .contentLength(let n) = bodyFraming { return n }
        return nil
    }

    /// Whether the body uses chunked transfer coding.
    public var isChunked: Bool { bodyFraming == .chunked }

    /// All header fields, in order.
    public var headers: HTTPHeaderFields {
        HTTPHeaderFields(base: base, slots: slots, count: headerCount)
    }

    /// The value of the first field named `name` (ASCII case-insensitive), or nil. A linear scan
    /// of at most `headerCount` slots comparing lengths first: no allocation, and faster than a
    /// hash for the dozen fields of a real request.
    public func value(of name: String) -> HTTPByteView? {
        withUTF8Bytes(of: name) { wanted in
            for i in 0..<headerCount {
                let s = slots[i]
                let n = Int(s.nameEnd - s.nameStart)
                guard n == wanted.count else { continue }
                let p = base + Int(s.nameStart)
                var same = true
                for j in 0..<n where asciiLower(p.load(fromByteOffset: j, as: UInt8.self)) != asciiLower(wanted[j]) {
                    same = false
                    break
                }
                if same { return view(Int(s.valueStart)..<Int(s.valueEnd)) }
            }
            return nil
        }
    }

    /// Whether a field named `name` is present.
    public func contains(_ name: String) -> Bool { value(of: name) != nil }
}
