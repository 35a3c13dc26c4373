@testable import Connections
import XCTest

/// The listener table behind `socket.on`/`once`/`off`/`onAny`: Node's EventEmitter order and
/// removal rules, checked on the table itself.
final class SocketIOListenerTableTests: XCTestCase {
    typealias Table = SocketIOListenerTable<(inout [String]) -> Void>
    typealias List = SocketIOListenerList<(inout [String]) -> Void>

    func entry(_ id: UInt64, once: Bool = false, _ name: String) -> List.Entry {
        List.Entry(id: SocketIOListenerID(value: id), once: once) { $0.append(name) }
    }

    func fire(_ table: inout Table, _ event: String) -> [String] {
        var ran: [String] = []
        for e in table.firing(event) { e.handler(&ran) }
        return ran
    }

    func testHandlersOfOneEventRunInTheOrderTheyWereAdded() {
        var table = Table()
        table.add("e", entry(1, "a"))
        table.add("e", entry(2, "b"))
        table.add("e", entry(3, "c"))
        XCTAssertEqual(fire(&table, "e"), ["a", "b", "c"])
        XCTAssertEqual(fire(&table, "e"), ["a", "b", "c"])
        XCTAssertEqual(table.count("e"), 3)
        XCTAssertEqual(fire(&table, "other"), [])
    }

    func testPrependPutsAHandlerFirst() {
        var table = Table()
        table.add("e", entry(1, "a"))
        table.add("e", entry(2, "first"), prepend: true)
        XCTAssertEqual(fire(&table, "e"), ["first", "a"])
    }

    func testOnceRunsOnceAndLeavesTheOthers() {
        var table = Table()
        table.add("e", entry(1, "a"))
        table.add("e", entry(2, once: true, "once"))
        table.add("e", entry(3, "c"))
        XCTAssertEqual(fire(&table, "e"), ["a", "once", "c"])
        XCTAssertEqual(fire(&table, "e"), ["a", "c"])
        XCTAssertEqual(table.count("e"), 2)
    }

    func testAnEventWithOnlyAOnceHandlerIsDroppedAfterIt() {
        var table = Table()
        table.add("e", entry(1, once: true, "once"))
        XCTAssertEqual(fire(&table, "e"), ["once"])
        XCTAssertEqual(table.count("e"), 0)
        XCTAssertEqual(fire(&table, "e"), [])
    }

    func testOffRemovesOneHandlerByIDWhicheverEventHasIt() {
        var table = Table()
        table.add("e", entry(1, "a"))
        table.add("e", entry(2, "b"))
        table.add("f", entry(3, "f"))
        XCTAssertTrue(table.remove(SocketIOListenerID(value: 1)))
        XCTAssertEqual(fire(&table, "e"), ["b"])
        XCTAssertTrue(table.remove(SocketIOListenerID(value: 3)))
        XCTAssertEqual(table.count("f"), 0)
        XCTAssertFalse(table.remove(SocketIOListenerID(value: 3)), "a second off finds nothing")
        XCTAssertFalse(table.remove(SocketIOListenerID(value: 99)))
        XCTAssertEqual(fire(&table, "e"), ["b"])
    }

    func testRemoveAllOfOneEventLeavesTheOthers() {
        var table = Table()
        table.add("e", entry(1, "a"))
        table.add("e", entry(2, "b"))
        table.add("f", entry(3, "f"))
        table.removeAll("e")
        XCTAssertEqual(fire(&table, "e"), [])
        XCTAssertEqual(fire(&table, "f"), ["f"])
        table.removeAll()
        XCTAssertEqual(fire(&table, "f"), [])
    }

    /// A handler added or removed while an emission runs takes effect from the next one (Node
    /// copies the listener array before running it).
    func testChangesDuringAnEmissionApplyToTheNextOne() {
        var table = Table()
        table.add("e", entry(1, "a"))
        table.add("e", entry(2, "b"))
        let firing = table.firing("e")
        table.remove(SocketIOListenerID(value: 2))
        table.add("e", entry(3, "c"))
        var ran: [String] = []
        for e in firing { e.handler(&ran) }
        XCTAssertEqual(ran, ["a", "b"])
        XCTAssertEqual(fire(&table, "e"), ["a", "c"])
    }

    func testListKeepsOrderAndOnce() {
        var list = List()
        list.add(entry(1, "a"))
        list.add(entry(2, once: true, "once"), prepend: true)
        list.add(entry(3, "c"))
        var ran: [String] = []
        for e in list.firing() { e.handler(&ran) }
        XCTAssertEqual(ran, ["once", "a", "c"])
        ran = []
        for e in list.firing() { e.handler(&ran) }
        XCTAssertEqual(ran, ["a", "c"])
        XCTAssertTrue(list.remove(SocketIOListenerID(value: 1)))
        XCTAssertFalse(list.remove(SocketIOListenerID(value: 1)))
        XCTAssertEqual(list.count, 1)
        list.removeAll()
        XCTAssertTrue(list.isEmpty)
    }
}
