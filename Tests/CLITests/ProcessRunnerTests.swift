// TestSupport's process runner, which every test that runs `svdmv` or python3 goes through: exit
// status and both streams apart or merged, a large output that would fill a pipe, and a hang
// turned into an error naming the command.

import Foundation
import TestSupport
import XCTest

final class ProcessRunnerTests: XCTestCase {
    let shell = URL(fileURLWithPath: "/bin/sh")

    func testStatusAndStreams() throws {
        let result = try runProcess(shell, ["-c", "echo out; echo err >&2; exit 3"])
        XCTAssertEqual(result.status, 3)
        XCTAssertEqual(result.stdout, "out\n")
        XCTAssertEqual(result.stderr, "err\n")
        let merged = try runProcess(shell, ["-c", "echo one; echo two >&2; echo three"], mergeOutput: true)
        XCTAssertEqual(merged.stdout, "one\ntwo\nthree\n")
        XCTAssertEqual(merged.stderr, "")
    }

    func testEnvironmentIsAddedOrReplaced() throws {
        let added = try runProcess(shell, ["-c", "echo $SVDMV_RUNNER_TEST $HOME"], environment: ["SVDMV_RUNNER_TEST": "x"])
        XCTAssertEqual(added.stdout, "x \(ProcessInfo.processInfo.environment["HOME"] ?? "")\n")
        let replaced = try runProcess(shell, ["-c", "echo \"[$HOME]\""], environment: [:], inheritEnvironment: false)
        XCTAssertEqual(replaced.stdout, "[]\n")
    }

    /// 1 MiB on each stream, more than a pipe holds, while the process waits for both to be read.
    func testLargeOutputOnBothStreamsDoesNotStall() throws {
        let script = "head -c 1048576 /dev/zero; head -c 1048576 /dev/zero >&2"
        let result = try runProcess(shell, ["-c", script], timeout: 60)
        XCTAssertEqual(result.status, 0)
        XCTAssertEqual(result.stdout.utf8.count, 1 << 20)
        XCTAssertEqual(result.stderr.utf8.count, 1 << 20)
    }

    func testAHangIsKilledAndNamed() throws {
        let start = Date()
        XCTAssertThrowsError(try runProcess(shell, ["-c", "echo started; exec sleep 30"], timeout: 1)) { error in
            guard let timeout = error as? ProcessTimeout else { return XCTFail("\(error)") }
            XCTAssertEqual(timeout.command, ["/bin/sh", "-c", "echo started; exec sleep 30"])
            XCTAssertTrue(timeout.description.contains("still running after 1.0 s"), timeout.description)
            XCTAssertEqual(timeout.output, "started\n")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 15, "killed at the timeout, not waited for")
    }
}
