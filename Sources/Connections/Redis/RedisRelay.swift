import Protocols
import Reactor

/// Rooms across processes (and machines) through Redis, the way Socket.IO's Redis adapter does
/// it, with one sequence of ids per room everywhere, so an SSE `Last-Event-ID` or a polling cursor
/// means the same message whichever process a client reconnects to.
///
/// A message published on any loop of any process goes to this process's loop 0, which runs an
/// atomic script in Redis (`RedisRoomScripts.publish`): the room's counter gives the id, the
/// room's stream keeps the message for catching up, and one PUBLISH on `reactor:events` carries it
/// to every process. Each process is subscribed to that channel and delivers what arrives, in id
/// order (`RedisRoomSequencer` fills gaps from the stream), to its hubs: loop 0's directly, the
/// others' through their `execute` queues (FIFO, so every loop sees a room in id order). The
/// publisher's own process recognises its message by origin, skips the sender (`except`) on the
/// sender's loop and answers the publisher there, after the message is delivered locally.
///
/// While Redis is down (outage semantics):
/// - publishes are held in order, at most `maxHeld` per process (beyond it the oldest are dropped,
///   answered with id 0, and counted in the log), and sent when Redis is back, so they are
///   delivered everywhere, late, with consistent ids; their publishers are answered then;
/// - a publish in flight when the connection dropped is sent again marked as a retry, and the
///   script recognises one that had run (its origin is in the stream), so none is doubled;
/// - after reconnecting, each process raises every room's counter to its own newest id (so a
///   Redis that restarted empty continues the sequences) and reads each room's stream after its
///   newest id, delivering what it missed while unsubscribed.
/// Not delivered: messages published by another process that reached Redis but not this process
/// and were lost with Redis's memory (a restart without persistence) are skipped, with a log line.
///
/// Channel messages (`PubSub.broadcastElsewhere`: Socket.IO's broadcasts) take a lighter road, the
/// one socket.io-redis-adapter takes: no ids, no stream. The sender's loop hands the bytes to this
/// process's other loops directly, and loop 0 PUBLISHes them on `reactor:broadcast:<channel>`
/// with this process's origin token in front; every process subscribes to the channels its hubs
/// listen on and hands what arrives to each of its loops, except what carries its own token
/// (delivered here already). Like the adapter's, they are at most once: made while Redis is down
/// (or in flight when the connection dropped) they reach this process's loops only, and the log
/// counts them when Redis is back. Holding them would not help: Redis keeps no pub/sub message for
/// a subscriber that is not connected, and the other processes reconnect when their own backoff
/// says, so which of them a late publish reaches would be chance.
///
/// Threads: `relay` runs on any loop; everything else below the hubs lives on loop 0. `hubs[i]` is
/// read and written only on loop i: that is why the type can be `@unchecked Sendable`.
public final class RedisRelay: HubRelay, @unchecked Sendable {
    public struct Configuration: Sendable {
        public var redis = RedisConfiguration()
        /// Publishes held per process while Redis is down.
        public var maxHeld = 10_000
        /// Approximate length of each room's stream (`XADD MAXLEN ~`): how far back a process can
        /// catch up after missing messages.
        public var streamLength = 1000
        /// Stream entries read per catch-up request.
        public var catchUpPage = 512
        /// Rooms whose ordering state (the newest id delivered) this process remembers; past it,
        /// idle rooms are forgotten, and one seen again continues from what loop 0's hub still
        /// has of it (`RedisRoomSequencer.maxRooms`).
        public var maxRooms = 20_000

        public init() {}
    }

    private struct Publish {
        let counter: UInt64
        let room: String
        let text: SharedBytes
        /// Sent before on a connection that dropped: the script checks whether it ran.
        var retry = false
    }

    /// Who is waiting for one of this process's messages.
    private struct Owner: Sendable {
        let loop: Int
        let except: SubscriberToken?
        let done: LoopBound<((UInt64) -> Void)?>
    }

    private struct Payload {
        let origin: [UInt8]
        let text: [UInt8]
    }

