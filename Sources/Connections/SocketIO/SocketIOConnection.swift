import Protocols
import Reactor

/// One client of the Socket.IO server: the delegate of its Engine.IO session. It reassembles
/// packets (binary ones with their attachments), connects the client to namespaces, routes
/// packets to the right socket, and closes the session on a protocol error or when the client
/// joins no namespace within `connectTimeout`.
final class SocketIOConnection: EngineIOSessionDelegate {
    let server: SocketIOServer
    let session: EngineIOSession
    private var assembler: SocketIOPacketAssembler
    /// The client's socket in each namespace it joined.
    private var sockets: [String: SocketIOSocket] = [:]
    private var connectTimer: TimerID?
    /// Sockets whose namespace middlewares have not all answered, by namespace: at most one per
    /// namespace the server has, each until `connectTimeout`.
    private var admitting: [String: (run: SocketIOMiddlewareRun<SocketIOSocket, SocketIOConnectError>, timer: TimerID, namespace: SocketIONamespace)] = [:]
    /// Names of no namespace yet, whose dynamic namespaces' rules have not all answered, each
    /// until `connectTimeout`.
    private var matching: [String: TimerID] = [:]
    /// The slow-consumer gate of the broadcasts that reach this client (SocketIOBroadcastDelivery.swift).
    let broadcastGate = DeliveryGate<EngineIOMessage>(policy: SocketIOConnection.broadcastPolicy)

    init(server: SocketIOServer, session: EngineIOSession) {
        self.server = server
        self.session = session
        self.assembler = SocketIOPacketAssembler(decoder: server.configuration.decoder)
        connectTimer = server.loop.schedule(after: server.configuration.connectTimeout) { [weak self] in
            guard let self else { return }
            self.connectTimer = nil
            if self.sockets.isEmpty {
                self.server.log("session \(self.session.id): no namespace joined within the connect timeout")
                self.session.close()
            }
        }
    }

    // MARK: EngineIOSessionDelegate

    func engineIOSession(_ session: EngineIOSession, didReceiveText text: UnsafeRawBufferPointer) {
        do throws(SocketIOProtocolError) {
            if let packet = try assembler.receive(text: text) { handle(packet) }
        } catch {
            fail(error)
        }
    }

    func engineIOSession(_ session: EngineIOSession, didReceiveBinary data: UnsafeRawBufferPointer) {
        do throws(SocketIOProtocolError) {
            if let packet = try assembler.receive(binary: data) { handle(packet) }
        } catch {
            fail(error)
        }
    }

    func engineIOSessionDidClose(_ session: EngineIOSession, reason: EngineIOCloseReason) {
        if let connectTimer { server.loop.cancel(connectTimer) }
        connectTimer = nil
        let pendingAdmissions = admitting
        admitting.removeAll()
        for (_, pending) in pendingAdmissions {
            pending.run.cancel()
            server.loop.cancel(pending.timer)
            pending.namespace.admissionEnded()
        }
        for (_, timer) in matching { server.loop.cancel(timer) }
        matching.removeAll()
        for socket in Array(sockets.values) { socket.closed(reason: reason.description) }
    }

    private func fail(_ error: SocketIOProtocolError) {
        server.log("session \(session.id): \(error)")
        session.close(.parseError)
    }

    // MARK: Packets

    private func handle(_ packet: SocketIOPacket) {
        switch packet.type {
        case .connect:
            connect(packet.namespace, auth: packet.data)
        case .disconnect:
            sockets[packet.namespace]?.closed(reason: "client namespace disconnect")
        case .event, .binaryEvent:
            sockets[packet.namespace]?.receiveEvent(packet)
        case .ack, .binaryAck:
            sockets[packet.namespace]?.receiveAck(packet)
        case .connectError:
            break  // only servers send it
        }
    }

    private func connect(_ name: String, auth: JSONValue?) {
        // Already connected, being let in, or being matched: the reference server ignores it too.
        guard sockets[name] == nil, admitting[name] == nil, matching[name] == nil else { return }
        if let namespace = server.existingNamespace(name) {
            guard hasRoomForNamespace(name) else { return }
            return admit(to: namespace, auth: auth)
        }
        guard server.hasDynamicNamespaces else { return refuseInvalid(name) }
        guard hasRoomForNamespace(name) else { return }
        // The parents' rules decide (now, or later for one that answers later), within the
        // connect timeout.
        let timer = server.loop.schedule(after: server.configuration.connectTimeout) { [weak self] in
            guard let self, self.matching.removeValue(forKey: name) != nil else { return }
            self.server.log("session \(self.session.id): no dynamic namespace rule answered within the connect timeout")
            self.refuseInvalid(name)
        }
        matching[name] = timer
        server.matchParent(name, auth: auth ?? .object([:])) { [weak self] parent in
            guard let self, let timer = self.matching.removeValue(forKey: name) else { return }
            self.server.loop.cancel(timer)
            guard self.session.isOpen else { return }
            guard let parent else { return self.refuseInvalid(name) }
            guard let namespace = self.server.child(of: parent, named: name) else {
                self.server.log("session \(self.session.id): no new namespace made: \(self.server.childNamespaceCount) already (maxChildNamespaces)")
                return self.send(SocketIOPacket(.connectError, namespace: name, data: ["message": "Too many namespaces"]))
            }
            self.admit(to: namespace, auth: auth)
        }
    }

