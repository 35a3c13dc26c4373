/// Encodes Server-Sent Events (WHATWG HTML, "Server-sent events", the event stream format).
///
/// An event is a block of `field: value` lines ended by an empty line. Data with line breaks
/// becomes several `data:` lines (the browser joins them with "\n"); CR, LF and CRLF all count as
/// line breaks, so each is split, never sent raw. Id and event names cannot hold line breaks:
/// those are removed rather than allowed to start a forged field.
public enum SSEEncoder {
    /// Appends one event to `out`.
    public static func encode(
        id: String? = nil, event: String? = nil, data: UnsafeRawBufferPointer?, retry: Int? = nil, into out: inout [UInt8]
    ) {
        if let event { appendField("event", event, &out) }
        if let data {
            var start = 0
            var i = 0
            while i < data.count {
                let b = data[i]
                if b == 0x0A || b == 0x0D {
                    appendDataLine(UnsafeRawBufferPointer(rebasing: data[start..<i]), &out)
                    if b == 0x0D && i + 1 < data.count && data[i + 1] == 0x0A { i += 1 }
                    start = i + 1
                }
                i += 1
            }
            appendDataLine(UnsafeRawBufferPointer(rebasing: data[start..<data.count]), &out)
        }
        // The id goes last: a browser that sees the id has seen the whole event.
        if let id { appendField("id", id, &out) }
        if let retry { appendField("retry", String(max(0, retry)), &out) }
        out.append(0x0A)
    }

    public static func encode(id: String? = nil, event: String? = nil, data: String, retry: Int? = nil, into out: inout [UInt8]) {
        var d = data
        d.withUTF8 { encode(id: id, event: event, data: UnsafeRawBufferPointer($0), retry: retry, into: &out) }
    }

    /// A comment line (ignored by clients): keeps idle proxies and load balancers from closing
    /// the stream. One line, without the blank line that would end an event block: a blank line
    /// after fields-free lines dispatches nothing in a browser, but some clients (which keep the
    /// last event id across blocks) would report an empty event for it.
    public static func comment(_ text: String) -> [UInt8] {
        var out: [UInt8] = [0x3A, 0x20]  // ": "
        out += text.utf8.filter { $0 != 0x0A && $0 != 0x0D }
        out.append(0x0A)
        return out
    }

    private static func appendDataLine(_ line: UnsafeRawBufferPointer, _ out: inout [UInt8]) {
        out += [0x64, 0x61, 0x74, 0x61, 0x3A, 0x20]  // "data: "
        out.append(contentsOf: line)
        out.append(0x0A)
    }

    private static func appendField(_ name: String, _ value: String, _ out: inout [UInt8]) {
        out += name.utf8
        out += [0x3A, 0x20]
        out += value.utf8.filter { $0 != 0x0A && $0 != 0x0D && $0 != 0 }
        out.append(0x0A)
    }
}
