/// Posts messages at a steady total rate: each one from a random user to one of its rooms.
///
/// Posting never waits for the user to be connected: a disconnected user queues the message and
/// sends it after reconnecting, as a client's outbox would, so faults do not slow the load down.
struct TrafficGenerator {
    let users: [SoakUser]
    let rate: Double
    var random: SeededGenerator

    mutating func run(until end: ContinuousClock.Instant) async {
        guard rate > 0, !users.isEmpty else { return }
        let start = ContinuousClock.now
        let interval = Duration.seconds(1 / rate)
        var sent = 0
        while true {
            // A schedule, not a sleep per message: late wake-ups do not lower the rate.
            let due = start + interval * sent
            guard due < end else { return }
            if due > .now { try? await Task.sleep(until: due) }
            let user = users.randomElement(using: &random)!
            let room = user.rooms.randomElement(using: &random)!
            await user.post(room: room)
            sent += 1
        }
    }
}
