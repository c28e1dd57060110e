// Between 8-bit RGB images and model tensors, as torchvision's ToTensor (÷255) and the sampling
// script's `* 2 - 1` and `(x * 255).astype(uint8)` (truncation) do.

import Foundation
import Imaging
import Tensor

extension Tensor {
    /// An RGB image as [1, 3, H, W] in [-1, 1].
    public init(rgbImage image: Image8) {
        let rgb = image.rgb()
        let (w, h) = (rgb.width, rgb.height)
        self.init(uninitialized: [1, 3, h, w])
        for c in 0..<3 {
            for i in 0..<(w * h) { data[c * w * h + i] = Float(rgb.pixels[i * 3 + c]) / 255 * 2 - 1 }
        }
    }
}

extension Raster where Sample == UInt8 {
    /// Frame `index` of images [N, 3, H, W] in [0, 1] as 8-bit RGB (values truncated, as the
    /// script's `astype(np.uint8)`).
    public init(frame index: Int, of images: Tensor) {
        let (h, w) = (images.shape[2], images.shape[3])
        self.init(width: w, height: h, channels: 3)
        let base = images.data + index * 3 * h * w
        for c in 0..<3 {
            for i in 0..<(w * h) {
                pixels[i * 3 + c] = UInt8(max(0, min(255, base[c * h * w + i] * 255)))
            }
        }
    }
}

/// Mean over images of the PSNR (dB) of `generated` against `truth`, both [N, 3, H, W] in [−1, 1]
/// (PSNR taken in [0, 1] units; `generated` clamped to [−1, 1] first, as decoding to 8 bits would).
/// A perfect image counts as 120 dB instead of infinity, so the mean stays finite.
public func meanImagePSNR(_ generated: Tensor, _ truth: Tensor) -> Double {
    precondition(generated.shape == truth.shape && generated.rank == 4, "meanImagePSNR: \(generated.shape) against \(truth.shape)")
    let images = generated.shape[0], perImage = generated.count / images
    var total = 0.0
    for n in 0..<images {
        var squared = 0.0
        for i in (n * perImage)..<((n + 1) * perImage) {
            let a = Double(min(max(generated.data[i], -1), 1)), b = Double(truth.data[i])
            squared += (a - b) * (a - b) / 4   // [-1, 1] -> [0, 1]
        }
        total += 10 * log10(1 / max(squared / Double(perImage), 1e-12))
    }
    return total / Double(images)
}
