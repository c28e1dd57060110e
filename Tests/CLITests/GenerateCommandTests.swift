// `svdmv generate` with no --checkpoint runs the bundled default model on the bundled example
// image (the README's main job), and writes the whole orbit.

import Diffusion
import Cameras
import Foundation
import Generation
import Imaging
import MultiViewData
import Tensor
import TestSupport
import XCTest

final class GenerateCommandTests: XCTestCase {
    var resources: URL { get throws { try svdmvResources() } }

    func testBundledDefaultModelGeneratesAnOrbitFromTheBundledImage() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("svdmv-generate-\(UUID())")
        addTeardownBlock { try? FileManager.default.removeItem(at: out) }
        // The bundled model is an SV3D_p-structured checkpoint of ours (config in its metadata).
        let model = try StableVideoModel.load(resources.appendingPathComponent("default-model.safetensors"))
        XCTAssertEqual(model.config.variant, .sv3dP)
        XCTAssertEqual(model.config.imageSize, 64)

        let (status, output) = try runSVDMV(["generate", resources.appendingPathComponent("example-input.png").path,
                                             "--out", out.path, "--elevation", "28.4"])
        XCTAssertEqual(status, 0, output)
        for name in (0..<21).map({ String(format: "%03d.png", $0) }) + ["contact-sheet.png", "orbit.png", "cameras.json", "input.png"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path), name)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("orbit.json").path),
                       "cameras.json carries what orbit.json did")
        let file = out.appendingPathComponent(OrbitCameras.fileName)
        let cameras = try OrbitCameras.read(file)
        XCTAssertEqual(try cameras.encoded(), try Data(contentsOf: file), "generate's file round-trips through the reader")
        XCTAssertEqual(cameras.views.count, 21)
        XCTAssertEqual(cameras.width, 64)
        XCTAssertEqual(cameras.views.map(\.elevationDeg), Array(repeating: 28.4, count: 21))
        let record = try XCTUnwrap(cameras.generation)
        XCTAssertEqual(record.checkpoint, "bundled default model")
        // The sampler settings are recorded: the bundled model's recommended 2 steps without
        // guidance (Evaluation/default-model.md), the reference's otherwise.
        XCTAssertTrue(output.contains("the checkpoint recommends 2 steps, none"), output)
        XCTAssertEqual(record.steps, 2)
        XCTAssertEqual(record.guider, String(describing: Guider.identity))
        XCTAssertEqual(record.sigmaMax, 700)
        XCTAssertEqual(record.condAug, 1e-5, accuracy: 1e-9, "SV3D's cond_aug")
        XCTAssertEqual(record.startsFromInput, false)
        XCTAssertEqual(record.sampler, "euler")
        XCTAssertEqual(record.inputView, 20)
    }

    func testACheckpointsSamplingRecommendationIsTheDefaultAndOptionsOverrideIt() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("svdmv-generate-\(UUID())")
        addTeardownBlock { try? FileManager.default.removeItem(at: out) }
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let recommending = out.appendingPathComponent("recommending.safetensors").path
        let (converted, convertOutput) = try runSVDMV(["weights", "convert", resources.appendingPathComponent("default-model.safetensors").path,
                                                       "--out", recommending, "--dtype", "f16", "--sampling-steps", "1", "--sampling-guider", "none"])
        XCTAssertEqual(converted, 0, convertOutput)
        let source = try SafeTensorsFile(url: resources.appendingPathComponent("default-model.safetensors"))
        let file = try SafeTensorsFile(url: URL(fileURLWithPath: recommending))
        XCTAssertEqual(file.metadata?["svdmv.sampling"], #"{"guider":"none","steps":1}"#)
        XCTAssertEqual(file.metadata?[StableVideoModelConfig.metadataKey], source.metadata?[StableVideoModelConfig.metadataKey], "the config is kept")

        // No --steps: the recommended 1 step; --guider given: it wins over the recommended none.
        let (status, output) = try runSVDMV(["generate", resources.appendingPathComponent("example-input.png").path,
                                             "--checkpoint", recommending, "--out", out.appendingPathComponent("orbit").path,
                                             "--guider", "linear"])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("the checkpoint recommends 1 steps, none"), output)
        let record = try XCTUnwrap(try OrbitCameras.read(out.appendingPathComponent("orbit/cameras.json")).generation)
        XCTAssertEqual(record.steps, 1)
        XCTAssertTrue(record.guider.contains("linear"), record.guider)

        let (refused, message) = try runSVDMV(["weights", "convert", recommending, "--out", out.appendingPathComponent("x.safetensors").path,
                                               "--dtype", "f32", "--sampling-steps", "0"])
        XCTAssertNotEqual(refused, 0)
        XCTAssertTrue(message.contains("--sampling-steps"), message)
    }

    func testKeepFramingConditionsOnTheImageAsGiven() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("svdmv-generate-\(UUID())")
        addTeardownBlock { try? FileManager.default.removeItem(at: out) }
        // A 64x64 render whose object sits off the centre, as renders' silhouettes do.
        var render = Image8(width: 64, height: 64, channels: 3, fill: 255)
        for y in 10..<30 { for x in 36..<58 { render[x, y, 0] = 200; render[x, y, 1] = 60; render[x, y, 2] = 30 } }
        let input = out.appendingPathComponent("render.png")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try PNG.write(render, to: input)
        let (status, output) = try runSVDMV(["generate", input.path, "--out", out.appendingPathComponent("orbit").path,
                                             "--steps", "1", "--keep-framing", "--elevation", "-4.5"])
        XCTAssertEqual(status, 0, output)
        // The model was conditioned on the render itself, and the input view (frame 20) is it, up
        // to the 1 LSB of the reference's truncating float-to-8-bit conversion.
        func largestDifference(_ name: String) throws -> Int {
            zip(try PNG.read(out.appendingPathComponent(name)).pixels, render.pixels).map { abs(Int($0) - Int($1)) }.max() ?? -1
        }
        XCTAssertEqual(try largestDifference("orbit/input.png"), 0)
        XCTAssertLessThanOrEqual(try largestDifference("orbit/020.png"), 1)
        let cameras = try OrbitCameras.read(out.appendingPathComponent("orbit/cameras.json"))
        XCTAssertEqual(cameras.generation?.inputFraming, "as given")
        // A negative elevation is a value, not an option (orbits below the equator are common).
        XCTAssertEqual(cameras.views.map(\.elevationDeg), Array(repeating: -4.5, count: 21))

        let (refused, message) = try runSVDMV(["generate", input.path, "--out", out.appendingPathComponent("other").path,
                                               "--keep-framing", "--frame-ratio", "0.8"])
        XCTAssertNotEqual(refused, 0)
        XCTAssertTrue(message.contains("--keep-framing"), message)
        // cond_aug noises the conditioning image and is the UNet's input: another orbit, recorded.
        let (noised, noisedOutput) = try runSVDMV(["generate", input.path, "--out", out.appendingPathComponent("noised").path,
                                                   "--steps", "1", "--keep-framing", "--elevation", "-4.5", "--cond-aug", "0.05"])
        XCTAssertEqual(noised, 0, noisedOutput)
        XCTAssertNotEqual(try PNG.read(out.appendingPathComponent("noised/000.png")).pixels,
                          try PNG.read(out.appendingPathComponent("orbit/000.png")).pixels)
        let noisedRecord = try XCTUnwrap(try OrbitCameras.read(out.appendingPathComponent("noised/cameras.json")).generation)
        XCTAssertEqual(noisedRecord.condAug, 0.05, accuracy: 1e-7)
        // Per-frame elevations repeat the option, one value per frame.
        let (twoValues, twoWhy) = try runSVDMV(["generate", input.path, "--out", out.appendingPathComponent("two").path,
                                                "--elevation", "-5", "--elevation", "12"])
        XCTAssertNotEqual(twoValues, 0)
        XCTAssertTrue(twoWhy.contains("--elevation takes one value or 21 (one per frame), got 2"), twoWhy)
        let perFrame = (0..<21).flatMap { ["--elevation", String(-5 + $0)] }
        let (perFrameStatus, perFrameOutput) = try runSVDMV(["generate", input.path, "--out", out.appendingPathComponent("per-frame").path,
                                                             "--steps", "1", "--keep-framing"] + perFrame)
        XCTAssertEqual(perFrameStatus, 0, perFrameOutput)
        XCTAssertEqual(try OrbitCameras.read(out.appendingPathComponent("per-frame/cameras.json")).views.map(\.elevationDeg),
                       (0..<21).map { Double(-5 + $0) })
        let (negative, why) = try runSVDMV(["generate", input.path, "--out", out.appendingPathComponent("noise").path,
                                            "--cond-aug", "-0.1"])
        XCTAssertNotEqual(negative, 0)
        XCTAssertTrue(why.contains("--cond-aug"), why)
    }
}
