import Protocols
import Reactor

/// The WebSocket side of a session: either the transport of a session opened on a WebSocket, or
/// a WebSocket probing the upgrade of a polling session (`2probe`, `3probe`, then `5`).
final class EngineIOWebSocketTransport: WebSocketHandler {
    enum Role {
        /// Opens a new session once the WebSocket is open (with the handshake's query).
        case open(query: String)
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
    private var probed = false
    private var upgradeTimer: TimerID?

    init(server: EngineIOServer, role: Role) {
        self.server = server
        self.role = role
    }

    func webSocketDidOpen(_ ws: WebSocket) {
        socket = ws
        switch role {
        case .open(let query):
            session = server.openSession(on: ws, query: query)
        case .done:
            ws.close()
        case .probe(let polling):
            guard polling.acceptsUpgrade else {
                ws.close(code: .policyViolation, reason: "session cannot upgrade")
                return
            }
            polling.probeOpened(self)
            upgradeTimer = server.loop.schedule(after: server.configuration.upgradeTimeout) { [weak self, weak ws] in
                self?.upgradeTimer = nil
                ws?.close(code: .policyViolation, reason: "upgrade timed out")
            }
        }
    }

    func webSocket(_ ws: WebSocket, didReceiveText text: UnsafeRawBufferPointer) {
        let packet: (type: EngineIOPacketType, data: UnsafeRawBufferPointer)
        do throws(EngineIOProtocolError) {
            packet = try EngineIOPacket.decodeText(text)
        } catch {
            server.log("WebSocket \(ws.connection): bad packet: \(error)")
            if let session { session.finish(.parseError) } else { ws.close(code: .protocolError, reason: "\(error)") }
            return
        }
        if let session {
            session.receive(packet.type, packet.data)
            return
        }
        guard case .probe(let polling) = role else { return }
        switch packet.type {
        case .ping where !probed && packet.data.elementsEqual("probe".utf8):
            probed = true
            ws.send(text: "3probe")
            polling.probeSucceeded(self)
        case .upgrade where probed:
            if let upgradeTimer { server.loop.cancel(upgradeTimer) }
            upgradeTimer = nil
            session = polling
            polling.completeUpgrade(self, ws)
        default:
            ws.close(code: .protocolError, reason: "expected the upgrade probe")
        }
    }

    func webSocket(_ ws: WebSocket, didReceiveBinary data: UnsafeRawBufferPointer) {
        if let session {
            session.receiveBinary(data)
        } else {
            ws.close(code: .protocolError, reason: "binary data before the upgrade")
        }
    }

    /// Our side fails the WebSocket (a protocol error, a message over the limit or the loop's
    /// budget, a message not finished in time): one line in the server's error log.
    func webSocketWillFail(_ ws: WebSocket, code: WebSocketCloseCode, reason: String) {
        server.log("WebSocket \(ws.connection): closing with \(code.rawValue): \(reason)")
    }

    func webSocketDidClose(_ ws: WebSocket, code: WebSocketCloseCode, reason: String) {
        if let upgradeTimer { server.loop.cancel(upgradeTimer) }
        upgradeTimer = nil
        if let s = session {
            session = nil
            s.webSocketClosed(ws)
        } else if case .probe(let polling) = role {
            polling.probeFailed(self)
        }
        role = .done
    }

    /// The session gave up on this probe (another one replaced it, or the session closed).
    func abandon() {
        if case .probe = role, session == nil { socket?.close(code: .normal) }
    }
}
