/// What every socket of one configuration on one loop shares, fixed when it is made: the
/// connection machine's timings, the message layer's limits, and the loop's budget for
/// incomplete messages. Each socket's machine and endpoint refer to one of these (8 bytes each)
/// instead of holding copies (36 bytes): an idle socket's bytes count, at 10,000 of them (issue
/// 18). The glue keeps one per configuration in use on a loop; a test or a fuzzer may make its
/// own (the machine's and the endpoint's value initialisers do).
///
/// Not Sendable: the budget it carries counts on its loop's thread only.
public final class WebSocketSettings {
    public let timings: WebSocketConnection.Timings
    public let limits: WebSocketLimits
    /// The loop-wide count of bytes held by incomplete messages; nil: only `maxMessageSize`
    /// bounds them.
    public let budget: WebSocketMessageBudget?

    public init(timings: WebSocketConnection.Timings = WebSocketConnection.Timings(), limits: WebSocketLimits = WebSocketLimits(),
                budget: WebSocketMessageBudget? = nil) {
        self.timings = timings
        self.limits = limits
        self.budget = budget
    }

    /// Whether these are the settings a socket with `timings` and `limits` on `budget`'s loop
    /// would be made with (so it may share them).
    public func matches(timings: WebSocketConnection.Timings, limits: WebSocketLimits, budget: WebSocketMessageBudget?) -> Bool {
        self.timings == timings && self.limits == limits && self.budget === budget
    }
}
