// swift-tools-version:6.0
// The benchmarks and the reliability soak, kept out of the product's package: they build on the
// root package's libraries (path dependency) and are run by tools/bench-*.sh, tools/soak.sh and the
// soak step of tools/test.sh, through tools/build-benchmarks.sh, which builds in the root's .build
// (`--package-path Benchmarks --scratch-path .build`) so that the root's compiled dependencies are reused.
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

// A path dependency's identity is the name of its directory: the clone's, whatever it is called.
let root = Context.packageDirectory.split(separator: "/").dropLast().last.map { $0.lowercased() } ?? "kafka-chat"

let package = Package(
    name: "kafka-chat-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.2.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.0.0"..<"5.0.0"),
    ],
    targets: [
        // librdkafka driven directly from C, the baseline kafka-bench and chat-bench compare against.
        // Its headers are the system's; the Kafka product links librdkafka.
        .target(name: "CKafkaBaseline", dependencies: [.product(name: "Kafka", package: root)]),
        .executableTarget(
            name: "history-bench",
            dependencies: [
                .product(name: "Kafka", package: root),
                .product(name: "ChatDomain", package: root),
                .product(name: "ChatHistory", package: root),
                .product(name: "ChatCompactor", package: root),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "kafka-bench",
            dependencies: [
                "CKafkaBaseline",
                .product(name: "Kafka", package: root),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "chat-bench",
            dependencies: [
                "CKafkaBaseline",
                .product(name: "ChatServer", package: root),
                .product(name: "ChatGateway", package: root),
                .product(name: "Kafka", package: root),
                .product(name: "AsyncOneShot", package: root),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "chat-soak",
            dependencies: [
                .product(name: "AsyncOneShot", package: root),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "presence-bench",
            dependencies: [.product(name: "ChatPresence", package: root)],
            swiftSettings: swiftSettings
        ),
    ]
)
