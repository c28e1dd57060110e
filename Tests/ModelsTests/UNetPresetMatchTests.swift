// Naming the UNet preset of a checkpoint from its keys and shapes alone: an exact match names the
// preset and its key count; anything else names the closest preset and one difference.

import Models
import XCTest

final class UNetPresetMatchTests: XCTestCase {
    func shapes(_ config: VideoUNetConfig) -> [String: [Int]] {
        Dictionary(uniqueKeysWithValues: VideoUNet.parameterShapes(config).map { ($0.key, $0.shape) })
    }

    func testEveryPresetMatchesItself() {
        for (name, config) in VideoUNetConfig.namedPresets {
            XCTAssertEqual(VideoUNetConfig.matchingPreset(shapes(config)),
                           .matches(name: name, keys: VideoUNet.parameterShapes(config).count), name)
        }
    }

    func testDifferencesNameTheClosestPresetAndOneExample() {
        var tiny = shapes(.tinySV3DP)
        tiny["out.2.bias"] = nil
        XCTAssertEqual(VideoUNetConfig.matchingPreset(tiny),
                       .closest(name: "tiny sv3d_p", differences: 1, example: "missing out.2.bias"))
        var misshaped = shapes(.tinySV3DP)
        misshaped["out.2.bias"] = [5]
        misshaped["extra.weight"] = [1]
        guard case .closest(let name, let differences, let example) = VideoUNetConfig.matchingPreset(misshaped) else {
            return XCTFail("a changed file matched a preset")
        }
        XCTAssertEqual(name, "tiny sv3d_p")
        XCTAssertEqual(differences, 2)
        XCTAssertEqual(example, "unexpected extra.weight")
        XCTAssertEqual(VideoUNetConfig.matchingPreset(misshaped).description,
                       "UNet: no preset matches; closest tiny sv3d_p with 2 differences (e.g. unexpected extra.weight)")
    }
}
