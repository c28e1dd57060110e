// The tiny SV3D_p VideoUNet with its layer weights in F16/BF16 against the same (representable)
// weights in Float32: the same output within 1e-5 relative, and parameter storage accounted from
// the config's shape list (every UNet parameter of rank >= 2 is a Linear/Conv/temporal-conv weight).

import Foundation
import Models
import NN
import Tensor
import TestSupport
import XCTest

final class HalfWeightsTests: XCTestCase {
    func testHalfStoredUNetGivesTheFloat32Output() throws {
        let manifest = try UNetFixtures.manifest("unet_tiny_sv3dp.json")
        let seed = UInt64(try XCTUnwrap(manifest.json["weight_seed"] as? Int))
        let frames = try XCTUnwrap(manifest.json["frames"] as? Int)
        let fixture = try UNetFixtures.fixture("unet_tiny_sv3dp.safetensors")
        let weights = UNetFixtures.generatedWeights(manifest.parameters, seed: seed)
        let shapes = VideoUNet.parameterShapes(.tinySV3DP)
        let layerWeightCount = shapes.filter { $0.shape.count >= 2 }.reduce(0) { $0 + $1.shape.reduce(1, *) }
        let otherCount = VideoUNet.parameterCount(.tinySV3DP) - layerWeightCount
        for dtype in [DType.float16, .bfloat16] {
            let rounded = weights.mapValues { HalfTensor($0, dtype: dtype).float() }
            let reference = VideoUNet(.tinySV3DP)
            try reference.load(rounded)
            let half = VideoUNet(.tinySV3DP)
            try half.load(rounded)
            half.storeLayerWeights(in: dtype)
            XCTAssertEqual(half.parameterStorageByteCount, 2 * layerWeightCount + 4 * otherCount, "\(dtype) storage")
            XCTAssertEqual(reference.parameterStorageByteCount, 4 * (layerWeightCount + otherCount))
            let (a, b) = GradMode.withoutGradients {
                (half(fixture["x"], timesteps: fixture["timesteps"], context: fixture["context"], y: fixture["y"],
                      frames: frames),
                 reference(fixture["x"], timesteps: fixture["timesteps"], context: fixture["context"],
                           y: fixture["y"], frames: frames))
            }
            assertClose(a, b, rtol: 1e-5, atol: 1e-6, "tiny SV3D_p UNet, \(dtype) weights vs Float32")
        }
    }
}
