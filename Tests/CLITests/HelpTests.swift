// Golden help text: `svdmv --help` lists exactly the subcommands that work, and each
// subcommand's help is reviewed when it changes. SVDMV_RECORD_SNAPSHOTS=1 rewrites the snapshots
// and fails the test, so a new baseline is never accepted silently.

import Foundation
import XCTest

final class HelpTests: XCTestCase {
    let snapshots = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots")


    func testHelpTextsMatchSnapshots() throws {
        let record = ProcessInfo.processInfo.environment["SVDMV_RECORD_SNAPSHOTS"] == "1"
        for command in [[], ["generate"], ["train"], ["dataset"], ["shapes"], ["weights", "inspect"], ["weights", "convert"], ["bench"], ["bench", "ops"],
                        ["bench", "clip"], ["bench", "train"], ["bench", "unet"], ["bench", "decoder"],
                        ["evaluate"], ["render"], ["contact-sheet"], ["probe"]] {
            let (status, output) = try runSVDMV(command + ["--help"], environment: ["COLUMNS": "100", "PATH": "/usr/bin:/bin"], inheritEnvironment: false)
            XCTAssertEqual(status, 0, "\(command) --help")
            let file = snapshots.appendingPathComponent((command.isEmpty ? ["svdmv"] : command).joined(separator: "-") + ".txt")
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
        let (status, output) = try runSVDMV(["generate", "/nonexistent.png", "--checkpoint", "/nonexistent", "--out", "/tmp/x"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("cannot read image /nonexistent.png"), output)
        XCTAssertTrue(output.contains("Usage:"), output)
    }
}
