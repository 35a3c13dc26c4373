/// Strict RFC 8259 parsing, from bytes in place.
///
/// What is rejected, each with its `JSONError.Kind`:
/// - anything outside the grammar: trailing commas, single quotes, comments, `NaN`,
///   `Infinity`, `+1`, `.5`, `1.`, unquoted keys, a byte-order mark (`unexpectedCharacter`);
/// - leading zeros, `01` and `-00` (`leadingZero`); numbers beyond `Double`'s range,
///   `1e400` (`numberOutOfRange`: Python reads it as infinity, which JSON cannot write back);
/// - raw U+0000...U+001F in strings (`controlCharacterInString`); bad escapes (`invalidEscape`);
/// - `\uD800`...`\uDFFF` escapes that are not a high-low pair (`loneSurrogate`: here we are
///   stricter than Python, whose `json` accepts them and yields a string that cannot be
///   encoded back to UTF-8; a Swift `String` cannot hold one at all, and mapping it to U+FFFD
///   would silently change the peer's data);
/// - ill-formed UTF-8 inside strings (`invalidUTF8`; outside strings any non-ASCII byte is
///   already outside the grammar);
/// - arrays and objects nested deeper than `maxDepth` (`tooDeep`);
/// - anything but whitespace (space, tab, LF, CR) after the value (`trailingData`).
///
/// A duplicated key is accepted, last value wins (see `JSONObject`). Integers that fit Int64
/// are exact; other numbers are the correctly rounded `Double`.
///
/// Cost: the parser reads the caller's buffer where it lies, eight bytes a step inside strings.
/// A string without escapes becomes its `String` with one copy (stored inline, without an
/// allocation, up to 15 bytes: most keys); UTF-8 validation runs only on strings that are not
/// ASCII; a string with escapes is unescaped into one scratch buffer reused for the whole parse.
/// The values of an open array or object wait on a stack shared by the whole parse and move to
/// an array of exact size when it closes: one allocation per container. Numbers are converted
/// from the bytes; only a `Double` with more than 19 significant digits, a mantissa above
/// 2^53 or a power of ten beyond 10^±22 goes through the standard library's text conversion.
///
/// The parser is recursive, one frame per nesting level: about 250 bytes of stack a level
/// (measured: 30,000 levels fit in 8 MB, 40,000 do not; freeing the tree recurses as deeply).
/// The default limit of 128 needs some 32 KB; keep `maxDepth` to a few thousand at most on
/// threads with small stacks.
extension JSONValue {
    /// The nesting limit used when none is given.
    public static let defaultMaxDepth = 128

    /// Parses `bytes`, which must hold exactly one JSON value, with optional whitespace around it.
    ///
    /// Parsing a part of a larger buffer costs nothing extra: pass
    /// `UnsafeRawBufferPointer(rebasing: buffer[start...])`. Error offsets are relative to `bytes`.
    public static func parse(
        _ bytes: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth
    ) throws(JSONError) -> JSONValue {
        guard var parser = JSONParser(bytes, maxDepth: maxDepth) else {
            throw JSONError(.unexpectedEnd, at: 0, expected: "a value")
        }
        let value = try parser.parseValue()
        parser.skipWhitespace()
        guard parser.position == parser.count else {
            throw JSONError(.trailingData, at: parser.position, expected: "the end of the input")
        }
        return value
    }

    /// Parses one JSON value from the start of `bytes` (after optional whitespace) and returns it
    /// with `consumed`, the offset just past its last byte; whatever follows is left to the caller.
    ///
    /// A number at the very end of `bytes` is taken to be complete, so hand over a whole message,
    /// not a read that may stop in the middle of one.
    public static func parsePrefix(
        _ bytes: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth
    ) throws(JSONError) -> (value: JSONValue, consumed: Int) {
        guard var parser = JSONParser(bytes, maxDepth: maxDepth) else {
            throw JSONError(.unexpectedEnd, at: 0, expected: "a value")
        }
        let value = try parser.parseValue()
        return (value, parser.position)
    }

