// The conditioning image as SV3D's sampling script prepares it (scripts/sampling/
// simple_video_sample.py): bounding box of the pixels with alpha > 0; that crop pasted centred in
// a transparent square of side int(max(w, h) / frameRatio) (without a ratio: the image's height,
// the script's `in_w`); Lanczos resize to `size` (Pillow's, premultiplied); composited over white
// in floating point and truncated to 8 bits (`(rgb * 255).astype(np.uint8)`).
//
// Differences, stated: the script removes the background of non-RGBA inputs with rembg (a
// network we do not ship); we make pixels transparent that are connected to the border and
// within `backgroundTolerance` of the border's median colour (right for product shots on plain
// backgrounds; give an RGBA image otherwise). Where the square would be smaller than the
// object's box (a wide object without a ratio), the script fails; we grow the square to fit.

import Foundation

public enum ConditioningImageError: Error, CustomStringConvertible {
    case empty(String)
    public var description: String {
        switch self { case .empty(let why): return "conditioning image: \(why)" }
    }
}

public enum ConditioningImage {
    /// The image as given, for inputs already framed like the model's training views (renders from
    /// the same renderer, such as an evaluation's held-out input views): composited on white
    /// (`rgb()`; no background removal), padded with white to a square about its own centre, and
    /// Lanczos-resized to `size` only where the side differs. `sv3d` instead re-centres the
    /// silhouette's box, which moves such an input by a few pixels against the ground truth and
    /// against the orbit the model learned around the image centre.
    public static func keepingFraming(_ input: Image8, size: Int) -> Image8 {
        let rgb = input.rgb()
        let side = max(rgb.width, rgb.height)
        var square = rgb
        if rgb.width != rgb.height {
            square = Image8(width: side, height: side, channels: 3, fill: 255)
            let (dx, dy) = ((side - rgb.width) / 2, (side - rgb.height) / 2)
            for y in 0..<rgb.height { for x in 0..<rgb.width { for c in 0..<3 { square[dx + x, dy + y, c] = rgb[x, y, c] } } }
        }
        return side == size ? square : square.resized(width: size, height: size, filter: .lanczos)
    }

    /// The prepared RGB image (size x size) for SV3D / SVD-MV.
    public static func sv3d(_ input: Image8, size: Int = 576, frameRatio: Double? = nil,
                            backgroundTolerance: Int = 12) throws -> Image8 {
        let image = input.hasAlpha && input.channels == 4 ? input
            : removingPlainBackground(input.rgb(), tolerance: backgroundTolerance)
        // Bounding box of alpha > 0 (cv2.boundingRect of the thresholded alpha).
        var (x0, y0, x1, y1) = (image.width, image.height, -1, -1)
        for y in 0..<image.height {
            for x in 0..<image.width where image[x, y, 3] > 0 {
                x0 = min(x0, x); y0 = min(y0, y); x1 = max(x1, x); y1 = max(y1, y)
            }
        }
        guard x1 >= 0 else { throw ConditioningImageError.empty("every pixel is transparent") }
        let (w, h) = (x1 - x0 + 1, y1 - y0 + 1)
        var side = frameRatio.map { Int(Double(max(w, h)) / $0) } ?? image.height
        side = max(side, w, h)
        var square = Image8(width: side, height: side, channels: 4)
        let center = side / 2
        for y in 0..<h {
            for x in 0..<w {
                for c in 0..<4 {
                    square[center - w / 2 + x, center - h / 2 + y, c] = image[x0 + x, y0 + y, c]
                }
            }
        }
        let resized = square.resized(width: size, height: size, filter: .lanczos)
        var out = Image8(width: size, height: size, channels: 3)
        for i in 0..<(size * size) {
            let a = Double(resized.pixels[i * 4 + 3]) / 255
            for c in 0..<3 {
                let v = Double(resized.pixels[i * 4 + c]) / 255 * a + (1 - a)
                out.pixels[i * 3 + c] = UInt8(max(0, min(255, (v * 255).rounded(.towardZero))))
            }
        }
        return out
    }

    /// RGBA copy of an RGB image whose border-connected pixels close to the border's median colour
    /// are transparent (4-connected flood fill).
    public static func removingPlainBackground(_ rgb: Image8, tolerance: Int) -> Image8 {
        let (w, h) = (rgb.width, rgb.height)
        var border: [[Int]] = [[], [], []]
        for x in 0..<w { for y in [0, h - 1] { for c in 0..<3 { border[c].append(Int(rgb[x, y, c])) } } }
        for y in 0..<h { for x in [0, w - 1] { for c in 0..<3 { border[c].append(Int(rgb[x, y, c])) } } }
        let background = border.map { $0.sorted()[$0.count / 2] }
        func isBackground(_ x: Int, _ y: Int) -> Bool {
            (0..<3).allSatisfy { abs(Int(rgb[x, y, $0]) - background[$0]) <= tolerance }
        }
        var out = Image8(width: w, height: h, channels: 4)
        for i in 0..<(w * h) {
            for c in 0..<3 { out.pixels[i * 4 + c] = rgb.pixels[i * 3 + c] }
            out.pixels[i * 4 + 3] = 255
        }
        var stack: [(Int, Int)] = []
        for x in 0..<w { stack.append((x, 0)); stack.append((x, h - 1)) }
        for y in 0..<h { stack.append((0, y)); stack.append((w - 1, y)) }
        while let (x, y) = stack.popLast() {
            guard x >= 0, y >= 0, x < w, y < h, out[x, y, 3] == 255, isBackground(x, y) else { continue }
            out[x, y, 3] = 0
            stack.append((x + 1, y)); stack.append((x - 1, y)); stack.append((x, y + 1)); stack.append((x, y - 1))
        }
        return out
    }
}
