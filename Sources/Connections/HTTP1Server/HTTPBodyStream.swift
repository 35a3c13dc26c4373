import Protocols
@_spi(AsyncPlumbing) import Reactor

/// A request body read as it arrives, for a route registered with `streamsBody: true`: the
/// handler runs when the head arrives, and the body follows here, chunk by chunk, instead of
/// being buffered whole before the handler runs. For uploads larger than memory should hold, and
/// for request bodies that are themselves streams.
///
/// Two ways to read it, on the request's loop:
/// - callbacks: `onChunk` gets each chunk borrowed (valid during the call), `onEnd` the outcome;
///   `pause()` / `resume()` stop and restart reading the socket;
/// - async: `for try await chunk in stream.chunks` (owned `[UInt8]` chunks) from a task on the
///   loop, as an async route's is.
/// Chunks that arrive before a reader is attached are kept (owned copies), and so are chunks an
/// async reader has not taken yet: at most `highWatermark` bytes, past which the socket is not
/// read until the reader is down to `lowWatermark`. The body's total is bounded by the route's
/// body limit as always (413 and close past it).
///
/// A response completed before the body ended closes the connection after it (the rest of the
/// body is not read), and the stream ends with `.responseCompleted`.
public final class HTTPBodyStream {
    let connection: Connection
    public let highWatermark: Int
    public let lowWatermark: Int
    /// Body bytes received so far.
    public private(set) var receivedBytes = 0

    private var chunkHandler: ((UnsafeRawBufferPointer) -> Void)?
    private var endHandler: ((HTTPBodyStreamError?) -> Void)?
    /// Chunks no reader has taken yet (owned copies).
    private var held: AsyncInbox<[UInt8]>
    private var pausedByUser = false
    private var outcome: HTTPBodyStreamError??   // nil: still arriving; .some(nil): ended well

    init(connection: Connection, highWatermark: Int = 256 << 10, lowWatermark: Int = 64 << 10) {
        self.connection = connection
        self.highWatermark = highWatermark
        self.lowWatermark = lowWatermark
        self.held = AsyncInbox(highWatermark: highWatermark, lowWatermark: lowWatermark)
    }

    // MARK: Callbacks

    /// `body` gets every chunk from now on (first those already held), borrowed.
    public func onChunk(_ body: @escaping (UnsafeRawBufferPointer) -> Void) {
        chunkHandler = body
        while let (chunk, restart) = held.takeKept() {
            if restart { resumeUnlessPausedByUser() }
            chunk.withUnsafeBytes(body)
        }
        if outcome != nil { runEnd() }
    }

    /// `body` runs once when the body has ended (nil) or failed (the reason).
    public func onEnd(_ body: @escaping (HTTPBodyStreamError?) -> Void) {
        endHandler = body
        if outcome != nil && (chunkHandler != nil || !held.hasKept) { runEnd() }
    }

    /// Stops reading the socket (TCP then slows the client) until `resume()`.
    public func pause() {
        pausedByUser = true
        connection.pauseReading()
    }

    public func resume() {
        pausedByUser = false
        if !held.isPausing { connection.resumeReading() }
    }

    // MARK: Async

    /// The chunks as an `AsyncSequence` of owned bytes, ending with the body (or throwing its
    /// failure). Read from a task on the request's loop.
    public var chunks: Chunks { Chunks(stream: self) }

    public struct Chunks: AsyncSequence {
        public typealias Element = [UInt8]
        let stream: HTTPBodyStream

        public struct AsyncIterator: AsyncIteratorProtocol {
            let stream: HTTPBodyStream
            public mutating func next() async throws -> [UInt8]? { try await stream.next() }
        }

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(stream: stream) }
    }

    func next() async throws -> [UInt8]? {
        connection.loop.handle.checkIsolated()
        precondition(chunkHandler == nil, "HTTPBodyStream: read with onChunk and as chunks at once")
        return try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<[UInt8]?, any Error>) in
            if held.read(into: continuation) { resumeUnlessPausedByUser() }
        }
    }

    // MARK: From the connection

    func deliver(_ bytes: UnsafeRawBufferPointer) {
        receivedBytes += bytes.count
        if let chunkHandler {
            chunkHandler(bytes)
            return
        }
        if held.deliver([UInt8](bytes), size: bytes.count) { connection.pauseReading() }
    }

    func finish(_ error: HTTPBodyStreamError?) {
        guard outcome == nil else { return }
        outcome = .some(error)
        if held.isPausing || pausedByUser {
            // The body is over: what follows on the connection (the next request) is read again.
            pausedByUser = false
            connection.resumeReading()
        }
        held.finish(error)
        if chunkHandler != nil || !held.hasKept { runEnd() }
    }

    var isFinished: Bool { outcome != nil }

    // MARK: Internals

    private func resumeUnlessPausedByUser() {
        if !pausedByUser { connection.resumeReading() }
    }

    private func runEnd() {
        guard let outcome, let end = endHandler else { return }
        endHandler = nil
        end(outcome)
    }
}

/// Why a streamed request body ended early.
public enum HTTPBodyStreamError: Error, Sendable, Equatable {
    /// The connection closed (the client left, a timeout, a shutdown) before the body ended.
    case connectionClosed
    /// The response was completed before the body ended; the rest is not read.
    case responseCompleted
    /// The body passed the route's limit (answered 413, and the connection closed).
    case tooLarge
}
