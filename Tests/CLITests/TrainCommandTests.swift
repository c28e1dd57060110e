// `svdmv train` as a user runs it: a separate process killed with SIGKILL after its first
// checkpoint and restarted with --resume ends with the same loss curve, byte for byte in
// metrics.csv's losses, as a run never stopped; its exported model loads and generates.

import Foundation
import Generation
import Imaging
import MultiViewData
import XCTest

final class TrainCommandTests: XCTestCase {
    var binary: URL { Bundle.main.bundleURL.appendingPathComponent("svdmv") }

    func folder(_ name: String) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("svdmv-cli-\(UUID())-\(name)")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// Two 5-frame 64x64 synthetic orbits (coloured discs moving around) in one shard.
    func makeShard() throws -> URL {
        let dir = folder("shards")
        let writer = ShardWriter(directory: dir)
        for object in 0..<2 {
            let frames = 5
            let images: [Image8] = (0..<frames).map { f in
                var img = Image8(width: 64, height: 64, channels: 3, fill: 255)
                let cx = 32 + 16 * cos(Double(f) * 1.2 + Double(object)), cy = 32 + 10 * sin(Double(f) * 1.2)
                for y in 0..<64 { for x in 0..<64 where hypot(Double(x) - cx, Double(y) - cy) < 12 {
                    img[x, y, 0] = UInt8(60 * object); img[x, y, 1] = 120; img[x, y, 2] = UInt8(40 * f)
                } }
                return img
            }
            let azimuths = (0..<frames).map { f in f == frames - 1 ? 0.0 : Double(f + 1) * 72 }
            let metadata = SequenceMetadata(
                source: .renders, objectID: "synthetic-\(object)", width: 64, height: 64, conditioningIndex: frames - 1,
                elevationsDeg: Array(repeating: 10, count: frames), azimuthsDeg: azimuths,
                distances: Array(repeating: 2, count: frames),
                cameras: Array(repeating: FrameCamera(K: [[64, 0, 32], [0, 64, 32], [0, 0, 1]],
                                                      worldToCamera: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 2]]), count: frames),
                frameNames: (0..<frames).map { String(format: "%03d.png", $0) })
            try writer.write(TrainingSequence(metadata: metadata, images: images), key: "object\(object)")
        }
        _ = try writer.finish()
        return dir
    }

    @discardableResult
    func train(_ arguments: [String], killAfterCheckpoint: URL? = nil) throws -> Int32 {
        let process = Process()
        process.executableURL = binary
        process.arguments = ["train"] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        if let checkpoint = killAfterCheckpoint {
            while process.isRunning && !FileManager.default.fileExists(atPath: checkpoint.path) { usleep(20_000) }
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    func losses(_ run: URL) throws -> [String] {
        try String(contentsOf: run.appendingPathComponent("metrics.csv"), encoding: .utf8)
            .split(separator: "\n").dropFirst().map { String($0.split(separator: ",")[1]) }
    }

    func testKilledAndResumedRunRepeatsTheLossCurve() throws {
        let shards = try makeShard()
        let common = ["--data", shards.path, "--fresh", "tiny", "--steps", "4", "--checkpoint-every", "2",
                      "--learning-rate", "1e-3", "--seed", "5"]
        let straight = folder("straight")
        XCTAssertEqual(try train(common + ["--out", straight.path]), 0)
        let interrupted = folder("interrupted")
        try train(common + ["--out", interrupted.path],
                  killAfterCheckpoint: interrupted.appendingPathComponent("checkpoints/step-000002"))
        XCTAssertNotEqual(try train(common + ["--out", interrupted.path]), 0, "an existing run needs --resume")
        XCTAssertEqual(try train(common + ["--out", interrupted.path, "--resume"]), 0)
        XCTAssertEqual(try losses(straight).count, 4)
        XCTAssertEqual(try losses(interrupted), try losses(straight), "same loss curve after SIGKILL and --resume")
        let model = try SV3DModel.load(straight.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(model.config, .tinySV3DP)
        XCTAssertTrue(FileManager.default.fileExists(atPath: straight.appendingPathComponent("loss.png").path))
    }
}
