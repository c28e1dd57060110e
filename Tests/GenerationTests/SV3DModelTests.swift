// The SV3D model container and sampler on a tiny random model: checkpoint round trip through the
// strict loader, determinism per seed, the input view as the last frame, clear load errors.
// (Parity of a whole sampling run with sgm is SV3DSamplingParityTests.)

import Foundation
import Generation
import Models
import NN
import Tensor
import XCTest

final class SV3DModelTests: XCTestCase {
    func temporaryFile(_ name: String) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("svdmv-\(UUID())-\(name)")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func testCheckpointRoundTripAndDeterministicOrbit() throws {
        let model = SV3DModel(.tinySV3DP)
        model.initializeRandomly(seed: 1)
        let file = temporaryFile("tiny.safetensors")
        try model.save(to: file)
        let loaded = try SV3DModel.load(file)
        XCTAssertEqual(loaded.config, .tinySV3DP)
        for ((k, a), (_, b)) in zip(model.namedParameters(), loaded.namedParameters()) {
            XCTAssertEqual(a.scalars, b.scalars, k)
        }
        var settings = SV3DSamplingSettings()
        settings.frames = 5
        settings.steps = 2
        var g = TorchGenerator(seed: 3)
        let image = g.rand([1, 3, 64, 64]) * 2 - 1
        let a = SV3DSampler(model: loaded, settings: settings).generate(image: image)
        let b = SV3DSampler(model: loaded, settings: settings).generate(image: image)
        XCTAssertEqual(a.shape, [5, 3, 64, 64])
        XCTAssertEqual(a.scalars, b.scalars, "same seed, same orbit")
        // The last frame is the input view, mapped to [0, 1].
        XCTAssertEqual(a.sliced(axis: 0, 4..<5).scalars, ((image + 1) * 0.5).scalars)
        settings.seed = 24
        let c = SV3DSampler(model: loaded, settings: settings).generate(image: image)
        XCTAssertNotEqual(c.sliced(axis: 0, 0..<1).scalars, a.sliced(axis: 0, 0..<1).scalars, "another seed, another orbit")
    }

    func testLoadErrorsNameThePartAndKey() throws {
        let model = SV3DModel(.tinySV3DP)
        var tensors: [String: Tensor] = [:]
        model.visitParameters { k, t in tensors[k] = t }
        tensors.removeValue(forKey: "model.diffusion_model.out.2.bias")
        let file = temporaryFile("broken.safetensors")
        let json = String(decoding: try JSONEncoder().encode(SV3DModelConfig.tinySV3DP), as: UTF8.self)
        try SafeTensors.write(tensors, metadata: [SV3DModelConfig.metadataKey: json], to: file)
        XCTAssertThrowsError(try SV3DModel.load(file)) { error in
            XCTAssertTrue("\(error)".contains("UNet") && "\(error)".contains("out.2.bias"), "\(error)")
        }
        let bare = temporaryFile("bare.safetensors")
        try SafeTensors.write(["x": Tensor(zeros: [1])], to: bare)
        XCTAssertThrowsError(try SV3DModel.load(bare)) { error in
            XCTAssertTrue("\(error)".contains("label_emb"), "\(error)")
        }
    }
}
