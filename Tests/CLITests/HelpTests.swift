// Golden help text: `svdmv --help` lists exactly the subcommands that work, and each command's
// help (every node of the command tree, walked from `SVDMV`, so a new command gets a snapshot) is
// reviewed when it changes. SVDMV_RECORD_SNAPSHOTS=1 rewrites the snapshots and fails the test, so
// a new baseline is never accepted silently.

import ArgumentParser
import Foundation
@testable import svdmv
import TestSupport
import XCTest

final class HelpTests: XCTestCase {
    let snapshots = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots")

    /// Every command's words after `svdmv`, the root's (none) first, depth first in declaration order.
    static func commandPaths(_ command: ParsableCommand.Type = SVDMV.self, _ path: [String] = []) -> [[String]] {
        [path] + command.configuration.subcommands.flatMap { commandPaths($0, path + [$0._commandName]) }
    }

    func snapshotName(_ command: [String]) -> String {
        (command.isEmpty ? ["svdmv"] : command).joined(separator: "-") + ".txt"
    }

    func testHelpTextsMatchSnapshots() throws {
        let record = ProcessInfo.processInfo.environment["SVDMV_RECORD_SNAPSHOTS"] == "1"
        let commands = Self.commandPaths()
        for expected in [["bench", "lpips"], ["info"], ["dataset", "mvimgnet"], ["weights", "convert"]] {
            XCTAssertTrue(commands.contains(expected), "\(expected) missing from the walk of the command tree: \(commands)")
        }
        let stale = Set(try FileManager.default.contentsOfDirectory(atPath: snapshots.path).filter { $0.hasSuffix(".txt") })
            .subtracting(commands.map(snapshotName))
        XCTAssertEqual(stale, [], "snapshots of commands that no longer exist: delete them")
        for command in commands {
            let (status, output) = try runSVDMV(command + ["--help"], environment: ["COLUMNS": "100", "PATH": "/usr/bin:/bin"], inheritEnvironment: false)
            XCTAssertEqual(status, 0, "\(command) --help")
            let file = snapshots.appendingPathComponent(snapshotName(command))
            if record {
                try output.write(to: file, atomically: true, encoding: .utf8)
                XCTFail("recorded \(file.lastPathComponent); unset SVDMV_RECORD_SNAPSHOTS and review the diff")
                continue
            }
            let expected = try String(contentsOf: file, encoding: .utf8)
            XCTAssertEqual(output, expected, "help of \(command) changed; record with SVDMV_RECORD_SNAPSHOTS=1 and review")
        }
    }

    func testBadOptionsFailWithTheirMessageAndUsage() throws {
        let image = try svdmvResources().appendingPathComponent("example-input.png").path
        for (arguments, message) in [(["/nonexistent.png"], "cannot read image /nonexistent.png"),
                                     ([image, "--checkpoint", "/nonexistent"], "cannot read checkpoint /nonexistent"),
                                     ([image, "--elevation", "5", "--elevation", "6"], "--elevation takes one value or 21")] {
            let (status, output) = try runSVDMV(["generate"] + arguments + ["--out", "/tmp/x"])
            XCTAssertNotEqual(status, 0, "\(arguments)")
            XCTAssertTrue(output.contains(message), output)
            XCTAssertTrue(output.contains("Usage:"), output)
        }
    }

    /// A problem with the data found while running is the error alone: no usage text, which is
    /// for bad arguments, and a non-zero exit.
    func testDataErrorsPrintTheErrorWithoutUsage() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("svdmv-data-errors-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        let notAnImage = folder.appendingPathComponent("photo.png"), empty = folder.appendingPathComponent("empty")
        try Data("not an image\n".utf8).write(to: notAnImage)
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        for (arguments, message) in [
            (["generate", notAnImage.path, "--out", folder.appendingPathComponent("orbit").path],
             "Error: unsupported image \(notAnImage.path): not a PNG, JPEG, BMP, SGI or TGA file"),
            (["train", "--data", empty.path, "--fresh", "tiny", "--out", folder.appendingPathComponent("run").path],
             "Error: \(empty.path): holds no .tar shards"),
            (["dataset", "benchmark", empty.path], "Error: no captures under \(empty.path)"),
        ] {
            let (status, output) = try runSVDMV(arguments)
            XCTAssertEqual(status, 1, "\(arguments): \(output)")
            XCTAssertTrue(output.contains(message), "\(arguments): \(output)")
            XCTAssertFalse(output.contains("Usage:"), "\(arguments): \(output)")
        }
    }
}
