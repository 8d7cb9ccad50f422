import ServiceLifecycle

/// Runs the compactor when there is one, else idles until shutdown, so a node's service list
/// stays the same whether or not it compacts.
public struct CompactorSlot: Service {
    let compactor: Compactor?

    public init(_ compactor: Compactor?) {
        self.compactor = compactor
    }

    public func run() async throws {
        if let compactor {
            try await compactor.run()
        } else {
            try? await gracefulShutdown()
        }
    }
}
