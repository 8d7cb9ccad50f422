// swift-tools-version:6.0
// The Kafka module's tests (Tests/KafkaTests, through the KafkaTests symlink) under ThreadSanitizer,
// in a package of their own so that `swift test --sanitize=thread` builds only what they need: the
// Kafka product of the root package (path dependency) and its dependencies (swift-nio, swift-log,
// swift-service-lifecycle), not hummingbird, GRDB, swift-crypto or jwt-kit, which the root's
// `swift test` would instrument too. Run by tools/test-tsan.sh, which builds in .build-tsan.
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

// A path dependency's identity is the name of its directory: the clone's, whatever it is called.
let root = Context.packageDirectory.split(separator: "/").dropLast(2).last.map { $0.lowercased() } ?? "kafka-chat"

let package = Package(
    name: "kafka-chat-thread-sanitizer",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../.."),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
    ],
    targets: [
        .testTarget(
            name: "KafkaTests",
            dependencies: [
                .product(name: "Kafka", package: root),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "KafkaTests",
            swiftSettings: swiftSettings
        )
    ]
)
