import ChatLag
import Testing

/// The status rules, on synthetic samples one second apart.
@Suite struct LagEvaluatorTests {
    let evaluator = LagEvaluator(rules: LagRules(windowSize: 6, minimumSamples: 3))

    /// Samples from (committed, log end) pairs.
    func samples(_ points: [(Int64?, Int64)], logStart: Int64 = 0) -> [PartitionSample] {
        points.enumerated().map { index, point in
            PartitionSample(time: 1_000_000 + Int64(index) * 1000, committed: point.0, logStart: logStart, logEnd: point.1)
        }
    }

    @Test func caughtUpIsOK() {
        #expect(evaluator.evaluate(samples([(10, 10), (20, 20), (30, 30)])).status == .ok)
    }

    @Test func zeroLagWithinTheWindowIsOK() {
        // Stopped after catching up: OK until the zero-lag sample leaves the window.
        let verdict = evaluator.evaluate(samples([(10, 10), (10, 12), (10, 14), (10, 16)]))
        #expect(verdict.status == .ok)
        #expect(verdict.reason.contains("within the window"))
    }

    @Test func stoppedConsumerWhileMessagesArriveIsSTOP() {
        let verdict = evaluator.evaluate(samples([(10, 10), (10, 12), (10, 14), (10, 16), (10, 18), (10, 20), (10, 22)]))
        #expect(verdict.status == .stop)
        #expect(verdict.reason.contains("offset 10"))
    }

    @Test func noProgressOnAQuietBacklogIsSTALL() {
        #expect(evaluator.evaluate(samples([(10, 50), (10, 50), (10, 50)])).status == .stall)
    }

    @Test func growingLagWhileConsumingIsWARN() {
        #expect(evaluator.evaluate(samples([(10, 15), (12, 20), (14, 25), (16, 30)])).status == .warn)
    }

    @Test func lagThatShrankOnceIsNotWARN() {
        #expect(evaluator.evaluate(samples([(10, 15), (14, 18), (16, 25), (18, 30)])).status == .ok)
    }

    @Test func steadyLagWhileConsumingIsOK() {
        #expect(evaluator.evaluate(samples([(10, 15), (15, 20), (20, 25), (25, 30)])).status == .ok)
    }

    @Test func tooFewSamplesToJudgeIsOK() {
        let verdict = evaluator.evaluate(samples([(10, 50), (10, 50)]))
        #expect(verdict.status == .ok)
        #expect(verdict.reason.contains("judging after 3 samples"))
    }

    @Test func noCommittedOffsetHasNoStatus() {
        let verdict = evaluator.evaluate(samples([(nil, 50), (nil, 60), (nil, 70)]))
        #expect(verdict.status == nil)
        #expect(verdict.reason == "no committed offset")
    }

    @Test func committedOffsetBeforeLogStartIsERR() {
        let verdict = evaluator.evaluate(samples([(10, 500), (10, 600)], logStart: 100))
        #expect(verdict.status == .err)
        #expect(verdict.reason.contains("90 messages were deleted unread"))
    }

    @Test func committedOffsetPastLogEndIsERR() {
        #expect(evaluator.evaluate(samples([(70, 50)])).status == .err)
    }

    @Test func unreadableOffsetsAreERR() {
        var window = samples([(10, 10), (10, 10)])
        window.append(PartitionSample(time: 2_000_000, committed: nil, logStart: nil, logEnd: nil, error: "broker down"))
        #expect(evaluator.evaluate(window) == PartitionVerdict(status: .err, reason: "broker down"))
    }

    @Test func anOutageDoesNotCountAsLackOfProgress() {
        // The window restarts after the error sample: two samples with lag are too few to judge.
        var window = samples([(10, 50), (10, 50), (10, 50)])
        window.append(PartitionSample(time: 1_004_000, committed: nil, logStart: nil, logEnd: nil, error: "broker down"))
        window += samples([(10, 50), (10, 50)]).map {
            var sample = $0
            sample.time += 5000
            return sample
        }
        #expect(evaluator.evaluate(window).status == .ok)
    }

    @Test func onlyTheWindowCounts() {
        // Progress long ago, none in the last six samples.
        let window = samples([(0, 5), (1, 5), (2, 5), (3, 9), (3, 9), (3, 9), (3, 9), (3, 9), (3, 9)])
        #expect(evaluator.evaluate(window).status == .stall)
    }

    @Test func statusesMapToTheExportedValuesAndGroupLevels() {
        #expect(LagStatus.allCases.map(\.rawValue) == [0, 1, 2, 3, 4])
        #expect(LagStatus.allCases.map(\.description) == ["OK", "WARN", "STALL", "STOP", "ERR"])
        #expect(LagStatus.allCases.map(\.groupLevel) == [.ok, .warn, .err, .err, .err])
    }
}
