import ArgumentParser
import ChatDomain
import Foundation

/// A `--since` / `--until` bound: a cursor of the room's log, or a point in time.
enum ReplayBound: Equatable, Sendable {
    case offset(Int64)
    case time(milliseconds: Int64)

    /// Parses a cursor (`<epoch>.<partition>.<offset>`) or an ISO-8601 time (`2026-11-29T10:00:00Z`,
    /// fractional seconds allowed).
    static func parse(_ text: String, option: String, epoch: LogEpoch, partition: Int32) throws -> ReplayBound {
        if let cursor = ChatCursor(text) {
            guard cursor.epoch == epoch, cursor.partition == partition else {
                throw ValidationError("\(option) \(text) is a cursor of another log or room (this room: epoch \(epoch), partition \(partition))")
            }
            return .offset(cursor.offset)
        }
        for options: ISO8601DateFormatter.Options in [[.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime]] {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = options
            if let date = formatter.date(from: text) {
                return .time(milliseconds: Int64((date.timeIntervalSince1970 * 1000).rounded()))
            }
        }
        throw ValidationError(
            "\(option) takes a cursor (as in `joined` or `message` frames) or an ISO-8601 time such as 2026-11-29T10:00:00Z; got \(text)")
    }
}

/// Which messages and events a replay prints.
struct ReplayRange: Sendable {
    var since: ReplayBound?
    var until: ReplayBound?

    /// Offsets after this one are candidates (time bounds are checked per message).
    var afterOffset: Int64 {
        if case .offset(let offset) = since { return offset }
        return -1
    }

    var untilOffset: Int64 {
        if case .offset(let offset) = until { return offset }
        return .max
    }

    func contains(offset: Int64, timestamp: Int64) -> Bool {
        switch since {
        case .offset(let bound): if offset <= bound { return false }
        case .time(let bound): if timestamp <= bound { return false }
        case nil: break
        }
        switch until {
        case .offset(let bound): if offset > bound { return false }
        case .time(let bound): if timestamp > bound { return false }
        case nil: break
        }
        return true
    }
}
