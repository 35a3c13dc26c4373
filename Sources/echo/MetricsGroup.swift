import Glibc
import Connections
import Reactor
import Synchronization

/// What one loop reports for `/metrics`: plain values, so it can cross to the loop that answers.
struct LoopSnapshot: Sendable {
    var statistics: LoopStatistics
    var connections: Int
    var queuedBytes: Int
    var bufferedInputBytes: Int
    var armedTimers: Int
    var demo: DemoCounters
    var published: Int
    var delivered: Int
    var encoded: Int
    var subscribers: Int
    var rooms: Int
}

/// Every loop's metrics, so that `/metrics` covers the whole process whichever loop the request
/// lands on (with `--threads N` the kernel spreads connections over N listeners).
///
/// Each loop registers itself once at start-up; its `DemoMetrics` and `PubSub` are then only ever
/// read on its own thread, through its handle's `execute`, and the answers come back the same
/// way. The lock guards the member list alone: that, and never touching a member's objects off
/// its loop, is why this type can be `@unchecked Sendable`.
final class MetricsGroup: @unchecked Sendable {
    static let shared = MetricsGroup()

    /// Wall-clock seconds at start-up, for `process_start_time_seconds`.
    let startTime = Int(time(nil))

    private struct Member: @unchecked Sendable {
        let handle: EventLoopHandle
        let metrics: DemoMetrics
        let pubsub: PubSub
    }
    private let members = Mutex<[Member]>([])

    func register(_ metrics: DemoMetrics, pubsub: PubSub) {
        let member = Member(handle: metrics.loop.handle, metrics: metrics, pubsub: pubsub)
        members.withLock { $0.append(member) }
    }

    /// Collects every loop's snapshot and calls `done` on `loop` (the one answering). A loop that
    /// has closed, or does not answer within a second (shutting down), is left out.
    func gather(on loop: EventLoop, _ done: @escaping ([LoopSnapshot]) -> Void) {
        let all = members.withLock { $0 }
        let gathering = Gathering(expected: all.count, done: done)
        let back = loop.handle
        for m in all {
            if m.handle === back {
                gathering.add(Self.snapshot(m))
                continue
            }
            let reply = LoopConfined(gathering)
            let accepted = m.handle.execute { _ in
                let s = Self.snapshot(m)
                back.execute { _ in reply.value.add(s) }
            }
            if !accepted { gathering.add(nil) }
        }
        if !gathering.isFinished {
            let timer = loop.schedule(after: .seconds(1)) { gathering.finish() }
            gathering.timer = (loop, timer)
        }
    }

    /// On `m`'s own loop.
    private static func snapshot(_ m: Member) -> LoopSnapshot {
        let loop = m.metrics.loop
        let demo = m.metrics.snapshot
        return LoopSnapshot(
            statistics: loop.statistics, connections: loop.connectionCount, queuedBytes: loop.queuedBytes,
            bufferedInputBytes: loop.bufferedInputBytes.held + loop.bufferedInputBytes.pooled,
            armedTimers: loop.armedTimerCount, demo: demo,
            published: m.pubsub.publishCount,
            // The demo's own room observers are subscribers and get deliveries too: not clients.
            delivered: m.pubsub.deliveryCount - Int(demo.observerDeliveries),
            encoded: m.pubsub.encodeCount,
            subscribers: m.pubsub.subscriberCount - m.metrics.watchedRooms,
            rooms: m.pubsub.topicCount)
    }
}

/// Snapshots arriving on the answering loop, one per member, until all are in or time is up.
private final class Gathering {
    private var snapshots: [LoopSnapshot] = []
    private var remaining: Int
    private var done: (([LoopSnapshot]) -> Void)?
    var timer: (EventLoop, TimerID)?

    init(expected: Int, done: @escaping ([LoopSnapshot]) -> Void) {
        remaining = expected
        self.done = done
    }

    var isFinished: Bool { done == nil }

    func add(_ s: LoopSnapshot?) {
        if let s { snapshots.append(s) }
        remaining -= 1
        if remaining <= 0 { finish() }
    }

    func finish() {
        guard let done else { return }
        self.done = nil
        if let t = timer { t.0.cancel(t.1) }
        timer = nil
        done(snapshots)
    }
}

/// A loop-bound object carried through another loop's `execute` and used only back on its own.
private struct LoopConfined<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

extension DemoMetrics {
    /// Registers this loop's counters with the process and routes `GET /metrics` to the
    /// Prometheus text of all of them.
    func install(on router: HTTPRouter, pubsub: PubSub) {
        MetricsGroup.shared.register(self, pubsub: pubsub)
        router.get("/metrics") { _, res in
            MetricsGroup.shared.gather(on: res.connection.loop) { snapshots in
                let text = PrometheusText.render(snapshots, startTime: MetricsGroup.shared.startTime)
                res.respond(contentType: "text/plain; version=0.0.4; charset=utf-8",
                            headers: [("Cache-Control", "no-store")], body: text)
            }
        }
    }
}
