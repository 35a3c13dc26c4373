/// A route pattern such as `/users/:id/posts/:post` or `/files/*`, parsed once at registration
/// and matched against request paths without allocating.
///
/// Syntax, segment by segment (a segment is what lies between two `/`):
/// - `:name` matches one non-empty segment and captures it under `name`;
/// - `*`, as the last segment only, matches the rest of the path (possibly empty, slashes
///   included) and captures it under `*`;
/// - anything else is a literal, compared byte for byte.
///
/// Matching happens on the path as sent, before percent-decoding: `%2F` inside a segment stays in
/// that segment (`/files/a%2Fb` matches `/files/:name` with `name` = `a%2Fb`, decoded `a/b`), and
/// a literal matches only its own spelling. A parameter is a whole segment (`user-:id` is a
/// literal). Trailing slashes count: `/users/5/` does not match `/users/:id`.
///
/// A final class so a matched request can name its pattern (for the parameter names) by one
/// reference, without copying the names.
public final class HTTPRoutePattern: Sendable, CustomStringConvertible {
    /// One segment of a pattern.
    public enum Segment: Hashable, Sendable {
        case literal([UInt8])
        case parameter
        case wildcard
    }

    /// The most parameters (the wildcard included) one pattern may name: captures are kept in a
    /// fixed array, so a match allocates nothing.
    public static let maxParameters = HTTPRouteCaptures.capacity

    /// The pattern as registered.
    public let text: String
    /// The segments after the leading `/`.
    public let segments: [Segment]
    /// The parameter names in order; the wildcard's is `*`.
    public let parameterNames: [String]

    /// The segments as the matcher reads them: plain values (kind and a range of `literalBytes`),
    /// so a match walks two contiguous buffers and counts no reference per segment.
    private struct Step {
        static let literal: UInt8 = 0, parameter: UInt8 = 1, wildcard: UInt8 = 2
        let kind: UInt8
        let start: Int32
        let end: Int32
    }
    private let steps: [Step]
    private let literalBytes: [UInt8]

    public var description: String { text }

    /// Whether the pattern has neither parameter nor wildcard: such a route is an exact lookup.
    public var isStatic: Bool { parameterNames.isEmpty }

    /// Parses `text`, or throws what is wrong with it.
    public init(_ text: String) throws(HTTPRoutePatternError) {
        let bytes = Array(text.utf8)
        guard bytes.first == UInt8(ascii: "/") else { throw .notAbsolute(pattern: text) }
        for b in bytes where b == UInt8(ascii: "?") || b == UInt8(ascii: "#") || b <= 0x20 || b == 0x7F {
            throw .invalidCharacter(pattern: text)
        }
        var segments: [Segment] = []
        var names: [String] = []
        // Split after the leading "/"; "/" alone is one empty literal segment.
        for piece in bytes.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            if segments.last == .wildcard { throw .wildcardNotLast(pattern: text) }
            if piece.first == UInt8(ascii: ":") {
                let name = String(decoding: piece.dropFirst(), as: UTF8.self)
                guard !name.isEmpty else { throw .emptyParameterName(pattern: text) }
                guard !names.contains(name) else { throw .duplicateParameter(name: name, pattern: text) }
                names.append(name)
                segments.append(.parameter)
            } else if piece.count == 1 && piece.first == UInt8(ascii: "*") {
                // The wildcard's name is "*": a parameter spelled `:*` would shadow it.
                guard !names.contains("*") else { throw .duplicateParameter(name: "*", pattern: text) }
                names.append("*")
                segments.append(.wildcard)
            } else {
                segments.append(.literal(Array(piece)))
            }
        }
        guard names.count <= Self.maxParameters else { throw .tooManyParameters(pattern: text, limit: Self.maxParameters) }
        self.text = text
        self.segments = segments
        self.parameterNames = names
        var steps: [Step] = []
        var literalBytes: [UInt8] = []
        for segment in segments {
            switch segment {
            case .literal(let bytes):
                steps.append(Step(kind: Step.literal, start: Int32(literalBytes.count), end: Int32(literalBytes.count + bytes.count)))
                literalBytes += bytes
            case .parameter: steps.append(Step(kind: Step.parameter, start: 0, end: 0))
            case .wildcard: steps.append(Step(kind: Step.wildcard, start: 0, end: 0))
            }
        }
        self.steps = steps
        self.literalBytes = literalBytes
    }

    /// Whether two patterns match exactly the same paths (same literals, parameters and wildcard
    /// in the same places), whatever their parameters are called: two such routes conflict
    /// unless they are one route.
    public func hasSameShape(as other: HTTPRoutePattern) -> Bool { segments == other.segments }

    /// Orders patterns from the most specific: at the first segment where they differ, a literal
    /// before a parameter before a wildcard, then a longer pattern before a shorter. The router
    /// tries patterns in this order, so `/users/me/:tab` wins over `/users/:id/:tab`.
    public func isMoreSpecific(than other: HTTPRoutePattern) -> Bool {
        func rank(_ s: Segment) -> Int {
            switch s {
            case .literal: 0
            case .parameter: 1
            case .wildcard: 2
            }
        }
        for (a, b) in zip(segments, other.segments) where rank(a) != rank(b) { return rank(a) < rank(b) }
        return segments.count > other.segments.count
    }

    /// Matches `path` (as sent: percent-encoded, without the query). On a match, `captures` holds
    /// each parameter's range in `path`, in the order of `parameterNames`. No allocation.
    public func match(_ path: UnsafeRawBufferPointer, captures: inout HTTPRouteCaptures) -> Bool {
        let n = path.count
        guard n > 0, path[0] == UInt8(ascii: "/") else { return false }
        return steps.withUnsafeBufferPointer { steps in
            literalBytes.withUnsafeBufferPointer { literals in
                var i = 1  // start of the current segment: just after a "/"
                var captured = 0
                for k in 0..<steps.count {
                    let step = steps[k]
                    if step.kind == Step.wildcard {
                        captures.set(captured, i..<n)
                        captures.count = captured + 1
                        return true
                    }
                    var e = i
                    while e < n && path[e] != UInt8(ascii: "/") { e += 1 }
                    if step.kind == Step.literal {
                        let start = Int(step.start)
                        let length = Int(step.end) - start
                        guard length == e - i else { return false }
                        for j in 0..<length where literals[start + j] != path[i + j] { return false }
                    } else {
                        guard e > i else { return false }
                        captures.set(captured, i..<e)
                        captured += 1
                    }
                    if e == n {
                        // The path ends here: it matches only if this was the last segment.
                        guard k == steps.count - 1 else { return false }
                        captures.count = captured
                        return true
                    }
                    i = e + 1
                }
                return false  // the path has more segments than the pattern
            }
        }
    }
}

