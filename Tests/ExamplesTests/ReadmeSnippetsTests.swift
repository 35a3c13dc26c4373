import Foundation
import XCTest

/// Every ```swift block of README.md and of the guides in docs/ must appear verbatim in one file of
/// Sources/Examples, which the package compiles: a snippet that no longer builds, or one edited
/// without its compiled copy (or the other way round), fails here.
///
/// "Verbatim" allows one thing: the copy may be indented as a whole (it sits in a function
/// body). A block's leading `import` lines must be imports of the same file.
final class ReadmeSnippetsTests: XCTestCase {
    private static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testEverySwiftBlockOfTheReadmeIsCompiledInExamples() throws {
        try checkBlocks(of: "README.md")
    }

    /// docs/SERVICE.md, the service author's guide: every snippet compiled too.
    func testEverySwiftBlockOfTheServiceGuideIsCompiledInExamples() throws {
        try checkBlocks(of: "docs/SERVICE.md")
    }

    private func checkBlocks(of document: String) throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent(document), encoding: .utf8)
        let blocks = Self.swiftBlocks(text)
        XCTAssertFalse(blocks.isEmpty, "\(document) has no ```swift block: has the layout changed?")

        let folder = Self.root.appendingPathComponent("Sources/Examples")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".swift") }.sorted()
        let sources = try names.map { try String(contentsOf: folder.appendingPathComponent($0), encoding: .utf8) }

        for block in blocks {
            let found = sources.contains { Self.contains($0, block) }
            XCTAssertTrue(found, "this \(document) block is not in Sources/Examples verbatim (\(names.joined(separator: ", "))):\n\(block.joined(separator: "\n"))")
        }
    }

    /// The contract itself: a copy that differs in one character does not count as the block.
    func testAnEditedCopyIsNoMatch() {
        let block = ["import Reactor", "", "let loop = try EventLoop()", "loop.run()"]
        let copy = "import Reactor\n\nfunc f() throws {\n    let loop = try EventLoop()\n    loop.run()\n}\n"
        XCTAssertTrue(Self.contains(copy, block))
        XCTAssertFalse(Self.contains(copy.replacingOccurrences(of: "run()", with: "run( )"), block))
        XCTAssertFalse(Self.contains(copy.replacingOccurrences(of: "import Reactor", with: "import Protocols"), block))
        XCTAssertFalse(Self.contains("func f() throws {\n    let loop = try EventLoop()\n  loop.run()\n}\n", block),
                       "the copy is indented as a whole or not at all")
    }

    /// The lines of each ```swift ... ``` block.
    static func swiftBlocks(_ markdown: String) -> [[String]] {
        var blocks: [[String]] = []
        var current: [String]?
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if current == nil {
                if line.trimmingCharacters(in: .whitespaces) == "```swift" { current = [] }
            } else if line.trimmingCharacters(in: .whitespaces) == "```" {
                blocks.append(current!)
                current = nil
            } else {
                current!.append(line)
            }
        }
        return blocks
    }

    /// Whether `source` holds `block`: its leading imports as lines of the file, and the rest as
    /// consecutive lines, each prefixed by the same indentation (blank lines stay blank).
    static func contains(_ source: String, _ block: [String]) -> Bool {
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var body = block[...]
        while let first = body.first, first.hasPrefix("import ") || (first.isEmpty && body.count < block.count) {
            if !first.isEmpty && !lines.contains(first) { return false }
            body = body.dropFirst()
        }
        guard let head = body.first else { return true }
        for start in lines.indices where lines[start].hasSuffix(head) {
            let indent = String(lines[start].dropLast(head.count))
            guard indent.allSatisfy({ $0 == " " }), start + body.count <= lines.count else { continue }
            let matches = zip(lines[start...], body).allSatisfy { line, expected in
                expected.isEmpty ? line.isEmpty : line == indent + expected
            }
            if matches { return true }
        }
        return false
    }
}
