/// Why a JSON text was rejected, and where.
///
/// `offset` is the byte offset, from the start of the buffer handed to the parser, of the
/// first byte that could not be accepted (for `.unexpectedEnd`, the length of the buffer).
/// `expected` says in words what the grammar allowed there, for logs and protocol errors:
/// `"',' or ']'"`, `"a digit"`, `"a value"`. The text is meant for people; match on `kind`.
public struct JSONError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The rule that was broken.
    public enum Kind: Hashable, Sendable {
        /// The input ended inside a value (or before any value).
        case unexpectedEnd
        /// A byte the grammar does not allow at this point: a trailing comma, a missing colon,
        /// `NaN`, `'single quotes'`, a byte-order mark, a misspelt `true`.
        case unexpectedCharacter
        /// A number with a leading zero (`01`, `-00`), which RFC 8259 forbids.
        case leadingZero
        /// A number whose magnitude does not fit a finite `Double` (`1e400`). Rejected rather
        /// than read as infinity, which JSON cannot write back.
        case numberOutOfRange
        /// A raw control character (U+0000...U+001F) inside a string; it must be escaped.
        case controlCharacterInString
        /// A backslash followed by something other than `" \ / b f n r t u`, or `\u` followed
        /// by fewer than four hex digits.
        case invalidEscape
        /// A `\uD800`...`\uDFFF` escape that is not half of a high-low surrogate pair. Python's
        /// `json` accepts these (and produces a string no UTF-8 encoder will write); we reject
        /// them, because a Swift `String` cannot hold one and replacing it would change data.
        case loneSurrogate
        /// Bytes inside a string that are not well-formed UTF-8.
        case invalidUTF8
        /// Arrays and objects nested deeper than the parser's `maxDepth`.
        case tooDeep
        /// A complete value followed by something other than whitespace.
        case trailingData
    }

    /// The rule that was broken.
    public let kind: Kind
    /// Byte offset of the offending byte within the parsed buffer.
    public let offset: Int
    /// What the grammar allowed at `offset`, in words.
    public let expected: String

    public init(_ kind: Kind, at offset: Int, expected: String) {
        self.kind = kind
        self.offset = offset
        self.expected = expected
    }

    public var description: String {
        "JSON error at byte \(offset): \(kind), expected \(expected)"
    }
}
