import Protocols
import Reactor

/// A held long-poll request: answered by the first message published after it subscribed, or
/// empty when its timer (in the loop's timing wheel) fires or the server shuts down gracefully,
/// or dropped when the client leaves. It answers once, so the topic's gate never holds for it
/// (it is always writable: the answer is one response, bounded by the page it carries).
public final class LongPollSubscription: TopicSubscriber {
    public let topic: Topic
    private let respond: ([TopicMessage]) -> Void
    private var timer: TimerID?
    private let loop: EventLoop
    private var token: SubscriberToken?

    /// Subscribes until a message arrives or `timeout` passes; `respond` runs exactly once,
    /// with the new messages (or none at the timeout), unless `cancel()` runs first.
    public init(topic: Topic, responder: HTTPResponder, timeout: Duration, respond: @escaping ([TopicMessage]) -> Void) {
        self.topic = topic
        self.respond = respond
        self.loop = responder.connection.loop
        token = topic.subscribe(self)
        timer = loop.schedule(after: timeout) { [weak self] in self?.finish([]) }
        responder.onAbandoned { [weak self] in self?.cancel() }
        // A server going away answers at once, as the timeout would (the client polls elsewhere).
        responder.onShutdown { [weak self] in self?.finish([]) }
    }

    public func topic(_ topic: Topic, didPublish message: TopicMessage) {
        finish([message])
    }

    /// Answered empty at once: the client's next poll finds the room's new numbering.
    public func topicDidRestart(_ topic: Topic) { finish([]) }

    public func cancel() {
        if let timer { loop.cancel(timer) }
        timer = nil
        if let token { topic.unsubscribe(token) }
        token = nil
    }

    private func finish(_ messages: [TopicMessage]) {
        guard let token, topic.isSubscribed(token) else { return }
        cancel()
        respond(messages)
    }
}
