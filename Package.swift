// swift-tools-version:6.0
// The root package depends on the toolchain alone: Reactor, Protocols and Connections import Glibc
// and the standard library, never Foundation or another package. The targets are the layers of
// DESIGN.md, and their dependencies are its arrows (they only point down): echo -> Connections ->
// Protocols -> Bytes, Connections -> Reactor -> Bytes and the C modules, Connections -> TLS ->
// COpenSSL (TLS, like Protocols, knows no loop; Reactor knows no TLS, only a `ConnectionTransform`). A parser cannot import the
// loop: Protocols does not depend on Reactor, so the compiler refuses it. `Bytes` (one immutable,
// shared byte block) sits under both, because both speak it: the loop queues it, a machine or the
// pub/sub topic encodes into it. Reactor and Protocols re-export it (`@_exported import Bytes`), so
// `import Reactor` still brings `SharedBytes`. Benchmarks/ is a separate package.
import PackageDescription

let package = Package(
    name: "Reactor",
    products: [
        .library(name: "Reactor", targets: ["Reactor"]),
        .library(name: "Protocols", targets: ["Protocols"]),
        .library(name: "Connections", targets: ["Connections"]),
        .executable(name: "echo", targets: ["echo"]),
    ],
    targets: [
        // The C surface Glibc does not import (epoll, eventfd, signalfd, accept4, a few socket
        // options), for the loop. No logic.
        .target(name: "CEpollShim"),
        // The system zlib (Debian's zlib1g-dev) and callable forms of its init macros, for
        // permessage-deflate and HTTP content codings (Engine.IO's polling compression); its module
        // map links libz. No logic.
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        // The system OpenSSL 3 (Debian's libssl-dev): callable forms of the macros the TLS machine
        // uses and a BIO over borrowed memory; its module map links libssl and libcrypto. No logic.
        .systemLibrary(name: "COpenSSL", providers: [.apt(["libssl-dev"])]),
        // `SharedBytes`, alone: the immutable, reference-counted byte block an encoded message
        // travels in. Below the loop (which queues it by reference) and the machines (which encode
        // into it), so neither has to import the other to share one. No loop, no protocol.
        .target(
            name: "Bytes",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // The event loop: sockets, timers, buffers, cross-thread submission. Knows no protocol.
        .target(
            name: "Reactor",
            dependencies: ["Bytes", "CEpollShim"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // The sans-I/O state machines: bytes in, events, actions and bytes to send out. HTTP/1
        // parser, the server's response rules (HEAD, 1xx/204/304, framing, keep-alive,
        // 100-continue), route patterns and response head encoder, WebSocket frames, handshake and
        // the connection machine (close and ping handshakes) with permessage-deflate, SSE, JSON,
        // RESP, Engine.IO packets and the session machine, Socket.IO packets, gzip/deflate bodies,
        // SHA-1, base64, UTF-8, and the pub/sub
        // topic (its replay log, its one slow-consumer gate, its messages and their cached
        // encodings), which names no transport: each transport brings its subscriber and its
        // encoding. No socket, no loop: it does not depend on Reactor, so every edge case is a
        // unit test.
        .target(
            name: "Protocols",
            dependencies: ["Bytes", "CZlib"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // TLS as a sans-I/O machine over OpenSSL: ciphertext in, plaintext (into one buffer shared
        // per loop) and ciphertext out. Its own target, beside Protocols rather than in it, so
        // only what speaks TLS links OpenSSL; like Protocols it knows no loop.
        .target(
            name: "TLS",
            dependencies: ["Bytes", "COpenSSL"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // Each protocol machine bound to a reactor connection: HTTP server, router and responder,
        // WebSocket connection and client (and its topic subscriber), SSE stream (and its), long
        // polls, the pub/sub hub and its relays (other loops; Redis, with the Redis client),
        // Engine.IO/Socket.IO servers and sessions; the async forms over the same machines
        // (async routes and streamed bodies, AsyncWebSocket); `TLSServer` (the TLS machine as the
        // transform between a connection's socket and its handler); `Service` (a server's loops in one
        // call) and the log sink. Every file that imports
        // Reactor beside Protocols lives here. What it needs of Protocols and users must not
        // touch is `package` there.
        .target(
            name: "Connections",
            dependencies: ["Reactor", "Protocols", "TLS"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // The demo server (`swift run -c release echo --help`), built from the public API only.
        .executableTarget(
            name: "echo",
            dependencies: ["Reactor", "Protocols", "Connections", "TLS"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // The README's Swift snippets, verbatim, as a program (`swift run Examples loop|http`):
        // compiled with everything else, and compared with README.md by ExamplesTests.
        .executableTarget(
            name: "Examples",
            dependencies: ["Reactor", "Protocols", "Connections"],
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
        // The state machines alone: bytes in, events and bytes out (ReactorTestSupport for its
        // seeded random bytes and helpers; no test here opens a socket).
        .testTarget(
            name: "ProtocolsTests",
            dependencies: ["Protocols", "ReactorTestSupport"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // The glue: servers, sockets, topics and relays over 127.0.0.1 and real loops.
        .testTarget(
            name: "ConnectionsTests",
            dependencies: ["Connections", "Protocols", "Reactor", "ReactorTestSupport", "TLS"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // The TLS machine alone: a client and a server handshaking in memory, no socket.
        .testTarget(
            name: "TLSTests",
            dependencies: ["TLS", "ReactorTestSupport"],
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
