/// A reading of the monotonic nanosecond clock the machines are given (`now`), kept in 32 bits
/// for state that sits in every idle connection (issue 18: a WebSocket keeps two).
///
/// It counts whole milliseconds, wrapping every 2^32 ms, about 49.7 days. `elapsed(until:)`
/// subtracts with wrapping arithmetic, so it is right for any span shorter than that; every span
/// it is used for is bounded by a timer far shorter (the 32-bit millisecond timings). It rounds
/// up: it reports the true span plus the fraction of a millisecond the instant dropped, never
/// less, so a deadline judged with it comes less than 1 ms early and never late, and a timer
/// re-armed for what is left never fires to find that a sliver remains. (Readings in whole
/// milliseconds, as the tests give, are exact.)
public struct CoarseInstant: Equatable, Sendable {
    @usableFromInline var milliseconds: UInt32

    /// The instant `now` (nanoseconds on the monotonic clock).
    @inlinable @inline(__always)
    public init(_ now: UInt64) {
        // A division by a constant: a multiply and a shift, on the path of every read.
        milliseconds = UInt32(truncatingIfNeeded: now / 1_000_000)
    }

    /// The time from this instant to `now`: `now - then`, plus `then`'s dropped fraction of a
    /// millisecond.
    @inlinable
    public func elapsed(until now: UInt64) -> Duration {
        let (nowMilliseconds, fraction) = now.quotientAndRemainder(dividingBy: 1_000_000)
        let wholeMilliseconds = UInt32(truncatingIfNeeded: nowMilliseconds) &- milliseconds
        return .nanoseconds(Int64(wholeMilliseconds) * 1_000_000 + Int64(fraction))
    }
}
