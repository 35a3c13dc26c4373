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
        // The C surface Glibc does not import (epoll, eventfd, signalfd, accept4, zlib's init
        // macros). No logic. zlib is the system library (Debian's zlib1g-dev).
        .target(name: "CEpollShim", linkerSettings: [.linkedLibrary("z")]),
        .target(
            name: "Reactor",
            dependencies: ["CEpollShim"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .target(
            name: "Protocols",
            dependencies: ["Reactor", "CEpollShim"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "echo",
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
    ]
)
