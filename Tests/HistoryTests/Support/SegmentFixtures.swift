import ChatDomain
import ChatHistory
import Foundation

let testEpoch = LogEpoch(value: 0x0123_4567_89ab_cdef)

/// A fresh temporary directory, removed by ``remove()``.
struct TemporaryDirectory {
    let path: String

    init() throws {
        // tmpfs when there is one: the tests write thousands of small fsynced files.
        let base = FileManager.default.isWritableFile(atPath: "/dev/shm") ? "/dev/shm/" : NSTemporaryDirectory()
        path = base + "history-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Writes segments with the production writer and opens them with the production reader.
struct SegmentFixtures {
    let directory: String
    let partition: Int32
    let span: Int64
    private var counter = 0

    init(directory: String, partition: Int32 = 0, span: Int64) {
        self.directory = directory
        self.partition = partition
        self.span = span
    }

    func header(from: Int64, to: Int64, level: Int) -> SegmentFile.Header {
        SegmentFile.Header(topic: ChatTopics.rooms, epoch: testEpoch, partition: partition, from: from, to: to, duplicateSpan: span, level: level)
    }

    mutating func write(_ contents: SegmentContents) throws -> SegmentReader {
        counter += 1
        let file = "seg-\(counter).sqlite"
        let summary = try SegmentFile.write(contents, header: header(from: contents.from, to: contents.to, level: 0), to: "\(directory)/\(file)")
        return try open(file, from: contents.from, to: contents.to, level: 0, summary)
    }

    mutating func merge(_ readers: [SegmentReader]) throws -> SegmentReader {
        counter += 1
        let file = "seg-\(counter).sqlite"
        let from = readers[0].descriptor.from
        let to = readers[readers.count - 1].descriptor.to
        let level = readers.map(\.descriptor.level).max()! + 1
        let summary = try SegmentFile.merge(inputs: readers.map(\.path), header: header(from: from, to: to, level: level), to: "\(directory)/\(file)")
        return try open(file, from: from, to: to, level: level, summary)
    }

    private func open(_ file: String, from: Int64, to: Int64, level: Int, _ summary: SegmentFile.Summary) throws -> SegmentReader {
        let descriptor = SegmentDescriptor(
            file: file, from: from, to: to, level: level, sha256: summary.sha256, bytes: summary.bytes, messages: summary.messages,
            amendments: summary.amendments)
        return try SegmentReader.open(path: "\(directory)/\(file)", descriptor: descriptor, partition: partition, epoch: testEpoch)
    }
}
