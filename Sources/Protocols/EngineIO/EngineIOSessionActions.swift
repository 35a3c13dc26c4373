/// The inputs' answers of `EngineIOSessionMachine`: what the driver does next.
extension EngineIOSessionMachine {
    /// The timers a session runs; arming one that runs replaces it.
    public enum Timer: Equatable, Sendable {
        /// Alternately "send the next ping" (`pingInterval`) and "the pong is late" (`pingTimeout`).
        case heartbeat
        /// How long a server-closed polling session waits for the poll that takes its close packet.
        case closing
        /// How long a probing WebSocket may take to send `5` after it opened.
        case upgrade
    }

    /// Where a packet the application sends goes.
    public enum SendRoute: Equatable, Sendable {
        /// Straight onto the WebSocket transport (then report its backlog: `webSocketBacklog`).
        case webSocket
        /// Into the queue: build the packet and `enqueue` it.
        case queue
        /// Nowhere: the session is closing or closed.
        case drop
    }

    /// What a received packet asks of the driver.
    public enum Reaction {
        /// Nothing.
        case none
        /// Hand the packet's data to the application.
        case deliver
        /// Perform these.
        case perform([Action])
    }

    /// The answer to a request the driver is handling now (not the held poll).
    public enum Response: Equatable, Sendable {
        /// 200, `text/plain; charset=UTF-8`, this body (a noop `6`, say).
        case packets([UInt8])
        /// 200, `text/html`, `ok`: a POST was taken.
        case ok
        /// 413 `Payload Too Large`.
        case payloadTooLarge
        /// The protocol's error answer (400 and its JSON body).
        case error(EngineIORequestError)
    }

    /// One thing for the driver to do. Perform them in the order given.
    public enum Action {
        /// Keep the GET being handled as the held long poll.
        case holdPoll
        /// Answer the held long poll (200, `text/plain; charset=UTF-8`) with this body, and let go of it.
        case answerHeldPoll([UInt8])
        /// Answer the request being handled.
        case respond(Response)
        /// Send this packet on the WebSocket transport.
        case sendOnWebSocket(Packet)
        /// Send this text packet on the probing WebSocket (`3probe`).
        case sendOnProbe([UInt8])
        /// The probing WebSocket is the transport from now on.
        case adoptProbe
        /// Let go of the probing WebSocket and close it with this code and reason (the machine has
        /// already forgotten it: its close is not reported back).
        case closeProbe(WebSocketCloseCode, String)
        /// Close the WebSocket transport with this code and reason (its queued bytes are flushed).
        case closeWebSocket(WebSocketCloseCode, String)
        /// Drop the WebSocket transport's connection at once, its backlog unsent (a slow consumer).
        case abortWebSocket
        case armTimer(Timer, Duration)
        case cancelTimer(Timer)
        /// One line for the error log (the driver names the session).
        case log(String)
        /// The session ended: leave the server's table, tell the application. The last action.
        case finished(EngineIOCloseReason)
    }
}

extension EngineIOSessionMachine.Action: Equatable where Packet: Equatable {}
extension EngineIOSessionMachine.Reaction: Equatable where Packet: Equatable {}

/// A packet as the driver queues it: the machine asks its size (for the queue's byte bound) and
/// its polling form (for the payload), and makes control packets (ping, pong, close) itself.
public protocol EngineIOQueuedPacket {
    /// A text packet: the type digit, then the data.
    init(text: [UInt8])
    /// The bytes it counts for against `maxQueuedBytes` (about its polling form's size).
    var queuedByteCount: Int { get }
    /// Appends its polling form: text as is, binary as `b` and base64.
    func appendPolling(to out: inout [UInt8])
}
