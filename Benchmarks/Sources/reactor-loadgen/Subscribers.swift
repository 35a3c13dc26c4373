import Connections
import Protocols
import Reactor

/// What a subscriber tells the run: it is ready to receive (subscribed), a message arrived, or
/// it closed. `index` is the subscriber's number (the publisher is -1, a warm-up subscriber,
/// which closes as soon as it is subscribed, `warmupIndex`).
let warmupIndex = -2

protocol SubscriberEvents: AnyObject {
    func subscriberReady(_ index: Int)
    func subscriber(_ index: Int, received seq: UInt64)
    func subscriberClosed(_ index: Int, why: String)
    /// A WebSocket subscriber received a text frame of `payloadBytes` (any frame: the bytes on
    /// the wire per delivery count everything the server sends).
    func subscriberReceivedFrame(payloadBytes: Int)
}

/// The bytes a server's (unmasked) WebSocket frame takes on the wire: its header (2 bytes,
/// 4 with a 16-bit length, 10 with a 64-bit one) and its payload.
func webSocketFrameBytes(payload: Int) -> Int {
    payload + (payload < 126 ? 2 : payload < 65_536 ? 4 : 10)
}

/// A chat WebSocket (`/chat?room=R`): each room message is one text frame whose payload is the
/// text. Ready at the 101: the server subscribes it during the upgrade.
final class ChatWebSocketSubscriber: WebSocketHandler {
    let index: Int
    unowned let events: any SubscriberEvents

    init(index: Int, events: any SubscriberEvents) {
        self.index = index
        self.events = events
    }

    func webSocketDidOpen(_ ws: WebSocket) {
        if index == warmupIndex { ws.close() }
        events.subscriberReady(index)
    }

    func webSocket(_ ws: WebSocket, didReceiveText text: UnsafeRawBufferPointer) {
        events.subscriberReceivedFrame(payloadBytes: text.count)
        guard let seq = BenchPayload.sequence(in: text) else {
            die("subscriber \(index) received a frame that is not a benchmark message: \(String(decoding: text, as: UTF8.self))", status: 2)
        }
        events.subscriber(index, received: seq)
    }

    func webSocketDidClose(_ ws: WebSocket, code: WebSocketCloseCode, reason: String) {
        events.subscriberClosed(index, why: "WebSocket closed (\(code.rawValue) \(reason))")
    }
}

/// A Server-Sent Events subscriber (`GET /events?room=R`): parses the response head, then the
/// stream, de-chunking it if the server frames it with chunked encoding (the reactor's demo
/// delimits the body by closing; SwiftNIO's encoder chunks it). Each `data:` line is a message.
/// Ready at the response head: the server subscribes it before answering.
final class SSESubscriber: ConnectionHandler {
    let index: Int
    let request: [UInt8]
    unowned let events: any SubscriberEvents
    private var inBody = false
    private var chunked = false
    private var decoder = ChunkedDecoder()
    private var line: [UInt8] = []

    init(index: Int, host: String, path: String, events: any SubscriberEvents) {
        self.index = index
        self.events = events
        request = Array("GET \(path) HTTP/1.1\r\nHost: \(host)\r\nAccept: text/event-stream\r\n\r\n".utf8)
        line.reserveCapacity(256)
    }

    func connectionDidOpen(_ c: Connection) { _ = c.send(request) }

    func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int {
        var body = bytes[...]
        if !inBody {
            guard let end = headEnd(bytes) else {
                if bytes.count > 16384 { die("SSE response head too large", status: 2) }
                return 0
            }
            let head = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[0..<end]), as: UTF8.self).lowercased()
            guard head.hasPrefix("http/1.1 200") else { die("subscriber \(index): /events answered \(head.prefix(40))", status: 2) }
            chunked = head.contains("transfer-encoding: chunked")
            inBody = true
            body = bytes[end...]
            events.subscriberReady(index)
            if index == warmupIndex {
                c.close()
                return bytes.count
            }
        }
        if chunked {
            decoder.feed(UnsafeRawBufferPointer(rebasing: body)) { take($0) }
        } else {
            take(UnsafeRawBufferPointer(rebasing: body))
        }
        return bytes.count
    }

    /// Stream bytes: lines; a `data:` line carries one message.
    private func take(_ bytes: UnsafeRawBufferPointer) {
        for b in bytes {
            guard b == UInt8(ascii: "\n") else {
                if b != UInt8(ascii: "\r") { line.append(b) }
                continue
            }
            if line.count > 5, line[0] == UInt8(ascii: "d"), line[4] == UInt8(ascii: ":") {
                let start = line[5] == UInt8(ascii: " ") ? 6 : 5
                let seq = line.withUnsafeBytes { BenchPayload.sequence(in: $0, at: start) }
                guard let seq else { die("subscriber \(index) received an SSE event that is not a benchmark message", status: 2) }
                events.subscriber(index, received: seq)
            }
            line.removeAll(keepingCapacity: true)
        }
    }

    func connectionDidClose(_ c: Connection, reason: CloseReason) {
        events.subscriberClosed(index, why: "SSE stream closed (\(reason))")
    }
}

/// Chunked transfer coding, decoding side, for a stream that never ends in practice.
struct ChunkedDecoder {
    private enum State { case size, extensions, sizeLF, data, dataCR, dataLF }
    private var state = State.size
    private var size = 0
    private var remaining = 0

