import Protocols
import Reactor

/// The loop's side of an `AsyncWebSocket`: each callback makes the owned copy the actor keeps and
/// enters the actor's isolation synchronously (the callbacks run on the loop's thread, which is
/// the actor's executor; `assumeIsolated` checks it). On open it starts `body`, if any, as a task
/// on the loop, and closes the socket when `body` returns.
final class AsyncWebSocketHandler: WebSocketHandler {
    let socket: AsyncWebSocket
    let body: ((isolated AsyncWebSocket) async throws -> Void)?

    init(_ socket: AsyncWebSocket, body: ((isolated AsyncWebSocket) async throws -> Void)?) {
        self.socket = socket
        self.body = body
    }

    func webSocketDidOpen(_ ws: WebSocket) {
        let bound = LoopBound(ws, on: ws.connection.loop)
        socket.assumeIsolated { $0.attach(bound) }
        socket.assumeIsolated { $0.didOpen() }
        guard let body else { return }
        let run = LoopBound(body, on: ws.connection.loop)
        // The body runs isolated to the socket, whose executor is the loop: its `receive` and
        // `send` are calls on its own actor, not hops (a nonisolated body hopped in and out of
        // the actor for each: six jobs per echoed message). The loop is also the task's executor
        // preference, so nonisolated functions it awaits run on the loop too.
        let socket = self.socket
        let task = Task(executorPreference: socket.handle) { await socket.run(body: run) }
        // The connection closing (the peer left, or the drain deadline) cancels the body.
        closeTask = task
    }

    private var closeTask: Task<Void, Never>?

    func webSocket(_ ws: WebSocket, didReceiveText text: UnsafeRawBufferPointer) {
        socket.received(.text(String(text)))
    }

    func webSocket(_ ws: WebSocket, didReceiveBinary data: UnsafeRawBufferPointer) {
        socket.received(.binary([UInt8](data)))
    }

    func webSocketWritabilityDidChange(_ ws: WebSocket, isWritable: Bool) {
        socket.writabilityChanged(isWritable)
    }

    func webSocketDidClose(_ ws: WebSocket, code: WebSocketCloseCode, reason: String) {
        socket.assumeIsolated { $0.closed(code: code, reason: reason) }
        closeTask?.cancel()
        closeTask = nil
    }
}

extension WebSocket {
    /// Upgrades to a WebSocket handled by async code: `body` runs as a task on the loop once the
    /// socket is open, isolated to the socket (an actor on the loop), and the socket closes (1000) when it returns, or (1011) when it throws.
    /// The peer closing, or the server's drain deadline, cancels the task.
    @discardableResult
    public static func upgrade(
        _ request: HTTPRequest, _ responder: HTTPResponder,
        configuration: WebSocketConfiguration = WebSocketConfiguration(),
        inboundHighWatermark: Int = 1 << 20, inboundLowWatermark: Int = 256 << 10,
        body: @escaping (isolated AsyncWebSocket) async throws -> Void
    ) -> AsyncWebSocket? {
        let socket = AsyncWebSocket(handle: responder.connection.loop.handle,
                                    inboundHighWatermark: inboundHighWatermark, inboundLowWatermark: inboundLowWatermark)
        let handler = AsyncWebSocketHandler(socket, body: body)
        guard upgrade(request, responder, configuration: configuration, handler: handler) != nil else { return nil }
        return socket
    }
}

extension AsyncWebSocket {
    /// Connects to a WebSocket server from the loop behind `handle` and returns once the opening
    /// handshake succeeded; throws `AsyncWebSocketError.closed` if the connect or the handshake
    /// failed (`closeCode`/`closeReason` on a kept reference say why), a `SystemError` when no
    /// socket could be made.
    public static func connect(
        to address: SocketAddress, path: String = "/", host: String? = nil, headers: [(String, String)] = [],
        on handle: EventLoopHandle, configuration: WebSocketConfiguration = WebSocketConfiguration(),
        inboundHighWatermark: Int = 1 << 20, inboundLowWatermark: Int = 256 << 10
    ) async throws -> AsyncWebSocket {
        let socket = try await handle.submit { loop in
            let socket = AsyncWebSocket(handle: handle, inboundHighWatermark: inboundHighWatermark, inboundLowWatermark: inboundLowWatermark)
            try WebSocket.connect(loop: loop, to: address, host: host, path: path, headers: headers,
                                  configuration: configuration, handler: AsyncWebSocketHandler(socket, body: nil))
            return socket
        }
        try await socket.waitUntilOpen()
        return socket
    }
}
