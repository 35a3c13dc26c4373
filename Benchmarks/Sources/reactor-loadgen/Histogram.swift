/// A log-linear latency histogram: exact below 256 ns, then 128 buckets per power of two, so
/// every value is kept to within 0.8% (HdrHistogram's idea at a fixed precision). Recording is
/// an index computation and an increment: no allocation after `init`.
struct Histogram {
    private static let subBits = 7
    private static let linear = 256 // values below this get a bucket each
    private var counts = [UInt64](repeating: 0, count: 256 + 56 * 128)
    private(set) var total: UInt64 = 0
    private(set) var sum: Double = 0
    private(set) var maxValue: UInt64 = 0

    mutating func record(_ nanoseconds: UInt64) {
        counts[Self.index(nanoseconds)] &+= 1
        total &+= 1
        sum += Double(nanoseconds)
        if nanoseconds > maxValue { maxValue = nanoseconds }
    }

    /// The value at quantile `q` (0...1), in nanoseconds: the middle of its bucket.
    func quantile(_ q: Double) -> Double {
        guard total > 0 else { return 0 }
        let rank = UInt64((q * Double(total)).rounded(.up))
        var seen: UInt64 = 0
        for (i, c) in counts.enumerated() where c > 0 {
            seen += c
            if seen >= max(rank, 1) { return min(Self.value(i), Double(maxValue)) }
        }
        return Double(maxValue)
    }

    var mean: Double { total == 0 ? 0 : sum / Double(total) }

    private static func index(_ v: UInt64) -> Int {
        if v < UInt64(linear) { return Int(v) }
        let msb = 63 - v.leadingZeroBitCount // 8...63
        let shift = msb - subBits
        let sub = Int(truncatingIfNeeded: v >> UInt64(shift)) & ((1 << subBits) - 1)
        return linear + (msb - 8) * (1 << subBits) + sub
    }

    private static func value(_ i: Int) -> Double {
        if i < linear { return Double(i) }
        let octave = (i - linear) >> subBits, sub = (i - linear) & ((1 << subBits) - 1)
        let shift = octave + 8 - subBits
        let low = Double((1 << subBits) + sub) * Double(1 << shift)
        return low + Double(1 << shift) / 2
    }
}
