/// The content codings a response body may be compressed with (RFC 9110 8.4.1), and the choice
/// among them that a request's `Accept-Encoding` allows.
public enum HTTPContentCoding: String, Sendable, Hashable {
    /// Deflate in a gzip wrapper (RFC 1952).
    case gzip
    /// Deflate in a zlib wrapper (RFC 1950), which is what `deflate` means in HTTP.
    case deflate

    /// The coding to answer with, given the request's `Accept-Encoding` (nil when absent), or nil
    /// for none (identity). The highest weight wins, gzip before deflate at equal weight (the
    /// order the reference Engine.IO server offers them in); a coding not named takes the weight
    /// of `*`, or is not acceptable; weight 0 refuses (RFC 9110 12.5.3). No allocation.
    public static func preferred(acceptEncoding: HTTPByteView?) -> HTTPContentCoding? {
        guard let acceptEncoding else { return nil }
        // Weights in thousandths; -1: not named.
        var gzip = -1, deflate = -1, any = -1
        acceptEncoding.forEachListElement { element in
            let (coding, weight) = parse(element)
            if coding.equalsIgnoringCase("gzip") || coding.equalsIgnoringCase("x-gzip") {
                gzip = max(gzip, weight)
            } else if coding.equalsIgnoringCase("deflate") {
                deflate = max(deflate, weight)
            } else if coding.equals("*") {
                any = max(any, weight)
            }
            return true
        }
        if gzip < 0 { gzip = max(any, 0) }
        if deflate < 0 { deflate = max(any, 0) }
        if gzip > 0 && gzip >= deflate { return .gzip }
        if deflate > 0 { return .deflate }
        return nil
    }

    /// `coding;q=0.5` as (`coding`, 500). A weight that does not parse counts as 0 (refused):
    /// a malformed field must not turn compression on.
    static func parse(_ element: HTTPByteView) -> (HTTPByteView, Int) {
        var semicolon = 0
        while semicolon < element.count && element[semicolon] != 0x3B { semicolon += 1 }  // ';'
        var end = semicolon
        while end > 0 && isOWS(element[end - 1]) { end -= 1 }
        let coding = HTTPByteView(start: element.start, count: end)
        guard semicolon < element.count else { return (coding, 1000) }
        // Parameters: only `q` is defined for Accept-Encoding.
        var i = semicolon + 1
        while i < element.count && isOWS(element[i]) { i += 1 }
        guard i + 1 < element.count, element[i] | 0x20 == 0x71, element[i + 1] == 0x3D else { return (coding, 0) }  // "q="
        return (coding, weight(HTTPByteView(start: element.start + i + 2, count: element.count - i - 2)))
    }

    /// A qvalue (`0`, `0.5`, `1.000`; RFC 9110 12.4.2) in thousandths, or 0 when malformed.
    static func weight(_ v: HTTPByteView) -> Int {
        var end = v.count
        while end > 0 && isOWS(v[end - 1]) { end -= 1 }
        guard end >= 1, end <= 5, v[0] == 0x30 || v[0] == 0x31 else { return 0 }
        var value = Int(v[0] - 0x30) * 1000
        if end > 1 {
            guard v[1] == 0x2E else { return 0 }  // '.'
            var scale = 100
            for i in 2..<end {
                let d = v[i]
                guard d >= 0x30 && d <= 0x39 else { return 0 }
                value += Int(d - 0x30) * scale
                scale /= 10
            }
        }
        return min(value, 1000)
    }
}
