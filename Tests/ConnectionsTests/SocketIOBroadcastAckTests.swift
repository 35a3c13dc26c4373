import Foundation
import Glibc
import Connections
import Protocols
import Reactor
import ReactorTestSupport
import XCTest

/// Broadcast acks (`SocketIOBroadcast.emitWithAck`) across three loops joined by a LoopGroupRelay,
/// with raw WebSocket clients: each client reached gets the event with an ack id of its loop, and
/// the asker gets one answer per client, whichever loop it is on, as soon as all have answered
/// (each loop's count of reached clients travels back with the answers); clients that answer late
/// or never end it at the timeout with the answers that came.
final class SocketIOBroadcastAckTests: XCTestCase {
    typealias Servers = SocketIORelayTests.Servers
    typealias Client = SocketIORelayTests.Client

    private func start() throws -> (Servers, () -> Void) {
        let first = try EventLoopThread()
        let group = try EventLoopGroup(count: 3, first: first.handle) { _, _ in }
        let relay = LoopGroupRelay(handles: group.handles)
        let servers = Servers(handles: group.handles, relays: (0..<3).map { (relay, $0) })
        return (servers, { group.stopOthers(); first.stopAndJoin() })
    }

    /// Reads the question and returns its ack id (`42/chat,<id>["question",…]`).
    private func question(_ client: Client, file: StaticString = #filePath, line: UInt = #line) -> String? {
        guard let packet = client.next() else { XCTFail("no question", file: file, line: line); return nil }
        XCTAssertTrue(packet.hasPrefix("42/chat,"), packet, file: file, line: line)
        let rest = packet.dropFirst("42/chat,".count)
        let id = String(rest.prefix { $0.isNumber })
        XCTAssertFalse(id.isEmpty, "the event asks for an ack: \(packet)", file: file, line: line)
        XCTAssertEqual(String(rest.dropFirst(id.count)), #"["question","q?"]"#, file: file, line: line)
        return id
    }

    private func answer(_ client: Client, _ id: String, _ text: String) {
        client.ws.send("43/chat,\(id)[\"\(text)\"]")
    }

    typealias Outcome = Result<[String], SocketIOBroadcastAckTimeout>

    /// Asks room `r` from loop `i`; the outcome (answers as their first strings) lands in the result.
    private func ask(_ servers: Servers, from i: Int, timeout: Duration) -> Shared<(Outcome, Date)?> {
        let result = Shared<(Outcome, Date)?>(nil)
        servers.on(i) { io, _ in
            io.of("/chat").to("r").emitWithAck("question", ["q?"], timeout: timeout) { outcome in
                let mapped = outcome.map { $0.map { $0[0]?.stringValue ?? "?" } }
                result.with { $0 = (mapped, Date()) }
            }
        }
        return result
    }

    func testEveryClientOnEveryLoopAnswersOnce() throws {
        let (servers, stop) = try start()
        defer { stop() }
        let a = try Client(port: servers.ports[0]), b = try Client(port: servers.ports[2]), c = try Client(port: servers.ports[2])
        let d = try Client(port: servers.ports[1]), outsider = try Client(port: servers.ports[0])
        defer { [a, b, c, d, outsider].forEach { $0.close() } }
        for client in [a, b, c, d] { client.join("r") }
        outsider.join("elsewhere")

        let started = Date()
        let result = ask(servers, from: 1, timeout: .seconds(5))
        for (client, name) in [(a, "a"), (b, "b"), (c, "c"), (d, "d")] {
            guard let id = question(client) else { return }
            answer(client, id, name)
        }
        XCTAssertTrue(eventually { result.get != nil })
        guard let (outcome, at) = result.get else { return }
        XCTAssertEqual(try outcome.get().sorted(), ["a", "b", "c", "d"], "one answer per client, across the loops")
        XCTAssertLessThan(at.timeIntervalSince(started), 2.5, "complete when all answered, not at the timeout")
        // The outsider was not asked: its next packet is this one.
        servers.on(0) { io, _ in io.of("/chat").emit("after") }
        XCTAssertEqual(outsider.next(), #"42/chat,["after"]"#)
    }

    func testLateAndSilentClientsEndItAtTheTimeoutWithTheAnswersThatCame() throws {
        let (servers, stop) = try start()
        defer { stop() }
        let prompt = try Client(port: servers.ports[0]), late = try Client(port: servers.ports[2])
        let silent = try Client(port: servers.ports[1]), other = try Client(port: servers.ports[2])
        defer { [prompt, late, silent, other].forEach { $0.close() } }
        for client in [prompt, late, silent, other] { client.join("r") }

        let started = Date()
        let result = ask(servers, from: 0, timeout: .milliseconds(600))
        guard let p = question(prompt), let l = question(late), question(silent) != nil, let o = question(other) else { return }
        answer(prompt, p, "prompt")
        answer(other, o, "other")
        usleep(900_000)
        answer(late, l, "late")  // after the timeout: ignored
        XCTAssertTrue(eventually { result.get != nil })
        guard let (outcome, at) = result.get else { return }
        switch outcome {
        case .success(let answers): XCTFail("not every client answered, yet: \(answers)")
        case .failure(let timeout):
            XCTAssertEqual(timeout.responses.map { $0[0]?.stringValue ?? "?" }.sorted(), ["other", "prompt"])
        }
        XCTAssertGreaterThan(at.timeIntervalSince(started), 0.5)
        XCTAssertLessThan(at.timeIntervalSince(started), 0.9, "ended by the timeout, not by the late answer")
        // Nothing else is pending: a namespace emit is everyone's next packet.
        servers.on(1) { io, _ in io.of("/chat").emit("after") }
        for client in [prompt, late, silent, other] { XCTAssertEqual(client.next(), #"42/chat,["after"]"#) }
    }

    func testAnEmptyRoomAnswersAtOnceWithNoAnswers() throws {
        let (servers, stop) = try start()
        defer { stop() }
        let result = ask(servers, from: 2, timeout: .seconds(5))
        XCTAssertTrue(eventually(2) { result.get != nil }, "every loop said it reached no one")
        XCTAssertEqual(try result.get.map { try $0.0.get() }, [])
    }
}

/// The same on one loop without a relay (no other server to count).
final class SocketIOBroadcastAckOneLoopTests: XCTestCase {
    func testAnswersAreCollectedWithoutARelay() throws {
        let io = Shared<LoopBound<SocketIOServer>?>(nil)
        let (thread, port) = try startHTTPServer { router, loop in
            let server = SocketIOServer(loop: loop)
            server.of("/chat").on("connection") { socket in SocketIORelayTests.Servers.demo(socket) }
            server.install(on: router)
            io.with { $0 = LoopBound(server, on: loop) }
        }
        defer { thread.stopAndJoin() }
        let a = try SocketIORelayTests.Client(port: port), b = try SocketIORelayTests.Client(port: port)
        defer { a.close(); b.close() }
        a.join("r")
        b.join("r")
        let result = Shared<[String]?>(nil)
        let server = io.get!
        onLoop(thread) { _ in
            server.value.of("/chat").to("r").emitWithAck("question", ["q?"], timeout: .seconds(5)) { outcome in
                result.with { $0 = (try? outcome.get())?.map { $0[0]?.stringValue ?? "?" } ?? ["timeout"] }
            }
        }
        for (client, name) in [(a, "a"), (b, "b")] {
            let packet = try XCTUnwrap(client.next())
            let id = String(packet.dropFirst("42/chat,".count).prefix { $0.isNumber })
            client.ws.send("43/chat,\(id)[\"\(name)\"]")
        }
        XCTAssertTrue(eventually(2) { result.get != nil }, "complete once both answered")
        XCTAssertEqual(result.get?.sorted(), ["a", "b"])
    }
}
