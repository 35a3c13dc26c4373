import Foundation
import Glibc
import Connections
import Protocols
import Reactor
import ReactorTestSupport
import XCTest

/// A graceful shutdown answers held long polls at once (`HTTPResponder.onShutdown`), over real
/// sockets: the chat's room long poll with its empty answer, an Engine.IO poll with a close packet.
/// Without it, a held poll ends only at its own timeout or when the drain deadline closes it
/// unanswered, and the loop stops no earlier than that deadline.
final class HeldPollShutdownTests: XCTestCase {
    typealias Reader = HTTPServerTests.Reader

    /// The drain deadline given to every shutdown here; the held polls' own timeouts are longer.
    static let deadline = Duration.seconds(10)

    func testRoomLongPollIsAnsweredEmptyAtOnce() throws {
        let hub = Shared<PubSub?>(nil)
        let port = Shared<UInt16>(0)
        let thread = try EventLoopThread { loop in
            let pubsub = PubSub(loop: loop)
            hub.with { $0 = pubsub }
            let router = HTTPRouter()
            router.get("/poll") { _, res in
                let topic = pubsub.topic("r")
                _ = LongPollSubscription(topic: topic, responder: res, timeout: .seconds(60)) { messages in
                    res.respond(contentType: "application/json", body: PollingResponse.json(cursor: topic.lastID, messages: messages))
                }
            }
            let server = HTTPServer(loop: loop, router: router)
            port.with { $0 = try! server.listen(on: SocketAddress(ip: "127.0.0.1", port: 0)).address.port }
        }
        let client = try BlockingClient(port: port.get)
        client.send("GET /poll HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertTrue(eventually { onLoop(thread) { _ in hub.get!.topic("r").subscriberCount } == 1 }, "the poll is held")

        let start = Date()
        thread.handle.shutdownGracefully(deadline: Self.deadline)
        let reader = Reader(client)
        let response = reader.response()
        XCTAssertEqual(response?.status, 200)
        XCTAssertEqual(response?.text, #"{"cursor":0,"messages":[]}"#)
        XCTAssertEqual(response?.headers["connection"], "close")
        XCTAssertTrue(reader.isClosed)
        client.close()  // the server lingers until the client closes too
        thread.join()
        XCTAssertLessThan(Date().timeIntervalSince(start), 1.5, "answered and stopped at once, not at the deadline")
        XCTAssertEqual(onLoopAfterStop(hub) { $0.topic("r").subscriberCount }, 0)
    }

    func testEngineIOLongPollGetsTheClosePacketAtOnce() throws {
        final class Recorder: EngineIOSessionDelegate, @unchecked Sendable {
            var closeReason: EngineIOCloseReason?
            func engineIOSession(_ session: EngineIOSession, didReceiveText text: UnsafeRawBufferPointer) {}
            func engineIOSession(_ session: EngineIOSession, didReceiveBinary data: UnsafeRawBufferPointer) {}
            func engineIOSessionDidClose(_ session: EngineIOSession, reason: EngineIOCloseReason) { closeReason = reason }
        }
        let recorder = Recorder()
        let port = Shared<UInt16>(0)
        let thread = try EventLoopThread { loop in
            let router = HTTPRouter()
            var configuration = EngineIOConfiguration()
            configuration.pingInterval = .seconds(60)  // no ping ends the poll in this test
            let engine = EngineIOServer(loop: loop, configuration: configuration)
            engine.onConnection = { session in session.delegate = recorder }
            engine.install(on: router)
            let server = HTTPServer(loop: loop, router: router)
            port.with { $0 = try! server.listen(on: SocketAddress(ip: "127.0.0.1", port: 0)).address.port }
        }
        let client = try BlockingClient(port: port.get)
        let reader = Reader(client)
        client.send("GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: t\r\n\r\n")
        let open = try XCTUnwrap(reader.response())
        XCTAssertTrue(open.text.hasPrefix("0{"), open.text)
        let sid = try XCTUnwrap(try JSONValue.parse(String(open.text.dropFirst()))["sid"]?.stringValue)
        client.send("GET /engine.io/?EIO=4&transport=polling&sid=\(sid) HTTP/1.1\r\nHost: t\r\n\r\n")
        usleep(100_000)  // the poll is held: nothing is queued for the session

        let start = Date()
        thread.handle.shutdownGracefully(deadline: Self.deadline)
        let response = reader.response()
        XCTAssertEqual(response?.status, 200)
        XCTAssertEqual(response?.text, "1", "the held poll carries the close packet")
        XCTAssertEqual(response?.headers["connection"], "close")
        XCTAssertTrue(reader.isClosed)
        client.close()  // the server lingers until the client closes too
        thread.join()
        XCTAssertLessThan(Date().timeIntervalSince(start), 1.5, "answered and stopped at once, not at the deadline")
        XCTAssertEqual(recorder.closeReason, .serverShutdown)
    }

    func testAPollArrivingWhileTheLoopDrainsIsAnsweredAtOnce() throws {
        let hub = Shared<PubSub?>(nil)
        let port = Shared<UInt16>(0)
        let thread = try EventLoopThread { loop in
            let pubsub = PubSub(loop: loop)
            hub.with { $0 = pubsub }
            let router = HTTPRouter()
            router.get("/poll") { _, res in
                let topic = pubsub.topic("r")
                _ = LongPollSubscription(topic: topic, responder: res, timeout: .seconds(60)) { messages in
                    res.respond(contentType: "application/json", body: PollingResponse.json(cursor: topic.lastID, messages: messages))
                }
            }
            let server = HTTPServer(loop: loop, router: router)
            port.with { $0 = try! server.listen(on: SocketAddress(ip: "127.0.0.1", port: 0)).address.port }
        }
        // Half a request head when the shutdown starts: the connection is kept to finish it, and
        // the poll it turns out to be is held only after the shutdown began.
        let client = try BlockingClient(port: port.get)
        client.send("GET /poll HTTP/1.1\r\nHo")
        usleep(50_000)
        let start = Date()
        thread.handle.shutdownGracefully(deadline: Self.deadline)
        usleep(50_000)
        client.send("st: t\r\n\r\n")
        let reader = Reader(client)
        let response = reader.response()
        XCTAssertEqual(response?.text, #"{"cursor":0,"messages":[]}"#)
        XCTAssertEqual(response?.headers["connection"], "close")
        XCTAssertTrue(reader.isClosed)
        client.close()  // the server lingers until the client closes too
        thread.join()
        XCTAssertLessThan(Date().timeIntervalSince(start), 1.5, "answered and stopped at once, not at the deadline")
    }

    /// Reads the hub after its loop stopped (nothing else touches it then).
    private func onLoopAfterStop<T>(_ hub: Shared<PubSub?>, _ body: (PubSub) -> T) -> T { body(hub.get!) }
}
