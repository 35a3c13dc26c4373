import Foundation
import Glibc
import Connections
import Protocols
import Reactor
import ReactorTestSupport
import XCTest

/// Cluster-wide operations (SocketIOCluster.swift, SocketIOServerSideEmit.swift) across three
/// loops joined by a LoopGroupRelay, and across two "processes" through a real redis-server:
/// fetchSockets sees every loop's sockets with their rooms, data and handshake and ends as soon
/// as every server answered; socketsJoin, socketsLeave and disconnectSockets reach every loop;
/// serverSideEmit reaches every other server but not its own, and a silent handler leaves it to
/// the timeout with the answers that came; the pending requests and the answer bytes are bounded.
final class SocketIOClusterTests: XCTestCase {
    typealias Servers = SocketIORelayTests.Servers
    typealias Client = SocketIORelayTests.Client

    private func start(configure: @escaping @Sendable (inout SocketIOConfiguration) -> Void = { _ in }) throws -> (Servers, () -> Void) {
        let first = try EventLoopThread()
        let group = try EventLoopGroup(count: 3, first: first.handle) { _, _ in }
        let relay = LoopGroupRelay(handles: group.handles)
        let servers = Servers(handles: group.handles, relays: (0..<3).map { (relay, $0) }, configure: configure)
        return (servers, { group.stopOthers(); first.stopAndJoin() })
    }

    typealias Fetched = Result<[SocketIORemoteSocket], SocketIOFetchSocketsTimeout>

    private func fetch(_ servers: Servers, from i: Int, room: String?, timeout: Duration = .seconds(5)) -> (Fetched, TimeInterval)? {
        let result = Shared<(Fetched, Date)?>(nil)
        let started = Date()
        servers.on(i) { io, _ in
            let ns = io.of("/chat")
            (room.map { ns.in($0) } ?? ns.all).fetchSockets(timeout: timeout) { outcome in result.with { $0 = (outcome, Date()) } }
        }
        guard eventually(10, { result.get != nil }), let (outcome, at) = result.get else { return nil }
        return (outcome, at.timeIntervalSince(started))
    }

    /// Sets `data` to `{"loop": i}` on every socket of loop i.
    private func markData(_ servers: Servers) {
        for i in 0..<3 {
            servers.on(i) { io, _ in for s in io.of("/chat").all.sockets { s.data = ["loop": .int(Int64(i))] } }
        }
    }

    func testFetchSocketsSeesEveryLoopsSocketsWithRoomsDataAndHandshake() throws {
        let (servers, stop) = try start()
        defer { stop() }
        let clients = try (0..<3).map { try Client(port: servers.ports[$0]) }
        let outsider = try Client(port: servers.ports[1])
        defer { (clients + [outsider]).forEach { $0.close() } }
        for c in clients { c.join("r") }
        markData(servers)

        let (outcome, took) = try XCTUnwrap(fetch(servers, from: 1, room: "r"))
        let sockets = try outcome.get()
        XCTAssertEqual(sockets.map { $0.data["loop"]?.intValue ?? -1 }.sorted(), [0, 1, 2])
        for s in sockets {
            XCTAssertEqual(s.rooms, [s.id, "r"])
            XCTAssertTrue(s.handshake.url.hasPrefix("/socket.io/"), s.handshake.url)
            XCTAssertEqual(s.handshake.queryItems["transport"], "websocket")
            XCTAssertEqual(s.handshake.address?.ip, "127.0.0.1")
        }
        XCTAssertLessThan(took, 2, "every loop answered: no wait for the timeout")
        // The ids are the sockets' own: each addresses its socket.
        let ids = servers.on(2) { io, _ in io.of("/chat").in("r").sockets.map(\.id) }
        XCTAssertTrue(Set(sockets.map(\.id)).isSuperset(of: ids))

        let everyone = try XCTUnwrap(fetch(servers, from: 0, room: nil)).0.get()
        XCTAssertEqual(everyone.count, 4)
        let local = try XCTUnwrap(servers.on(2) { io, _ -> [String]? in
            var got: [String]?
            io.of("/chat").local.fetchSockets { got = (try? $0.get())?.map(\.id) }  // on this loop: answered at once
            return got
        })
        XCTAssertEqual(Set(local), Set(ids))
    }

