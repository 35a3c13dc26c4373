import Protocols
import Reactor

/// The WebSocket side of a session: either the transport of a session opened on a WebSocket, or
/// a WebSocket probing the upgrade of a polling session (`2probe`, `3probe`, then `5`). The
/// probe's rules (what it may say, its deadline) are the session machine's: this class only
/// passes on what arrives.
///
/// The socket is this loop's (`WebSocket`), or, for the upgrade of a session whose polling
/// requests landed elsewhere, one on another loop of the group (`EngineIORemoteSocket`): then
/// its messages arrive through `receiveText`, `receiveBinary` and `closed`, called by the
/// session's loop as they cross over (EngineIORemoteWebSocket.swift).
final class EngineIOWebSocketTransport: WebSocketHandler {
    enum Role {
        /// Opens a new session once the WebSocket is open (with what was kept of the handshake
        /// request, and the id drawn for it before the handshake was answered).
        case open(request: EngineIOHandshakeRequest, sid: String)
        /// Probes the upgrade of this polling session.
        case probe(EngineIOSession)
        /// Closed: holds nothing, so no cycle outlives the connection.
        case done
    }

    let server: EngineIOServer
    private var role: Role
    /// The session whose transport this WebSocket is (after the handshake or the upgrade).
    private var session: EngineIOSession?
    private weak var socket: WebSocket?
    /// The socket on another loop, when it is there.
    private let remote: EngineIORemoteSocket?
    /// Called once the socket closed (the remote one's table entry goes then).
    var onDone: (() -> Void)?

    init(server: EngineIOServer, role: Role, remote: EngineIORemoteSocket? = nil) {
        self.server = server
        self.role = role
        self.remote = remote
    }

    func webSocketDidOpen(_ ws: WebSocket) {
        socket = ws
        switch role {
        case .open(let request, let sid):
            session = server.openSession(on: ws, request: request, sid: sid)
        case .done:
            ws.close()
        case .probe(let polling):
            polling.probeOpened(self)
        }
    }

    /// The remote socket opened (its loop heard the 101 go out): it may now probe.
    func remoteOpened() {
        if case .probe(let polling) = role { polling.probeOpened(self) }
    }

    func webSocket(_ ws: WebSocket, didReceiveText text: UnsafeRawBufferPointer) { receiveText(text) }

    func receiveText(_ text: UnsafeRawBufferPointer) {
        let packet: (type: EngineIOPacketType, data: UnsafeRawBufferPointer)
        do throws(EngineIOProtocolError) {
            packet = try EngineIOPacket.decodeText(text)
        } catch {
            server.log("WebSocket \(socketDescription): bad packet: \(error)")
            if let session { session.receiveFailed(error) } else { closeSocket(code: .protocolError, reason: "\(error)") }
            return
        }
        if let session {
            session.receive(packet.type, packet.data)
        } else if case .probe(let polling) = role {
            polling.probeReceived(self, packet.type, packet.data)
        }
    }

    func webSocket(_ ws: WebSocket, didReceiveBinary data: UnsafeRawBufferPointer) { receiveBinary(data) }

    func receiveBinary(_ data: UnsafeRawBufferPointer) {
        if let session {
            session.receiveBinary(data)
        } else if case .probe(let polling) = role {
            polling.probeReceivedBinary(self)
        } else {
            closeSocket(code: .protocolError, reason: "binary data before the upgrade")
        }
    }

    /// Our side fails the WebSocket (a protocol error, a message over the limit or the loop's
    /// budget, a message not finished in time): one line in the server's error log.
    func webSocketWillFail(_ ws: WebSocket, code: WebSocketCloseCode, reason: String) {
        server.log("WebSocket \(ws.connection): closing with \(code.rawValue): \(reason)")
    }

    func webSocketDidClose(_ ws: WebSocket, code: WebSocketCloseCode, reason: String) { closed() }

    func closed() {
        if let s = session {
            session = nil
            if let remote { s.remoteSocketClosed(remote) } else if let socket { s.webSocketClosed(socket) }
        } else if case .probe(let polling) = role {
            polling.probeFailed(self)
        }
        role = .done
        let done = onDone
        onDone = nil
        done?()
    }

    private var socketDescription: String {
        if remote != nil { return "on another loop" }
        return socket.map { "\($0.connection)" } ?? "(closed)"
    }

    private func closeSocket(code: WebSocketCloseCode, reason: String) {
        if let remote { remote.close(code: code, reason: reason) } else { socket?.close(code: code, reason: reason) }
    }

    /// Sends a text packet on the probe (`3probe`).
    func send(text: [UInt8]) {
        text.withUnsafeBytes { bytes in
            if let remote { remote.send(text: bytes) } else { _ = socket?.send(text: bytes) }
        }
    }

    /// The upgrade completed: this WebSocket is the session's transport from now on.
    func becomeTransport(of polling: EngineIOSession) {
        session = polling
        if let remote { polling.attach(remote: remote) } else if let socket { polling.attach(webSocket: socket) }
    }

    /// The session let go of this probe (refused it, replaced it, gave up on it, or closed).
    func abandon(code: WebSocketCloseCode, reason: String) {
        if case .probe = role, session == nil { closeSocket(code: code, reason: reason) }
    }
}
