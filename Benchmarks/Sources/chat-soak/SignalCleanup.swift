import Dispatch
import Foundation

/// Ends the soak's child processes when the soak itself is interrupted (Ctrl-C, a CI timeout's
/// SIGTERM): a cluster and gateways left running would hold ports and CPU on a shared machine.
enum SignalCleanup {
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []

    static func install() {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                ChildRegistry.shared.killAll()
                FileHandle.standardError.write(Data("chat-soak: interrupted; child processes killed\n".utf8))
                exit(130)
            }
            source.resume()
            sources.append(source)
        }
    }
}
