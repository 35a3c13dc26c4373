/// The bytes held by the incomplete messages of every WebSocket of one loop, so that their sum
/// can be bounded (`WebSocketLimits.incompleteMessageBudget`) and not only each one.
///
/// One per loop, shared by reference by the endpoints of that loop's sockets and used on its
/// thread only (hence not Sendable). The glue takes it from the loop's local storage
/// (`EventLoop.local`); tests and fuzzers make their own. It only counts: each endpoint charges
/// what it holds between reads and refunds it when the message ends or fails or the socket
/// closes, so the count returns to zero when no message is incomplete.
public final class WebSocketMessageBudget {
    /// Bytes charged now.
    public private(set) var held = 0
    /// Sockets failed because their message would have crossed the budget.
    public private(set) var refusals = 0

    public init() {}

    /// Bytes still free under `limit`.
    func available(under limit: Int) -> Int { max(0, limit - held) }

    /// Moves the charge of one endpoint from `old` to `new` bytes; false (and no change) when
    /// growing would cross `limit`. Shrinking always succeeds.
    func recharge(from old: Int, to new: Int, limit: Int) -> Bool {
        if new > old && held - old + new > limit { return false }
        held += new - old
        return true
    }

    func noteRefusal() { refusals += 1 }
}
