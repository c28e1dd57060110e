// The real sv3d_p VideoUNet (released config, 1.5B parameters) end to end against sgm on a tiny
// latent: one video of 21 frames at 8x8 with the sv3d_p input (4 noisy + 4 concat channels), one
// CLIP token and the 1280-wide vector, so every level (8x8 down to 1x1), every block type and the
// real widths and head counts run. The weights are not in the fixture (0.2 MB of inputs and
// output): both sides draw them from seeds (TestSupport.SeededWeights) rounded to float16, and here
// the layer weights stay Float16 in memory (3 GB instead of 6; arithmetic Float32).
// Fixture: Scripts/fixtures/make_unet_full_width_fixture.py.

import Foundation
import Models
import NN
import Tensor
import TestSupport
import XCTest

final class UNetFullWidthTests: XCTestCase {
    func testSV3DPAtFullWidthMatchesSGM() throws {
        let data = try Data(contentsOf: UNetFixtures.directory.appendingPathComponent("unet_sv3d_p_full.json"))
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let config = try VideoUNetConfig(sgmNetworkConfig: try XCTUnwrap(json["network_config"] as? [String: Any]))
        XCTAssertEqual(config, .sv3dP, "the fixture's network_config is the released sv3d_p config")
        let seed = UInt64(try XCTUnwrap(json["weight_seed"] as? Int))
        let frames = try XCTUnwrap(json["frames"] as? Int)
        let f = try UNetFixtures.fixture("unet_sv3d_p_full.safetensors")

        let unet = VideoUNet(config)  // zero weights from calloc: no memory committed until loaded
        XCTAssertEqual(SeededWeights.loadFloat16(into: unet, seed: seed), 1428, "every sgm state-dict entry")
        XCTAssertEqual(unet.outConv.storedWeight.dtype, .float16)
        let out = GradMode.withoutGradients {
            unet(f["x"], timesteps: f["timesteps"], context: f["context"], y: f["y"], frames: frames)
        }
        // whole-network tolerance, as the tiny UNets: |ours − sgm| ≤ 1e-3·|sgm| + 1e-4
        assertClose(out, f["out"], rtol: 1e-3, atol: 1e-4, "sv3d_p at full width, 21 frames of 8x8")
    }
}
