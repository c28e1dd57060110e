// The README's "Using SVDMV as a library" example (Examples/LibraryExample/main.swift) is the
// program SwiftPM builds as `LibraryExample`: the README shows it verbatim, and it loads a
// checkpoint strictly, runs the UNet once and writes what the UNet in this process computes.

import Foundation
import Generation
import Models
import Tensor
import TestSupport
import XCTest

final class LibraryExampleTests: XCTestCase {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardizedFileURL

    func testTheREADMEShowsTheExampleVerbatim() throws {
        let source = try String(contentsOf: root.appendingPathComponent("Examples/LibraryExample/main.swift"), encoding: .utf8)
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try XCTUnwrap(readme.range(of: "## Using SVDMV as a library"), "README lacks the section")
        XCTAssertTrue(readme[section.upperBound...].contains("```swift\n" + source + "```"),
                      "README's example differs from Examples/LibraryExample/main.swift")
    }

    func testTheExampleRunsTheUNetOfAStrictlyLoadedCheckpoint() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("svdmv-library-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = StableVideoModel(.tinySV3DP)
        model.initializeRandomly(seed: 5)
        let checkpoint = folder.appendingPathComponent("model.safetensors")
        try model.save(to: checkpoint)

        let frames = 3, config = model.config.unet, latent = model.config.imageSize / 8
        var generator = TorchGenerator(seed: 11)
        let inputs: [String: Tensor] = [
            "x": generator.randn([frames, config.inChannels, latent, latent]),
            "timesteps": Tensor(shape: [frames], scalars: [0.1, 0.5, -0.3]),
            "context": generator.randn([frames, 1, config.contextWidth]),
            "y": generator.randn([frames, try XCTUnwrap(config.vectorWidth)]),
        ]
        let inputsFile = folder.appendingPathComponent("inputs.safetensors")
        try SafeTensors.write(inputs, to: inputsFile)
        let outFile = folder.appendingPathComponent("out.safetensors")
        let example = try svdmvExecutable().deletingLastPathComponent().appendingPathComponent("LibraryExample")
        let run = try runProcess(example, [checkpoint.path, inputsFile.path, outFile.path], mergeOutput: true)
        XCTAssertEqual(run.status, 0, run.output)

        let expected = GradMode.withoutGradients {
            model.unet(inputs["x"]!, timesteps: inputs["timesteps"]!, context: inputs["context"]!, y: inputs["y"]!, frames: frames)
        }
        // The same network on the same inputs in another process: a whole network, 1e-3 relative
        // at most; in practice the same bits.
        assertClose(try SafeTensorsFile(url: outFile).tensor("output"), expected, rtol: 1e-3, atol: 1e-6, "UNet output")

        // Strict loading: a tensor the model does not have, under the UNet's prefix, is refused by name.
        var tensors = try SafeTensorsFile(url: checkpoint).tensors()
        tensors["model.diffusion_model.extra.weight"] = Tensor(shape: [1], scalars: [0])
        try SafeTensors.write(tensors, metadata: try SafeTensorsFile(url: checkpoint).metadata, to: checkpoint)
        let refused = try runProcess(example, [checkpoint.path, inputsFile.path, outFile.path], mergeOutput: true)
        XCTAssertEqual(refused.status, 1, refused.output)
        XCTAssertTrue(refused.output.contains("model.diffusion_model.extra.weight"), refused.output)
    }
}
