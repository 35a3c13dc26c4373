import Protocols
import Reactor
import TLS

extension WebSocket {
    /// Connects to a WebSocket server on `loop`: TCP connect, the opening handshake, then frames.
    /// `handler` gets `webSocketDidOpen` when the handshake succeeds, or `webSocketDidClose` with
    /// `.abnormal` and the reason if the connect or the handshake fails. `source` is the local
    /// address to bind (see `EventLoop.connect(to:from:handler:timeout:)`).
    ///
    /// With `tls` it is `wss://`: the handshake and every frame go over TLS, the server's
    /// certificate checked against `host` (its name without a port; required with `tls`).
    @discardableResult
    public static func connect(
        loop: EventLoop, to address: SocketAddress, from source: SocketAddress? = nil, host: String? = nil, path: String = "/",
        headers: [(String, String)] = [], configuration: WebSocketConfiguration = WebSocketConfiguration(),
        tls: TLSClient? = nil, handler: any WebSocketHandler
    ) throws(SystemError) -> WebSocket {
        precondition(tls == nil || host != nil, "wss:// needs the server's name (host) to check its certificate")
        var key = [UInt8](repeating: 0, count: 16)
        for i in key.indices { key[i] = UInt8.random(in: 0...255) }
        let keyText = key.withUnsafeBytes { Base64.encode($0) }
        var request = "GET \(path) HTTP/1.1\r\nHost: \(host ?? address.description)\r\nUpgrade: websocket\r\n"
        request += "Connection: Upgrade\r\nSec-WebSocket-Key: \(keyText)\r\nSec-WebSocket-Version: 13\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        let expectedAccept = keyText.utf8CString.withUnsafeBytes {
            WebSocketHandshake.acceptValue(forKey: UnsafeRawBufferPointer(rebasing: $0.dropLast()))
        }
        let handshake = WebSocketClientHandshake(request: request, expectedAccept: expectedAccept)
        let connection = try loop.connect(to: address, from: source, handler: handshake)
        if let tls, let host {
            let name = host.split(separator: ":").first.map(String.init) ?? host  // "name:port" -> "name"
            tls.attach(to: connection, serverName: name)
        }
        let ws = WebSocket(connection: connection, role: .client, configuration: configuration,
                           handler: handler, subprotocol: nil, deflate: nil)
        handshake.socket = ws
        return ws
    }
}

/// The client's side of the opening handshake: sends the upgrade request, checks the 101 answer
/// and `Sec-WebSocket-Accept`, then hands the connection (and any frame bytes that came with the
/// answer) to the `WebSocket`.
final class WebSocketClientHandshake: ConnectionHandler {
    let request: String
    let expectedAccept: String
    var socket: WebSocket?
    static let maxResponseHead = 16 * 1024

    init(request: String, expectedAccept: String) {
        self.request = request
        self.expectedAccept = expectedAccept
    }

    func connectionDidOpen(_ c: Connection) {
        c.send(request)
        c.setTimeout(socket?.configuration.closeTimeout ?? .seconds(5))
    }

    func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int {
        guard let end = headEnd(bytes) else {
            if bytes.count > Self.maxResponseHead { c.close(reason: .protocolError("handshake response too large"), flush: false) }
            return 0
        }
        let head = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[0..<end]), as: UTF8.self)
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
        let status = lines.isEmpty ? "" : String(lines.removeFirst())
        guard status.hasPrefix("HTTP/1.1 101") else {
            c.close(reason: .protocolError("handshake refused: \(status)"), flush: false)
            return bytes.count
        }
        var accept: String?
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            if line[..<colon].lowercased() == "sec-websocket-accept" {
                accept = line[line.index(after: colon)...].trimmingCharacters(in: " \t")
            }
        }
        guard accept == expectedAccept, let socket else {
            c.close(reason: .protocolError("handshake answer has a wrong Sec-WebSocket-Accept"), flush: false)
            return bytes.count
        }
        c.setTimeout(nil)
        c.setHandler(socket)
        socket.connectionDidOpen(c)
        c.redeliverBufferedInput()  // frames that came in the same read as the answer
        return end
    }

    func connectionDidTimeout(_ c: Connection) {
        c.close(reason: .timeout, flush: false)
    }

    func connectionDidClose(_ c: Connection, reason: CloseReason) {
        socket?.connectionDidClose(c, reason: reason)
        socket = nil
    }

    private func headEnd(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 3..<bytes.count where bytes[i] == 0x0A && bytes[i - 1] == 0x0D && bytes[i - 2] == 0x0A && bytes[i - 3] == 0x0D {
            return i + 1
        }
        return nil
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var s = self[...]
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