    /// The reference's answer to a namespace that does not exist.
    private func refuseInvalid(_ name: String) {
        send(SocketIOPacket(.connectError, namespace: name, data: ["message": "Invalid namespace"]))
    }

    /// Whether this client may ask for one more namespace (`maxNamespacesPerClient`); if not, it
    /// is told so.
    private func hasRoomForNamespace(_ name: String) -> Bool {
        guard sockets.count + admitting.count + matching.count >= server.configuration.maxNamespacesPerClient else { return true }
        server.log("session \(session.id): namespace refused: \(server.configuration.maxNamespacesPerClient) joined or asked for already (maxNamespacesPerClient)")
        send(SocketIOPacket(.connectError, namespace: name, data: ["message": "Too many namespaces"]))
        return false
    }

    /// Lets the client into `namespace` once its middlewares agree (or skip, on recovery).
    private func admit(to namespace: SocketIONamespace, auth: JSONValue?) {
        let name = namespace.name
        let handshake = SocketIOHandshake(auth: auth ?? .object([:]), request: session.request)
        // Connection state recovery: a client back with its private id and last offset.
        let recovery = server.configuration.connectionStateRecovery
        var restored: SocketIORecoveryStore.Restored?
        if recovery != nil, let pid = auth?["pid"]?.stringValue, let offset = auth?["offset"]?.stringValue {
            restored = namespace.restore(pid: pid, offset: offset)
        }
        let socket = SocketIOSocket(
            id: restored?.session.sid ?? EngineIOHandshake.makeSessionID(), namespace: namespace, connection: self, handshake: handshake,
            pid: recovery == nil ? nil : restored?.session.pid ?? EngineIOHandshake.makeSessionID(), recovered: restored != nil)
        if (restored != nil && recovery?.skipMiddlewares == true) || namespace.middlewares.isEmpty {
            return admitted(socket, restored: restored)
        }
        // Counted while the middlewares run, so a child is not dropped under them.
        namespace.admissionStarted()
        let run = SocketIOMiddlewareRun(namespace.middlewares, subject: socket) { [weak self] refusal in
            guard let self, let pending = self.admitting.removeValue(forKey: name) else { return }
            self.server.loop.cancel(pending.timer)
            defer { namespace.admissionEnded() }
            guard self.session.isOpen else { return }
            if let refusal { return self.send(SocketIOPacket(.connectError, namespace: name, data: refusal.json)) }
            self.admitted(socket, restored: restored)
        }
        let timer = server.loop.schedule(after: server.configuration.connectTimeout) { [weak self] in
            guard let self, let pending = self.admitting.removeValue(forKey: name) else { return }
            pending.run.cancel()
            defer { namespace.admissionEnded() }
            self.server.log("session \(self.session.id): namespace \(name) middlewares did not answer within the connect timeout")
            self.send(SocketIOPacket(.connectError, namespace: name, data: SocketIOConnectError("connect timeout").json))
        }
        admitting[name] = (run, timer, namespace)
        run.start()
    }

    /// Connects `socket`, which its namespace's middlewares let in (or skipped).
    private func admitted(_ socket: SocketIOSocket, restored: SocketIORecoveryStore.Restored?) {
        let name = socket.namespace.name, namespace = socket.namespace
        sockets[name] = socket
        if let connectTimer { server.loop.cancel(connectTimer) }
        connectTimer = nil
        namespace.add(socket)
        var answer: JSONObject = ["sid": .string(socket.id)]
        if let pid = socket.pid { answer["pid"] = .string(pid) }
        send(SocketIOPacket(.connect, namespace: name, data: .object(answer)))
        if let restored {
            for room in restored.session.rooms where room != socket.id { socket.join(room) }
            // What it missed, oldest first, as it was sent (offsets included), before anything new.
            for packet in restored.missed {
                session.send(EngineIOMessage(counters: server.engine.counters) { out in packet.text.withUnsafeBytes { out += $0 } })
                for attachment in packet.attachments { session.send(binary: attachment) }
            }
        }
        namespace.runConnectionHandlers(socket)
    }

    /// Disconnects every socket of this client from its namespace (the session stays: the caller
    /// closes it).
    func disconnectAllSockets() {
        for socket in Array(sockets.values) { socket.disconnect() }
    }

    func socketDidClose(_ socket: SocketIOSocket) {
        if sockets[socket.namespace.name] === socket { sockets[socket.namespace.name] = nil }
    }

    // MARK: Sending

    /// Sends one packet to this client: its text, then its attachments as binary messages;
    /// `compress: false` (the reference's `compress(false)`) sends them plain on a WebSocket with
    /// permessage-deflate, and does not ask for their poll answer to be compressed.
    func send(_ packet: SocketIOPacket, compress: Bool = true) {
        session.sendText(compress: compress) { SocketIOPacketEncoder.write(packet, into: &$0) }
        for attachment in packet.attachments { session.send(binary: attachment, compress: compress) }
    }
}
