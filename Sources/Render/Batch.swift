// Batch rendering over a folder or a list of meshes: shard selection, resume (objects whose
// `cameras.json` exists, or that already failed in this shard's manifest, are skipped), a
// manifest line per object, and a worker per object that may be in-process (tests) or a child
// process with a timeout (the CLI), so a crash or a hang in assimp costs one object, not the batch.

import CAssimp
import Cameras
import Dispatch
import Foundation

public struct BatchItem: Equatable, Sendable {
    public var input: URL
    /// Folder name under the output folder, '/' -> '__': the path relative to the input folder; for
    /// a list, a relative path as written, an absolute one relative to the deepest folder that
    /// holds every absolute path of the list (see `Batch.items`).
    public var id: String
}

public enum BatchOutcome: Equatable, Sendable {
    case ok
    case failed(String)
    case skipped

    var manifestStatus: String? {
        switch self {
        case .ok: return "ok"
        case .failed(let reason): return "error: " + reason.replacingOccurrences(of: "\t", with: " ")
            .replacingOccurrences(of: "\n", with: " ")
        case .skipped: return nil
        }
    }
}

public struct Shard: Equatable, Sendable {
    /// 0-based index, < count.
    public var index: Int
    public var count: Int
    public init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }
    public static let all = Shard(index: 0, count: 1)
}

