/// The `Last-Event-ID` a reconnecting `EventSource` sends, as the numeric message id our topics
/// use. Anything that is not a plain decimal number (or is empty) means "no id".
public enum SSELastEventID {
    public static func parse(_ value: HTTPByteView?) -> UInt64? {
        guard let value, value.count > 0, value.count <= 20 else { return nil }
        var n: UInt64 = 0
        for b in value {
            guard b >= 0x30 && b <= 0x39 else { return nil }
            let (m, o1) = n.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(b - 0x30))
            if o1 || o2 { return nil }
            n = s
        }
        return n
    }
}
