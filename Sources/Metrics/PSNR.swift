// Peak signal-to-noise ratio and mean squared error between two images, with the GSO NVS
// conventions of SyncDreamer's eval_nvs.py: images in [0, 1] (8-bit values / 255, composited on white
// before they get here), MSE over every value of ONE image (all channels and pixels), and
// PSNR = 10·log10(dataRange² / MSE). Matches scikit-image `peak_signal_noise_ratio(gt, pred,
// data_range=1)` and SyncDreamer's eval_nvs.py. Average PSNR per image, then over views and
// objects; converting a mean MSE gives a different number.

import Foundation
import Tensor

/// Mean of (a − b)² over all elements, accumulated in Double. Shapes must be equal.
public func meanSquaredError(_ a: Tensor, _ b: Tensor) -> Double {
    precondition(a.shape == b.shape, "meanSquaredError: shapes \(a.shape) and \(b.shape) differ")
    precondition(a.count > 0, "meanSquaredError of empty tensors")
    var total: Double = 0
    let pa = a.data, pb = b.data
    for i in 0..<a.count {
        let d = Double(pa[i]) - Double(pb[i])
        total += d * d
    }
    return total / Double(a.count)
}

/// PSNR in dB between two images of the same shape (any layout; every element counts once).
/// Identical images give `+infinity`, as scikit-image does.
/// - Parameter dataRange: the span of valid values (1 for images in [0, 1], 255 for 8-bit values).
public func psnr(_ a: Tensor, _ b: Tensor, dataRange: Double = 1) -> Double {
    let mse = meanSquaredError(a, b)
    return 10 * log10(dataRange * dataRange / mse)
}
