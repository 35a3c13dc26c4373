// swift-tools-version:6.0
// The root package depends on the toolchain alone: Reactor and Protocols import Glibc and the
// standard library, never Foundation or another package. Benchmarks/ is a separate package.
import PackageDescription

let package = Package(
    name: "Reactor",
    products: [
        .library(name: "Reactor", targets: ["Reactor"]),
        .library(name: "Protocols", targets: ["Protocols"]),
        .executable(name: "echo", targets: ["echo"]),
    ],
    targets: [
        // The C surface Glibc does not import (epoll, eventfd, signalfd, accept4, a few socket
        // options), for the loop. No logic.
        .target(name: "CEpollShim"),
        // The system zlib (Debian's zlib1g-dev) and callable forms of its init macros, for
        // permessage-deflate alone; its module map links libz. No logic.
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        // The event loop: sockets, timers, buffers, cross-thread submission. Knows no protocol.
        .target(
            name: "Reactor",
            dependencies: ["CEpollShim"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // HTTP/1.1, WebSocket and permessage-deflate, SSE, pub/sub, JSON, RESP/Redis,
        // Engine.IO/Socket.IO: the state machines and their glue to the loop.
        .target(
            name: "Protocols",
            dependencies: ["Reactor", "CZlib"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // The demo server (`swift run -c release echo --help`), built from the public API only.
        .executableTarget(
            name: "echo",
            dependencies: ["Reactor", "Protocols"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // The README's Swift snippets, verbatim, as a program (`swift run Examples loop|http`):
        // compiled with everything else, and compared with README.md by ExamplesTests.
        .executableTarget(
            name: "Examples",
            dependencies: ["Reactor", "Protocols"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // Helpers shared by the test targets (a blocking client, loop-thread plumbing).
        .target(
            name: "ReactorTestSupport",
            dependencies: ["Reactor"],
            path: "Tests/ReactorTestSupport",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .testTarget(
            name: "ReactorTests",
            dependencies: ["Reactor", "CEpollShim", "ReactorTestSupport"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .testTarget(
            name: "ProtocolsTests",
            dependencies: ["Protocols", "ReactorTestSupport"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // Each Swift block of README.md must appear verbatim in Sources/Examples. Depending on
        // Examples makes `swift test` compile the snippets too.
        .testTarget(
            name: "ExamplesTests",
            dependencies: ["Examples"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
