// The one progress bar of the CLI: a single line on stderr, redrawn in place, safe to update
// from worker threads.

import Foundation

final class ProgressBar: @unchecked Sendable {
    private(set) var total: Int
    private(set) var done: Int
    let enabled: Bool
    private let started = Date()
    private let startDone: Int
    private let lock = NSLock()

    init(total: Int, done: Int = 0, enabled: Bool = true) {
        self.total = total
        self.done = done
        startDone = done
        self.enabled = enabled
    }

    /// Marks one more item done, labelled (an object name, a step's loss).
    func step(_ label: String) {
        lock.lock()
        done += 1
        let (d, t) = (done, total)
        lock.unlock()
        update(done: d, total: t, label: label)
    }

    /// Redraws with explicit counts (for jobs that report their own progress).
    func update(done: Int, total: Int, label: String) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        self.done = done
        self.total = total
        let width = 30, filled = total == 0 ? width : min(width, done * width / total)
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let elapsed = Date().timeIntervalSince(started), fresh = done - startDone
        let eta = fresh > 0 && total > done ? String(format: " eta %.0fs", elapsed / Double(fresh) * Double(total - done)) : ""
        FileHandle.standardError.write(Data("\r[\(bar)] \(done)/\(total)\(eta) \(label.prefix(60))\u{1B}[K".utf8))
        if done == total { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    /// Ends the line if the bar stopped short of its total.
    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if enabled && done < total { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
