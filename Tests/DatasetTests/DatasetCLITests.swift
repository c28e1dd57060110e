import ArgumentParser
import Foundation
@testable import MultiViewData
@testable import svdmv
import Imaging
import XCTest

final class DatasetCLITests: XCTestCase {
    func testShardSpecParsing() {
        XCTAssertEqual(ShardSpec(argument: "3/8")?.prefix, "shard-0003-of-0008")
        XCTAssertEqual(ShardSpec(argument: "0/1")?.prefix, "shard")
        XCTAssertNil(ShardSpec(argument: "8/8"))
        XCTAssertNil(ShardSpec(argument: "1/0"))
        XCTAssertNil(ShardSpec(argument: "x"))
        let spec = ShardSpec(index: 1, count: 3)
        XCTAssertEqual((0..<7).filter(spec.selects), [1, 4])
    }

    /// Each bad argument is refused with a message naming it.
    func testValidationRejectsBadArguments() {
        let mvimgnet = SVDMV.Dataset.MVImgNet.self, root = Fixtures.root.path
        let cases: [(ParsableCommand.Type, [String], String)] = [
            (mvimgnet, ["/nonexistent", "--out", "/tmp/x"], "ROOT /nonexistent is not a folder"),
            (mvimgnet, [root, "--out", "/tmp/x", "--size", "4"], "--size must be at least 8"),
            (mvimgnet, [root, "--out", "/tmp/x", "--shard", "2/2"], "'2/2' is invalid for '--shard"),
            (SVDMV.Dataset.Inspect.self, ["/nonexistent.tar"], "cannot read /nonexistent.tar"),
            (mvimgnet, [root, "--out", "/tmp/x", "--up", "cameraAxes"], "'cameraAxes' is invalid for '--up"),
        ]
        for (command, arguments, expected) in cases {
            XCTAssertThrowsError(try command.parse(arguments), "\(arguments)") { error in
                let message = command.message(for: error)
                XCTAssertTrue(message.contains(expected), "\(arguments): \(message)")
            }
        }
        XCTAssertNoThrow(try SVDMV.Dataset.MVImgNet.parse([Fixtures.root.path, "--out", "/tmp/x", "--up", "trajectory-plane"]))
    }

    func testMVImgNetCommandWritesShardsAndInspectReadsThem() throws {
        let out = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let build = try SVDMV.Dataset.MVImgNet.parse([Fixtures.root.appendingPathComponent("mvimgnet").path,
                                                      "--out", out.path, "--size", "32",
                                                      "--masks", Fixtures.root.appendingPathComponent("masks").path])
        try build.run()
        let shard = out.appendingPathComponent("shard-000000.tar")
        XCTAssertTrue(FileManager.default.fileExists(atPath: shard.path))
        let index = try JSONDecoder().decode([String: String].self, from: Data(contentsOf: out.appendingPathComponent("shard.index.json")))
        XCTAssertEqual(index, ["mvimgnet-7-capture0": "shard-000000.tar"])
        let sheet = out.appendingPathComponent("sheet.png")
        try SVDMV.Dataset.Inspect.parse([shard.path, "--sheet", sheet.path, "--thumbnail", "16"]).run()
        let image = try PNG.read(sheet)
        XCTAssertEqual(image.width, 21 * 16)
        XCTAssertEqual(image.height, 16)
    }
}
