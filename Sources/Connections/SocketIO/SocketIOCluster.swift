import Protocols
import Reactor

/// A socket as `fetchSockets` describes it, wherever it is connected (this loop, another loop,
/// another process): the reference's `RemoteSocket`, without its methods (address it with
/// `namespace.in(socket.id)`: every socket is in the room named by its id).
public struct SocketIORemoteSocket: Sendable {
    public let id: String
    public let rooms: Set<String>
    /// The socket's `data` when it was described, in its wire form; `data(as:)` reads it typed.
    public let data: JSONValue
    /// The request that opened its session and its CONNECT's auth payload (cookies and the rest
    /// derive from the headers, as on a local socket).
    public let handshake: SocketIOHandshake

    /// Its description on the wire: `{"id","rooms","data","handshake":{"url","query","headers",
    /// "secure","issued","address","port","auth"}}`.
    static func describe(_ socket: SocketIOSocket) -> JSONValue {
        let h = socket.handshake
        func object(_ d: [String: String]) -> JSONValue {
            .object(JSONObject(d.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) }))
        }
        let handshake: JSONValue = [
            "url": .string(h.url), "query": object(h.queryItems), "headers": object(h.headers), "secure": .bool(h.secure),
            "issued": .int(h.issued), "address": h.address.map { .string($0.ip) } ?? .null,
            "port": h.address.map { .int(Int64($0.port)) } ?? .null, "auth": h.auth,
        ]
        return ["id": .string(socket.id), "rooms": .array(socket.rooms.sorted().map { .string($0) }), "data": socket.data, "handshake": handshake]
    }

    /// Reads a description; nil when it is not one (a peer's bad answer).
    init?(_ json: JSONValue) {
        guard let id = json["id"]?.stringValue, let rooms = json["rooms"]?.arrayValue, let h = json["handshake"],
              let url = h["url"]?.stringValue, let secure = h["secure"]?.boolValue, let issued = h["issued"]?.int64Value else { return nil }
        func strings(_ v: JSONValue?) -> [String: String]? {
            guard let o = v?.objectValue else { return nil }
            var d: [String: String] = [:]
            for (k, v) in o {
                guard let s = v.stringValue else { return nil }
                d[k] = s
            }
            return d
        }
        guard let query = strings(h["query"]), let headers = strings(h["headers"]) else { return nil }
        var names = Set<String>()
        for r in rooms {
            guard let name = r.stringValue else { return nil }
            names.insert(name)
        }
        var address: SocketAddress?
        if let ip = h["address"]?.stringValue, let port = h["port"]?.intValue, let p = UInt16(exactly: port) {
            address = try? SocketAddress(ip: ip, port: p)
        }
        let queryText = query.sorted { $0.key < $1.key }.map { $0.key + "=" + $0.value }.joined(separator: "&")
        self.id = id
        self.rooms = names
        self.data = json["data"] ?? .null
        self.handshake = SocketIOHandshake(auth: h["auth"] ?? .null, request: EngineIOHandshakeRequest(
            headers: headers, url: url, query: queryText, queryItems: query, address: address, secure: secure, issued: issued))
    }
}

/// `fetchSockets` did not hear from every server within its timeout: the sockets of those that
/// answered. (The reference rejects with an error and no sockets; here the caller decides what a
/// partial answer is worth.)
public struct SocketIOFetchSocketsTimeout: Error {
    public let sockets: [SocketIORemoteSocket]
}

extension SocketIOBroadcast {
    // MARK: Cluster-wide socket operations (the reference's BroadcastOperator)

    /// Makes every socket reached join `rooms`: this loop's now, and (unless `.local`) those of the
    /// other loops and processes the server relays to when the message reaches them (nothing
    /// waits for them: as the reference, a broadcast right after may not find them there yet).
    public func socketsJoin(_ rooms: [String]) {
        for socket in sockets { for room in rooms { socket.join(room) } }
        relay(.join(rooms))
    }

    public func socketsJoin(_ room: String) { socketsJoin([room]) }

    /// Makes every socket reached leave `rooms`, here and elsewhere (as `socketsJoin`).
    public func socketsLeave(_ rooms: [String]) {
        for socket in sockets { for room in rooms { socket.leave(room) } }
        relay(.leave(rooms))
    }

    public func socketsLeave(_ room: String) { socketsLeave([room]) }

    /// Disconnects every socket reached, here and elsewhere (with `close`, their whole sessions).
    public func disconnectSockets(close: Bool = false) {
        for socket in sockets { socket.disconnect(close: close) }
        relay(.disconnect(close: close))
    }