public enum Batch {
    /// Mesh files of a folder (recursively; every extension assimp imports), of a list file
    /// (`.txt`/`.lst`: one path per line, relative paths resolved against the list's folder, `#`
    /// comments), or one file. A list's relative paths keep their id as written; its absolute paths
    /// are named relative to their deepest common folder, so `/data/objaverse/a/x.glb` in a list
    /// of `/data/objaverse/...` files is `a__x.glb`. Ids are unique (a repeat gets `_` appended) and
    /// depend only on the list's contents.
    public static func items(from source: URL) throws -> [BatchItem] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source.path, isDirectory: &isFolder) else {
            throw RenderError(path: source.path, reason: "no such file or folder")
        }
        if isFolder.boolValue {
            guard let walker = FileManager.default.enumerator(at: source, includingPropertiesForKeys: [.isRegularFileKey]) else {
                throw RenderError(path: source.path, reason: "cannot list folder")
            }
            let base = source.standardizedFileURL.path
            var found: [BatchItem] = []
            for case let url as URL in walker where isMeshFile(url) {
                let full = url.standardizedFileURL.path
                let relative = full.hasPrefix(base + "/") ? String(full.dropFirst(base.count + 1)) : url.lastPathComponent
                found.append(BatchItem(input: url, id: relative.replacingOccurrences(of: "/", with: "__")))
            }
            return found.sorted { $0.id < $1.id }
        }
        if ["txt", "lst"].contains(source.pathExtension.lowercased()) {
            let text: String
            do { text = try String(contentsOf: source, encoding: .utf8) } catch {
                throw RenderError(path: source.path, reason: "cannot read list: \(error.localizedDescription)")
            }
            let folder = source.deletingLastPathComponent()
            let paths = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && !$0.hasPrefix("#") }
            func components(_ absolute: String) -> [String] {
                URL(fileURLWithPath: absolute).standardizedFileURL.path.split(separator: "/").map(String.init)
            }
            let absolute = paths.filter { $0.hasPrefix("/") }.map(components)
            // The deepest folder holding every absolute path: the common prefix of their folders.
            var root = absolute.first.map { Array($0.dropLast()) } ?? []
            for path in absolute.dropFirst() {
                root = Array(zip(root, path.dropLast()).prefix { $0.0 == $0.1 }.map(\.0))
            }
            var seen = Set<String>()
            return paths.map { path -> BatchItem in
                let url: URL, named: String
                if path.hasPrefix("/") {
                    url = URL(fileURLWithPath: path)
                    named = components(path).dropFirst(root.count).joined(separator: "/")
                } else {
                    url = folder.appendingPathComponent(path)
                    named = path
                }
                var id = named.replacingOccurrences(of: "/", with: "__")
                while !seen.insert(id).inserted { id += "_" }
                return BatchItem(input: url, id: id)
            }
        }
        return [BatchItem(input: source, id: source.lastPathComponent)]
    }

    static func isMeshFile(_ url: URL) -> Bool {
        let ext = url.pathExtension.lowercased()
        guard !ext.isEmpty, !["png", "jpg", "jpeg", "bin", "txt", "md", "glsl", "json"].contains(ext) else { return false }
        guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { return false }
        return aiIsExtensionSupported("." + ext) != 0
    }

    /// The items of one shard: every `count`-th item of the sorted list, starting at `index`.
    public static func select(_ items: [BatchItem], shard: Shard) -> [BatchItem] {
        items.enumerated().filter { $0.offset % shard.count == shard.index }.map(\.element)
    }

    public static func manifestName(_ shard: Shard) -> String {
        shard.count == 1 ? "manifest.tsv" : "manifest-\(shard.index)-of-\(shard.count).tsv"
    }

    /// Ids a manifest already records as failed.
    static func failedIDs(in manifest: URL) -> Set<String> {
        guard let text = try? String(contentsOf: manifest, encoding: .utf8) else { return [] }
        var failed = Set<String>()
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count >= 2 else { continue }                      // a torn last line
            if fields[1].hasPrefix("error") { failed.insert(String(fields[0])) } else { failed.remove(String(fields[0])) }
        }
        return failed
    }

    public struct Progress: Sendable {
        public var done = 0, total = 0, ok = 0, failed = 0, skipped = 0
    }

    /// Renders `items` into `output/<id>/` with `jobs` objects at a time. `work` renders one object
    /// into the given folder (and reports a failure as `.failed`); `progress` is called after each.
    /// Returns the final counts. Manifest lines are appended with one write(2) each.
    public static func run(_ items: [BatchItem], output: URL, shard: Shard, jobs: Int, retryFailed: Bool = false,
                           work: @escaping @Sendable (BatchItem, URL) -> BatchOutcome,
                           progress: @escaping @Sendable (Progress) -> Void = { _ in }) throws -> Progress {
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        let manifestURL = output.appendingPathComponent(manifestName(shard))
        let previouslyFailed = retryFailed ? [] : failedIDs(in: manifestURL)
        if !FileManager.default.fileExists(atPath: manifestURL.path),
           !FileManager.default.createFile(atPath: manifestURL.path, contents: nil) {
            throw RenderError(path: manifestURL.path, reason: "cannot create manifest")
        }
        guard let manifest = FileHandle(forWritingAtPath: manifestURL.path) else {
            throw RenderError(path: manifestURL.path, reason: "cannot open manifest for appending")
        }
        defer { try? manifest.close() }
        _ = try? manifest.seekToEnd()
        let lock = NSLock()
        nonisolated(unsafe) var state = Progress(total: items.count)
        nonisolated(unsafe) var next = 0
        let workerCount = max(1, min(jobs, items.count))
        DispatchQueue.concurrentPerform(iterations: workerCount) { _ in
            while true {
                lock.lock()
                guard next < items.count else { lock.unlock(); return }
                let item = items[next]
                next += 1
                lock.unlock()
                let folder = output.appendingPathComponent(item.id)
                let outcome: BatchOutcome
                if FileManager.default.fileExists(atPath: folder.appendingPathComponent(OrbitCameras.fileName).path)
                    || previouslyFailed.contains(item.id) {
                    outcome = .skipped
                } else {
                    removeTemporaries(in: folder)
                    outcome = work(item, folder)
                    removeTemporaries(in: folder)
                }
                lock.lock()
                if let status = outcome.manifestStatus {
                    manifest.write("\(item.id)\t\(status)\t\(item.input.path)\n".data(using: .utf8) ?? Data())
                }
                state.done += 1
                switch outcome {
                case .ok: state.ok += 1
                case .failed: state.failed += 1
                case .skipped: state.skipped += 1
                }
                let snapshot = state
                lock.unlock()
                progress(snapshot)
            }
        }
        return state
    }

    /// Deletes half-written files a killed run left behind (writeAtomically's `.NAME.PID.tmp`).
    static func removeTemporaries(in folder: URL) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return }
        for name in names where name.hasPrefix(".") && name.hasSuffix(".tmp") {
            try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))
        }
    }

    /// The in-process worker (tests, single objects): no isolation from crashes or hangs.
    public static func inProcess(options: RenderOptions) -> @Sendable (BatchItem, URL) -> BatchOutcome {
        { item, folder in
            do {
                try RenderJob(input: item.input, objectID: item.id, outputFolder: folder, options: options).run()
                return .ok
            } catch {
                return .failed("\(error)")
            }
        }
    }

    /// A worker that runs `executable arguments(item, folder)` per object and kills it after
    /// `timeout` seconds. The failure reason is the child's last `Error: ` line on stderr (how
    /// ArgumentParser reports an error, before its usage lines and help hint), without the prefix,
    /// else its last non-empty stderr line.
    public static func subprocess(executable: URL, timeout: Double,
                                  arguments: @escaping @Sendable (BatchItem, URL) -> [String])
        -> @Sendable (BatchItem, URL) -> BatchOutcome {
        { item, folder in
            let process = Process()
            process.executableURL = executable
            process.arguments = arguments(item, folder)
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            let finished = DispatchSemaphore(value: 0)
            process.terminationHandler = { _ in finished.signal() }
            nonisolated(unsafe) var captured = Data()
            let reader = DispatchQueue(label: "stderr")
            let readDone = DispatchSemaphore(value: 0)
            do { try process.run() } catch { return .failed("\(item.input.path): cannot start worker: \(error)") }
            reader.async {
                captured = errors.fileHandleForReading.readDataToEndOfFile()
                readDone.signal()
            }
            if finished.wait(timeout: .now() + timeout) == .timedOut {
                process.terminate()
                if finished.wait(timeout: .now() + 2) == .timedOut {
                    kill(process.processIdentifier, SIGKILL)
                    finished.wait()
                }
                readDone.wait()
                return .failed("\(item.input.path): timed out after \(String(format: "%g", timeout)) s")
            }
            readDone.wait()
            if process.terminationReason == .exit && process.terminationStatus == 0 { return .ok }
            let lines = String(decoding: captured, as: UTF8.self).split(whereSeparator: \.isNewline)
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let last = lines.last { $0.hasPrefix("Error: ") }.map { String($0.dropFirst("Error: ".count)) }
                ?? lines.last ?? ""
            if process.terminationReason == .uncaughtSignal {
                return .failed("\(item.input.path): worker crashed (signal \(process.terminationStatus))"
                               + (last.isEmpty ? "" : ": \(last)"))
            }
            return .failed(last.isEmpty ? "\(item.input.path): worker exited with status \(process.terminationStatus)" : last)
        }
    }
}