    /// Parses UTF-8 bytes holding exactly one JSON value.
    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(JSONError) -> JSONValue {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(JSONError) in try parse(buffer, maxDepth: maxDepth) }
        }
        return try result.get()
    }

    /// Parses a text holding exactly one JSON value. Offsets in errors count UTF-8 bytes.
    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws(JSONError) -> JSONValue {
        var text = text  // withUTF8 is mutating; the copy is a retain
        let result = text.withUTF8 { buffer in
            Result { () throws(JSONError) in try parse(UnsafeRawBufferPointer(buffer), maxDepth: maxDepth) }
        }
        return try result.get()
    }
}

/// The parser's state for one document: a cursor over the caller's bytes.
///
/// A struct driven through `inout self`, so the cursor stays in registers; recursion happens
/// on the array and object cases only, one level of nesting per call.
struct JSONParser: ~Copyable {
    /// Start of the input; never read at or past `count`.
    private let base: UnsafePointer<UInt8>
    let count: Int
    private let maxDepth: Int
    /// Offset of the next byte to look at.
    private(set) var position = 0
    private var depth = 0
    /// Unescaped bytes of the string being read, when it has escapes. Reused for every string.
    private var scratch = JSONByteWriter(capacity: 64)
    /// Elements of the arrays being read, innermost last, and likewise members of objects.
    /// A container's values gather here and move to an array of the exact size when it closes:
    /// one allocation per container instead of one per doubling of a growing array.
    private var pendingElements = JSONPendingStack<JSONValue>(capacity: 16)
    private var pendingMembers = JSONPendingStack<JSONObject.Member>(capacity: 16)

    /// A parser over `bytes`; nil when there is nothing to parse (an empty buffer may have no
    /// base address, and no value can come from it anyway).
    init?(_ bytes: UnsafeRawBufferPointer, maxDepth: Int) {
        guard let address = bytes.baseAddress, !bytes.isEmpty else { return nil }
        base = address.assumingMemoryBound(to: UInt8.self)
        count = bytes.count
        self.maxDepth = maxDepth
    }

    // MARK: Errors

    private func unexpected(at offset: Int, expected: String) -> JSONError {
        offset < count
            ? JSONError(.unexpectedCharacter, at: offset, expected: expected)
            : JSONError(.unexpectedEnd, at: count, expected: expected)
    }

    // MARK: Structure

