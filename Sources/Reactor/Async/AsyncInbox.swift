/// Owned items waiting for one async reader, their byte total bounded by watermarks: the one
/// mechanism behind every inbound `AsyncSequence` of the runtime (`TCPChannel.inbound`,
/// `AsyncWebSocket.messages`, `HTTPBodyStream.chunks`).
///
/// The owner feeds it from its loop callbacks and acts on what it answers: `deliver` says when
/// the kept bytes passed the high watermark (stop reading the socket), `read` and `takeKept` when
/// they fell to the low one (read again). A reader's turn is decided inside its continuation's
/// body (`read(into:)`), because the runtime may run that body as a job of its own, after
/// callbacks that delivered items or ended the stream: a check made before the `await` could
/// miss them and wait forever.
///
/// Not thread-safe: its owner keeps it on the loop (an actor on the loop, or a class used there).
///
/// Public behind an SPI, not `package`, and inlinable, so that each owner's module specializes it
/// for its element (`@inlinable package` declarations are not inlined across modules by Swift
/// 6.3's optimizer: checked on a two-module package). Used generically across
/// the module boundary, every call looked up the element's metadata at run time (the tuple
/// `(element:size:)` hashed its labels on each `deliver`: a tenth of an async echo's instructions).
/// Its continuations are unsafe ones: a checked continuation allocates a canary per wait, and the
/// one-resume rule is this type's own invariant (each path takes `waiter` before resuming it).
@_spi(AsyncPlumbing) public struct AsyncInbox<Element: Sendable> {
    public let highWatermark: Int
    public let lowWatermark: Int
    @usableFromInline var kept: [(element: Element, size: Int)] = []
    @usableFromInline var head = 0
    /// Bytes kept for the reader.
    @inlinable public var bytes: Int { keptBytes }
    @usableFromInline var keptBytes = 0
    @usableFromInline var waiter: UnsafeContinuation<Element?, any Error>?
    /// nil while items may still come; then `.some(nil)` for an end, `.some(error)` for a failure.
    @usableFromInline var end: (any Error)??
    /// Whether the inbox has asked its owner to stop its source (and not yet to restart it).
    @inlinable public var isPausing: Bool { pausing }
    @usableFromInline var pausing = false

    @inlinable public init(highWatermark: Int, lowWatermark: Int) {
        precondition(lowWatermark >= 0 && lowWatermark <= highWatermark,
                     "the low watermark (\(lowWatermark)) must be between 0 and the high one (\(highWatermark))")
        self.highWatermark = highWatermark
        self.lowWatermark = lowWatermark
    }

    @inlinable public var isFinished: Bool { end != nil }
    @inlinable public var hasKept: Bool { head < kept.count }
    @inlinable public var hasWaiter: Bool { waiter != nil }

    /// An item arrived: handed to the waiting reader, or kept. True when the owner should stop
    /// its source now (the kept bytes passed the high watermark).
    @inlinable public mutating func deliver(_ element: Element, size: Int) -> Bool {
        if let waiter {
            self.waiter = nil
            waiter.resume(returning: element)
            return false
        }
        kept.append((element, size))
        keptBytes += size
        if keptBytes > highWatermark && !pausing {
            pausing = true
            return true
        }
        return false
    }

    /// The reader's turn, from inside its continuation's body: resumed at once with a kept item,
    /// the end (nil) or the failure, or left waiting for the next `deliver` or `finish`. True
    /// when the owner should restart its source (the kept bytes fell to the low watermark).
    @inlinable public mutating func read(into continuation: UnsafeContinuation<Element?, any Error>) -> Bool {
        precondition(waiter == nil, "two readers of one inbound sequence at once")
        if let (element, restart) = takeKept() {
            continuation.resume(returning: element)
            return restart
        }
        if let end {
            if let error = end { continuation.resume(throwing: error) } else { continuation.resume(returning: nil) }
            return false
        }
        waiter = continuation
        return false
    }

    /// A kept item, for a reader that does not wait (callbacks); `restart` as in `read`.
    @inlinable public mutating func takeKept() -> (element: Element, restart: Bool)? {
        guard head < kept.count else { return nil }
        let (element, size) = kept[head]
        head += 1
        keptBytes -= size
        if head == kept.count {
            kept.removeAll(keepingCapacity: true)
            head = 0
        }
        if pausing && keptBytes <= lowWatermark {
            pausing = false
            return (element, true)
        }
        return (element, false)
    }

    /// No more items: after what is kept, the reader gets nil, or `error`. Once only.
    @inlinable public mutating func finish(_ error: (any Error)?) {
        guard end == nil else { return }
        end = .some(error)
        pausing = false
        guard let waiter else { return }
        self.waiter = nil
        if let error { waiter.resume(throwing: error) } else { waiter.resume(returning: nil) }
    }

    /// The waiting reader gives up: its task was cancelled.
    @inlinable public mutating func cancelWaiter() {
        guard let waiter else { return }
        self.waiter = nil
        waiter.resume(throwing: CancellationError())
    }
}
