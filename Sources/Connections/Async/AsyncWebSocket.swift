import Protocols
@_spi(AsyncPlumbing) import Reactor

/// A message of an `AsyncWebSocket`, owned (it may cross an `await`).
public enum WebSocketMessage: Sendable, Equatable {
    case text(String)
    case binary([UInt8])
}

/// A WebSocket for async code, server or client side: an actor on its loop (the loop is its
/// executor), over the same `WebSocket` and connection machine as the callback API.
///
///     router.get("/echo-async") { req, res in
///         WebSocket.upgrade(req, res) { ws in
///             for try await message in ws.messages { try await ws.send(message) }
///         }
///     }
///
/// `messages` ends when the connection closes (`closeCode` then says how). Messages the reader
/// has not taken are held up to `inboundHighWatermark` bytes, then the socket is not read until
/// the reader is down to `inboundLowWatermark`: a slow reader slows its peer, it does not grow
/// memory. `send` suspends while the connection's outbound queue is above its high watermark.
public actor AsyncWebSocket {
    public nonisolated let handle: EventLoopHandle
    public nonisolated var unownedExecutor: UnownedSerialExecutor { handle.asUnownedSerialExecutor() }
    public nonisolated let inboundHighWatermark: Int
    public nonisolated let inboundLowWatermark: Int

    // The state the loop's callbacks touch on each message is `nonisolated(unsafe)`, so that the
    // callbacks reach it with no `assumeIsolated` closure (which cost two allocations per
    // message). Sound for the same reason `assumeIsolated` is: it is touched only on the loop's
    // thread, which is this actor's executor; the callbacks check it (`handle.checkIsolated`).
    // And unchecked for exclusivity: no access to these spans a call that could reach them again
    // (the inbox and the waiters resume continuations, which enqueue their tasks on the loop to
    // run later, never inline), and the run-time checks cost about 80 instructions each, four
    // per echoed message (callgrind, `/echo-async`).
    @exclusivity(unchecked) private nonisolated(unsafe) var socket: LoopBound<WebSocket>?
    private var opened = false
    private var openWaiters = AsyncWaiters()
    /// What the reader has not taken yet: the socket is not read past its high watermark.
    @exclusivity(unchecked) private nonisolated(unsafe) var inbound: AsyncInbox<WebSocketMessage>
    @exclusivity(unchecked) private nonisolated(unsafe) var writeWaiters = AsyncWaiters()
    /// The close code once the connection has closed (ours, the peer's, or 1006 for a drop).
    public private(set) var closeCode: WebSocketCloseCode?
    public private(set) var closeReason = ""

    init(handle: EventLoopHandle, inboundHighWatermark: Int, inboundLowWatermark: Int) {
        self.handle = handle
        self.inboundHighWatermark = inboundHighWatermark
        self.inboundLowWatermark = inboundLowWatermark
        self.inbound = AsyncInbox(highWatermark: inboundHighWatermark, lowWatermark: inboundLowWatermark)
    }

    /// The messages, until the connection closes. One reader at a time.
    public nonisolated var messages: Messages { Messages(socket: self) }

    /// The next message, nil once the connection has closed.
    public func receive() async throws -> WebSocketMessage? {
        switch receiveOnLoop() {
        case .message(let message)?:
            return message
        case .wait?:
            return try await withUnsafeThrowingContinuation { park($0) }
        case nil:
            // Another task waiting: a handler for this wait, so that its cancellation wakes it.
            return try await withTaskCancellationHandler {
                try await withUnsafeThrowingContinuation { park($0) }
            } onCancel: {
                handle.execute { [self] _ in self.assumeIsolated { $0.inbound.cancelWaiter() } }
            }
        }
    }

    /// Whether the caller is the task running the upgrade's body (compared by identity, and only
    /// while that task runs: `bodyTask` is cleared before it ends). Only on the loop's thread.
    private nonisolated var isBodyTask: Bool {
        guard let bodyTask else { return false }
        return withUnsafeCurrentTask { $0 == bodyTask }
    }

    /// The task running the upgrade's body, while it runs. Loop-thread state, as `inbound`.
    @exclusivity(unchecked) private nonisolated(unsafe) var bodyTask: UnsafeCurrentTask?

    /// The next message without entering the actor, for `receive` and for `Messages` on the
    /// loop's thread (from the body's iterator, a call of the actor's `receive` was two task
    /// switches per message, each a lock on a task that prefers the loop).
    /// - A kept message goes to any reader, with no suspension (and no cancellation handler,
    ///   whose status record costs a lock on the task): under load the reader usually finds one.
    /// - `.wait`: the caller is the body's own task, which may park with no handler per wait;
    ///   one for its whole life (`run(body:)`) ends the inbox when it is cancelled. The identity
    ///   check costs about 200 instructions, so a stream of kept messages does not pay it.
    /// - nil: another task must wait with a handler of its own (`receive`), or the caller is
    ///   not on the loop's thread.
    nonisolated func receiveOnLoop() -> Receipt? {
        guard handle.isOnLoopThread else { return nil }
        if let (message, restart) = inbound.takeKept() {
            if restart { socket?.value.connection.resumeReading() }
            return .message(message)
        }
        return isBodyTask ? .wait : nil
    }

    enum Receipt {
        case message(WebSocketMessage)
        case wait
    }

    /// Parks a reader's wait for the next message (on the loop's thread).
    nonisolated func park(_ continuation: UnsafeContinuation<WebSocketMessage?, any Error>) {
        if inbound.read(into: continuation) { socket?.value.connection.resumeReading() }
    }

    /// Runs the upgrade's body in the current task (started by the handler on the loop), then
    /// closes: 1000 when it returns, 1011 when it throws. The task being cancelled (the
    /// connection closed, or the drain deadline) ends the inbox with `CancellationError` and fails
    /// a `send` waiting for writability, so a body waiting in either wakes.
    func run(body: LoopBound<(isolated AsyncWebSocket) async throws -> Void>) async {
        withUnsafeCurrentTask { bodyTask = $0 }
        defer { bodyTask = nil }
        do {
            try await withTaskCancellationHandler {
                try await body.value(self)
            } onCancel: {
                handle.execute { [self] _ in self.assumeIsolated { $0.bodyCancelled() } }
            }
            close()
        } catch {
            close(code: .internalError, reason: "")
        }
    }

    private func bodyCancelled() {
        inbound.finish(CancellationError())
        writeWaiters.resumeAll(throwing: CancellationError())
    }

    /// Sends a message; suspends while the outbound queue is above its high watermark. Throws
    /// `AsyncWebSocketError.closed` once the connection is closing or closed.
    public func send(_ message: WebSocketMessage) async throws {
        guard closeCode == nil, let ws = socket?.value, ws.isOpen else { throw AsyncWebSocketError.closed }
        switch message {
        case .text(let text): ws.send(text: text)
        case .binary(let bytes): ws.send(binary: bytes)
        }
        // Checked here, not only inside: each call of an async function is a switch check that
        // costs the runtime a lock on the task (its executor preference); most sends need none.
        if !ws.isWritable { try await waitUntilWritable() }
    }

    public func send(text: String) async throws { try await send(.text(text)) }

    public func send(binary: [UInt8]) async throws { try await send(.binary(binary)) }

    /// Starts the closing handshake with `code`.
    public func close(code: WebSocketCloseCode = .normal, reason: String = "") {
        socket?.value.close(code: code, reason: reason)
    }

    // MARK: Calls from the loop (the handler, on the loop's thread)

    func attach(_ socket: LoopBound<WebSocket>) {
        self.socket = socket
    }

    func didOpen() {
        opened = true
        openWaiters.resumeAll()
    }

    func waitUntilOpen() async throws {
        try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
            if opened {
                continuation.resume()
            } else if closeCode != nil {
                continuation.resume(throwing: AsyncWebSocketError.closed)
            } else {
                openWaiters.add(continuation)
            }
        }
    }

    nonisolated func received(_ message: WebSocketMessage) {
        handle.checkIsolated()
        if inbound.deliver(message, size: message.byteCount) { socket?.value.connection.pauseReading() }
    }

    nonisolated func writabilityChanged(_ isWritable: Bool) {
        handle.checkIsolated()
        guard isWritable else { return }
        writeWaiters.resumeAll()
    }

    func closed(code: WebSocketCloseCode, reason: String) {
        closeCode = code
        closeReason = reason
        openWaiters.resumeAll(throwing: AsyncWebSocketError.closed)
        inbound.finish(nil)
        writeWaiters.resumeAll(throwing: AsyncWebSocketError.closed)
    }

    // MARK: Internals

    private func waitUntilWritable() async throws {
        guard let ws = socket?.value, !ws.isWritable else { return }
        try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
            if closeCode != nil {
                continuation.resume(throwing: AsyncWebSocketError.closed)
            } else if socket?.value.isWritable ?? true {
                continuation.resume()
            } else {
                writeWaiters.add(continuation)
            }
        }
    }
}

public enum AsyncWebSocketError: Error, Sendable {
    /// The connection is closing or closed (`closeCode` says how).
    case closed
}

extension AsyncWebSocket {
    /// `AsyncWebSocket.messages`.
    public struct Messages: AsyncSequence, Sendable {
        public typealias Element = WebSocketMessage
        let socket: AsyncWebSocket

        public struct AsyncIterator: AsyncIteratorProtocol {
            let socket: AsyncWebSocket
            public mutating func next() async throws -> WebSocketMessage? { try await socket.receive() }
            /// What `for try await` calls: it runs where the loop runs, so a loop isolated to the
            /// socket (an upgrade's body) receives with no hop off the actor and back.
            public mutating func next(isolation actor: isolated (any Actor)?) async throws(any Error) -> WebSocketMessage? {
                switch socket.receiveOnLoop() {
                case .message(let message)?:
                    return message
                case .wait?:
                    return try await withUnsafeThrowingContinuation { socket.park($0) }
                case nil:
                    return try await socket.receive()
                }
            }
        }

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(socket: socket) }
    }
}

extension WebSocketMessage {
    var byteCount: Int {
        switch self {
        case .text(let t): t.utf8.count
        case .binary(let b): b.count
        }
    }
}
