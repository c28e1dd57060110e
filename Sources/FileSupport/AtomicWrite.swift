// Atomic file output: every file the toolkit writes goes through here, so a kill never leaves a
// half-written file under its final name (a temporary file in the same folder, then rename(2)).

import Foundation

public struct FileWriteError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "cannot write \(path): \(reason)" }
}

/// Writes `data` to `url` atomically, creating the parent folder if needed.
public func writeAtomically(_ data: Data, to url: URL) throws {
    let dir = url.deletingLastPathComponent()
    do {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    } catch {
        throw FileWriteError(path: url.path, reason: "cannot create folder \(dir.path): \(error.localizedDescription)")
    }
    let tmp = dir.appendingPathComponent(
        ".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp")
    do {
        try data.write(to: tmp)
    } catch {
        throw FileWriteError(path: url.path, reason: error.localizedDescription)
    }
    if rename(tmp.path, url.path) != 0 {
        let reason = String(cString: strerror(errno))
        try? FileManager.default.removeItem(at: tmp)
        throw FileWriteError(path: url.path, reason: reason)
    }
}

/// Writes a file through a closure that fills a temporary path, then renames it into place
/// (for writers that stream to a path themselves, like libpng).
public func writeAtomically(to url: URL, _ fill: (URL) throws -> Void) throws {
    let dir = url.deletingLastPathComponent()
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let tmp = dir.appendingPathComponent(
        ".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp")
    do {
        try fill(tmp)
    } catch {
        try? FileManager.default.removeItem(at: tmp)
        throw error
    }
    if rename(tmp.path, url.path) != 0 {
        let reason = String(cString: strerror(errno))
        try? FileManager.default.removeItem(at: tmp)
        throw FileWriteError(path: url.path, reason: reason)
    }
}
