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
