/// The client side of RFC 6455's opening handshake at its smallest, for the runs that write
/// frames by hand (idle connections, open-loop echo, Socket.IO set-up): always the RFC's example
/// key, whose Sec-WebSocket-Accept is known, because the C baseline server answers only that key.
enum MinimalUpgrade {
    static let key = "dGhlIHNhbXBsZSBub25jZQ=="
    static let accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

    /// The upgrade request for `target` (a path with its query).
    static func request(_ target: String, host: String) -> String {
        "GET \(target) HTTP/1.1\r\nHost: \(host)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n\r\n"
    }

    /// The length of the 101 answer at the start of `bytes`, nil while it is incomplete; any
    /// other answer ends the run (status 2: the server's answer was wrong).
    static func answerLength(_ bytes: UnsafeRawBufferPointer, what: String) -> Int? {
        guard let end = headEnd(bytes) else {
            if bytes.count > 16384 { die("\(what): upgrade response head too large", status: 2) }
            return nil
        }
        let head = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[0..<end]), as: UTF8.self)
        guard head.hasPrefix("HTTP/1.1 101"), head.contains(accept) else { die("\(what): the upgrade failed:\n\(head)", status: 2) }
        return end
    }
}
