// swift-tools-version:6.0
// The benchmark harness is its own package so that its needs (Foundation, swift-nio for
// the SwiftNIO baselines) never leak into the root package, which depends on the
// toolchain alone. It drives the root package's binaries (the servers under test) as
// separate processes, built with `swift build --package-path ..`; only the load generator
// written on the reactor depends on the root package, by path.
import PackageDescription

let package = Package(
    name: "ReactorBenchmarks",
    products: [
        .executable(name: "bench", targets: ["bench"]),
        .executable(name: "nio-http", targets: ["nio-http"]),
        .executable(name: "nio-websocket", targets: ["nio-websocket"]),
        .executable(name: "nio-broadcast", targets: ["nio-broadcast"]),
        .executable(name: "reactor-loadgen", targets: ["reactor-loadgen"]),
        .executable(name: "hb-http", targets: ["hb-http"]),
        .executable(name: "hb-websocket", targets: ["hb-websocket"]),
        .executable(name: "nio-tls", targets: ["nio-tls"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        // Hummingbird 2, the framework peer of the async paths (issue 16): the versions
        // mirrored on the project's machines.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        // NIOSSL, the TLS peer of the tls scenario (issue 17): the version mirrored on the machines.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // The root package, for the load generator written on the reactor's client side.
        .package(name: "Reactor", path: ".."),
    ],
    targets: [
        // The runner: builds the C baselines, the SwiftNIO baselines and the servers under
        // test, runs each scenario, prints and writes the results. See README.md. It does
        // not depend on swift-nio, so `swift run bench` compiles only Foundation code; the
        // runner builds the SwiftNIO servers itself when a scenario needs them.
        .executableTarget(
            name: "bench",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // The load generator of the broadcast, idle-connection and Socket.IO set-up runs,
        // written on the reactor: one thread, one loop (see its main.swift).
        .executableTarget(
            name: "reactor-loadgen",
            dependencies: [
                .product(name: "Reactor", package: "Reactor"),
                .product(name: "Protocols", package: "Reactor"),
                .product(name: "Connections", package: "Reactor"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // The SwiftNIO peers: one event-loop thread each, written the way SwiftNIO's own
        // examples and its TechEmpower entry are.
        .executableTarget(
            name: "nio-http",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "nio-websocket",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "nio-broadcast",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // The SwiftNIO TLS peer (issue 17): nio-http's and nio-websocket's handlers behind
        // NIOSSLServerHandler. A product of its own so that the plain peers never compile
        // BoringSSL (minutes on 2 cores); built only when the tls scenario runs.
        .executableTarget(
            name: "nio-tls",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // The Hummingbird 2 peers: one event-loop thread each, written the way Hummingbird's
        // README and docs write an application. Built by the runner only when a scenario
        // has a Hummingbird row.
        .executableTarget(
            name: "hb-http",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "hb-websocket",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
