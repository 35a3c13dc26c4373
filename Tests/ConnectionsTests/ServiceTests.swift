import Connections
import Foundation
import Protocols
import Reactor
import ReactorTestSupport
import XCTest

/// `Service`: loops made and wired in one call, over real sockets on 127.0.0.1.
final class ServiceTests: XCTestCase {
    private func configuration(threads: Int) -> Service.Configuration {
        var c = Service.Configuration()
        c.threads = threads
        c.drainDeadline = nil   // no signal handling inside the test process
        return c
    }

    /// Two loops on one port chosen by loop 0, each answering with its index; hubs joined by the
    /// relay (a message published on loop 1 reaches a subscriber on loop 0, numbered once).
    func testLoopsShareAPortAndTheirHubsShareRooms() throws {
        let setups = Shared<[Int]>([])
        let service = try Service(configuration: configuration(threads: 2)) { context in
            setups.with { $0.append(context.index) }
            context.loop.local(LoopState.self) { LoopState(context.pubsub) }.hub.topic("room").subscribe(context.loop.local(LoopState.self) { fatalError() })
            let router = HTTPRouter()
            let index = context.index
            router.get("/which") { _, res in res.respond(contentType: "text/plain", body: "loop \(index)") }
            let server = HTTPServer(loop: context.loop, router: router)
            try context.listen(on: SocketAddress(ip: "127.0.0.1", port: 0)) { server.makeHandler(for: $0) }
        }
        XCTAssertEqual(setups.get, [0, 1], "loop 0's setup runs first, then the others in order")
        XCTAssertEqual(service.listeners.count, 2)
        let port = service.listeners[0][0].address.port
        XCTAssertNotEqual(port, 0)
        XCTAssertEqual(service.listeners[1][0].address.port, port, "loop 1 joins the port loop 0 got")

        let answers = Shared<Set<String>>([])
        let delivered = Shared<[UInt64]>([])
        let handles = service.handles
        let runner = Thread {
            // Both loops answer on the one port (the kernel spreads connections: try until both did).
            for _ in 0..<200 where answers.get.count < 2 {
                guard let c = try? BlockingClient(port: port) else { continue }
                c.send("GET /which HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                let text = String(decoding: c.receiveAll(), as: UTF8.self)
                if let line = text.split(separator: "\r\n").last { answers.with { _ = $0.insert(String(line)) } }
                c.close()
            }
            handles[1].execute { loop in
                loop.local(LoopState.self) { fatalError() }.hub.topic("room").publish("from loop 1")
            }
            _ = eventually { onLoop(handles[0]) { loop in loop.local(LoopState.self) { fatalError() }.ids }.count == 1 }
            delivered.with { $0 = onLoop(handles[0]) { loop in loop.local(LoopState.self) { fatalError() }.ids } }
            for handle in handles { handle.shutdownGracefully(deadline: .seconds(1)) }   // from another thread: through the handles
        }
        runner.start()
        service.run()   // returns once every loop has drained
        XCTAssertEqual(answers.get, ["loop 0", "loop 1"])
        XCTAssertEqual(delivered.get, [1], "the relay numbered the message once and delivered it on loop 0")
    }

    /// A setup that fails on loop 1 reaches the caller, with the loop's index and its error, and
    /// no loop is left running.
    func testASetupErrorOnAnotherLoopReachesTheCaller() {
        struct Refused: Error, Equatable { let why: String }
        XCTAssertThrowsError(try Service(configuration: configuration(threads: 3)) { context in
            if context.index == 1 { throw Refused(why: "no database") }
        }) { error in
            guard let failure = error as? ServiceSetupError else { return XCTFail("\(error)") }
            XCTAssertEqual(failure.loop, 1)
            XCTAssertEqual(failure.underlying as? Refused, Refused(why: "no database"))
        }
    }

    /// Loop 0's setup error comes as it was thrown.
    func testASetupErrorOnLoopZeroComesUnwrapped() {
        struct Refused: Error {}
        XCTAssertThrowsError(try Service(configuration: configuration(threads: 2)) { context in
            if context.index == 0 { throw Refused() }
        }) { error in XCTAssertTrue(error is Refused, "\(error)") }
    }
}

/// Per-loop test state: the loop's hub and the ids its subscriber saw.
private final class LoopState: TopicSubscriber {
    let hub: PubSub
    var ids: [UInt64] = []
    init(_ hub: PubSub) { self.hub = hub }
    func topic(_ topic: Topic, didPublish message: TopicMessage) { ids.append(message.id) }
}