    @inline(__always)
    mutating func skipWhitespace() {
        while position < count {
            switch base[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    /// Reads one value, skipping whitespace before it (not after it).
    mutating func parseValue() throws(JSONError) -> JSONValue {
        skipWhitespace()
        guard position < count else { throw JSONError(.unexpectedEnd, at: count, expected: "a value") }
        switch base[position] {
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "{"):
            return try parseObject()
        case UInt8(ascii: "["):
            return try parseArray()
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try parseNumber()
        default:
            throw JSONError(.unexpectedCharacter, at: position, expected: "a value")
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONError) {
        let bytes = literal.utf8Start
        for k in 0..<literal.utf8CodeUnitCount {
            guard position + k < count, base[position + k] == bytes[k] else {
                throw unexpected(at: position + k, expected: "'\(literal)'")
            }
        }
        position += literal.utf8CodeUnitCount
    }

    /// Enters an array or object at `position`; the nesting limit is checked here.
    private mutating func enterContainer() throws(JSONError) {
        depth += 1
        guard depth <= maxDepth else {
            throw JSONError(.tooDeep, at: position, expected: "at most \(maxDepth) levels of nesting")
        }
        position += 1
    }

    private mutating func parseArray() throws(JSONError) -> JSONValue {
        try enterContainer()
        skipWhitespace()
        if position < count, base[position] == UInt8(ascii: "]") {
            position += 1
            depth -= 1
            return .array([])
        }
        let first = pendingElements.count
        while true {
            // After a comma, parseValue rejects `]`: that is the trailing-comma rule.
            let element = try parseValue()
            pendingElements.push(element)
            skipWhitespace()
            guard position < count else { throw JSONError(.unexpectedEnd, at: count, expected: "',' or ']'") }
            switch base[position] {
            case UInt8(ascii: ","):
                position += 1
            case UInt8(ascii: "]"):
                position += 1
                depth -= 1
                return .array(pendingElements.popArray(from: first))
            default:
                throw JSONError(.unexpectedCharacter, at: position, expected: "',' or ']'")
            }
        }
    }

    private mutating func parseObject() throws(JSONError) -> JSONValue {
        try enterContainer()
        skipWhitespace()
        if position < count, base[position] == UInt8(ascii: "}") {
            position += 1
            depth -= 1
            return .object(JSONObject())
        }
        let first = pendingMembers.count
        while true {
            skipWhitespace()
            guard position < count, base[position] == UInt8(ascii: "\"") else {
                throw unexpected(at: position, expected: "a string key")
            }
            let key = try parseString()
            skipWhitespace()
            guard position < count, base[position] == UInt8(ascii: ":") else {
                throw unexpected(at: position, expected: "':'")
            }
            position += 1
            let value = try parseValue()
            pendingMembers.push(JSONObject.Member(key: key, value: value))
            skipWhitespace()
            guard position < count else { throw JSONError(.unexpectedEnd, at: count, expected: "',' or '}'") }
            switch base[position] {
            case UInt8(ascii: ","):
                position += 1
            case UInt8(ascii: "}"):
                position += 1
                depth -= 1
                return .object(JSONObject(parsedMembers: pendingMembers.popArray(from: first)))
            default:
                throw JSONError(.unexpectedCharacter, at: position, expected: "',' or '}'")
            }
        }
    }

    // MARK: Strings

    /// Reads a string whose opening quote is at `position`.
    private mutating func parseString() throws(JSONError) -> String {
        let start = position + 1
        // The OR of every byte scanned: its top bit says whether UTF-8 validation is needed.
        var seen: UInt64 = 0
        // Fast path: without a backslash before the closing quote, the string is the input
        // bytes themselves: one copy into the String.
        var i = scanStringRun(from: start, seen: &seen)
        guard i < count else {
            throw JSONError(.unexpectedEnd, at: count, expected: "'\"' to close the string")
        }
        if base[i] == UInt8(ascii: "\"") {
            position = i + 1
            try validateUTF8(from: start, to: i, seen: seen)
            return makeString(from: start, to: i)
        }

        // Slow path: unescape into `scratch`, copying the runs between escapes in bulk.
        scratch.removeAll()
        var runStart = start
        while true {
            guard i < count else {
                throw JSONError(.unexpectedEnd, at: count, expected: "'\"' to close the string")
            }
            let byte = base[i]
            scratch.append(base + runStart, count: i - runStart)
            if byte == UInt8(ascii: "\"") {
                position = i + 1
                // Escapes decode to ASCII or to whole, valid sequences, so the result is valid
                // UTF-8 exactly when the raw bytes between the quotes are: validate those, and
                // an error can point at the bad byte in the input.
                try validateUTF8(from: start, to: i, seen: seen)
                return scratch.makeString()
            }
            if byte < 0x20 {
                throw JSONError(.controlCharacterInString, at: i, expected: "an escaped control character")
            }
            i = try unescape(at: i)
            runStart = i
            i = scanStringRun(from: i, seen: &seen)
        }
    }

    /// The input bytes [start, end) as a String (already checked to be valid UTF-8).
    @inline(__always)
    private func makeString(from start: Int, to end: Int) -> String {
        let length = end - start
        guard length > 0 else { return "" }
        let source = base + start
        // Measured a little cheaper than String(decoding:) for the short keys that dominate.
        return String(unsafeUninitializedCapacity: length) { buffer in
            buffer.baseAddress!.update(from: source, count: length)
            return length
        }
    }

    /// The offset of the next `"`, `\\` or control character at or after `start` (`count` if
    /// none), OR-ing the bytes passed over into `seen`. Eight bytes a step while the buffer
    /// has eight left, which in a document is nearly always.
    @inline(__always)
    private func scanStringRun(from start: Int, seen: inout UInt64) -> Int {
        var i = start
        while count - i >= 8 {
            let word = JSONValue.loadWord(base + i)
            let k = JSONValue.firstSpecialByte(word)
            if k < 8 {
                // Only the k bytes before the special one belong to the string.
                seen |= word & ((1 &<< UInt64(k &* 8)) &- 1)
                return i + k
            }
            seen |= word
            i += 8
        }
        while i < count {
            let byte = base[i]
            if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return i }
            seen |= UInt64(byte)
            i += 1
        }
        return count
    }

    /// Decodes the escape whose backslash is at `i` into `scratch`; returns the offset after it.
    private mutating func unescape(at i: Int) throws(JSONError) -> Int {
        guard i + 1 < count else {
            throw JSONError(.unexpectedEnd, at: count, expected: "an escape character")
        }
        let decoded: UInt8
        switch base[i + 1] {
        case UInt8(ascii: "\""): decoded = 0x22
        case UInt8(ascii: "\\"): decoded = 0x5C
        case UInt8(ascii: "/"): decoded = 0x2F
        case UInt8(ascii: "b"): decoded = 0x08
        case UInt8(ascii: "f"): decoded = 0x0C
        case UInt8(ascii: "n"): decoded = 0x0A
        case UInt8(ascii: "r"): decoded = 0x0D
        case UInt8(ascii: "t"): decoded = 0x09
        case UInt8(ascii: "u"):
            var scalar = try hex4(at: i + 2)
            var end = i + 6
            switch scalar {
            case 0xD800...0xDBFF:
                // A high surrogate must be followed at once by an escaped low one.
                guard end + 1 < count, base[end] == UInt8(ascii: "\\"), base[end + 1] == UInt8(ascii: "u") else {
                    throw JSONError(.loneSurrogate, at: i, expected: "a \\uDC00-\\uDFFF escape after a high surrogate")
                }
                let low = try hex4(at: end + 2)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw JSONError(.loneSurrogate, at: i, expected: "a \\uDC00-\\uDFFF escape after a high surrogate")
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                end += 6
            case 0xDC00...0xDFFF:
                throw JSONError(.loneSurrogate, at: i, expected: "a high surrogate before a low one")
            default:
                break
            }
            appendUTF8(scalar)
            return end
        default:
            throw JSONError(.invalidEscape, at: i + 1, expected: "one of \" \\ / b f n r t u after '\\'")
        }
        scratch.append(decoded)
        return i + 2
    }

    /// The value of four hex digits at `i`.
    private func hex4(at i: Int) throws(JSONError) -> UInt32 {
        var value: UInt32 = 0
        for k in i..<(i + 4) {
            guard k < count else { throw JSONError(.unexpectedEnd, at: count, expected: "a hex digit") }
            let byte = base[k]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte &- UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte &- UInt8(ascii: "a") &+ 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte &- UInt8(ascii: "A") &+ 10
            default: throw JSONError(.invalidEscape, at: k, expected: "a hex digit")
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    private mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case 0..<0x80:
            scratch.append(UInt8(scalar))
        case 0x80..<0x800:
            scratch.append(0xC0 | UInt8(scalar >> 6))
            scratch.append(0x80 | UInt8(scalar & 0x3F))
        case 0x800..<0x10000:
            scratch.append(0xE0 | UInt8(scalar >> 12))
            scratch.append(0x80 | UInt8(scalar >> 6 & 0x3F))
            scratch.append(0x80 | UInt8(scalar & 0x3F))
        default:
            scratch.append(0xF0 | UInt8(scalar >> 18))
            scratch.append(0x80 | UInt8(scalar >> 12 & 0x3F))
            scratch.append(0x80 | UInt8(scalar >> 6 & 0x3F))
            scratch.append(0x80 | UInt8(scalar & 0x3F))
        }
    }

    /// Checks that the raw string bytes in [start, end) are well-formed UTF-8, unless `seen`
    /// (the OR of them all) shows they are ASCII. The error names the first byte that cannot
    /// continue valid text (the closing quote, if the text stops inside a character).
    ///
    /// Validating here, rather than with `String(validating:)`, keeps to code the compiler
    /// specializes: the generic standard-library entry point cost more than the parse itself.
    @inline(__always)
    private func validateUTF8(from start: Int, to end: Int, seen: UInt64) throws(JSONError) {
        guard seen & 0x8080_8080_8080_8080 != 0 else { return }
        try validateNonASCII(from: start, to: end)
    }

    private func validateNonASCII(from start: Int, to end: Int) throws(JSONError) {
        if UTF8Validator.isValid(UnsafeRawBufferPointer(start: base + start, count: end - start)) { return }
        var validator = UTF8Validator()
        var offset = start
        while offset < end, validator.validate(UnsafeRawBufferPointer(start: base + offset, count: 1)) {
            offset += 1
        }
        throw JSONError(.invalidUTF8, at: offset, expected: "well-formed UTF-8")
    }

    // MARK: Numbers

    /// Exact powers of ten for the fast path (10^22 is the largest a Double holds exactly).
    private static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// Reads a number starting at `position` (a `-` or a digit).
    private mutating func parseNumber() throws(JSONError) -> JSONValue {
        let start = position
        var i = start
        let negative = base[i] == UInt8(ascii: "-")
        if negative { i += 1 }

        // Significant digits, integer and fraction (leading zeros skipped), accumulate in
        // `mantissa`; up to 19 always fit in 64 bits, so no overflow checks are needed. Beyond
        // 19, `significant` keeps counting and the value is taken from the text instead.
        // `exponent` is the power of ten that scales `mantissa` to the value.
        var mantissa: UInt64 = 0
        var significant = 0
        var exponent = 0

        guard i < count, base[i] &- UInt8(ascii: "0") < 10 else { throw unexpected(at: i, expected: "a digit") }
        if base[i] == UInt8(ascii: "0") {
            i += 1
            if i < count, base[i] &- UInt8(ascii: "0") < 10 {
                throw JSONError(.leadingZero, at: i, expected: "'.', 'e' or the end of the number after a leading 0")
            }
        } else {
            while i < count {
                let digit = base[i] &- UInt8(ascii: "0")
                guard digit < 10 else { break }
                if significant < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(digit)
                } else {
                    exponent += 1  // a dropped integer digit still scales the value
                }
                significant += 1
                i += 1
            }
        }

        var isInteger = true
        if i < count, base[i] == UInt8(ascii: ".") {
            isInteger = false
            i += 1
            let fractionStart = i
            while i < count {
                let digit = base[i] &- UInt8(ascii: "0")
                guard digit < 10 else { break }
                if significant < 19 {
                    if mantissa != 0 || digit != 0 { significant += 1 }
                    mantissa = mantissa &* 10 &+ UInt64(digit)
                    exponent -= 1
                } else {
                    significant += 1
                }
                i += 1
            }
            guard i > fractionStart else { throw unexpected(at: i, expected: "a digit after '.'") }
        }

        if i < count, base[i] | 0x20 == UInt8(ascii: "e") {
            isInteger = false
            i += 1
            var exponentNegative = false
            if i < count, base[i] == UInt8(ascii: "+") || base[i] == UInt8(ascii: "-") {
                exponentNegative = base[i] == UInt8(ascii: "-")
                i += 1
            }
            let digitsStart = i
            var written = 0
            while i < count {
                let digit = base[i] &- UInt8(ascii: "0")
                guard digit < 10 else { break }
                if written < 100_000 { written = written &* 10 &+ Int(digit) }  // beyond this, only the slow path runs
                i += 1
            }
            guard i > digitsStart else { throw unexpected(at: i, expected: "a digit in the exponent") }
            exponent += exponentNegative ? -written : written
        }
        position = i

        let exact = significant <= 19
        if isInteger && exact {
            if !negative, mantissa <= UInt64(Int64.max) { return .int(Int64(mantissa)) }
            if negative, mantissa <= Int64.min.magnitude { return .int(Int64(bitPattern: 0 &- mantissa)) }
        }
        // Clinger's fast path: a mantissa and a power of ten both exact in a Double give a
        // correctly rounded product or quotient.
        if exact {
            if mantissa == 0 { return .double(negative ? -0.0 : 0.0) }
            if mantissa <= 1 << 53, exponent >= -22, exponent <= 22 {
                var value = Double(mantissa)
                value = exponent < 0 ? value / Self.powersOfTen[-exponent] : value * Self.powersOfTen[exponent]
                return .double(negative ? -value : value)
            }
        }
        // Everything else: the standard library's correctly rounded conversion of the text.
        let text = String(decoding: UnsafeBufferPointer(start: base + start, count: i - start), as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            throw JSONError(.numberOutOfRange, at: start, expected: "a number within Double's range")
        }
        return .double(value)
    }
}