    public let endpoint: RedisEndpoint
    private let address: SocketAddress
    private let configuration: Configuration
    private let log: LogSink
    private let handles: [EventLoopHandle]
    private let hubs: LoopHubs

    // Loop 0 only, from here on.
    private var commands: RedisConnection?
    private var subscriber: RedisConnection?
    private var sequencer: RedisRoomSequencer<Payload>
    /// Publishes not yet numbered, oldest first; the first `sent` are written on the current
    /// command connection.
    private var outbox = RedisFIFO<Publish>()
    private var sent = 0
    /// This process's messages not yet delivered here, by counter.
    private var owners: [UInt64: Owner] = [:]
    /// Messages numbered (the script answered) but not yet delivered here, per room: (id, counter).
    /// If the sequencer skips such an id (lost), the publisher is still answered.
    private var numbered: [String: [(UInt64, UInt64)]] = [:]
    private var counter: UInt64 = 0
    /// This process's origin prefix: random, so restarts and other processes never collide.
    private let token: [UInt8]
    private let publishSHA = RedisRoomScripts.sha(RedisRoomScripts.publish)
    private var droppedWhileDown = 0
    /// Channels some hub of this process listens on (loop 0 only).
    private var channels: Set<String> = []
    /// Those of `channels` the current subscriber connection has acknowledged: a PUBLISH on one of
    /// them counts this process among its receivers (`broadcast(_:channel:from:reachedProcesses:)`).
    private var confirmedChannels: Set<String> = []
    /// SUBSCRIBEs written on the current subscriber connection and not yet acknowledged, oldest
    /// first (acknowledgements come in order): the hub channels each names.
    private var subscribesInFlight: [[String]] = []
    /// Channel messages that reached only this process because Redis was down (for the log).
    private var broadcastsWhileDown = 0
    /// The subscription was (re)made after a connection: its acknowledgement means rooms may have
    /// missed messages. A channel subscribed later, on a connection already up, missed nothing.
    private var resyncOnSubscribed = true

    /// `handles`: every loop's, loop 0 first (it runs the Redis connections). `address` is
    /// `endpoint` resolved (before the loops run). `log` is called on loop 0.
    public init(handles: [EventLoopHandle], endpoint: RedisEndpoint, address: SocketAddress,
                configuration: Configuration = Configuration(),
                log: LogSink = .standardError()) {
        precondition(!handles.isEmpty && configuration.maxHeld > 0 && configuration.catchUpPage > 0)
        self.handles = handles
        self.hubs = LoopHubs(count: handles.count)
        self.endpoint = endpoint
        self.address = address
        self.configuration = configuration
        // Lines name rooms (a client's choice, percent-decoded: any byte) and Redis's error
        // text: escaped and capped once, whole, here (`LogText`).
        self.log = LogSink(level: log.level) { level, line in log(level, LogText.escape(line, limit: LogText.lineLimit)) }
        self.sequencer = RedisRoomSequencer(maxRooms: configuration.maxRooms)
        self.token = (0..<16).map { _ in Hex.digit(UInt8.random(in: 0..<16)) }
    }

    /// Attaches loop `index`'s hub; call on that loop before it serves anything. Registering
    /// loop 0's hub starts the Redis connections on loop 0.
    public func register(_ hub: PubSub, index: Int) {
        hubs[index] = hub
        hub.relay = self
        hub.relayIndex = index
        if index == 0 { start(on: hub.loop) }
        for channel in hub.listenedChannels { listen(channel: channel, from: hub) }
    }

    /// The Redis channel that carries a hub channel's messages.
    public static func redisChannel(_ channel: String) -> String { "reactor:broadcast:" + channel }

    /// Messages waiting for Redis (loop 0 only; for metrics).
    public var heldCount: Int { outbox.count - sent }
    /// Whether both connections are up (loop 0 only).
    public var isConnected: Bool { commands?.isReady == true && subscriber?.isReady == true }

    // MARK: Publishing