    mutating func feed(_ bytes: UnsafeRawBufferPointer, _ emit: (UnsafeRawBufferPointer) -> Void) {
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            switch state {
            case .size:
                if let digit = hexValue(b) {
                    size = size * 16 + digit
                } else if b == UInt8(ascii: "\r") {
                    state = .sizeLF
                } else {
                    state = .extensions
                }
                i += 1
            case .extensions:
                if b == UInt8(ascii: "\r") { state = .sizeLF }
                i += 1
            case .sizeLF:
                guard b == UInt8(ascii: "\n") else { die("malformed chunked body", status: 2) }
                remaining = size
                size = 0
                state = remaining == 0 ? .size : .data
                i += 1
            case .data:
                let n = min(remaining, bytes.count - i)
                emit(UnsafeRawBufferPointer(rebasing: bytes[i..<(i + n)]))
                remaining -= n
                i += n
                if remaining == 0 { state = .dataCR }
            case .dataCR:
                guard b == UInt8(ascii: "\r") else { die("malformed chunked body", status: 2) }
                state = .dataLF
                i += 1
            case .dataLF:
                guard b == UInt8(ascii: "\n") else { die("malformed chunked body", status: 2) }
                state = .size
                i += 1
            }
        }
    }

    private func hexValue(_ b: UInt8) -> Int? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(b - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(b - UInt8(ascii: "A")) + 10
        default: return nil
        }
    }
}

/// Where an HTTP head ends (just past CRLF CRLF), or nil.
func headEnd(_ bytes: UnsafeRawBufferPointer) -> Int? {
    guard bytes.count >= 4 else { return nil }
    for i in 3..<bytes.count where bytes[i] == 10 && bytes[i - 1] == 13 && bytes[i - 2] == 10 && bytes[i - 3] == 13 {
        return i + 1
    }
    return nil
}

/// A Socket.IO v5 client over the Engine.IO v4 WebSocket transport (no polling), in the default
/// namespace: it answers the open packet with CONNECT, joins the room with an ack (the demo's
/// `join {room}`), and is ready when the ack arrives. Room messages arrive as
/// `42["chat",{"room":R,"text":T,"from":SID}]`. It answers the server's pings.
/// As publisher (index -1) it emits `42["chat",{"room":R,"text":T}]`.
final class SocketIOClient: WebSocketHandler {
    let index: Int
    let room: String
    unowned let events: any SubscriberEvents
    private var joined = false
    private static let textKey = Array("\"text\":\"".utf8)

    init(index: Int, room: String, events: any SubscriberEvents) {
        self.index = index
        self.room = room
        self.events = events
    }

    func webSocket(_ ws: WebSocket, didReceiveText text: UnsafeRawBufferPointer) {
        if index >= 0 { events.subscriberReceivedFrame(payloadBytes: text.count) }
        guard let type = text.first else { return }
        switch type {
        case UInt8(ascii: "0"): // Engine.IO open: connect to the default namespace
            _ = ws.send(text: "40")
        case UInt8(ascii: "2"): // Engine.IO ping
            _ = ws.send(text: "3")
        case UInt8(ascii: "4"):
            guard text.count >= 2 else { return }
            switch text[1] {
            case UInt8(ascii: "0"): // Socket.IO CONNECT answered
                _ = ws.send(text: "420[\"join\",{\"room\":\"\(room)\"}]")
            case UInt8(ascii: "3"): // the join's ack
                if !joined {
                    joined = true
                    if index == warmupIndex { ws.close() }
                    events.subscriberReady(index)
                }
            case UInt8(ascii: "2"):
                guard joined, let at = find(Self.textKey, in: text) else { return } // auth, joined: not ours
                guard let seq = BenchPayload.sequence(in: text, at: at + Self.textKey.count) else {
                    die("subscriber \(index) received a chat event without a benchmark message", status: 2)
                }
                events.subscriber(index, received: seq)
            case UInt8(ascii: "4"):
                die("Socket.IO CONNECT_ERROR: \(String(decoding: text, as: UTF8.self))", status: 2)
            default: break
            }
        default: break
        }
    }

    func webSocketDidClose(_ ws: WebSocket, code: WebSocketCloseCode, reason: String) {
        events.subscriberClosed(index, why: "Socket.IO WebSocket closed (\(code.rawValue) \(reason))")
    }

    private func find(_ needle: [UInt8], in haystack: UnsafeRawBufferPointer) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        outer: for i in 0...(haystack.count - needle.count) {
            for j in 0..<needle.count where haystack[i + j] != needle[j] { continue outer }
            return i
        }
        return nil
    }
}

/// The chat publisher: a WebSocket on `/chat?room=R` that sends each message as a text frame.
/// It receives its own messages back (the demo's contract: the sender receives too); they are
/// not counted.
final class ChatWebSocketPublisher: WebSocketHandler {
    unowned let events: any SubscriberEvents
    init(events: any SubscriberEvents) { self.events = events }
    func webSocketDidOpen(_ ws: WebSocket) { events.subscriberReady(-1) }
    func webSocketDidClose(_ ws: WebSocket, code: WebSocketCloseCode, reason: String) {
        events.subscriberClosed(-1, why: "publisher WebSocket closed (\(code.rawValue) \(reason))")
    }
}
