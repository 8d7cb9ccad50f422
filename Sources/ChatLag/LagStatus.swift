/// The status of a consumer on one partition (and, worst of its partitions, of a group).
///
/// Raw values are what `chat_consumergroup_status` exports and what the alert rules in
/// deploy/prometheus/alerts.yml compare against; never renumber them.
public enum LagStatus: Int, Sendable, Hashable, Comparable, CaseIterable, Codable, CustomStringConvertible {
    /// Caught up at least once within the window, or making progress without falling behind.
    case ok = 0
    /// Committing progress, but the lag grew at every sample of the window.
    case warn = 1
    /// No progress across the window on a backlog that is not growing.
    case stall = 2
    /// No progress across the window while new messages arrive, so the lag grows.
    case stop = 3
    /// The lag cannot be evaluated, or the committed offset is outside the log.
    case err = 4

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String {
        switch self {
        case .ok: "OK"
        case .warn: "WARN"
        case .stall: "STALL"
        case .stop: "STOP"
        case .err: "ERR"
        }
    }

    public init(from decoder: any Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let status = Self.allCases.first(where: { $0.description == name }) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown status \(name)"))
        }
        self = status
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// A group's status from its partitions': STALL, STOP and ERR on any partition make the group ERR.
    public var groupLevel: LagStatus {
        switch self {
        case .ok, .warn: self
        case .stall, .stop, .err: .err
        }
    }
}
