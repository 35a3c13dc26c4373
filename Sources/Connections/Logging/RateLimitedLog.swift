import Protocols
import Reactor

/// Lines about misbehaving peers, through a token bucket: `burst` lines at once, then `perSecond`
/// lines a second. A flood of bad clients must not flood the log, nor slow the loop that writes
/// it (each line is a write(2)). Lines over the budget are only counted; once a second, while
/// there are any, one summary line says how many were left out.
///
/// One per loop and component, used on that loop's thread only: with several loops the budget is
/// per loop. Every line is escaped and capped whole (`LogText`): lines name what peers sent.
public final class RateLimitedLog {
    /// Where the lines go (change it at any time).
    public var sink: LogSink
    public let level: LogLevel
    /// Put in front of every line (`"http: "`), so a shared sink can tell components apart.
    public let label: String
    private let loop: EventLoop
    private let perSecond: Double
    private let burst: Double
    private var tokens: Double
    private var refilledAt: UInt64
    private var suppressed = 0
    private var summaryTimer: TimerID?
    /// Lines left out since the start, for metrics.
    public private(set) var suppressedTotal: UInt64 = 0

    public init(sink: LogSink, level: LogLevel, label: String = "", loop: EventLoop, perSecond: Double = 10, burst: Double = 20) {
        self.sink = sink
        self.level = level
        self.label = label
        self.loop = loop
        self.perSecond = perSecond
        self.burst = burst
        self.tokens = burst
        self.refilledAt = loop.now
    }

    deinit {
        if let summaryTimer { loop.cancel(summaryTimer) }
    }

    public func callAsFunction(_ message: @autoclosure () -> String) {
        guard sink.isEnabled(level) else { return }
        // The loop's clock is read once per iteration: a flood within one iteration shares it.
        let now = loop.now
        tokens = min(burst, tokens + Double(now &- refilledAt) / 1e9 * perSecond)
        refilledAt = now
        if tokens >= 1 {
            tokens -= 1
            sink(level, label + LogText.escape(message(), limit: LogText.lineLimit))
            return
        }
        suppressed += 1
        suppressedTotal &+= 1
        if summaryTimer == nil {
            summaryTimer = loop.schedule(after: .seconds(1)) { [weak self] in self?.writeSummary() }
        }
    }

    private func writeSummary() {
        summaryTimer = nil
        guard suppressed > 0 else { return }
        let n = suppressed
        suppressed = 0
        sink(level, "\(label)\(n) similar line\(n == 1 ? "" : "s") suppressed (more than \(Int(perSecond)) a second)")
    }
}
