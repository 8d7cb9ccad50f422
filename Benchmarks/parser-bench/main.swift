import Foundation

/// Parse throughput of client frames: the byte-level ClientFrameParser against the
/// JSONSerialization parser it replaced (the test oracle, compiled in beside it). Prints JSON.
/// Built and run by tools/bench-parser.sh.
let arguments = CommandLine.arguments
let rounds = arguments.count > 1 ? Int(arguments[1]) ?? 200_000 : 200_000
let only = arguments.count > 2 ? arguments[2] : "both"
let body = String(repeating: "hello world, ", count: 8)
let frames: [String] = [
    #"{"op":"send","id":17,"room":"room-1","cmid":"c-123456","body":"\#(body)"}"#,
    #"{"op":"join","id":"j1","room":"room-1","since":"00000000000000ff.3.42"}"#,
    #"{"op":"history","id":3,"room":"room-1","before":"00000000000000ff.3.42","limit":50}"#,
    #"{"op":"typing","room":"room-1"}"#,
    #"{"op":"ping","id":99}"#,
]
let datas = frames.map { Data($0.utf8) }

func measure(_ name: String, _ parse: (Data) -> Bool) -> String {
    var accepted = 0
    let start = ContinuousClock.now
    for round in 0..<rounds where parse(datas[round % datas.count]) { accepted += 1 }
    let elapsed = ContinuousClock.now - start
    precondition(accepted == rounds, "\(name) refused a frame")
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return #""\#(name)":{"frames":\#(rounds),"seconds":\#(seconds),"framesPerSecond":\#(Int(Double(rounds) / seconds))}"#
}

let new = ClientFrameParser()
let old = ReferenceFrameParser()
var parts: [String] = []
if only != "old" {
    parts.append(measure("byteLevel") { data in data.withUnsafeBytes { if case .success = new.parse(bytes: $0) { true } else { false } } })
}
if only != "new" {
    parts.append(measure("jsonSerialization") { data in if case .success = old.parse(data) { true } else { false } })
}
print("{" + parts.joined(separator: ",") + #","frameBytes":\#(frames.map(\.utf8.count))}"#)
