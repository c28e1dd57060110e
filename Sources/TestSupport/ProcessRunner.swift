// The one way tests run another program (the built `svdmv`, python3) and read what it prints:
// both streams are drained while it runs (a full pipe cannot stall it), and a run that outlives
// its timeout is killed and reported as an error naming the command, so a hang fails the test
// instead of the whole test run.

import Foundation

/// A finished process: its exit status (the signal number when it was killed by one) and what it
/// wrote on each stream.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: String
    /// Empty when the run merged stderr into stdout.
    public var stderr: String
    /// Both streams: the merged stream, or stdout followed by stderr.
    public var output: String { stdout + stderr }
}

public struct ProcessTimeout: Error, CustomStringConvertible {
    public var command: [String]
    public var seconds: TimeInterval
    public var output: String
    public var description: String {
        "\(command.joined(separator: " ")) still running after \(seconds) s; killed. Its output:\n\(output)"
    }
}

/// Runs `executable arguments...` to completion. `environment` is added to this process's
/// environment, or replaces it when `inheritEnvironment` is false (for output that must not depend
/// on the caller's terminal, such as help text). `mergeOutput` sends stderr into stdout's pipe, so
/// that `stdout` holds both in the order they were written. `whileRunning` is called on this thread
/// once the process has started (to watch it or signal it); the timeout counts from the start.
public func runProcess(_ executable: URL, _ arguments: [String] = [], environment: [String: String] = [:],
                       inheritEnvironment: Bool = true, mergeOutput: Bool = false,
                       timeout: TimeInterval = defaultProcessTimeout,
                       whileRunning: ((Process) throws -> Void)? = nil) throws -> ProcessResult {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.environment = inheritEnvironment
        ? ProcessInfo.processInfo.environment.merging(environment) { $1 } : environment
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = mergeOutput ? out : err
    let exited = DispatchSemaphore(value: 0)
    process.terminationHandler = { _ in exited.signal() }

    // Drain both pipes on their own threads while the process runs.
    let drained = DispatchGroup()
    let buffers = OutputBuffers()
    func drain(_ pipe: Pipe, _ stream: WritableKeyPath<OutputBuffers.Storage, Data>) {
        drained.enter()
        Thread.detachNewThread {
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            buffers.set(stream, data)
            drained.leave()
        }
    }

    let start = DispatchTime.now()
    try process.run()
    drain(out, \.stdout)
    if !mergeOutput { drain(err, \.stderr) }
    if let whileRunning {
        do { try whileRunning(process) } catch {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            exited.wait()
            throw error
        }
    }
    if exited.wait(timeout: start + timeout) == .timedOut {
        kill(process.processIdentifier, SIGKILL)
        exited.wait()
        _ = drained.wait(timeout: .now() + 5)
        let (stdout, stderr) = buffers.text()
        throw ProcessTimeout(command: [executable.path] + arguments, seconds: timeout, output: stdout + stderr)
    }
    // Children that inherited a pipe could hold it open after the process exits; do not wait on them forever.
    _ = drained.wait(timeout: .now() + 30)
    let (stdout, stderr) = buffers.text()
    return ProcessResult(status: process.terminationStatus, stdout: stdout, stderr: stderr)
}

/// How long a test lets a process run (a debug-build training run of the CLI tests is the longest).
public let defaultProcessTimeout: TimeInterval = 1200

/// The `svdmv` executable SwiftPM built beside the test bundle (its resources folder beside it).
/// Throws, naming where it looked, when it has not been built (a test target that does not depend
/// on `svdmv` relies on `swift build` having built it; Scripts/test does).
public func svdmvExecutable() throws -> URL {
    let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let folders = [Bundle.main.bundleURL, beside, beside.deletingLastPathComponent()]
    for folder in folders {
        let url = folder.appendingPathComponent("svdmv")
        if FileManager.default.isExecutableFile(atPath: url.path) { return url }
    }
    throw MissingExecutable(name: "svdmv", searched: folders.map(\.path),
                            hint: "run `swift build` first (Scripts/test does)")
}

/// The resources bundle SwiftPM built beside `svdmv` (the bundled default model and example input).
public func svdmvResources() throws -> URL {
    try svdmvExecutable().deletingLastPathComponent().appendingPathComponent("SVDMV_svdmv.resources")
}

/// Runs `svdmv arguments...` (see `runProcess`) with stdout and stderr merged in the order written;
/// returns its exit status and that output.
public func runSVDMV(_ arguments: [String], environment: [String: String] = [:], inheritEnvironment: Bool = true,
                     timeout: TimeInterval = defaultProcessTimeout) throws -> (status: Int32, output: String) {
    let result = try runProcess(try svdmvExecutable(), arguments, environment: environment,
                                inheritEnvironment: inheritEnvironment, mergeOutput: true, timeout: timeout)
    return (result.status, result.stdout)
}

/// A Python 3 interpreter for tests that check our files against Python's readers: $SVDMV_PYTHON,
/// else `python3` on PATH (Scripts/setup installs it).
public func pythonExecutable() throws -> URL {
    let environment = ProcessInfo.processInfo.environment
    if let python = environment["SVDMV_PYTHON"], !python.isEmpty { return URL(fileURLWithPath: python) }
    let folders = (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
    for folder in folders {
        let url = URL(fileURLWithPath: folder).appendingPathComponent("python3")
        if FileManager.default.isExecutableFile(atPath: url.path) { return url }
    }
    throw MissingExecutable(name: "python3", searched: folders,
                            hint: "Scripts/setup installs it; or set SVDMV_PYTHON to an interpreter")
}

public struct MissingExecutable: Error, CustomStringConvertible {
    public var name: String
    public var searched: [String]
    public var hint: String
    public var description: String { "no executable \(name) in \(searched.joined(separator: ", ")): \(hint)" }
}

/// The two streams' bytes, written by the drain threads and read after they finish.
private final class OutputBuffers: @unchecked Sendable {
    struct Storage { var stdout = Data(), stderr = Data() }
    private var storage = Storage()
    private let lock = NSLock()

    func set(_ stream: WritableKeyPath<Storage, Data>, _ data: Data) {
        lock.lock(); defer { lock.unlock() }
        storage[keyPath: stream] = data
    }

    func text() -> (stdout: String, stderr: String) {
        lock.lock(); defer { lock.unlock() }
        return (String(decoding: storage.stdout, as: UTF8.self), String(decoding: storage.stderr, as: UTF8.self))
    }
}
