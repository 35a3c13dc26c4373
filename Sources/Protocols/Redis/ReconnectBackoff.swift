/// The delays between reconnect attempts: exponential (100 ms doubling to 5 s by default) with
/// "equal jitter": each delay is half the current step plus a random part of the other half.
/// Jitter keeps many processes that lost the same server from knocking on it in lockstep when it
/// returns; the fixed half keeps a retry from coming too soon.
public struct ReconnectBackoff: Sendable {
    public let initial: Duration
    public let maximum: Duration
    private var step: Duration
    /// Consecutive failures since the last success.
    public private(set) var failures = 0

    public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(5)) {
        precondition(initial > .zero && maximum >= initial)
        self.initial = initial
        self.maximum = maximum
        self.step = initial
    }

    /// The delay before the next attempt; each call doubles the step up to `maximum`.
    /// `random` returns a number in 0..<1 (injectable for tests).
    public mutating func nextDelay(random: () -> Double = { Double.random(in: 0..<1) }) -> Duration {
        let half = step / 2
        let delay = half + half * random()
        failures += 1
        step = min(step * 2, maximum)
        return delay
    }

    /// A connection succeeded: start again from `initial`.
    public mutating func reset() {
        step = initial
        failures = 0
    }
}

extension Duration {
    /// Whole milliseconds, rounded down (for log lines).
    package var wholeMilliseconds: Int64 {
        let (s, a) = components
        return s * 1000 + a / 1_000_000_000_000_000
    }
}
