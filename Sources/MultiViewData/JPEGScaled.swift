// JPEG decoding at a reduced scale (Imaging's `JPEG.decodeStored` at M/8 of the stored size) and of
// a region only (CJPEGRegion: libjpeg's crop and skip-scanlines, which TurboJPEG does not expose).
// The loader decodes at the smallest supported scale that still leaves the crop at
// least as large as the training size, so no detail the resize would keep is lost.

import CJPEGRegion
import Foundation
import Imaging

enum ScaledJPEG {
    /// The smallest factor M/8 with factor >= `minimumScale`, among the scales libjpeg-turbo has
    /// SIMD inverse DCTs for (1/8, 1/4, 1/2, 1); other M/8 scales decode slower than full size.
    static func factor(atLeast minimumScale: Double) -> Int {
        for m in [1, 2, 4] where Double(m) / 8 >= minimumScale { return m }
        return 8
    }

    /// Decodes RGB at scale m/8 into `buffer` (grown as needed, reused across calls). Returns the
    /// picture: without an EXIF rotation it stays in `buffer` (`image` nil); otherwise `image`
    /// holds the oriented copy.
    static func decode(_ data: Data, path: String, eighths m: Int, buffer: inout [UInt8])
        throws -> (width: Int, height: Int, image: Image8?) {
        let (w, h) = try JPEG.decodeStored(data, path: path, eighths: m, into: &buffer)
        let orientation = JPEG.exifOrientation(data) ?? 1
        guard orientation != 1 else { return (w, h, nil) }
        let image = Image8(width: w, height: h, channels: 3, pixels: Array(buffer[0..<(w * h * 3)])).oriented(orientation)
        return (image.width, image.height, image)
    }

    /// Decodes only the rows and (iMCU-widened) columns of `region` — in pixels of the picture
    /// at scale m/8, stored orientation — into `buffer`. Returns where the written block sits.
    static func decodeRegion(_ data: Data, path: String, eighths m: Int, scaledWidth: Int,
                             x0: Int, y0: Int, x1: Int, y1: Int, buffer: inout [UInt8])
        throws -> (x: Int, y: Int, width: Int, height: Int) {
        let needed = scaledWidth * (y1 - y0) * 3
        if buffer.count < needed { buffer = [UInt8](repeating: 0, count: needed) }
        var outX: Int32 = 0, outW: Int32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = data.withUnsafeBytes { raw in
            buffer.withUnsafeMutableBufferPointer { out in
                jpegregion_decode(raw.bindMemory(to: UInt8.self).baseAddress, UInt(raw.count), Int32(m),
                                  Int32(x0), Int32(y0), Int32(x1), Int32(y1), out.baseAddress,
                                  &outX, &outW, &message, Int32(message.count))
            }
        }
        guard status == 0 else {
            throw ImageError.unreadable(path: path, reason: String(cString: message))
        }
        return (Int(outX), y0, Int(outW), y1 - y0)
    }
}
