import Connections
import Protocols
import Reactor
import ReactorTestSupport
import XCTest

/// The library logs through a pluggable `LogSink`, peer-caused lines through a per-loop token bucket.
final class LogSinkTests: XCTestCase {
    /// 30 malformed requests: the sink gets the burst (20 lines naming the peer and the status,
    /// labelled), the rest are counted, and one summary line says how many were left out.
    func testTheServersLinesReachAPluggedSinkRateLimited() throws {
        let lines = Shared<[(LogLevel, String)]>([])
        let thread = try EventLoopThread()
        let port = onLoop(thread) { loop -> UInt16 in
            let server = HTTPServer(loop: loop, router: HTTPRouter())
            server.log.sink = LogSink(level: .info) { level, line in lines.with { $0.append((level, line)) } }
            return try! server.listen(on: SocketAddress(ip: "127.0.0.1", port: 0)).address.port
        }
        for _ in 0..<30 {
            let c = try BlockingClient(port: port)
            c.send("NOT HTTP AT ALL\r\n\r\n")
            XCTAssertTrue(String(decoding: c.receiveAll(), as: UTF8.self).hasPrefix("HTTP/1.1 400"))
            c.close()
        }
        XCTAssertTrue(eventually(3) { lines.get.count == 21 }, "\(lines.get.count) lines")
        let got = lines.get
        XCTAssertEqual(got.prefix(20).filter { $0.0 == .warning && $0.1.hasPrefix("http: 127.0.0.1:") && $0.1.contains(": 400") }.count, 20,
                       got.prefix(3).map(\.1).joined(separator: "\n"))
        XCTAssertEqual(got.last?.1, "http: 10 similar lines suppressed (more than 10 a second)")
        thread.stopAndJoin()
    }

    /// A sink's level hides what is less important, and the text is not even made.
    func testALevelHidesLinesWithoutMakingThem() {
        let written = Shared<[String]>([])
        let sink = LogSink(level: .warning) { _, line in written.with { $0.append(line) } }
        var made = 0
        func text(_ s: String) -> String { made += 1; return s }
        sink(.info, text("hidden"))
        sink(.debug, text("hidden"))
        sink(.warning, text("shown"))
        sink(.error, text("shown \u{1B}[31mred\n"))
        XCTAssertEqual(made, 2)
        XCTAssertEqual(written.get.first, "shown")
        XCTAssertFalse(written.get.last!.utf8.contains { $0 < 0x20 }, "control characters are escaped: \(written.get.last!)")
    }
}