    public func relay(_ text: SharedBytes, room: String, from hub: PubSub, except: SubscriberToken?, completion: ((UInt64) -> Void)?) {
        let owner = Owner(loop: hub.relayIndex, except: except, done: LoopBound(completion, on: hub.loop))
        if owner.loop == 0 {
            enqueue(text, room: room, owner: owner)
        } else {
            handles[0].execute { [self] _ in enqueue(text, room: room, owner: owner) }
        }
    }

    private func enqueue(_ text: SharedBytes, room: String, owner: Owner) {
        counter += 1
        owners[counter] = owner
        if commands?.isReady != true && outbox.count >= configuration.maxHeld, let oldest = outbox.popFirst() {
            if droppedWhileDown == 0 {
                log(.warning, "redis \(endpoint) down: \(configuration.maxHeld) messages held, dropping the oldest from now on")
            }
            droppedWhileDown += 1
            if let o = owners.removeValue(forKey: oldest.counter) { answer(o, id: 0) }
        }
        outbox.append(Publish(counter: counter, room: room, text: text))
        pump()
    }

    /// Writes every publish not yet written, if the command connection is up.
    private func pump() {
        guard let commands, commands.isReady, sent < outbox.count else { return }
        commands.batch {
            while sent < outbox.count {
                let p = outbox[sent]
                sent += 1
                let args: [[UInt8]] = [
                    Array("EVALSHA".utf8), Array(publishSHA.utf8), [UInt8(ascii: "2")],
                    Array(RedisRoomScripts.counterKey(p.room).utf8), Array(RedisRoomScripts.streamKey(p.room).utf8),
                    Array(RedisRoomScripts.channel.utf8), Array(p.room.utf8), p.text.bytes, origin(p.counter),
                    Array(String(sequencer.lastID(p.room)).utf8), [p.retry ? UInt8(ascii: "1") : UInt8(ascii: "0")],
                    Array(String(configuration.streamLength).utf8),
                ]
                let counter = p.counter
                commands.send(args) { [self] result in numberedReply(counter, result) }
            }
        }
    }

    private func numberedReply(_ counter: UInt64, _ result: Result<RESPValue, RedisError>) {
        switch result {
        case .success(let v):
            guard outbox.first?.counter == counter, let p = outbox.popFirst() else { return }
            sent -= 1
            guard let n = v.integer, n > 0 else {
                log(.warning, "redis \(endpoint): unexpected answer \(v) to a publish in room \(p.room); message dropped")
                if let o = owners.removeValue(forKey: counter) { answer(o, id: 0) }
                return
            }
            let id = UInt64(n)
            guard owners[counter] != nil else { return }  // delivered already
            if sequencer.lastID(p.room) >= id {
                answer(owners.removeValue(forKey: counter)!, id: id)  // its id was skipped here
            } else {
                numbered[p.room, default: []].append((id, counter))
            }
        case .failure(.server(let e)) where e.hasPrefix("NOSCRIPT"):
            // The script cache was flushed with publishes in flight behind this one: reconnect,
            // load the script, and send them all again in order (as retries).
            commands?.reconnect("redis lost the relay's script (\(e))")
        case .failure(.server(let e)):
            guard outbox.first?.counter == counter, let p = outbox.popFirst() else { return }
            sent -= 1
            log(.warning, "redis \(endpoint) refused a message for room \(p.room): \(e); message dropped")
            if let o = owners.removeValue(forKey: counter) { answer(o, id: 0) }
        case .failure:
            break  // connection lost: still in the outbox, sent again on reconnect (onDown)
        }
    }

    private func origin(_ counter: UInt64) -> [UInt8] {
        token + [UInt8(ascii: ".")] + Array(String(counter).utf8)
    }

    /// The counter of one of this process's messages, nil for another process's.
    private func ownCounter(_ origin: [UInt8]) -> UInt64? {
        guard origin.count > token.count + 1, origin.starts(with: token), origin[token.count] == UInt8(ascii: ".") else { return nil }
        var i = token.count + 1
        return RedisRoomEvent.decimal(origin, &i, maxDigits: 19)
    }

