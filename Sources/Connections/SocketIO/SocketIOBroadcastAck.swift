import Protocols
import Reactor

extension SocketIOBroadcast {
    /// Emits `event` to every socket reached and asks each for an acknowledgement, as the
    /// reference's `io.timeout(ms).emitWithAck(…)` / `io.to(room).timeout(ms).emit(…, callback)`:
    /// `callback` runs once, with one answer per client (in arrival order) when all have answered,
    /// or with `SocketIOBroadcastAckTimeout` (carrying the answers that came) after `timeout`.
    ///
    /// With a relay across loops (`SocketIOServer.relayBroadcasts(through:)`), the other loops'
    /// sockets are asked too: each loop answers first with how many clients it reached (naming
    /// itself and its process's loop count), then with each answer, so the count of expected
    /// answers travels with the broadcast. Through Redis, the PUBLISH's answer says how many other
    /// processes got it; once each has been heard from, every server to wait for is known
    /// (`ClusterTally`), and the callback runs as soon as every answer is in. A process that dies
    /// meanwhile leaves it to the timeout, with every answer that came.
    public func emitWithAck(
        _ event: String, _ args: SocketIOArguments = [], timeout: Duration,
        _ callback: @escaping (Result<[SocketIOArguments], SocketIOBroadcastAckTimeout>) -> Void
    ) {
        let hub = isLocal ? nil : namespace.server.hub.flatMap { $0.reachesOtherLoops ? $0 : nil }
        // Filed under its request id until it finishes, whatever answers it waits for: the
        // namespace is what keeps it alive (the sockets' ack callbacks hold it weakly).
        guard let (requestID, collector, me) = namespace.startClusterRequest(hub: hub, timeout: timeout, callback) else { return }
        var data: [JSONValue] = [.string(event)]
        data += args.values
        let plain = SocketIOPacket(.event, namespace: namespace.name, data: .array(data), attachments: args.attachments)
        if let hub {
            var text: [UInt8] = []
            SocketIOPacketEncoder.write(plain, into: &text)
            let envelope = SocketIOBroadcastEnvelope(namespace: namespace.name, rooms: rooms, except: exceptRooms,
                                                     packet: text, attachments: plain.attachments)
            let request = SocketIOBroadcastAckWire.encodeRequest(id: requestID, timeoutMilliseconds: Self.milliseconds(timeout),
                                                                 envelope: envelope.encoded)
            hub.broadcastElsewhere(SharedBytes(request), on: namespace.relayChannel) { [weak collector] n in
                collector?.reached(remoteProcesses: n)
            }
        }
        let reached = deliverAsking(plain, timeout: timeout) { [weak collector] args in collector?.answer(args) }
        collector.announce(me, answers: reached)
    }

    /// Sends `packet` (an event without an ack id) to every socket reached, each under one new
    /// ack id of this namespace, and hands every answer to `onAnswer`; the sockets forget the id
    /// after `timeout` (a client that never answers holds nothing past it). Returns how many
    /// sockets it reached.
    func deliverAsking(_ packet: SocketIOPacket, timeout: Duration, onAnswer: @escaping (SocketIOArguments) -> Void) -> Int {
        let targets = sockets
        guard !targets.isEmpty else { return 0 }
        let ackID = namespace.nextAckID()
        var asking = packet
        asking.id = ackID
        let text = EngineIOMessage(counters: namespace.server.engine.counters) { SocketIOPacketEncoder.write(asking, into: &$0) }
        var messages = [text]
        for attachment in asking.attachments { messages.append(EngineIOMessage(binary: attachment, counters: namespace.server.engine.counters)) }
        var asked: [SocketIOSocket] = []
        for socket in targets {
            guard socket.expectAck(ackID, { result in if case .success(let args) = result { onAnswer(args) } }) else { continue }
            socket.connection.deliver(broadcast: messages)
            asked.append(socket)
        }
        namespace.server.loop.schedule(after: timeout) { [asked] in
            for socket in asked { socket.forgetAck(ackID) }
        }
        return asked.count
    }

    static func milliseconds(_ d: Duration) -> Int {
        let (s, atto) = d.components
        return Int(clamping: s * 1000 + atto / 1_000_000_000_000_000)
    }
}

extension SocketIONamespace {
    /// The hub channel the answers to broadcasts with acks come back on.
    var ackChannel: String { "socket.io-ack#" + name + "#" }

    /// A broadcast with an ack made on another loop: delivered to this loop's sockets it reaches,
    /// each asked under this loop's own ack id, and every count and answer sent back.
    func receiveAckRequest(_ bytes: UnsafeRawBufferPointer) {
        let decoded: (id: UInt64, timeoutMilliseconds: Int, envelope: SocketIOBroadcastEnvelope)
        do throws(SocketIOBroadcastEnvelope.DecodingError) {
            decoded = try SocketIOBroadcastAckWire.decodeRequest(bytes)
        } catch {
            relayedRejected += 1
            server.log("namespace \(name): relayed broadcast with ack dropped: \(error)")
            return
        }
        let parsed = decoded.envelope.packet.withUnsafeBytes { try? server.configuration.decoder.decode($0) }
        guard decoded.envelope.namespace == name, let hub = server.hub, let parsed, parsed.packet.id == nil,
              parsed.attachmentCount == decoded.envelope.attachments.count else {
            relayedRejected += 1
            server.log("namespace \(name): relayed broadcast with ack dropped: not an event of this namespace")
            return
        }
        var withAttachments = parsed.packet
        withAttachments.attachments = decoded.envelope.attachments
        var broadcast = SocketIOBroadcast(namespace: self)
        for room in decoded.envelope.rooms { broadcast = broadcast.to(room) }
        for room in decoded.envelope.except { broadcast = broadcast.except(room) }
        let id = decoded.id
        let channel = ackChannel
        let reached = broadcast.deliverAsking(withAttachments, timeout: .milliseconds(decoded.timeoutMilliseconds)) { [weak hub] args in
            let json = JSONValue.array(args.values).serializedBytes()
            hub?.broadcastElsewhere(SharedBytes(SocketIOBroadcastAckWire.encodeReply(id: id, .response(json: json, attachments: args.attachments))), on: channel)
        }
        hub.broadcastElsewhere(SharedBytes(SocketIOBroadcastAckWire.encodeReply(id: id, .count(reached, server: hub.clusterServer))), on: channel)
    }

    /// A count or an answer for a counted cluster request made here (others' are not ours: dropped).
    func receiveAckReply(_ message: SharedBytes) {
        let decoded: (id: UInt64, reply: SocketIOBroadcastAckWire.Reply)? = message.withUnsafeBytes { bytes in
            do throws(SocketIOBroadcastEnvelope.DecodingError) { return try SocketIOBroadcastAckWire.decodeReply(bytes) } catch { return nil }
        }
        guard let decoded, let collector = clusterRequests[decoded.id] else { return }
        switch decoded.reply {
        case .count(let n, let server):
            if !collector.announce(server, answers: n) { relayedRejected += 1 }
        case .response(let json, let attachments):
            guard let values = (try? JSONValue.parse(json))?.arrayValue else { return }
            collector.answer(SocketIOArguments(values, attachments: attachments))
        }
    }
}
