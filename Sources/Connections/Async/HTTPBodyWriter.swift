import Protocols
@_spi(AsyncPlumbing) import Reactor

/// Writes a streamed response body from async code (`HTTPResponse(stream:)`), on the response's
/// loop: each write goes out at once, and suspends while the connection's outbound queue is
/// above its high watermark (until it drains to the low one), so a slow client slows the writer
/// instead of growing memory. Writes throw `HTTPBodyWriterError.clientGone` once the client left.
///
/// Used from the route's task, which runs on the loop (each method checks it).
public final class HTTPBodyWriter {
    let responder: HTTPResponder
    private var waiters = AsyncWaiters()
    private var gone = false

    init(_ responder: HTTPResponder) {
        self.responder = responder
        responder.onWritabilityChange { [weak self] writable in if writable { self?.waiters.resumeAll() } }
        responder.onAbandoned { [weak self] in
            self?.gone = true
            self?.waiters.resumeAll(throwing: HTTPBodyWriterError.clientGone)
        }
    }

    public func write(_ bytes: [UInt8]) async throws {
        responder.connection.loop.handle.checkIsolated()
        guard !gone, bytes.withUnsafeBytes({ responder.write($0) }) else { throw HTTPBodyWriterError.clientGone }
        try await waitUntilWritable()
    }

    public func write(_ text: String) async throws {
        try await write(Array(text.utf8))
    }

    /// Whether the client is still there to write to.
    public var isOpen: Bool { !gone && responder.isPending }

    private func waitUntilWritable() async throws {
        guard !responder.connection.isWritable else { return }
        try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
            // Decided inside the body: the runtime may run it as a job of its own, after the
            // writability or abandon callbacks it must see.
            if gone {
                continuation.resume(throwing: HTTPBodyWriterError.clientGone)
            } else if responder.connection.isWritable {
                continuation.resume()
            } else {
                waiters.add(continuation)
            }
        }
    }
}

public enum HTTPBodyWriterError: Error, Sendable {
    /// The client went away (or the connection closed) before the body was complete.
    case clientGone
}

/// Server-Sent Events written from async code (`HTTPResponse.eventStream`): each `send` is one
/// event, suspending while the client is slow.
public struct SSEEventWriter {
    let body: HTTPBodyWriter

    init(_ body: HTTPBodyWriter) { self.body = body }

    public func send(id: String? = nil, event: String? = nil, data: String) async throws {
        var out: [UInt8] = []
        SSEEncoder.encode(id: id, event: event, data: data, into: &out)
        try await body.write(out)
    }

    /// A comment line (`: text`), which clients ignore: a heartbeat for proxies.
    public func comment(_ text: String) async throws {
        try await body.write(Array(SSEEncoder.comment(text)))
    }

    public var isOpen: Bool { body.isOpen }
}
