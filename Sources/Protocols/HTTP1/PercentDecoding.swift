/// Percent-decoding (RFC 3986 2.1) for paths and query strings, and query lookup by name.
///
/// Nothing here runs unless the application asks: the parser hands out the path and query
/// undecoded. Decoding allocates only the String it returns (none for 15 bytes or fewer, which
/// Swift stores inline). Malformed escapes (`%`, `%4`, `%zz`) are kept literally, as browsers and
/// the WHATWG URL parser do; bytes that decode to invalid UTF-8 become U+FFFD.
public enum PercentDecoding {
    /// Decodes `bytes` into a new String. With `plusAsSpace`, `+` becomes a space, as in
    /// `application/x-www-form-urlencoded` query strings (never in paths).
    public static func decode(_ bytes: UnsafeRawBufferPointer, plusAsSpace: Bool) -> String {
        // Decoding never lengthens, so the input length is enough capacity. The initializer
        // validates and repairs the UTF-8 we write.
        String(unsafeUninitializedCapacity: bytes.count) { out in
            var n = 0
            forEachDecodedByte(bytes, plusAsSpace: plusAsSpace) { b in
                out[n] = b
                n += 1
                return true
            }
            return n
        }
    }

    /// Whether `bytes`, decoded, equal `text`'s UTF-8; no allocation.
    public static func decodedEquals(_ bytes: UnsafeRawBufferPointer, _ text: String, plusAsSpace: Bool) -> Bool {
        withUTF8Bytes(of: text) { wanted in
            var i = 0
            var same = true
            forEachDecodedByte(bytes, plusAsSpace: plusAsSpace) { b in
                guard i < wanted.count, wanted[i] == b else { same = false; return false }
                i += 1
                return true
            }
            return same && i == wanted.count
        }
    }

    /// Calls `body` with each decoded byte in order until it returns false.
    static func forEachDecodedByte(_ bytes: UnsafeRawBufferPointer, plusAsSpace: Bool, _ body: (UInt8) -> Bool) {
        var i = 0
        let n = bytes.count
        while i < n {
            var b = bytes[i]
            if b == 0x25, i + 2 < n, let hi = hexValue(bytes[i + 1]), let lo = hexValue(bytes[i + 2]) {
                b = UInt8(hi << 4 | lo)
                i += 3
            } else {
                if b == 0x2B && plusAsSpace { b = 0x20 }
                i += 1
            }
            if !body(b) { return }
        }
    }
}

extension HTTPByteView {
    /// These bytes percent-decoded into a new String (see `PercentDecoding`).
    public func percentDecoded(plusAsSpace: Bool = false) -> String {
        PercentDecoding.decode(bytes, plusAsSpace: plusAsSpace)
    }
}

extension HTTPRequestHead {
    /// The path, percent-decoded (`+` stays `+`). Allocates the returned String.
    public var decodedPath: String { path.percentDecoded(plusAsSpace: false) }

    /// Calls `body` with each `name[=value]` item of the query, undecoded, in order, until it
    /// returns false. `value` is nil for an item without `=`. Empty items (`a=1&&b=2`) are skipped.
    public func forEachQueryItem(_ body: (_ name: HTTPByteView, _ value: HTTPByteView?) -> Bool) {
        guard let query else { return }
        var i = 0
        let n = query.count
        while i < n {
            let itemStart = i
            var equals = -1
            while i < n && query[i] != 0x26 {
                if equals < 0 && query[i] == 0x3D { equals = i }
                i += 1
            }
            let itemEnd = i
            i += 1
            guard itemEnd > itemStart else { continue }
            let nameEnd = equals >= 0 ? equals : itemEnd
            let name = HTTPByteView(start: query.start + itemStart, count: nameEnd - itemStart)
            let value = equals >= 0 ? HTTPByteView(start: query.start + equals + 1, count: itemEnd - equals - 1) : nil
            if !body(name, value) { return }
        }
    }

    /// The decoded value of the first query item whose decoded name is `name` (`+` as space in
    /// both), `""` for an item without `=`, or nil when absent. Names are compared without
    /// allocating; only the returned value is allocated.
    public func queryValue(_ name: String) -> String? {
        var result: String?
        forEachQueryItem { itemName, value in
            guard PercentDecoding.decodedEquals(itemName.bytes, name, plusAsSpace: true) else { return true }
            result = value.map { $0.percentDecoded(plusAsSpace: true) } ?? ""
            return false
        }
        return result
    }
}
