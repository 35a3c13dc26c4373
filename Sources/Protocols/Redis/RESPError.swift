/// Why a byte stream is not RESP. Any of these ends the connection: after a framing error there is
/// no way to find where the next reply starts.
public struct RESPError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// A type byte that is not one of RESP2's or RESP3's.
        case unknownType(UInt8)
        /// A length or integer that is not a decimal number in range.
        case badNumber
        /// A line ended by something other than CRLF, or a CR or LF inside a line.
        case badLineEnding
        /// A bulk payload not followed by CRLF.
        case badBulkTerminator
        /// A value RESP3 allows only in one form (`#t`/`#f`, a verbatim `fmt:` prefix, a double).
        case badValue
        /// A bulk string longer than `RESPLimits.maxBulkLength`.
        case bulkTooLong
        /// An aggregate with more elements than `RESPLimits.maxAggregateCount`.
        case aggregateTooLarge
        /// Aggregates nested deeper than `RESPLimits.maxDepth`.
        case nestedTooDeep
        /// A line (simple string, error, number) longer than `RESPLimits.maxLineLength`.
        case lineTooLong
        /// RESP3 streamed strings and aggregates (`$?`, `*?`): Redis never sends them.
        case unsupportedStreaming
    }

    public let kind: Kind
    /// Offset of the offending byte from the start of the reply.
    public let offset: Int

    public init(_ kind: Kind, at offset: Int) {
        self.kind = kind
        self.offset = offset
    }

    public var description: String {
        let what: String
        switch kind {
        case .unknownType(let b): what = "unknown RESP type byte 0x\(String(b, radix: 16))"
        case .badNumber: what = "malformed or out-of-range number"
        case .badLineEnding: what = "line not ended by CRLF"
        case .badBulkTerminator: what = "bulk payload not followed by CRLF"
        case .badValue: what = "malformed RESP3 value"
        case .bulkTooLong: what = "bulk string longer than the limit"
        case .aggregateTooLarge: what = "aggregate with more elements than the limit"
        case .nestedTooDeep: what = "aggregates nested deeper than the limit"
        case .lineTooLong: what = "line longer than the limit"
        case .unsupportedStreaming: what = "streamed RESP3 value (not supported)"
        }
        return "\(what) at byte \(offset) of the reply"
    }
}

/// The bounds a `RESPDecoder` enforces on what a server may send. A client trusts its server more
/// than a server trusts its clients, but a bug or a wrong port (an HTTP server answering) must end
/// in an error, never in a huge allocation or a stack overflow.
public struct RESPLimits: Hashable, Sendable {
    /// Largest bulk string, verbatim string or blob error payload (Redis's own default for
    /// `proto-max-bulk-len` is 512 MiB; a pub/sub relay needs far less).
    public var maxBulkLength: Int
    /// Most elements in one array, set or push (a map counts its pairs).
    public var maxAggregateCount: Int
    /// Deepest nesting of aggregates (a reply at top level has depth 1).
    public var maxDepth: Int
    /// Longest line: simple strings, errors, numbers and length headers.
    public var maxLineLength: Int

    public init(maxBulkLength: Int = 64 * 1024 * 1024, maxAggregateCount: Int = 1 << 20,
                maxDepth: Int = 32, maxLineLength: Int = 64 * 1024) {
        precondition(maxBulkLength >= 0 && maxAggregateCount >= 0 && maxDepth >= 1 && maxLineLength >= 1)
        self.maxBulkLength = maxBulkLength
        self.maxAggregateCount = maxAggregateCount
        self.maxDepth = maxDepth
        self.maxLineLength = maxLineLength
    }

    /// Bulk 64 MiB, 1,048,576 elements per aggregate, depth 32, lines 64 KiB.
    public static let `default` = RESPLimits()
}