    private func answer(_ owner: Owner, id: UInt64) {
        if owner.loop == 0 {
            owner.done.value?(id)
        } else {
            handles[owner.loop].execute { _ in owner.done.value?(id) }
        }
    }

    // MARK: Delivering

    private func received(_ message: RedisPubSubMessage) {
        guard let e = RedisRoomEvent(payload: message.payload) else { return }
        // A room the sequencer forgot (or never saw) continues from what this process delivered.
        if !sequencer.knows(e.room), let t = hubs[0]?.existingTopic(e.room), t.lastID > 0 {
            sequencer.seed(e.room, last: t.lastID)
        }
        var ready: [(UInt64, Payload)] = []
        let fetch = sequencer.received(room: e.room, id: e.id, payload: Payload(origin: e.origin, text: e.text),
                                       deliver: { ready.append(($0, $1)) }, skipped: { self.skipped(e.room, $0) })
        // Delivered after the sequencer returns: a subscriber may publish from inside a delivery.
        for (id, p) in ready { deliver(room: e.room, id: id, p) }
        settle(e.room)
        if let fetch { catchUp(fetch) }
    }

    private func deliver(room: String, id: UInt64, _ p: Payload) {
        let text = p.text.withUnsafeBytes { SharedBytes(copying: $0) }
        let owner = ownCounter(p.origin).flatMap { owners.removeValue(forKey: $0) }
        for j in handles.indices where j != 0 {
            handles[j].execute { [self] _ in
                hubs[j]?.topic(room).deliver(id: id, text: text, except: owner?.loop == j ? owner?.except : nil)
                if let owner, owner.loop == j { owner.done.value?(id) }
            }
        }
        hubs[0]?.topic(room).deliver(id: id, text: text, except: owner?.loop == 0 ? owner?.except : nil)
        if let owner, owner.loop == 0 { owner.done.value?(id) }
    }

    /// Answers publishers whose numbered messages the sequencer has passed without delivering.
    private func settle(_ room: String) {
        guard let waiting = numbered[room] else { return }
        let last = sequencer.lastID(room)
        var rest: [(UInt64, UInt64)] = []
        for (id, counter) in waiting {
            if id > last {
                rest.append((id, counter))
            } else if let o = owners.removeValue(forKey: counter) {
                answer(o, id: id)
            }
        }
        numbered[room] = rest.isEmpty ? nil : rest
    }

    private func skipped(_ room: String, _ ids: ClosedRange<UInt64>) {
        // A room new to this process starts wherever its stream starts: nothing was lost.
        guard ids.lowerBound > 1 else { return }
        log(.warning, "redis relay: room \(room) messages \(ids.lowerBound)...\(ids.upperBound) are not in its redis stream (trimmed, or lost with redis's memory); delivering on from \(ids.upperBound + 1)")
    }

    /// Reads a room's stream after `fetch.after` and delivers what it missed.
    private func catchUp(_ fetch: RedisRoomSequencer<Payload>.Fetch) {
        guard let commands, commands.isReady else {
            sequencer.fetchFailed(room: fetch.room)
            return
        }
        let page = configuration.catchUpPage
        let args = ["XRANGE", RedisRoomScripts.streamKey(fetch.room), "\(fetch.after + 1)-0", "+", "COUNT", String(page)]
        commands.send(args) { [self] result in
            guard case .success(let reply) = result, let events = RedisRoomEvent.entries(room: fetch.room, xrange: reply) else {
                if case .failure(.server(let e)) = result { log(.warning, "redis \(endpoint) refused XRANGE for room \(fetch.room): \(e)") }
                sequencer.fetchFailed(room: fetch.room)
                return
            }
            var ready: [(UInt64, Payload)] = []
            let next = sequencer.fetched(
                room: fetch.room, entries: events.map { ($0.id, Payload(origin: $0.origin, text: $0.text)) },
                isLastPage: (reply.elements?.count ?? 0) < page,
                deliver: { ready.append(($0, $1)) }, skipped: { self.skipped(fetch.room, $0) })
            for (id, p) in ready { deliver(room: fetch.room, id: id, p) }
            settle(fetch.room)
            if let next { catchUp(next) }
        }
    }