    struct Player: Codable, Equatable, Sendable {
        enum Team: String, Codable { case red, blue }
        var name: String
        var team: Team
        var score: UInt32
        var badges: [String]
        var coach: String?
    }

    /// A typed value set with `setData` on one loop reads back typed, with `data(as:)`, from
    /// `fetchSockets` on another loop; a socket whose data is not a Player says so with its
    /// DecodingError rather than a wrong value.
    func testTypedDataSetOnOneLoopReadsBackTypedFromFetchSocketsOnAnother() throws {
        let (servers, stop) = try start()
        defer { stop() }
        let clients = try (0..<3).map { try Client(port: servers.ports[$0]) }
        defer { clients.forEach { $0.close() } }
        for c in clients { c.join("r") }
        let ada = Player(name: "Ada", team: .red, score: 4_000_000_000, badges: ["first", "fastest"], coach: nil)
        let bob = Player(name: "Bob", team: .blue, score: 7, badges: [], coach: "Cy")
        let ids = try (0..<3).map { i in
            try XCTUnwrap(servers.on(i) { io, _ -> String? in
                guard let socket = io.of("/chat").all.sockets.first else { return nil }
                switch i {
                case 0: guard (try? socket.setData(ada)) != nil else { return nil }
                case 2: guard (try? socket.setData(bob)) != nil else { return nil }
                default: socket.data = ["name": 1]  // not a Player: its name is a number
                }
                return socket.id
            }, "loop \(i)")
        }
        // Read back on its own loop too; a value that is not a Player throws.
        XCTAssertEqual(servers.on(0) { io, _ in try? io.of("/chat").all.sockets.first?.data(as: Player.self) }, ada)
        XCTAssertEqual(servers.on(1) { io, _ in (try? io.of("/chat").all.sockets.first?.data(as: Player.self)) == nil }, true)

        let sockets = try XCTUnwrap(fetch(servers, from: 1, room: "r")).0.get()
        let byID = Dictionary(uniqueKeysWithValues: sockets.map { ($0.id, $0) })
        XCTAssertEqual(try byID[ids[0]]?.data(as: Player.self), ada)
        XCTAssertEqual(try byID[ids[2]]?.data(as: Player.self), bob)
        XCTAssertEqual(byID[ids[2]]?.data["coach"], "Cy")
        XCTAssertThrowsError(try byID[ids[1]]?.data(as: Player.self)) { error in
            guard case DecodingError.typeMismatch(_, let context) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(context.codingPath.map(\.stringValue), ["name"])
        }
    }

