import ChatDomain
import Testing

/// Records anyone with write access to the topics could produce: numbers out of range are a
/// record no reader understands (skipped), never a trap.
@Suite("Hostile records decode to nothing, not to a crash")
struct HostileRecordTests {
    @Test("Room events with timestamps outside Int64 or of the wrong type are skipped")
    func roomEvents() {
        let valid = #"{"v":1,"type":"message","room":"lobby","from":"ann","ts":9223372036854775807,"cmid":"c","body":"b"}"#
        #expect(RoomEvent(decoding: Array(valid.utf8))?.timestamp == Int64.max, "in range: kept as it is, only ever printed")
        for ts in ["9223372036854775808", "-9223372036854775809", "1e300", "1.5", "\"1\"", "null", "true"] {
            let record = #"{"v":1,"type":"message","room":"lobby","from":"ann","ts":\#(ts),"cmid":"c","body":"b"}"#
            #expect(RoomEvent(decoding: Array(record.utf8)) == nil, "ts \(ts)")
        }
        let huge = #"{"v":99999999999999999999,"type":"message","room":"lobby","from":"ann","ts":1,"cmid":"c","body":"b"}"#
        #expect(RoomEvent(decoding: Array(huge.utf8)) == nil)
    }

    @Test("Read signals with invalid cursors or timestamps are skipped")
    func signals() {
        for (ts, cursor) in [("1", "00000000000000ff.0.-2"), ("1", "00000000000000ff.0.9223372036854775808"), ("1e300", "00000000000000ff.0.1")] {
            let record = #"{"type":"read","room":"lobby","user":"ann","ts":\#(ts),"cursor":"\#(cursor)"}"#
            #expect(RoomSignal(decoding: Array(record.utf8)) == nil, "ts \(ts) cursor \(cursor)")
        }
    }
}
