import ChatDomain
import Testing

@Suite("Cursor bounds: where a cursor may point")
struct CursorBoundsTests {
    let epoch = LogEpoch(value: 0xfeed)

    func cursor(_ offset: Int64) -> ChatCursor { ChatCursor(epoch: epoch, partition: 0, offset: offset) }

    @Test("From -1 up to the last event are within; the end and beyond are not")
    func within() {
        #expect(cursor(-1).isWithin(end: 0), "before the first event of an empty partition")
        #expect(!cursor(0).isWithin(end: 0))
        #expect(cursor(9).isWithin(end: 10))
        #expect(!cursor(10).isWithin(end: 10), "no event has the end's offset yet")
        #expect(!cursor(Int64.max).isWithin(end: 10))
        #expect(!cursor(Int64.max - 1).isWithin(end: 10))
        #expect(cursor(Int64.max - 1).isWithin(end: Int64.max))
        #expect(!cursor(-2).isWithin(end: 10), "a cursor built in code below -1")
        #expect(!cursor(Int64.min).isWithin(end: 10))
        #expect(!ChatCursor.offset(Int64.min, isWithin: Int64.max))
    }

    @Test("The resume offset is one after the cursor, and absent (not an overflow) beyond the end")
    func resume() {
        #expect(cursor(-1).resumeOffset(end: 5) == 0)
        #expect(cursor(4).resumeOffset(end: 5) == 5)
        #expect(cursor(5).resumeOffset(end: 5) == nil)
        #expect(cursor(Int64.max).resumeOffset(end: Int64.max) == nil)
        #expect(cursor(Int64.max - 1).resumeOffset(end: Int64.max) == Int64.max)
    }

    @Test("Parsing rejects offsets below -1, outside Int64 and partitions outside Int32")
    func parsing() {
        let prefix = "\(epoch)."
        #expect(ChatCursor(prefix + "0.9223372036854775807")?.offset == Int64.max, "parses; the bound applies at use")
        #expect(ChatCursor(prefix + "0.9223372036854775808") == nil)
        #expect(ChatCursor(prefix + "0.-9223372036854775808") == nil)
        #expect(ChatCursor(prefix + "0.-2") == nil)
        #expect(ChatCursor(prefix + "0.-1")?.offset == -1)
        #expect(ChatCursor(prefix + "2147483647.0")?.partition == Int32.max)
        #expect(ChatCursor(prefix + "2147483648.0") == nil)
        #expect(ChatCursor(prefix + "-1.0") == nil)
    }
}
