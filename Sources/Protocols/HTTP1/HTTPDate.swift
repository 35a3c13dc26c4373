import Glibc

/// The IMF-fixdate of RFC 9110 5.6.7 (`Sun, 06 Nov 1994 08:49:37 GMT`), for the Date header.
///
/// Formatting costs a `gmtime_r` call, so the glue keeps an `HTTPDateCache` per loop and
/// re-formats once a second rather than once per response.
public enum HTTPDate {
    /// Every IMF-fixdate is exactly this long.
    public static let length = 29

    /// Writes the IMF-fixdate of `time` (seconds since the epoch) into `buffer`. Returns 29, or
    /// nil when the buffer is shorter or the year is outside 0...9999 (no four-digit form).
    public static func write(_ time: time_t, into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        guard buffer.count >= length else { return nil }
        var t = time
        var tm = Glibc.tm()
        guard gmtime_r(&t, &tm) != nil else { return nil }
        let year = Int(tm.tm_year) + 1900
        guard (0...9999).contains(year), (0...6).contains(tm.tm_wday), (0...11).contains(tm.tm_mon) else {
            return nil
        }
        // Three-letter names packed into one StaticString each; index * 3 picks the name.
        let days: StaticString = "SunMonTueWedThuFriSat"
        let months: StaticString = "JanFebMarAprMayJunJulAugSepOctNovDec"
        var i = 0
        func put(_ b: UInt8) { buffer[i] = b; i += 1 }
        func put2(_ v: Int32) { put(UInt8(0x30 + v / 10)); put(UInt8(0x30 + v % 10)) }
        func name(_ table: StaticString, _ index: Int32) {
            for k in 0..<3 { put(table.utf8Start[Int(index) * 3 + k]) }
        }
        name(days, tm.tm_wday)
        put(0x2C); put(0x20)  // ", "
        put2(tm.tm_mday)
        put(0x20)
        name(months, tm.tm_mon)
        put(0x20)
        put2(Int32(year / 100)); put2(Int32(year % 100))
        put(0x20)
        put2(tm.tm_hour); put(0x3A); put2(tm.tm_min); put(0x3A); put2(tm.tm_sec)
        put(0x20); put(0x47); put(0x4D); put(0x54)  // " GMT"
        assert(i == length)
        return length
    }

    /// The IMF-fixdate of `time` as a String (for tests and logs), or nil as for `write`.
    public static func string(_ time: time_t) -> String? {
        String(unsafeUninitializedCapacity: length) { out in
            write(time, into: UnsafeMutableRawBufferPointer(out)) ?? 0
        }.nilIfEmpty
    }
}

/// The Date header value, re-formatted only when the second changes: one per event loop,
/// refreshed with the clock the loop reads once per iteration.
public struct HTTPDateCache {
    // 29 bytes of text in 32 bytes of inline storage: no allocation, copied by value.
    @usableFromInline var storage: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    @usableFromInline var second: time_t?

    public init() {}

    /// Re-formats if `now` is in a different second from the cached value.
    public mutating func update(now: time_t) {
        guard now != second else { return }
        let written = withUnsafeMutableBytes(of: &storage) { HTTPDate.write(now, into: $0) }
        if written != nil { second = now }
    }

    /// Calls `body` with the 29 bytes of the cached date (call `update` first).
    @inlinable
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        precondition(second != nil, "HTTPDateCache.update(now:) was never called")
        return try withUnsafeBytes(of: storage) { try body(UnsafeRawBufferPointer(rebasing: $0[0..<HTTPDate.length])) }
    }
}

extension String {
    fileprivate var nilIfEmpty: String? { isEmpty ? nil : self }
}
