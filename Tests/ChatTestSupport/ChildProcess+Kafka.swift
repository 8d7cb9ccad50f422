import Foundation

extension ChildProcess {
    /// Starts `chatctl kafka` (an embedded cluster in a process of its own) with `arguments` and
    /// returns it with the bootstrap servers it prints first; stops it if that line does not come.
    public static func chatctlKafka(_ arguments: [String] = [], chatctl: String = "chatctl") async throws -> (
        process: ChildProcess, bootstrap: String
    ) {
        let kafka = try ChildProcess(chatctl, ["kafka"] + arguments)
        do {
            let line = try await kafka.stdout.nextLine(timeout: .seconds(30)).trimmingCharacters(in: .whitespaces)
            guard line.contains(":") else { throw ProcessFailure(message: "chatctl kafka printed \(line) instead of its bootstrap servers") }
            return (kafka, line)
        } catch {
            kafka.stop()
            throw error
        }
    }
}
