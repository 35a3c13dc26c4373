import Reactor

/// An open `text/event-stream` response: events go out as they are written, with comment
/// heartbeats on a timer so proxies keep the stream open, until the client goes away.
///
/// The body is delimited by closing the connection (no chunked framing), so an event encoded once
/// as `SharedBytes` is sent byte for byte to every subscriber.
public final class SSEStream {
    public let responder: HTTPResponder
    private var heartbeat: TimerID?
    private var onClose: [() -> Void] = []
    private let loop: EventLoop

    /// The shared heartbeat comment.
    static let heartbeatBytes = SharedBytes(SSEEncoder.comment("heartbeat"))

    /// Starts the stream on `responder`: status 200, `text/event-stream`, no caching.
    /// `retry` tells the browser how long to wait before reconnecting.
    public init?(responder: HTTPResponder, heartbeatInterval: Duration? = .seconds(15), retry: Int? = 2000) {
        self.responder = responder
        self.loop = responder.connection.loop
        let started = responder.beginStream(
            .ok, contentType: "text/event-stream; charset=utf-8",
            headers: [("Cache-Control", "no-cache"), ("X-Accel-Buffering", "no")], framing: .untilClose)
        guard started else { return nil }
        if let retry {
            // No blank line after it: the field joins the first event's block instead of
            // forming an event of its own.
            var out: [UInt8] = []
            out += "retry: \(retry)\n".utf8
            out.withUnsafeBytes { _ = responder.write($0) }
        }
        if let heartbeatInterval {
            heartbeat = loop.scheduleRepeating(every: heartbeatInterval) { [weak self] in
                guard let self else { return }
                if !self.responder.write(Self.heartbeatBytes) { self.finish() }
            }
        }
        responder.onAbandoned { [weak self] in self?.finish() }
    }

    /// Whether the client is still connected.
    public var isOpen: Bool { responder.isPending }

    /// The connection under the stream (for its watermarks and buffered amount).
    public var connection: Connection { responder.connection }

    /// Sends encoded event bytes (from `SSEEncoder`).
    @discardableResult
    public func send(_ event: SharedBytes) -> Bool { responder.write(event) }

    @discardableResult
    public func send(id: String? = nil, event: String? = nil, data: String) -> Bool {
        var out: [UInt8] = []
        SSEEncoder.encode(id: id, event: event, data: data, into: &out)
        return out.withUnsafeBytes { responder.write($0) }
    }

    /// Runs `body` once when the stream ends (client gone, or `close()`).
    public func onClose(_ body: @escaping () -> Void) { onClose.append(body) }

    /// Ends the stream and closes the connection.
    public func close() {
        responder.end()
        finish()
    }

    private func finish() {
        if let heartbeat { loop.cancel(heartbeat) }
        heartbeat = nil
        let handlers = onClose
        onClose = []
        for h in handlers { h() }
    }
}
