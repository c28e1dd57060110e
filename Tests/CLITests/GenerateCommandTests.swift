// `svdmv generate` with no --checkpoint runs the bundled default model on the bundled example
// image (the README's main job), and writes the whole orbit.

import Diffusion
import Foundation
import Generation
import Imaging
import MultiViewData
import Tensor
import XCTest

final class GenerateCommandTests: XCTestCase {
    var resources: URL { Bundle.main.bundleURL.appendingPathComponent("SVDMV_svdmv.resources") }

    func testBundledDefaultModelGeneratesAnOrbitFromTheBundledImage() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("svdmv-generate-\(UUID())")
        addTeardownBlock { try? FileManager.default.removeItem(at: out) }
        // The bundled model is an SV3D_p-structured checkpoint of ours (config in its metadata).
        let model = try SV3DModel.load(resources.appendingPathComponent("default-model.safetensors"))
        XCTAssertEqual(model.config.variant, .sv3dP)
        XCTAssertEqual(model.config.imageSize, 64)

        let (status, output) = try runSVDMV(["generate", resources.appendingPathComponent("example-input.png").path,
                                             "--out", out.path, "--elevation", "28.4"])
        XCTAssertEqual(status, 0, output)
        for name in (0..<21).map({ String(format: "%03d.png", $0) }) + ["contact-sheet.png", "orbit.png", "orbit.json", "input.png"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path), name)
        }
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("orbit.json"))) as? [String: Any]
        XCTAssertEqual(record?["checkpoint"] as? String, "bundled default model")
        // The sampler settings are recorded: the bundled model's recommended 2 steps without
        // guidance (Evaluation/default-model.md), the reference's otherwise.
        XCTAssertTrue(output.contains("the checkpoint recommends 2 steps, none"), output)
        XCTAssertEqual(record?["steps"] as? Int, 2)
        XCTAssertEqual(record?["guider"] as? String, String(describing: Guider.identity))
        XCTAssertEqual(record?["sigma_max"] as? Double, 700)
        XCTAssertEqual(record?["cond_aug"] as? Double ?? -1, 1e-5, accuracy: 1e-9, "SV3D's cond_aug")
        XCTAssertEqual(record?["starts_from_input"] as? Bool, false)
        XCTAssertEqual(record?["sampler"] as? String, "euler")
        let cameras = try RenderCameras.read(out.appendingPathComponent("cameras.json"))
        XCTAssertEqual(cameras.views.count, 21)
        XCTAssertEqual(cameras.width, 64)
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
        XCTAssertEqual(file.metadata?[SV3DModelConfig.metadataKey], source.metadata?[SV3DModelConfig.metadataKey], "the config is kept")

        // No --steps: the recommended 1 step; --guider given: it wins over the recommended none.
        let (status, output) = try runSVDMV(["generate", resources.appendingPathComponent("example-input.png").path,
                                             "--checkpoint", recommending, "--out", out.appendingPathComponent("orbit").path,
                                             "--guider", "linear"])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("the checkpoint recommends 1 steps, none"), output)
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("orbit/orbit.json"))) as? [String: Any]
        XCTAssertEqual(record?["steps"] as? Int, 1)
        XCTAssertTrue((record?["guider"] as? String)?.contains("linear") == true, "\(record?["guider"] ?? "nil")")

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
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("orbit/orbit.json"))) as? [String: Any]
        XCTAssertEqual(record?["input_framing"] as? String, "as given")
        // A negative elevation is a value, not an option (orbits below the equator are common).
        XCTAssertEqual(record?["elevation_deg"] as? [Double], Array(repeating: -4.5, count: 21))

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
        let noisedRecord = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("noised/orbit.json"))) as? [String: Any]
        XCTAssertEqual(noisedRecord?["cond_aug"] as? Double ?? -1, 0.05, accuracy: 1e-7)
        let (negative, why) = try runSVDMV(["generate", input.path, "--out", out.appendingPathComponent("noise").path,
                                            "--cond-aug", "-0.1"])
        XCTAssertNotEqual(negative, 0)
        XCTAssertTrue(why.contains("--cond-aug"), why)
    }
}