    /// Describes every socket reached, on this loop and on every other loop and process the
    /// server relays to (not those of `.local`): `callback` runs once, with every socket as soon
    /// as every server has answered (the count of servers travels as for broadcast acks:
    /// `ClusterTally`), or with `SocketIOFetchSocketsTimeout` and the sockets that came after
    /// `timeout` (a server that died; the reference's adapters wait 5 s). Each server describes at
    /// most `maxClusterAnswerBytes` of sockets (the rest left out, and logged there).
    public func fetchSockets(timeout: Duration = .seconds(5),
                             _ callback: @escaping (Result<[SocketIORemoteSocket], SocketIOFetchSocketsTimeout>) -> Void) {
        let hub = isLocal ? nil : namespace.server.hub.flatMap { $0.reachesOtherLoops ? $0 : nil }
        let ns = namespace
        let started = namespace.startClusterRequest(hub: hub, timeout: timeout) { [weak ns] result in
            func sockets(_ answers: [SocketIOArguments]) -> [SocketIORemoteSocket] {
                var out: [SocketIORemoteSocket] = []
                for answer in answers {
                    for json in answer[0]?.arrayValue ?? [] {
                        if let s = SocketIORemoteSocket(json) { out.append(s) } else { ns?.relayedRejected += 1 }
                    }
                }
                return out
            }
            switch result {
            case .success(let answers): callback(.success(sockets(answers)))
            case .failure(let timeout): callback(.failure(SocketIOFetchSocketsTimeout(sockets: sockets(timeout.responses))))
            }
        }
        guard let (requestID, request, me) = started else { return }
        if let hub {
            let message = SocketIOClusterMessage(id: requestID, timeoutMilliseconds: Self.milliseconds(timeout), namespace: namespace.name,
                                                 rooms: rooms, except: exceptRooms, operation: .fetch)
            hub.broadcastElsewhere(SharedBytes(message.encoded), on: namespace.relayChannel) { [weak request] n in
                request?.reached(remoteProcesses: n)
            }
        }
        request.announce(me, answers: 1)
        request.answer(describeSockets())
    }

    /// This loop's sockets reached, as one answer: a JSON array of descriptions, at most
    /// `maxClusterAnswerBytes` of them.
    func describeSockets() -> SocketIOArguments {
        let limit = namespace.server.configuration.maxClusterAnswerBytes
        var described: [JSONValue] = []
        var size = 2
        for socket in sockets {
            let d = SocketIORemoteSocket.describe(socket)
            size += d.serializedBytes().count + 1
            guard size <= limit else {
                namespace.server.log("namespace \(namespace.name): fetchSockets answered with \(described.count) sockets, the rest past maxClusterAnswerBytes")
                break
            }
            described.append(d)
        }
        return SocketIOArguments([.array(described)])
    }

    /// Sends an operation to the other loops and processes, unless `.local` or there is no relay.
    private func relay(_ operation: SocketIOClusterMessage.Operation) {
        guard !isLocal, let hub = namespace.server.hub, hub.reachesOtherLoops else { return }
        let message = SocketIOClusterMessage(namespace: namespace.name, rooms: rooms, except: exceptRooms, operation: operation)
        hub.broadcastElsewhere(SharedBytes(message.encoded), on: namespace.relayChannel)
        namespace.relayedOut += 1
    }
}

extension SocketIONamespace {
    /// A cluster operation made on another loop or process: applied to this loop's sockets it
    /// addresses, and answered when it asks for answers.
    func receiveClusterMessage(_ bytes: UnsafeRawBufferPointer) {
        let message: SocketIOClusterMessage
        do throws(SocketIOClusterMessage.DecodingError) {
            message = try SocketIOClusterMessage(decoding: bytes)
        } catch {
            relayedRejected += 1
            server.log("namespace \(name): relayed cluster operation dropped: \(error)")
            return
        }
        guard message.namespace == name, let hub = server.hub else {
            relayedRejected += 1
            server.log("namespace \(name): relayed cluster operation for namespace \(message.namespace) dropped")
            return
        }
        relayedIn += 1
        var target = SocketIOBroadcast(namespace: self).local
        for room in message.rooms { target = target.to(room) }
        for room in message.except { target = target.except(room) }
        let channel = ackChannel
        let id = message.id
        func reply(_ r: SocketIOBroadcastAckWire.Reply) {
            hub.broadcastElsewhere(SharedBytes(SocketIOBroadcastAckWire.encodeReply(id: id, r)), on: channel)
        }
        switch message.operation {
        case .join(let rooms):
            target.socketsJoin(rooms)
        case .leave(let rooms):
            target.socketsLeave(rooms)
        case .disconnect(let close):
            target.disconnectSockets(close: close)
        case .fetch:
            let answer = target.describeSockets()
            reply(.count(1, server: hub.clusterServer))
            reply(.response(json: JSONValue.array(answer.values).serializedBytes(), attachments: []))
        case .serverSideEmit(let json, let attachments, let wantsAck):
            guard let data = try? JSONValue.parse(json), let values = data.arrayValue, let event = values.first?.stringValue else {
                relayedRejected += 1
                server.log("namespace \(name): relayed server-side event dropped: not an event")
                return
            }
            let args = SocketIOArguments(Array(values.dropFirst()), attachments: attachments)
            receiveServerSideEvent(event, args, ack: wantsAck ? { [weak hub] answer in
                let json = JSONValue.array(answer.values).serializedBytes()
                hub?.broadcastElsewhere(SharedBytes(SocketIOBroadcastAckWire.encodeReply(id: id, .response(json: json, attachments: answer.attachments))),
                                        on: channel)
            } : nil, announce: wantsAck ? { n in reply(.count(n, server: hub.clusterServer)) } : nil)
        }
    }
}

extension SocketIONamespace {
    /// The namespace as a broadcast to all of its sockets (`to`, `except` and `local` narrow it).
    public var all: SocketIOBroadcast { SocketIOBroadcast(namespace: self) }

    /// Every socket of the namespace, cluster-wide (`SocketIOBroadcast.socketsJoin`).
    public func socketsJoin(_ rooms: [String]) { all.socketsJoin(rooms) }
    public func socketsLeave(_ rooms: [String]) { all.socketsLeave(rooms) }
    public func disconnectSockets(close: Bool = false) { all.disconnectSockets(close: close) }
    public func fetchSockets(timeout: Duration = .seconds(5),
                             _ callback: @escaping (Result<[SocketIORemoteSocket], SocketIOFetchSocketsTimeout>) -> Void) {
        all.fetchSockets(timeout: timeout, callback)
    }
}
