// `svdmv bench train` as Scripts/bench/train runs it: one tiny iteration of each step prints the
// JSON fields the driver reads, and bad selections fail with their reason. No timing is checked.

import Foundation
import TestSupport
import XCTest

final class BenchCommandTests: XCTestCase {

    func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let result = try runProcess(try svdmvExecutable(), arguments,
                                    environment: ["SVDMV_THREADS": "1", "PATH": "/usr/bin:/bin"], inheritEnvironment: false)
        return (result.status, result.stdout, result.stderr)
    }

    func testOneTinyIterationOfEachStepPrintsTheDriversFields() throws {
        // 2 frames and no warm-up keep the small UNet's steps short in a debug build.
        let (status, stdout, stderr) = try run(["bench", "train", "--models", "small", "--frames", "2",
                                                "--warmup", "0", "--repeats", "1", "--json"])
        XCTAssertEqual(status, 0, stderr)
        let rows = try stdout.split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        XCTAssertEqual(rows.map { $0["name"] as? String }, ["small.train", "small.sample"])
        for row in rows {
            // tinySV3DP's parameter count (VideoUNetConfig.tinySV3DP), which the driver compares with sgm's.
            XCTAssertEqual(row["parameters"] as? Int, 2_207_635)
            XCTAssertEqual((row["samples"] as? [Double])?.count, 1)
            XCTAssertNotNil(row["median"] as? Double)
        }
    }

    func testBadSelectionsFailWithTheirReason() throws {
        for (arguments, message) in [(["--models", "huge"], "unknown model 'huge'"),
                                     (["--steps", "infer"], "unknown step 'infer'"),
                                     (["--repeats", "0"], "--repeats must be at least 1")] {
            let (status, _, stderr) = try run(["bench", "train"] + arguments)
            XCTAssertNotEqual(status, 0, "\(arguments)")
            XCTAssertTrue(stderr.contains(message), "\(arguments): \(stderr)")
        }
    }
}
