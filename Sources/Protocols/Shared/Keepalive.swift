/// The rule every "ping the peer, give up when it does not answer" timer follows, without the
/// timer: after `interval` of quiet, send a ping and wait `answerTimeout` for an answer; an
/// answer (whatever counts as one) ends the wait; a wait that runs out is a dead peer.
///
/// Used by the WebSocket connection machine (any frame counts as the answer, RFC 6455 5.5.3's
/// "a Pong frame MAY be sent unsolicited" and the reference servers' practice) and the Engine.IO
/// session machine (only a pong counts: the reference server reverted resetting the deadline on
/// other packets, socket.io issue 5450). The timer itself stays the driver's: one re-armed timer
/// per connection, so "heard from the peer" is two stores, never a timer operation, and a
/// WebSocket message costs no more than it did.
///
/// Not used, and why:
/// - SSE's heartbeat (`SSEStream`) is one-way: a comment every interval that proxies see, with
///   no answer to wait for and nothing heard from the client; a repeating timer is all it is.
/// - The Redis client (`RedisConnection`) waits for the reply of any command in flight, not for
///   its PING alone: its deadline is a property of the pipeline (pending replies), re-armed on
///   every read through the connection's coarse timeout, and a PING is only its idle probe.
public struct Keepalive: Sendable {
    /// What to do when the keepalive timer goes off.
    public enum Decision: Equatable, Sendable {
        /// The peer was heard from recently: re-arm the timer for this long and do nothing else.
        case wait(Duration)
        /// Quiet for the whole interval: send a ping, then re-arm the timer for the answer's deadline.
        case ping(thenWait: Duration)
        /// A ping went out and nothing answered it within the deadline: the peer is gone.
        case timedOut
    }

    /// When the peer was last heard from (nanoseconds, any monotonic clock).
    public private(set) var lastHeard: UInt64
    /// A ping went out and no answer has come since.
    public private(set) var awaitingAnswer = false

    public init(now: UInt64) { lastHeard = now }

    /// The peer answered (or said anything that counts as an answer).
    public mutating func heard(now: UInt64) {
        lastHeard = now
        awaitingAnswer = false
    }

    /// The keepalive timer went off at `now`: what to do, and the ping (if any) is recorded as sent.
    public mutating func timerFired(now: UInt64, interval: Duration, answerTimeout: Duration) -> Decision {
        let decision = Self.decide(quietFor: Self.elapsed(since: lastHeard, now: now), awaitingAnswer: awaitingAnswer,
                                   interval: interval, answerTimeout: answerTimeout)
        if case .ping = decision { awaitingAnswer = true }
        return decision
    }

    /// The rule alone, for a machine that keeps the two fields itself (the WebSocket machine packs
    /// them between others to stay within one 64-byte allocation).
    @inlinable
    public static func decide(quietFor: Duration, awaitingAnswer: Bool, interval: Duration, answerTimeout: Duration) -> Decision {
        if awaitingAnswer { return .timedOut }
        if quietFor < interval { return .wait(interval - quietFor) }
        return .ping(thenWait: answerTimeout)
    }

    /// `now - since` as a Duration (wrapping arithmetic: both are readings of one monotonic clock).
    @inlinable
    public static func elapsed(since: UInt64, now: UInt64) -> Duration {
        .nanoseconds(Int64(truncatingIfNeeded: now &- since))
    }
}
