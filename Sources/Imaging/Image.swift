// Interleaved 8-bit and 16-bit raster images, the exchange type between the renderer, the dataset
// loaders, the evaluator and the CLI. Pixels are stored row-major, top row first, channels
// interleaved (gray, gray+alpha, RGB or RGBA), in the file's own colour space (sRGB for 8-bit PNG
// and JPEG); conversions to linear light or to [-1, 1] floats happen where they are needed.

import Foundation

/// Errors a user's file can cause. Each names the file at fault.
public enum ImageError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case unsupported(path: String, reason: String)
    case unwritable(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "cannot read image \(path): \(reason)"
        case .unsupported(let path, let reason): return "unsupported image \(path): \(reason)"
        case .unwritable(let path, let reason): return "cannot write image \(path): \(reason)"
        }
    }
}

/// An image with `Sample` per channel (UInt8 or UInt16), channels interleaved.
public struct Raster<Sample: FixedWidthInteger & UnsignedInteger>: Equatable {
    public let width: Int
    public let height: Int
    /// 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA).
    public let channels: Int
    public var pixels: [Sample]

    public init(width: Int, height: Int, channels: Int, pixels: [Sample]) {
        precondition((1...4).contains(channels), "channels must be 1...4")
        precondition(pixels.count == width * height * channels, "pixel count mismatch")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    public init(width: Int, height: Int, channels: Int, fill: Sample = 0) {
        self.init(width: width, height: height, channels: channels,
                  pixels: [Sample](repeating: fill, count: width * height * channels))
    }

    @inlinable public subscript(x: Int, y: Int, c: Int) -> Sample {
        get { pixels[(y * width + x) * channels + c] }
        set { pixels[(y * width + x) * channels + c] = newValue }
    }

    public var hasAlpha: Bool { channels == 2 || channels == 4 }
}

public typealias Image8 = Raster<UInt8>
public typealias Image16 = Raster<UInt16>

extension Raster where Sample == UInt8 {
    /// The same picture as RGB: gray replicated, alpha composited over `background` (sRGB 0...255)
    /// in sRGB space, as PIL's alpha compositing and the reference sampling script do.
    public func rgb(background: (UInt8, UInt8, UInt8) = (255, 255, 255)) -> Image8 {
        if channels == 3 { return self }
        var out = Image8(width: width, height: height, channels: 3)
        let bg = [Float(background.0), Float(background.1), Float(background.2)]
        for i in 0..<(width * height) {
            let base = i * channels
            let alpha = hasAlpha ? Float(pixels[base + channels - 1]) / 255 : 1
            for c in 0..<3 {
                let source = channels >= 3 ? pixels[base + c] : pixels[base]
                let v = Float(source) * alpha + bg[c] * (1 - alpha)
                out.pixels[i * 3 + c] = UInt8(max(0, min(255, v.rounded())))
            }
        }
        return out
    }
}
