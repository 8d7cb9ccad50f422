import ChatDomain
import ChatTestSupport
import Foundation
import Testing

/// The built `chatctl topics apply` against `chatctl kafka` processes. The embedded cluster cannot
/// create topics or describe configurations through the protocol, and it lists every broker as a
/// replica of every partition whatever the replication factor; these tests cover what it can:
/// partition counts, idempotence, drift and the growth refusal. TopicPlanTests cover the rest.
@Suite(.serialized) struct ChatctlTopicsProcessTests {
    func apply(_ kafka: EmbeddedKafkaProcess, _ extra: [String] = []) async throws -> ProcessResult {
        try await runProcess(try chatctlPath(), ["topics", "apply", "--brokers", kafka.bootstrap, "--timeout", "5"] + extra, timeout: .seconds(60))
    }

    @Test func applyingTwiceChangesNothing() async throws {
        try await EmbeddedKafkaProcess.with(["--no-topics"]) { kafka in
            let dryRun = try await apply(kafka, ["--partitions", "6", "--dry-run"])
            #expect(dryRun.status == 0, "\(dryRun.stdout)\(dryRun.stderr)")
            #expect(dryRun.stdout.contains("chat.rooms: would create with 6 partitions, replication factor 3"), "\(dryRun.stdout)")
            #expect(dryRun.stdout.contains("cleanup.policy=compact"))
            #expect(dryRun.stdout.contains("4 topic(s) to create"))

            // The mock cannot create topics: a clear failure, and nothing half-done.
            let refused = try await apply(kafka, ["--partitions", "6"])
            #expect(refused.status == 1, "\(refused.stdout)\(refused.stderr)")
            #expect(refused.stderr.contains("create <topic> <partitions>"), "\(refused.stderr)")

            // Created the way the output says, the topics are in place, twice.
            for topic in ChatTopics.all { #expect(try await kafka.command("create \(topic) 6") == "ok") }
            for _ in 0..<2 {
                let run = try await apply(kafka, ["--partitions", "6"])
                #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
                #expect(run.stdout.contains("all topics in place, nothing to do"), "\(run.stdout)")
                #expect(run.stdout.contains("topic configurations not verified"), "says what it could not check")
                #expect(!run.stdout.contains("create"))
            }
            // The embedded cluster's own topics match the layout too.
            let layoutSeen = try await apply(kafka, ["--partitions", "6", "--replication-factor", "3"])
            #expect(layoutSeen.status == 0)
        }
    }

    @Test func driftIsReportedAndRoomsAreNeverGrown() async throws {
        try await EmbeddedKafkaProcess.with(["--no-topics"]) { kafka in
            #expect(try await kafka.command("create chat.rooms 4") == "ok")
            #expect(try await kafka.command("create chat.signals 4") == "ok")
            #expect(try await kafka.command("create chat.presence 6") == "ok")
            #expect(try await kafka.command("create chat.cursors 8") == "ok")
            let result = try await apply(kafka, ["--partitions", "8"])
            #expect(result.status == 3, "\(result.stdout)\(result.stderr)")
            #expect(result.stdout.contains("chat.rooms: DRIFT, left unchanged: partitions: 4, layout says 8"), "\(result.stdout)")
            #expect(result.stdout.contains("chat.presence: DRIFT, left unchanged: partitions: 6, layout says 8"), "\(result.stdout)")
            #expect(result.stdout.contains("chat.signals: DRIFT, left unchanged: partitions: 4, layout says 8"))
            #expect(result.stdout.contains("chat.cursors: in place"))
            #expect(result.stdout.contains("docs/deploy.md, section 7"), "prints the growth procedure")
            #expect(result.stdout.contains("keep CHAT_ROOM_PARTITIONS=4"))

            // Dry run: the same verdict, and still nothing changes.
            let again = try await apply(kafka, ["--partitions", "8", "--dry-run"])
            #expect(again.status == 3)
            #expect(again.stdout.contains("partitions: 4, layout says 8"))
        }
    }

    @Test func roomsAndSignalsMustAgree() async throws {
        try await EmbeddedKafkaProcess.with(["--no-topics"]) { kafka in
            #expect(try await kafka.command("create chat.rooms 4") == "ok")
            let result = try await apply(kafka, ["--partitions", "6", "--dry-run"])
            #expect(result.status == 3)
            #expect(result.stdout.contains("chat.signals: DRIFT"), "never created with a count chat.rooms does not have: \(result.stdout)")
        }
    }
}
