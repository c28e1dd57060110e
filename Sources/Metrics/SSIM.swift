// Structural similarity (Wang et al. 2004) with an 11-tap Gaussian window (σ = 1.5, radius
// int(3.5σ + 0.5) = 5), K1 = 0.01, K2 = 0.03 and population (not sample) covariances, in the two
// border conventions found in the references:
//
// - `.validRegion` (default): the SSIM map is kept only where the window lies inside the image (a
//   5-pixel border is dropped) and averaged per channel, then over channels. This is scikit-image
//   `structural_similarity(a, b, data_range=…, gaussian_weights=True, sigma=1.5,
//   use_sample_covariance=False, channel_axis=0)`, and also torchmetrics
//   `structural_similarity_index_measure` up to 1.4.x (reflect-pad, filter, then crop the padding:
//   the same numbers), which is what SyncDreamer's eval_nvs.py ran with in 2023, so it is the
//   convention behind the published GSO tables.
// - `.reflectPadded`: torchmetrics after PR #2721 (Sept. 2024; 1.5 and later): the image is
//   reflect-padded by 5 (PyTorch "reflect": the edge pixel is not repeated), the map keeps the
//   input's size and is averaged over every pixel; variances are clamped at 0.
//
// `dataRange: nil` derives the range from the data as torchmetrics' default `data_range=None` does
// (max(max(a) − min(a), max(b) − min(b)) over the batch); SyncDreamer relies on that default. The
// conventions differ by up to a few hundredths on small images (border pixels weigh ~2·5/H of the
// map); compare numbers only within one. Everything is computed in Double.

import Foundation
import Tensor

public enum SSIMConvention: String, CaseIterable, Sendable, Codable {
    /// scikit-image, and torchmetrics ≤ 1.4 (SyncDreamer's 2023 evaluation): valid region only.
    case validRegion = "valid"
    /// torchmetrics ≥ 1.5: reflect padding, same-size map, variances clamped at 0.
    case reflectPadded = "reflect"
}

/// The 1-D Gaussian window both references use: exp(−d²/(2σ²)) for d = −5...5, normalised.
func gaussianWindow(sigma: Double = 1.5) -> [Double] {
    let radius = Int(3.5 * sigma + 0.5)
    let w = (-radius...radius).map { d in Foundation.exp(-Double(d * d) / (2 * sigma * sigma)) }
    let total = w.reduce(0, +)
    return w.map { $0 / total }
}

/// Mean SSIM between two images [C, H, W] (or [N, C, H, W]: the mean of the per-image values, as
/// torchmetrics' default reduction), values nominally in [0, `dataRange`]. The defaults reproduce
/// SyncDreamer's call, `structural_similarity_index_measure(pred, gt)` on torchmetrics ≤ 1.4.
/// - Parameters:
///   - dataRange: the value span used for C1 = (0.01·range)², C2 = (0.03·range)²; `nil` derives it
///     from the data as torchmetrics does (max(max(a) − min(a), max(b) − min(b)) over the batch).
///   - convention: border handling (see the file comment). Images must be at least 11×11.
public func ssim(_ a: Tensor, _ b: Tensor, dataRange: Double? = nil,
                 convention: SSIMConvention = .validRegion) -> Double {
    precondition(a.shape == b.shape, "ssim: shapes \(a.shape) and \(b.shape) differ")
    precondition(a.rank == 3 || a.rank == 4, "ssim expects [C, H, W] or [N, C, H, W], got \(a.shape)")
    let shape = a.rank == 3 ? [1] + a.shape : a.shape
    let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
    let window = gaussianWindow()
    let radius = window.count / 2
    precondition(h >= window.count && w >= window.count, "ssim needs images of at least 11x11, got \(a.shape)")
    let range = dataRange ?? Swift.max(valueRange(a), valueRange(b))
    let c1 = (0.01 * range) * (0.01 * range), c2 = (0.03 * range) * (0.03 * range)
    var total: Double = 0
    for i in 0..<n {
        var perImage: Double = 0
        for ch in 0..<c {
            let offset = (i * c + ch) * h * w
            let x = UnsafeBufferPointer(start: a.data + offset, count: h * w)
            let y = UnsafeBufferPointer(start: b.data + offset, count: h * w)
            perImage += ssimPlane(x, y, height: h, width: w, window: window, radius: radius,
                                  c1: c1, c2: c2, convention: convention)
        }
        total += perImage / Double(c)
    }
    return total / Double(n)
}

private func valueRange(_ t: Tensor) -> Double {
    var lo = Float.infinity, hi = -Float.infinity
    for i in 0..<t.count { lo = Swift.min(lo, t.data[i]); hi = Swift.max(hi, t.data[i]) }
    return Double(hi) - Double(lo)
}

/// Mean of the SSIM map of one channel plane.
private func ssimPlane(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeBufferPointer<Float>,
                       height h: Int, width w: Int, window: [Double], radius: Int,
                       c1: Double, c2: Double, convention: SSIMConvention) -> Double {
    // The five images to filter, padded by `pad` on each side (reflect) for torchmetrics.
    let pad = convention == .reflectPadded ? radius : 0
    let ph = h + 2 * pad, pw = w + 2 * pad
    func reflect(_ i: Int, _ n: Int) -> Int { i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i) }
    var planes = [[Double]](repeating: [Double](repeating: 0, count: ph * pw), count: 5)
    for r in 0..<ph {
        let sr = reflect(r - pad, h)
        for col in 0..<pw {
            let s = sr * w + reflect(col - pad, w)
            let xv = Double(x[s]), yv = Double(y[s]), o = r * pw + col
            planes[0][o] = xv; planes[1][o] = yv
            planes[2][o] = xv * xv; planes[3][o] = yv * yv; planes[4][o] = xv * yv
        }
    }
    // Separable valid filtering: [ph, pw] -> [oh, ow].
    let k = window.count, oh = ph - k + 1, ow = pw - k + 1
    func filtered(_ p: [Double]) -> [Double] {
        var rows = [Double](repeating: 0, count: ph * ow)
        for r in 0..<ph {
            for col in 0..<ow {
                var s: Double = 0
                for t in 0..<k { s += window[t] * p[r * pw + col + t] }
                rows[r * ow + col] = s
            }
        }
        var out = [Double](repeating: 0, count: oh * ow)
        for r in 0..<oh {
            for col in 0..<ow {
                var s: Double = 0
                for t in 0..<k { s += window[t] * rows[(r + t) * ow + col] }
                out[r * ow + col] = s
            }
        }
        return out
    }
    let f = planes.map(filtered)
    var total: Double = 0
    for i in 0..<(oh * ow) {
        let mx = f[0][i], my = f[1][i]
        var vx = f[2][i] - mx * mx, vy = f[3][i] - my * my
        if convention == .reflectPadded { vx = Swift.max(vx, 0); vy = Swift.max(vy, 0) }
        let cov = f[4][i] - mx * my
        total += ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    }
    return total / Double(oh * ow)
}
