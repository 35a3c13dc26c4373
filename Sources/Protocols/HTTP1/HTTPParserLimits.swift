/// The bounds an `HTTPRequestParser` enforces, and the one leniency it can be told to drop.
///
/// Every limit is checked while bytes arrive, not after: a peer that streams an endless request
/// line is answered 414 as soon as it crosses the bound, never after buffering it. The defaults
/// suit a public-facing server; raise them per listener when a route needs more.
public struct HTTPParserLimits: Sendable, Equatable {
    /// Longest request line (method, target and version, without the CRLF). Beyond: 414.
    public var maxRequestLineLength: Int
    /// Longest request head: request line, header fields and every line ending, up to and
    /// including the empty line. Beyond: 431. Also bounds the trailer section of a chunked body.
    public var maxHeadLength: Int
    /// Most header fields in one head (and most trailer fields). Beyond: 431. The parser's
    /// header table is allocated with exactly this many slots.
    public var maxHeaderCount: Int
    /// Largest request body, whether announced by Content-Length (rejected up front) or summed
    /// over chunks (rejected when the sum crosses it). Beyond: 413.
    public var maxBodyLength: Int
    /// Longest chunk-size line, extensions included (we ignore extensions, but must not let a
    /// peer stream one forever). Beyond: 400.
    public var maxChunkLineLength: Int
    /// Whether a bare LF ends a line. RFC 9112 section 2.2 allows a recipient to accept it, and
    /// hand-typed requests (`printf 'GET / HTTP/1.1\nHost: x\n\n' | nc`) rely on it. Set it to
    /// false behind a proxy that does not, so the two never disagree about where a head ends.
    /// A bare CR is rejected either way.
    public var allowsBareLineFeed: Bool

    /// Creates limits; every parameter has the safe default named in the design.
    public init(
        maxRequestLineLength: Int = 8 * 1024,
        maxHeadLength: Int = 16 * 1024,
        maxHeaderCount: Int = 100,
        maxBodyLength: Int = 1024 * 1024,
        maxChunkLineLength: Int = 4 * 1024,
        allowsBareLineFeed: Bool = true
    ) {
        precondition(maxRequestLineLength > 0 && maxHeadLength > 0 && maxHeaderCount > 0)
        precondition(maxBodyLength >= 0 && maxChunkLineLength > 0)
        // Head offsets are stored as Int32 in the header table to keep a slot at 16 bytes.
        precondition(maxHeadLength < Int(Int32.max) / 2, "maxHeadLength must fit the Int32 offsets")
        self.maxRequestLineLength = maxRequestLineLength
        self.maxHeadLength = maxHeadLength
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyLength = maxBodyLength
        self.maxChunkLineLength = maxChunkLineLength
        self.allowsBareLineFeed = allowsBareLineFeed
    }

    /// The defaults: request line 8 KiB, head 16 KiB, 100 fields, body 1 MiB, chunk line 4 KiB,
    /// bare LF accepted.
    public static let `default` = HTTPParserLimits()
}