    // MARK: Channels

    public func broadcast(_ message: SharedBytes, channel: String, from hub: PubSub) {
        spread(message, channel: channel, from: hub, counted: nil)
    }

    public let processID = UInt64.random(in: 1 ... .max)
    public var processLoopCount: Int { handles.count }

    /// A channel message whose sender wants to know how many other processes it reached: the
    /// PUBLISH's answer (the subscribers that got it), less this process when its own subscription
    /// to the channel is acknowledged. While Redis is down, 0 (it reached this process only); a
    /// connection lost with the PUBLISH in flight, nil (unknown).
    ///
    /// Erring: a SUBSCRIBE still in flight when the PUBLISH runs makes the count one too high
    /// (the request waits for its timeout); a subscriber connection that Redis dropped before this
    /// process noticed makes it one too low (a request may end before that process's answers).
    public func broadcast(_ message: SharedBytes, channel: String, from hub: PubSub, reachedProcesses: @escaping (Int?) -> Void) {
        let report = LoopBound(reachedProcesses, on: hub.loop)
        spread(message, channel: channel, from: hub, counted: { n in report.execute { $0(n) } })
    }

    /// The sender's loop hands `message` to this process's other loops; loop 0 publishes it.
    private func spread(_ message: SharedBytes, channel: String, from hub: PubSub, counted: (@Sendable (Int?) -> Void)?) {
        let origin = hub.relayIndex
        for j in handles.indices where j != origin && j != 0 {
            handles[j].execute { [self] _ in hubs[j]?.receive(message, on: channel) }
        }
        if origin == 0 {
            publishBroadcast(message, channel: channel, counted: counted)
        } else {
            handles[0].execute { [self] _ in
                hubs[0]?.receive(message, on: channel)
                publishBroadcast(message, channel: channel, counted: counted)
            }
        }
    }

    public func listen(channel: String, from hub: PubSub) {
        if hub.relayIndex == 0 {
            subscribe(channel)
        } else {
            handles[0].execute { [self] _ in subscribe(channel) }
        }
    }

    /// Loop 0: remembered for every (re)connection, subscribed now if the connection is up.
    private func subscribe(_ channel: String) {
        guard channels.insert(channel).inserted else { return }
        if subscriber?.isReady == true { subscribesInFlight.append([channel]) }
        subscriber?.subscribe(channels: [Self.redisChannel(channel)])
    }

    /// Loop 0: PUBLISH, `<origin token>:<message>`, if Redis is up.
    private func publishBroadcast(_ message: SharedBytes, channel: String, counted: (@Sendable (Int?) -> Void)? = nil) {
        guard let commands, commands.isReady else {
            broadcastsWhileDown += 1
            counted?(0)
            return
        }
        var payload = token
        payload.append(UInt8(ascii: ":"))
        message.withUnsafeBytes { payload += $0 }
        commands.send([Array("PUBLISH".utf8), Array(Self.redisChannel(channel).utf8), payload]) { [self] result in
            // Lost with a connection (it may have run): not sent again, at most once.
            if case .failure(.server(let e)) = result { log(.warning, "redis \(endpoint) refused a broadcast: \(e)") }
            guard let counted else { return }
            guard case .success(let v) = result, let n = v.integer else { return counted(nil) }
            counted(max(0, Int(clamping: n) - (confirmedChannels.contains(channel) ? 1 : 0)))
        }
    }

    /// Loop 0: a channel message from Redis, `<origin token>:<message>`.
    private func receivedBroadcast(_ m: RedisPubSubMessage) {
        let prefix = Self.broadcastPrefix
        guard m.channel.count > prefix.count, m.channel.starts(with: prefix),
              let colon = m.payload.firstIndex(of: UInt8(ascii: ":")) else { return }
        if m.payload[..<colon].elementsEqual(token) { return }  // ours: this process has it already
        let channel = String(decoding: m.channel[prefix.count...], as: UTF8.self)
        let message = m.payload.withUnsafeBytes { SharedBytes(copying: UnsafeRawBufferPointer(rebasing: $0[(colon + 1)...])) }
        for j in handles.indices where j != 0 {
            handles[j].execute { [self] _ in hubs[j]?.receive(message, on: channel) }
        }
        hubs[0]?.receive(message, on: channel)
    }

