// `svdmv bench train` as Scripts/bench/train runs it: one tiny iteration of each step prints the
// JSON fields the driver reads, and bad selections fail with their reason. `svdmv bench curate` on
// tiny inputs prints a row for every part of each scorer, with positive times. No timing is
// checked against a threshold.

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

    /// `bench curate` on two 64x48 frames of one capture and one orbit of two 16x16 views.
    let tinyCurate = ["bench", "curate", "--captures", "1", "--frames", "2", "--frame-size", "64x48", "--points", "10",
                      "--orbits", "1", "--orbit", "16x2", "--repeats", "1"]

    func testCurateTimesEveryPartOfBothScorers() throws {
        let (status, stdout, stderr) = try run(tinyCurate + ["--json"])
        XCTAssertEqual(status, 0, stderr)
        let rows = try stdout.split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let whole = ["sum of parts", "whole scorer", "whole run"]
        let expected = [
            "mvimgnet-64x48x2": ["frame decode", "sharpness", "flow motion", "cut detection", "colmap + trajectory"],
            "renders-16x2": ["png decode", "view measures"],
        ]
        XCTAssertEqual(Set(rows.compactMap { $0["group"] as? String }), Set(expected.keys))
        for (group, parts) in expected {
            let groupRows = rows.filter { $0["group"] as? String == group }
            XCTAssertEqual(groupRows.map { $0["part"] as? String }, parts + whole, group)
            for row in groupRows {
                let part = row["part"] as? String ?? "?"
                XCTAssertGreaterThan(row["ms_per_item"] as? Double ?? 0, 0, "\(group) \(part)")
                XCTAssertEqual(row["items"] as? Int, 1, "\(group) \(part)")
                if parts.contains(part) { XCTAssertGreaterThan(row["share"] as? Double ?? 0, 0, "\(group) \(part)") }
                if part.hasPrefix("whole") { XCTAssertGreaterThan(row["items_per_second"] as? Double ?? 0, 0, "\(group) \(part)") }
            }
            let shares = groupRows.compactMap { $0["share"] as? Double }
            XCTAssertEqual(shares.count, parts.count, group)
            XCTAssertEqual(shares.reduce(0, +), 1, accuracy: 1e-9, group)
        }

        // The table: each group's inputs, then its rows by name.
        let (textStatus, text, textError) = try run(tinyCurate)
        XCTAssertEqual(textStatus, 0, textError)
        XCTAssertTrue(text.contains("mvimgnet-64x48x2: 1 capture(s) of 2 JPEG frames at 64x48"), text)
        XCTAssertTrue(text.contains("renders-16x2: 1 orbit(s) of 2 RGBA PNG views at 16x16"), text)
        for part in expected.values.joined() + whole {
            XCTAssertTrue(text.split(separator: "\n").contains { $0.trimmingCharacters(in: .whitespaces).hasPrefix(part + " ") },
                          "\(part) missing from:\n\(text)")
        }
    }

    func testCurateBadSizesFailWithTheirReason() throws {
        for (arguments, message) in [(["--frames", "1"], "--frames must be at least 2"),
                                     (["--orbit", "64"], "--orbit"),
                                     (["--captures", "0", "--orbits", "0"], "nothing to time"),
                                     (["--jobs", "0"], "--jobs must be at least 1")] {
            let (status, _, stderr) = try run(["bench", "curate"] + arguments)
            XCTAssertNotEqual(status, 0, "\(arguments)")
            XCTAssertTrue(stderr.contains(message), "\(arguments): \(stderr)")
        }
    }
}