    /// A dynamic namespace's child exists only on the loops whose clients asked for it. A
    /// counted request on it (fetchSockets, a broadcast asking for acks, serverSideEmitWithAck)
    /// still ends as soon as every loop has answered: a loop without the child answers as an
    /// empty namespace would, rather than leaving the asker to its timeout.
    func testCountedRequestsOnADynamicChildEndAtOnceWhenOtherLoopsLackIt() throws {
        let (servers, stop) = try start()
        defer { stop() }
        for i in 0..<3 {
            servers.on(i) { io, _ in
                let dynamic = io.of(matching: { name, _ in name.hasPrefix("/dyn-") })
                dynamic.on("connection") { socket in
                    socket.on("question") { _, ack in ack?(["yes"]) }
                }
            }
        }
        let ws = try SocketIOSocketTests.RawWebSocket(port: servers.ports[0])
        defer { ws.client.close() }
        let raw = Client(ws: ws)
        XCTAssertEqual(raw.next()?.hasPrefix("0{"), true)
        ws.send("40/dyn-a,")
        XCTAssertEqual(raw.next()?.hasPrefix("40/dyn-a,{\"sid\":"), true)
        XCTAssertEqual(servers.on(1) { io, _ in io.existingNamespace("/dyn-a") == nil }, true, "loop 1 has no child")

        let fetched = Shared<(Fetched, Date)?>(nil)
        let asked = Date()
        servers.on(0) { io, _ in
            io.existingNamespace("/dyn-a")!.fetchSockets(timeout: .seconds(5)) { outcome in fetched.with { $0 = (outcome, Date()) } }
        }
        XCTAssertTrue(eventually(10) { fetched.get != nil })
        let (outcome, at) = try XCTUnwrap(fetched.get)
        XCTAssertEqual(try outcome.get().count, 1)
        XCTAssertLessThan(at.timeIntervalSince(asked), 2, "loops 1 and 2 answered with no sockets")

        // The client answers the question; the broadcast's callback runs when every loop has said
        // how many it asked.
        let answered = Shared<(Result<[SocketIOArguments], SocketIOBroadcastAckTimeout>, Date)?>(nil)
        let broadcastAt = Date()
        servers.on(0) { io, _ in
            io.existingNamespace("/dyn-a")!.all.emitWithAck("question", timeout: .seconds(5)) { result in answered.with { $0 = (result, Date()) } }
        }
        let question = try XCTUnwrap(raw.next())
        XCTAssertTrue(question.hasPrefix("42/dyn-a,"), question)
        let ackID = question.dropFirst("42/dyn-a,".count).prefix { $0.isNumber }
        ws.send("43/dyn-a,\(ackID)[\"yes\"]")
        XCTAssertTrue(eventually(10) { answered.get != nil })
        let (result, done) = try XCTUnwrap(answered.get)
        XCTAssertEqual(try result.get().map { $0[0]?.stringValue }, ["yes"])
        XCTAssertLessThan(done.timeIntervalSince(broadcastAt), 2)

        let emitted = Shared<Date?>(nil)
        let emittedAt = Date()
        servers.on(0) { io, _ in
            io.existingNamespace("/dyn-a")!.serverSideEmitWithAck("anyone", [], timeout: .seconds(5)) { result in
                if case .success(let answers) = result, answers.isEmpty { emitted.with { $0 = Date() } }
            }
        }
        XCTAssertTrue(eventually(10) { emitted.get != nil }, "no handler anywhere: an empty success")
        XCTAssertLessThan(try XCTUnwrap(emitted.get).timeIntervalSince(emittedAt), 2)
    }

