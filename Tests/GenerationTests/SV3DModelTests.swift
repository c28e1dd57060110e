import Foundation
import Generation
import Models
import Tensor
import XCTest

final class SV3DModelTests: XCTestCase {
    func testOfficialConfigsAreRecognisedFromTheLabelEmbedding() {
        XCTAssertEqual(SV3DModelConfig.sv3dP.unet.vectorWidth, 1280)
        XCTAssertEqual(SV3DModelConfig.sv3dU.unet.vectorWidth, 256)
    }
}