    private static let broadcastPrefix = Array(redisChannel("").utf8)

    // MARK: Connections

    private func start(on loop: EventLoop) {
        var commandConfiguration = configuration.redis
        commandConfiguration.clientName = commandConfiguration.clientName ?? "reactor-relay"
        var subscriberConfiguration = commandConfiguration
        subscriberConfiguration.clientName = commandConfiguration.clientName! + "-sub"
        let commands = RedisConnection(loop: loop, endpoint: endpoint, address: address, configuration: commandConfiguration, log: log)
        let subscriber = RedisConnection(loop: loop, endpoint: endpoint, address: address, configuration: subscriberConfiguration,
                                         log: LogSink(level: log.level) { [log] level, line in log(level, level == .info ? line + " (subscriber)" : line) })
        // Both connections fail together when Redis is down: the command one says so, once.
        subscriber.reportsOutages = false
        self.commands = commands
        self.subscriber = subscriber

        commands.onReady = { [self] in
            commands.batch {
                commands.send(["SCRIPT", "LOAD", RedisRoomScripts.publish]) { [self] result in
                    if case .failure(.server(let e)) = result { log(.warning, "redis \(endpoint) refused to load the relay's script: \(e)") }
                }
                // Continue every room's sequence where this process left it, before any publish.
                for room in sequencer.roomNames {
                    let last = sequencer.lastID(room)
                    guard last > 0 else { continue }
                    commands.send(["EVAL", RedisRoomScripts.seed, "1", RedisRoomScripts.counterKey(room), String(last)])
                }
                let held = outbox.count
                pump()
                if droppedWhileDown > 0 || held > 0 {
                    log(.info, "redis \(endpoint): sent \(held) message\(held == 1 ? "" : "s") held while it was down"
                        + (droppedWhileDown > 0 ? " (\(droppedWhileDown) older ones were dropped)" : ""))
                }
                droppedWhileDown = 0
                if broadcastsWhileDown > 0 {
                    log(.info, "redis \(endpoint): \(broadcastsWhileDown) broadcast\(broadcastsWhileDown == 1 ? "" : "s") made while it was down reached this process only")
                    broadcastsWhileDown = 0
                }
                for fetch in sequencer.resync(onlyStalled: true) { catchUp(fetch) }
            }
        }
        commands.onDown = { [self] _ in
            // What was in flight may or may not have run: send it again, marked as a retry.
            for i in 0..<sent { outbox[i].retry = true }
            sent = 0
        }
        subscriber.onMessage = { [self] m in
            if m.channel.elementsEqual(RedisRoomScripts.channel.utf8) { received(m) } else { receivedBroadcast(m) }
        }
        // The connection subscribes to every channel remembered as it becomes ready, then says so.
        subscriber.onReady = { [self] in
            confirmedChannels = []
            subscribesInFlight = [Array(channels)]
        }
        subscriber.onDown = { [self] _ in
            resyncOnSubscribed = true
            confirmedChannels = []
            subscribesInFlight = []
        }
        subscriber.onSubscribed = { [self] in
            if !subscribesInFlight.isEmpty { confirmedChannels.formUnion(subscribesInFlight.removeFirst()) }
            guard resyncOnSubscribed else { return }
            resyncOnSubscribed = false
            // Anything published while unsubscribed is in the rooms' streams: read every room this
            // process knows, including those of its own publishes not yet delivered here (which
            // may have run before the subscription, even in a room new to this process).
            for p in outbox.elements { sequencer.track(p.room) }
            for room in numbered.keys { sequencer.track(room) }
            for fetch in sequencer.resync(onlyStalled: false) { catchUp(fetch) }
        }
        subscriber.subscribe(channels: [RedisRoomScripts.channel] + channels.sorted().map(Self.redisChannel))
        commands.start()
        subscriber.start()
    }
}
