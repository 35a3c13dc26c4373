/// A borrowed run of bytes inside the buffer the parser was handed: a method, a target, a header
/// name or value. It holds a pointer, not a copy.
///
/// Lifetime: valid only while the buffer passed to `HTTPRequestParser.next(_:)` is, which for the
/// reactor means during the read callback. Copy out (`String(view)` or `[UInt8](view)`, the
/// convention for every borrowed view: see OwnedCopies.swift) whatever must outlive it. This is
/// the price of parsing in place with zero allocations per request. Swift 6.3 cannot check it at
/// compile time: a `~Escapable` view returned from a property or an initializer needs
/// `@_lifetime`, which 6.3.1 accepts only with the experimental `Lifetimes` feature (checked:
/// "an initializer cannot return a ~Escapable result"), so it is a documented contract, like the
/// borrowed `UnsafeRawBufferPointer` the reactor hands us. The glue's `HTTPRequest` adds what it
/// can at run time: it refuses to hand out views once its response is complete.
public struct HTTPByteView: RandomAccessCollection, CustomStringConvertible, CustomDebugStringConvertible {
    /// First byte of the run.
    public let start: UnsafeRawPointer
    /// Number of bytes in the run.
    public let count: Int

    /// Creates a view of `count` bytes at `start`.
    public init(start: UnsafeRawPointer, count: Int) {
        precondition(count >= 0)
        self.start = start
        self.count = count
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    public subscript(position: Int) -> UInt8 {
        precondition(position >= 0 && position < count, "HTTPByteView index out of range")
        return start.load(fromByteOffset: position, as: UInt8.self)
    }

    /// The bytes as a raw buffer, for copying into an outbound buffer or a hash.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: start, count: count) }

    /// A new String with these bytes decoded as UTF-8 (invalid sequences become U+FFFD): the same
    /// as `String(view)`. Allocates when longer than 15 bytes: call it only for values the
    /// application keeps.
    public var string: String { String(decoding: bytes, as: UTF8.self) }

    public var description: String { string }
    public var debugDescription: String { "HTTPByteView(\(string.debugDescription))" }

    /// Byte-for-byte equality with `other`'s UTF-8, without allocating.
    public func equals(_ other: String) -> Bool {
        withUTF8Bytes(of: other) { o in
            guard o.count == count else { return false }
            return count == 0 || memcmpEqual(start, o.baseAddress!, count)
        }
    }

    /// ASCII case-insensitive equality with `other`, without allocating: how header names and
    /// tokens such as `close` or `chunked` compare (RFC 9110 5.1, 7.8).
    public func equalsIgnoringCase(_ other: String) -> Bool {
        withUTF8Bytes(of: other) { o in
            guard o.count == count else { return false }
            for i in 0..<count where asciiLower(start.load(fromByteOffset: i, as: UInt8.self)) != asciiLower(o[i]) {
                return false
            }
            return true
        }
    }

    /// Case-insensitive equality with a lowercase ASCII literal: the parser's own comparisons
    /// (`content-length`, `chunked`), cheaper than the String form since only one side is folded.
    /// Eight bytes at a time, then four, then one (the names it compares are 4 to 17 bytes).
    func equalsLowercase(_ lowercase: StaticString) -> Bool {
        guard lowercase.utf8CodeUnitCount == count else { return false }
        let o = UnsafeRawPointer(lowercase.utf8Start)
        var i = 0
        while i + 8 <= count {
            let word = start.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            if asciiLowercased(word) != o.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
            i += 8
        }
        if i + 4 <= count {
            let word = UInt64(start.loadUnaligned(fromByteOffset: i, as: UInt32.self))
            if asciiLowercased(word) != UInt64(o.loadUnaligned(fromByteOffset: i, as: UInt32.self)) { return false }
            i += 4
        }
        while i < count {
            if asciiLower(start.load(fromByteOffset: i, as: UInt8.self)) != o.load(fromByteOffset: i, as: UInt8.self) { return false }
            i += 1
        }
        return true
    }

    /// Whether this comma-separated list (`Connection: keep-alive, Upgrade`) holds `token`,
    /// compared ASCII case-insensitively with surrounding whitespace ignored. No allocation.
    public func containsToken(_ token: String) -> Bool {
        var found = false
        forEachListElement { element in
            if element.equalsIgnoringCase(token) { found = true; return false }
            return true
        }
        return found
    }

    /// Calls `body` with each element of this comma-separated list (RFC 9110 5.6.1), trimmed of
    /// spaces and tabs; empty elements are skipped as the RFC requires. `body` returns false to stop.
    public func forEachListElement(_ body: (HTTPByteView) -> Bool) {
        var i = 0
        while i < count {
            var s = i
            while i < count && start.load(fromByteOffset: i, as: UInt8.self) != 0x2C { i += 1 }
            var e = i
            i += 1  // past the comma (or past the end, which ends the loop)
            while s < e && isOWS(start.load(fromByteOffset: s, as: UInt8.self)) { s += 1 }
            while e > s && isOWS(start.load(fromByteOffset: e - 1, as: UInt8.self)) { e -= 1 }
            if e > s && !body(HTTPByteView(start: start + s, count: e - s)) { return }
        }
    }
}

@inline(__always)
func isOWS(_ c: UInt8) -> Bool { c == asciiSP || c == asciiHTAB }

/// Runs `body` with the UTF-8 bytes of `s`. Native Swift strings are contiguous, so this is a
/// pointer hand-off; only a non-contiguous string (never produced on Linux) is copied.
@inlinable
func withUTF8Bytes<R>(of s: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
    if let r = s.utf8.withContiguousStorageIfAvailable({ body($0) }) { return r }
    var copy = s
    return copy.withUTF8 { body($0) }
}

@inline(__always)
func memcmpEqual(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Bool {
    for i in 0..<n where a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) {
        return false
    }
    return true
}
