// The one way CLI tests run the built `svdmv` binary (beside the test bundle) and read what it
// prints.

import Foundation

/// The svdmv executable SwiftPM built next to the test bundle (its resources folder beside it).
var svdmvBinary: URL { Bundle.main.bundleURL.appendingPathComponent("svdmv") }

/// Runs `svdmv arguments...` to completion; returns its exit status and stdout + stderr together.
/// `environment` is added to this process's environment, or replaces it when `inheritEnvironment`
/// is false (for output that must not depend on the caller's terminal, such as help text).
func runSVDMV(_ arguments: [String], environment: [String: String] = [:],
              inheritEnvironment: Bool = true) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = svdmvBinary
    process.arguments = arguments
    process.environment = inheritEnvironment ? ProcessInfo.processInfo.environment.merging(environment) { $1 } : environment
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