/// What makes a route pattern unusable: the router refuses it at registration.
public enum HTTPRoutePatternError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The pattern does not start with `/`.
    case notAbsolute(pattern: String)
    /// A `?`, `#`, space or control byte: a path never holds one unencoded.
    case invalidCharacter(pattern: String)
    /// A `:` with no name after it.
    case emptyParameterName(pattern: String)
    /// A `*` segment followed by another segment.
    case wildcardNotLast(pattern: String)
    /// Two parameters with one name.
    case duplicateParameter(name: String, pattern: String)
    /// More parameters than `HTTPRoutePattern.maxParameters`.
    case tooManyParameters(pattern: String, limit: Int)
    /// The method is already routed on this pattern, or on one of the same shape.
    case duplicateRoute(method: String, pattern: String)
    /// A pattern of the same shape is registered with other parameter names.
    case conflictingNames(pattern: String, existing: String)

    public var description: String {
        switch self {
        case .notAbsolute(let p): "route pattern \"\(p)\" must start with /"
        case .invalidCharacter(let p): "route pattern \"\(p)\" holds ?, #, a space or a control byte"
        case .emptyParameterName(let p): "route pattern \"\(p)\" has a parameter without a name (a lone :)"
        case .wildcardNotLast(let p): "route pattern \"\(p)\" has * before its last segment"
        case .duplicateParameter(let name, let p): "route pattern \"\(p)\" names the parameter :\(name) twice"
        case .tooManyParameters(let p, let limit): "route pattern \"\(p)\" has more than \(limit) parameters"
        case .duplicateRoute(let m, let p): "\(m) \(p) is already routed"
        case .conflictingNames(let p, let existing): "route pattern \"\(p)\" matches the same paths as \"\(existing)\" with other parameter names"
        }
    }
}

/// The ranges a pattern match captured, in a fixed inline array: a match allocates nothing.
/// Offsets are relative to the start of the path matched.
public struct HTTPRouteCaptures: Sendable {
    /// How many ranges fit.
    public static let capacity = 8

    // start << 32 | end, per capture. Paths are shorter than the parser's request line limit,
    // which fits in 32 bits.
    private var packed: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    /// How many ranges the last match captured.
    public var count = 0

    public init() {}

    mutating func set(_ index: Int, _ range: Range<Int>) {
        let value = UInt64(truncatingIfNeeded: range.lowerBound) << 32 | UInt64(truncatingIfNeeded: range.upperBound) & 0xFFFF_FFFF
        withUnsafeMutableBytes(of: &packed) { $0.storeBytes(of: value, toByteOffset: index * 8, as: UInt64.self) }
    }

    /// The `index`th captured range.
    public subscript(index: Int) -> Range<Int> {
        precondition(index >= 0 && index < count, "capture index out of range")
        let value = withUnsafeBytes(of: packed) { $0.load(fromByteOffset: index * 8, as: UInt64.self) }
        return Int(value >> 32)..<Int(value & 0xFFFF_FFFF)
    }
}

/// A matched route's parameters, by name, as borrowed views of the request path: the values
/// are as sent (percent-encoded); `decoded(_:)` allocates the decoded String on request.
///
/// Borrowed like the path it points into (see `HTTPByteView`): valid as long as the request's
/// head is. Empty, and free, for a route without parameters.
public struct HTTPRouteParameters {
    let pattern: HTTPRoutePattern?
    let captures: HTTPRouteCaptures
    let path: HTTPByteView?

    /// No parameters.
    public init() {
        pattern = nil
        captures = HTTPRouteCaptures()
        path = nil
    }

    /// The parameters `pattern` captured from `path`.
    public init(pattern: HTTPRoutePattern, captures: HTTPRouteCaptures, path: HTTPByteView) {
        self.pattern = pattern
        self.captures = captures
        self.path = path
    }

    /// The names in pattern order (`*` for the wildcard).
    public var names: [String] { pattern?.parameterNames ?? [] }

    /// Whether the route had no parameters.
    public var isEmpty: Bool { pattern == nil || captures.count == 0 }

    /// The value of parameter `name` as sent (still percent-encoded), or nil when the route has none.
    public subscript(name: String) -> HTTPByteView? {
        guard let pattern, let path else { return nil }
        for (i, n) in pattern.parameterNames.enumerated() where i < captures.count && n == name {
            let r = captures[i]
            return HTTPByteView(start: path.start + r.lowerBound, count: r.count)
        }
        return nil
    }

    /// The value of parameter `name` percent-decoded into a new String (`+` stays `+`).
    public func decoded(_ name: String) -> String? { self[name]?.percentDecoded(plusAsSpace: false) }

    /// What a trailing `*` matched (possibly empty), or nil when the route has no wildcard.
    public var rest: HTTPByteView? { self["*"] }
}