    func testSocketsJoinLeaveAndDisconnectReachEveryLoop() throws {
        let (servers, stop) = try start()
        defer { stop() }
        let clients = try (0..<3).map { try Client(port: servers.ports[$0]) }
        let outsider = try Client(port: servers.ports[2])
        defer { (clients + [outsider]).forEach { $0.close() } }
        for c in clients { c.join("r") }
        func members(_ room: String) -> [Int] { (0..<3).map { i in servers.on(i) { io, _ in io.of("/chat").socketIDs(in: room).count } } }

        servers.on(1) { io, _ in io.of("/chat").in("r").socketsJoin(["r2", "r3"]) }
        XCTAssertTrue(eventually { members("r2") == [1, 1, 1] && members("r3") == [1, 1, 1] }, "\(members("r2"))")
        servers.on(0) { io, _ in io.of("/chat").in("r").except("r3").socketsLeave(["r2"]) }  // reaches no one
        servers.on(0) { io, _ in io.of("/chat").in("r").socketsLeave(["r3"]) }
        XCTAssertTrue(eventually { members("r3") == [0, 0, 0] })
        XCTAssertEqual(members("r2"), [1, 1, 1])

        servers.on(2) { io, _ in io.of("/chat").in("r2").disconnectSockets() }
        for c in clients { XCTAssertEqual(c.next(), "41/chat,") }
        XCTAssertTrue(eventually { members("r") == [0, 0, 0] })
        // The outsider is still there: a namespace emit is its next packet.
        servers.on(0) { io, _ in io.of("/chat").emit("after") }
        XCTAssertEqual(outsider.next(), #"42/chat,["after"]"#)
    }

    typealias Answers = Result<[SocketIOArguments], SocketIOBroadcastAckTimeout>

    private func serverSideEmit(_ servers: Servers, from i: Int, _ event: String, timeout: Duration) -> (Answers, TimeInterval)? {
        let result = Shared<(Answers, Date)?>(nil)
        let started = Date()
        servers.on(i) { io, _ in
            io.of("/chat").serverSideEmitWithAck(event, ["hi"], timeout: timeout) { outcome in result.with { $0 = (outcome, Date()) } }
        }
        guard eventually(10, { result.get != nil }), let (outcome, at) = result.get else { return nil }
        return (outcome, at.timeIntervalSince(started))
    }

    func testServerSideEmitReachesEveryOtherServerAndASilentOneEndsItAtTheTimeout() throws {
        let (servers, stop) = try start()
        defer { stop() }
        let heard = Shared<[Int]>([])
        for i in 0..<3 {
            servers.on(i) { io, _ in
                io.of("/chat").onServerSideEmit("whoami") { args, ack in
                    XCTAssertEqual(args[0]?.stringValue, "hi")
                    ack?([.int(Int64(i))])
                }
                // Loop 2 never answers this one.
                io.of("/chat").onServerSideEmit("shy") { _, ack in if i != 2 { ack?([.int(Int64(i))]) } }
                io.of("/chat").onServerSideEmit("note") { args, ack in
                    XCTAssertNil(ack, "sent without asking for answers")
                    heard.with { $0.append(i) }
                }
            }
        }
        let (answers, took) = try XCTUnwrap(serverSideEmit(servers, from: 1, "whoami", timeout: .seconds(5)))
        XCTAssertEqual(try answers.get().map { $0[0]?.intValue ?? -1 }.sorted(), [0, 2], "every other loop, not its own")
        XCTAssertLessThan(took, 2)

        let (none, fast) = try XCTUnwrap(serverSideEmit(servers, from: 0, "nobody-handles-this", timeout: .seconds(5)))
        XCTAssertEqual(try none.get().count, 0)
        XCTAssertLessThan(fast, 2, "a server without a handler says so")

        let (shy, slow) = try XCTUnwrap(serverSideEmit(servers, from: 0, "shy", timeout: .milliseconds(600)))
        switch shy {
        case .success(let a): XCTFail("loop 2 never answered, yet: \(a)")
        case .failure(let timeout): XCTAssertEqual(timeout.responses.map { $0[0]?.intValue ?? -1 }, [1])
        }
        XCTAssertGreaterThan(slow, 0.55)

        servers.on(0) { io, _ in io.of("/chat").serverSideEmit("note", ["x"]) }
        XCTAssertTrue(eventually { heard.get.sorted() == [1, 2] })
        usleep(100_000)
        XCTAssertEqual(heard.get.sorted(), [1, 2], "not its own server, and once each")
    }

    func testPendingRequestsAndKeptAnswerBytesAreBounded() throws {
        let (servers, stop) = try start { c in
            c.maxPendingClusterRequests = 2
            c.maxClusterAnswerBytes = 700
        }
        defer { stop() }
        for i in 0..<3 {
            servers.on(i) { io, _ in io.of("/chat").onServerSideEmit("silent") { _, _ in } }
        }
        let outcomes = Shared<[String]>([])
        servers.on(0) { io, _ in
            for _ in 0..<3 {
                io.of("/chat").serverSideEmitWithAck("silent", timeout: .milliseconds(300)) { r in
                    outcomes.with { $0.append((try? r.get()) == nil ? "failed" : "ok") }
                }
            }
        }
        XCTAssertEqual(outcomes.get, ["failed"], "the third fails at once")
        XCTAssertTrue(servers.errors.get.contains { $0.contains("maxPendingClusterRequests") }, "\(servers.errors.get)")
        XCTAssertTrue(eventually { outcomes.get.count == 3 })
        XCTAssertEqual(servers.on(0) { io, _ in io.of("/chat").pendingClusterRequestCount }, 0, "the table is empty again")

        // A socket's description is a few hundred bytes: each loop describes what fits in 700,
        // and the asker keeps what fits in 700 of the answers.
        let clients = try (0..<6).map { try Client(port: servers.ports[$0 % 3]) }
        defer { clients.forEach { $0.close() } }
        for c in clients { c.join("r") }
        let (outcome, _) = try XCTUnwrap(fetch(servers, from: 0, room: "r"))
        let sockets = try outcome.get()
        XCTAssertFalse(sockets.isEmpty)
        XCTAssertLessThan(sockets.count, 6, "\(sockets.map(\.id))")
        XCTAssertTrue(servers.errors.get.contains { $0.contains("past maxClusterAnswerBytes") }, "\(servers.errors.get)")
    }

    func testAMalformedClusterMessageIsDroppedAndCounted() throws {
        let (servers, stop) = try start()
        defer { stop() }
        servers.on(0) { _, hub in
            hub.broadcastElsewhere(SharedBytes("sioQ-garbage"), on: "socket.io#/chat#")
            let stray = SocketIOClusterMessage(namespace: "/other", operation: .fetch)
            hub.broadcastElsewhere(SharedBytes(stray.encoded), on: "socket.io#/chat#")
            let notAnEvent = SocketIOClusterMessage(namespace: "/chat", operation: .serverSideEmit(json: Array("{}".utf8), attachments: [], wantsAck: false))
            hub.broadcastElsewhere(SharedBytes(notAnEvent.encoded), on: "socket.io#/chat#")
        }
        XCTAssertTrue(eventually { servers.counts(1)[3] == 3 && servers.counts(2)[3] == 3 })
    }

    /// Across two "processes" through Redis: A with loops 0 and 1, B with loop 2. The PUBLISH's
    /// answer says B got the request; B's one loop answers; nothing waits for the timeout.
    func testAcrossProcessesThroughRedis() throws {
        let redis = try SocketIORelayTests.RedisServer()
        let first = try EventLoopThread()
        let groupA = try EventLoopGroup(count: 2, first: first.handle) { _, _ in }
        let firstB = try EventLoopThread()
        defer {
            groupA.stopOthers()
            first.stopAndJoin()
            firstB.stopAndJoin()
        }
        let relayA = SocketIORelayTests.makeRedisRelay(groupA.handles, redis.port)
        let relayB = SocketIORelayTests.makeRedisRelay([firstB.handle], redis.port)
        let servers = Servers(handles: groupA.handles + [firstB.handle], relays: [(relayA, 0), (relayA, 1), (relayB, 0)])
        XCTAssertTrue(eventually(10) {
            onLoop(groupA.handles[0]) { _ in relayA.isConnected } && onLoop(firstB.handle) { _ in relayB.isConnected }
        })
        XCTAssertTrue(eventually(5) {
            redis.command(["PUBSUB", "NUMSUB", RedisRelay.redisChannel("socket.io#/chat#")])?.elements?.last?.integer == 2
        })
        usleep(200_000)  // the subscriptions' acknowledgements
        let clients = try (0..<3).map { try Client(port: servers.ports[$0]) }
        defer { clients.forEach { $0.close() } }
        for c in clients { c.join("r") }
        markData(servers)
        for i in 0..<3 {
            servers.on(i) { io, _ in io.of("/chat").onServerSideEmit("whoami") { _, ack in ack?([.int(Int64(i))]) } }
        }
        for from in [0, 1, 2] {
            let (outcome, took) = try XCTUnwrap(fetch(servers, from: from, room: "r"))
            XCTAssertEqual(try outcome.get().map { $0.data["loop"]?.intValue ?? -1 }.sorted(), [0, 1, 2])
            XCTAssertLessThan(took, 2, "from loop \(from): complete, not timed out")
            let (answers, fast) = try XCTUnwrap(serverSideEmit(servers, from: from, "whoami", timeout: .seconds(5)))
            XCTAssertEqual(try answers.get().map { $0[0]?.intValue ?? -1 }.sorted(), [0, 1, 2].filter { $0 != from })
            XCTAssertLessThan(fast, 2)
        }
        servers.on(0) { io, _ in io.of("/chat").in("r").disconnectSockets() }
        for c in clients { XCTAssertEqual(c.next(), "41/chat,") }
    }
}

extension SocketIORelayTests.Client {
    /// A client on a socket whose handshake the test makes itself (another namespace than /chat).
    init(ws: SocketIOSocketTests.RawWebSocket) { self.ws = ws }
}
