// swift-tools-version:6.0
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
    name: "kafka-chat",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "chatd", targets: ["chatd"]),
        .executable(name: "chatctl", targets: ["chatctl"]),
        // The libraries Benchmarks/Package.swift (benchmarks and the soak) builds on.
        .library(name: "Kafka", targets: ["Kafka"]),
        .library(name: "AsyncOneShot", targets: ["AsyncOneShot"]),
        .library(name: "ChatDomain", targets: ["ChatDomain"]),
        .library(name: "ChatHistory", targets: ["ChatHistory"]),
        .library(name: "ChatCompactor", targets: ["ChatCompactor"]),
        .library(name: "ChatPresence", targets: ["ChatPresence"]),
        .library(name: "ChatGateway", targets: ["ChatGateway"]),
        .library(name: "ChatServer", targets: ["ChatServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.24.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.2.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.0.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.0.0"..<"5.0.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .target(name: "CKafkaShim", dependencies: ["CRdKafka"]),
        .target(
            name: "Kafka",
            dependencies: [
                "CRdKafka", "CKafkaShim",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ChatDomain",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .target(name: "AsyncOneShot", swiftSettings: swiftSettings),
        .target(
            name: "ChatHistory",
            dependencies: [
                "Kafka", "ChatDomain",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ChatCompactor",
            dependencies: [
                "Kafka", "ChatDomain", "ChatHistory",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ChatPresence",
            dependencies: [
                "Kafka", "ChatDomain",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ChatFanout",
            dependencies: [
                "Kafka", "ChatDomain",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ChatGateway",
            dependencies: [
                "Kafka", "ChatDomain", "ChatHistory", "ChatFanout", "ChatPresence", "AsyncOneShot",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Resources/web")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ChatServer",
            dependencies: [
                "Kafka", "ChatDomain", "ChatHistory", "ChatCompactor", "ChatFanout", "ChatGateway", "ChatPresence", "ChatProvisioning",
                "AsyncOneShot",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "chatd",
            dependencies: [
                "ChatServer", "ChatGateway",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ChatLag",
            dependencies: [
                "Kafka", "ChatDomain",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "ChatProvisioning", dependencies: ["Kafka", "ChatDomain"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "chatctl",
            dependencies: [
                "Kafka", "ChatDomain", "ChatHistory", "ChatCompactor", "ChatLag", "ChatProvisioning",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // What the test targets share: child processes, seeded randomness, the frame fuzzer, loggers.
        .target(
            name: "ChatTestSupport",
            dependencies: [.product(name: "Logging", package: "swift-log")],
            path: "Tests/ChatTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FuzzTests",
            dependencies: [
                "ChatServer", "ChatGateway", "ChatDomain", "ChatTestSupport", "Kafka",
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KafkaTests",
            dependencies: ["Kafka"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ChatDomainTests",
            dependencies: ["ChatDomain", "ChatTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LagTests",
            dependencies: ["ChatLag", "ChatProvisioning", "ChatServer", "ChatGateway", "Kafka", "ChatDomain", "ChatTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "ChatServer", "ChatGateway", "ChatFanout", "ChatProvisioning", "Kafka", "ChatDomain", "ChatTestSupport", "AsyncOneShot",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HistoryTests",
            dependencies: [
                "ChatHistory", "ChatCompactor", "ChatDomain", "ChatTestSupport", "ChatFanout", "ChatServer", "ChatGateway", "Kafka",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
