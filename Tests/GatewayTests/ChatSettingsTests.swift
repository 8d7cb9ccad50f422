import ChatGateway
import ChatServer
import Testing

/// chatd's one option / environment mapping: an option beats its variable, which beats the
/// default, and an unusable value names where it came from.
@Suite struct ChatSettingsTests {
    @Test("An option beats its environment variable, which beats the default")
    func precedence() throws {
        let defaults = try ChatSettings.resolve(options: [:], environment: [:])
        #expect(defaults.configuration.gateway.port == 8080)
        #expect(defaults.configuration.gateway.host == "0.0.0.0")
        #expect(defaults.configuration.snapshotDirectory == "./data/snapshots")
        #expect(defaults.configuration.brokers == nil)
        #expect(defaults.configuration.role == nil)
        #expect(defaults.logLevel == .info)

        let fromEnvironment = try ChatSettings.resolve(
            options: [:], environment: ["CHAT_PORT": "9000", "CHAT_BROKERS": "kafka:9092", "CHAT_ROLE": "compactor", "CHAT_LOG_LEVEL": "debug"])
        #expect(fromEnvironment.configuration.gateway.port == 9000)
        #expect(fromEnvironment.configuration.brokers == "kafka:9092")
        #expect(fromEnvironment.configuration.role == .compactor)
        #expect(fromEnvironment.logLevel == .debug)

        let fromOptions = try ChatSettings.resolve(
            options: [ChatSettings.port: ["9100"], ChatSettings.role: ["all"]], environment: ["CHAT_PORT": "9000", "CHAT_ROLE": "gateway"])
        #expect(fromOptions.configuration.gateway.port == 9100)
        #expect(fromOptions.configuration.role == .all)

        // An empty variable counts as unset.
        let empty = try ChatSettings.resolve(options: [:], environment: ["CHAT_BROKERS": "", "CHAT_SNAPSHOT_DIR": ""])
        #expect(empty.configuration.brokers == nil)
        #expect(empty.configuration.snapshotDirectory == "./data/snapshots")
    }

    @Test("Lists: repeated options replace the comma-separated variable; flags are 1 or 0")
    func listsAndFlags() throws {
        let environment = ["CHAT_ALLOWED_ORIGINS": "https://a.example, https://b.example", "CHAT_KAFKA_PROPERTIES": "acks=all,linger.ms=5"]
        let fromEnvironment = try ChatSettings.resolve(options: [:], environment: environment)
        #expect(fromEnvironment.configuration.gateway.allowedOrigins == ["https://a.example", "https://b.example"])
        #expect(fromEnvironment.configuration.kafkaProperties == ["acks": "all", "linger.ms": "5"])
        let fromOptions = try ChatSettings.resolve(options: [ChatSettings.allowedOrigin: ["https://c.example"]], environment: environment)
        #expect(fromOptions.configuration.gateway.allowedOrigins == ["https://c.example"])

        #expect(try ChatSettings.resolve(options: [:], environment: ["CHAT_PRODUCTION": "1"]).configuration.production)
        #expect(try !ChatSettings.resolve(options: [:], environment: ["CHAT_PRODUCTION": "0"]).configuration.production)
        #expect(try ChatSettings.resolve(options: [ChatSettings.production: ["1"]], environment: [:]).configuration.production)
    }

    @Test("A bad value is refused with a message naming the variable or option")
    func badValues() {
        #expect(throws: ChatSettingError("CHAT_PORT must be a whole number, got eighty")) {
            try ChatSettings.resolve(options: [:], environment: ["CHAT_PORT": "eighty"])
        }
        #expect(throws: ChatSettingError("--port must be a whole number, got eighty")) {
            try ChatSettings.resolve(options: [ChatSettings.port: ["eighty"]], environment: [:])
        }
        #expect(throws: ChatSettingError("CHAT_MAX_ROOMS_PER_SESSION must be at least 1, got 0")) {
            try ChatSettings.resolve(options: [:], environment: ["CHAT_MAX_ROOMS_PER_SESSION": "0"])
        }
        #expect(throws: ChatSettingError("--ready-lag-limit must not be negative, got -1")) {
            try ChatSettings.resolve(options: [ChatSettings.readyLagLimit: ["-1"]], environment: [:])
        }
        #expect(throws: ChatSettingError("CHAT_ROLE must be gateway, compactor or all, got both")) {
            try ChatSettings.resolve(options: [:], environment: ["CHAT_ROLE": "both"])
        }
        #expect(throws: ChatSettingError("CHAT_PRODUCTION must be 1 or 0, got true")) {
            try ChatSettings.resolve(options: [:], environment: ["CHAT_PRODUCTION": "true"])
        }
        #expect(throws: ChatSettingError("CHAT_KAFKA_PROPERTIES takes key=value, got acks")) {
            try ChatSettings.resolve(options: [:], environment: ["CHAT_KAFKA_PROPERTIES": "acks"])
        }
        // The option wins even over a bad variable: the variable is never read.
        #expect(throws: Never.self) { try ChatSettings.resolve(options: [ChatSettings.port: ["1"]], environment: ["CHAT_PORT": "x"]) }
    }

    @Test("Help text names the variable and the default")
    func help() {
        #expect(ChatSettings.port.help == "HTTP and WebSocket port [CHAT_PORT, default 8080].")
        #expect(ChatSettings.production.help == "Production mode: refuse to start without --brokers and a JWT secret or key [CHAT_PRODUCTION=1].")
        #expect(ChatSettings.allowedOrigin.help == "Allowed WebSocket Origin, repeatable [CHAT_ALLOWED_ORIGINS, comma-separated]. Absent: any.")
        #expect(Set(ChatSettings.all.map(\.variable)).count == ChatSettings.all.count)
        #expect(Set(ChatSettings.all.map(\.option)).count == ChatSettings.all.count)
    }
}
