import ChatTestSupport
import Foundation

/// The `chatctl` that `swift build` built (CHATCTL overrides).
func chatctlPath() throws -> String {
    if let path = ProcessInfo.processInfo.environment["CHATCTL"] { return path }
    return try ChildProcess.builtBinary("chatctl")
}

/// `chatctl kafka` as a process of its own.
final class EmbeddedKafkaProcess: Sendable {
    let child: ChildProcess
    let bootstrap: String

    private init(child: ChildProcess, bootstrap: String) {
        self.child = child
        self.bootstrap = bootstrap
    }

    static func start(_ arguments: [String] = []) async throws -> EmbeddedKafkaProcess {
        let (child, bootstrap) = try await ChildProcess.chatctlKafka(arguments, chatctl: try chatctlPath())
        return EmbeddedKafkaProcess(child: child, bootstrap: bootstrap)
    }

    /// Sends a stdin command and returns its answer ("ok" or "error: ...").
    func command(_ line: String) async throws -> String {
        child.send(line)
        return try await child.stdout.nextLine()
    }

    func stop() async {
        child.terminate()
        _ = await child.wait(timeout: .seconds(10))
    }

    static func with<Result>(_ arguments: [String] = [], _ body: (EmbeddedKafkaProcess) async throws -> Result) async throws -> Result {
        let kafka = try await start(arguments)
        do {
            let result = try await body(kafka)
            await kafka.stop()
            return result
        } catch {
            await kafka.stop()
            throw error
        }
    }
}
