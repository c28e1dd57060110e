// PSNR and SSIM against scikit-image and torchmetrics on small image pairs (float32 in [0, 1],
// some 8-bit quantised), within 1e-5 absolute.

import Foundation
import Metrics
import Tensor
import TestSupport
import XCTest

final class ImageMetricsTests: XCTestCase {
    func pair(_ name: String) throws -> (Tensor, Tensor) {
        let f = try MetricsFixture.tensors()
        return (f["\(name).a"], f["\(name).b"])
    }

    func testPSNRMatchesScikitImage() throws {
        let expected = try MetricsFixture.values("psnr")
        XCTAssertEqual(expected.count, 5)
        var worst = 0.0
        defer { print("PSNR vs scikit-image: max |diff| \(worst) dB") }
        for (name, value) in expected {
            let (a, b) = try pair(name)
            worst = max(worst, abs(psnr(a, b) - value))
            XCTAssertEqual(psnr(a, b), value, accuracy: 1e-5, name)
            XCTAssertEqual(psnr(b, a), value, accuracy: 1e-5, "\(name) is symmetric")
        }
    }

    func testPSNROfIdenticalImagesIsInfiniteAnd8BitRangeScales() throws {
        let (a, b) = try pair("noise_small")
        XCTAssertEqual(psnr(a, a), .infinity)
        XCTAssertEqual(psnr(a * 255, b * 255, dataRange: 255), psnr(a, b), accuracy: 1e-4)
        XCTAssertEqual(meanSquaredError(a, b), pow(10, -psnr(a, b) / 10), accuracy: 1e-12)
    }

    func testSSIMMatchesScikitImage() throws {
        // skimage structural_similarity(data_range=1, gaussian_weights=True, sigma=1.5,
        // use_sample_covariance=False, channel_axis=0)
        let expected = try MetricsFixture.values("ssim")
        XCTAssertEqual(expected.count, 5)
        var worst = 0.0
        for (name, value) in expected {
            let (a, b) = try pair(name)
            let s = ssim(a, b, dataRange: 1, convention: .validRegion)
            XCTAssertEqual(s, value, accuracy: 1e-5, name)
            worst = max(worst, abs(s - value))
        }
        print("SSIM vs scikit-image: max |diff| \(worst)")
    }

    /// torchmetrics 1.4.1 crops the padded border (what SyncDreamer ran with): `.validRegion`, and
    /// its default data_range=None is the default `ssim(_:_:)` call.
    func testSSIMMatchesTorchmetrics14() throws {
        let fixed = try MetricsFixture.values("ssim_torchmetrics_1_4")
        let fromData = try MetricsFixture.values("ssim_torchmetrics_1_4_default")
        guard !fixed.isEmpty else { return XCTFail("the committed fixtures lack torchmetrics 1.4 values (make_metrics_fixtures.py with TORCHMETRICS_1_4)") }
        var worst = 0.0
        defer { print("SSIM vs torchmetrics 1.4.1: max |diff| \(worst)") }
        for name in try MetricsFixture.pairNames() {
            let (a, b) = try pair(name)
            let s1 = ssim(a, b, dataRange: 1, convention: .validRegion), s2 = ssim(b, a)
            worst = max(worst, abs(s1 - fixed[name]!), abs(s2 - fromData[name]!))
            XCTAssertEqual(s1, try XCTUnwrap(fixed[name]), accuracy: 1e-5, name)
            XCTAssertEqual(s2, try XCTUnwrap(fromData[name]), accuracy: 1e-5, "\(name) data range from data")
        }
    }

    /// torchmetrics 1.9.0 keeps the reflect-padded map (after PR #2721): `.reflectPadded`.
    func testSSIMReflectPaddedMatchesTorchmetrics19() throws {
        let fixed = try MetricsFixture.values("ssim_torchmetrics")
        let fromData = try MetricsFixture.values("ssim_torchmetrics_default")
        guard !fixed.isEmpty else { return XCTFail("the committed fixtures lack torchmetrics values (make_metrics_fixtures.py)") }
        var worst = 0.0
        defer { print("SSIM vs torchmetrics 1.9.0: max |diff| \(worst)") }
        for name in try MetricsFixture.pairNames() {
            let (a, b) = try pair(name)
            let s1 = ssim(a, b, dataRange: 1, convention: .reflectPadded), s2 = ssim(b, a, convention: .reflectPadded)
            worst = max(worst, abs(s1 - fixed[name]!), abs(s2 - fromData[name]!))
            XCTAssertEqual(s1, try XCTUnwrap(fixed[name]), accuracy: 1e-5, name)
            XCTAssertEqual(s2, try XCTUnwrap(fromData[name]), accuracy: 1e-5, "\(name) data range from data")
        }
    }

    func testSSIMOfIdenticalImagesIsOneAndBatchIsMeanOfImages() throws {
        let (a, b) = try pair("noise_large")
        XCTAssertEqual(ssim(a, a), 1, accuracy: 1e-12)
        XCTAssertEqual(ssim(a, a, convention: .reflectPadded), 1, accuracy: 1e-12)
        let (c, d) = try pair("noise_small")
        let batchA = Tensor.concatenated([a.unsqueezed(axis: 0), c.unsqueezed(axis: 0)], axis: 0)
        let batchB = Tensor.concatenated([b.unsqueezed(axis: 0), d.unsqueezed(axis: 0)], axis: 0)
        let mean = (ssim(a, b, dataRange: 1) + ssim(c, d, dataRange: 1)) / 2
        XCTAssertEqual(ssim(batchA, batchB, dataRange: 1), mean, accuracy: 1e-12)
    }
}
