// The one progress bar of the CLI: a single line on stderr, redrawn in place.

import Foundation

struct ProgressBar {
    let total: Int
    var done = 0
    let started = Date()

    init(total: Int) { self.total = total }

    /// Marks one more item done, labelled (an object name, a step's loss).
    mutating func step(_ label: String) {
        done += 1
        let width = 30, filled = total == 0 ? width : min(width, done * width / total)
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let elapsed = Date().timeIntervalSince(started)
        let eta = done > 0 && total > done ? String(format: " eta %.0fs", elapsed / Double(done) * Double(total - done)) : ""
        FileHandle.standardError.write(Data("\r[\(bar)] \(done)/\(total)\(eta) \(label.prefix(40))\u{1B}[K".utf8))
        if done == total { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
