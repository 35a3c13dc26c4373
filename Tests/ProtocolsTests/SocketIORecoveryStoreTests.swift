import Protocols
import XCTest

/// Connection state recovery's store, without I/O: offsets, which missed packets a session gets
/// back, the window, and the byte bounds.
final class SocketIORecoveryStoreTests: XCTestCase {
    private let second: UInt64 = 1_000_000_000

    private func text(_ s: String) -> SharedBytes { SharedBytes(Array(s.utf8)) }

    func testTheOffsetIsAppendedAsTheLastArgumentWithoutDecoding() {
        func appended(_ packet: String) -> String? {
            Array(packet.utf8).withUnsafeBytes { SocketIORecoveryStore.appendingOffset("7", to: $0) }.map { String(decoding: $0, as: UTF8.self) }
        }
        XCTAssertEqual(appended(#"2["news","a]"]"#), #"2["news","a]","7"]"#)
        XCTAssertEqual(appended(#"2/chat,["x",{"a":[1]}]"#), #"2/chat,["x",{"a":[1]},"7"]"#)
        XCTAssertEqual(appended(#"51-["b",{"_placeholder":true,"num":0}]"#), #"51-["b",{"_placeholder":true,"num":0},"7"]"#)
        XCTAssertEqual(appended("2[]"), #"2["7"]"#)
        XCTAssertNil(appended(#"2{"not":"an array"}"#))
        XCTAssertNil(appended(""))
    }

    func testARestoredSessionGetsWhatItsRoomsWouldHaveReceivedAfterItsOffset() throws {
        var store = SocketIORecoveryStore()
        let before = store.record(text: text("a"), attachments: [], rooms: ["r1"], except: [], now: 0)
        store.persist(sid: "S", pid: "P", rooms: ["S", "r1"], now: 1)
        store.record(text: text("to r1"), attachments: [], rooms: ["r1"], except: [], now: 2)
        store.record(text: text("to r2"), attachments: [], rooms: ["r2"], except: [], now: 2)
        store.record(text: text("to all"), attachments: [[1, 2]], rooms: [], except: [], now: 2)
        store.record(text: text("all but r1"), attachments: [], rooms: [], except: ["r1"], now: 2)
        store.record(text: text("to S"), attachments: [], rooms: ["S"], except: [], now: 2)
        let restored = try XCTUnwrap(store.restore(pid: "P", offset: before, now: 3))
        XCTAssertEqual(restored.session.sid, "S")
        XCTAssertEqual(Set(restored.session.rooms), ["S", "r1"])
        XCTAssertEqual(restored.missed.map { String(decoding: $0.text.bytes, as: UTF8.self) }, ["to r1", "to all", "to S"])
        XCTAssertEqual(restored.missed[1].attachments, [[1, 2]])
        XCTAssertNil(store.restore(pid: "P", offset: before, now: 3), "once")
        XCTAssertEqual(store.sessionCount, 0)
        XCTAssertEqual(store.sessionBytes, 0)
    }

    func testUnknownOffsetsPidsAndExpiredSessionsAreNotRestored() {
        var store = SocketIORecoveryStore()  // 120 s
        let offset = store.record(text: text("a"), attachments: [], rooms: [], except: [], now: 0)
        store.persist(sid: "S", pid: "P", rooms: ["S"], now: 0)
        XCTAssertNil(store.restore(pid: "Q", offset: offset, now: 1))
        XCTAssertNil(store.restore(pid: "P", offset: "12345", now: 1), "an offset never issued")
        store.persist(sid: "S", pid: "P", rooms: ["S"], now: 0)
        XCTAssertNil(store.restore(pid: "P", offset: "not a number", now: 1))
        store.persist(sid: "S", pid: "P", rooms: ["S"], now: 0)
        XCTAssertNil(store.restore(pid: "P", offset: offset, now: 121 * second), "past the window")
        XCTAssertEqual(store.packetCount, 0, "the packets past the window went too")
    }

    func testPacketsAndSessionsStayWithinTheirByteBounds() {
        var limits = SocketIORecoveryStore.Limits()
        limits.maxPacketBytes = 10_000
        limits.maxSessionBytes = 5_000
        limits.maxSessions = 1_000_000
        var store = SocketIORecoveryStore(limits: limits)
        let big = String(repeating: "x", count: 1000)
        for i in 0..<1000 {
            store.record(text: text(big), attachments: [], rooms: ["room"], except: [], now: UInt64(i))
            store.persist(sid: "S\(i)", pid: "P\(i)", rooms: ["S\(i)", String(repeating: "r", count: 200)], now: UInt64(i))
            XCTAssertLessThanOrEqual(store.packetBytes, 10_000)
            XCTAssertLessThanOrEqual(store.sessionBytes, 5_000)
        }
        XCTAssertGreaterThan(store.packetCount, 0)
        XCTAssertGreaterThan(store.sessionCount, 0)
        // The newest session is kept, the oldest went.
        XCTAssertNil(store.restore(pid: "P0", offset: "1000", now: 1000))
        XCTAssertNotNil(store.restore(pid: "P999", offset: "1000", now: 1000))
    }

    func testOnlyUnmeantDisconnectionsAreRecoverable() {
        for reason in ["transport close", "transport error", "ping timeout", "forced close", "server shutting down"] {
            XCTAssertTrue(SocketIORecoveryStore.isRecoverable(reason), reason)
        }
        for reason in ["client namespace disconnect", "server namespace disconnect", "parse error", "payload too large"] {
            XCTAssertFalse(SocketIORecoveryStore.isRecoverable(reason), reason)
        }
    }
}
