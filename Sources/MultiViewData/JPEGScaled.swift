// JPEG decoding at a reduced scale: libjpeg-turbo can run its inverse DCT at M/8 of the stored size
// (tjDecompress2 with a smaller width/height), which is much cheaper than a full decode followed by a
// large reduction. The loader decodes at the smallest supported scale that still leaves the crop at
// least as large as the training size, so no detail the resize would keep is lost.

import CTurboJPEG
import Foundation
import Imaging

enum ScaledJPEG {
    /// Stored (pre-orientation) size of a JPEG, or nil if the header cannot be read.
    static func storedSize(_ data: Data) -> (width: Int, height: Int)? {
        guard let handle = tjInitDecompress() else { return nil }
        defer { tjDestroy(handle) }
        var w: Int32 = 0, h: Int32 = 0, sub: Int32 = 0, cs: Int32 = 0
        let status = data.withUnsafeBytes { raw in
            tjDecompressHeader3(handle, raw.bindMemory(to: UInt8.self).baseAddress, UInt(raw.count), &w, &h, &sub, &cs)
        }
        return status == 0 ? (Int(w), Int(h)) : nil
    }

    /// The smallest factor M/8 (M = 1...8) with factor >= `minimumScale`, or 1.
    static func factor(atLeast minimumScale: Double) -> Int {
        for m in 1...8 where Double(m) / 8 >= minimumScale { return m }
        return 8
    }

    /// Decodes RGB at scale m/8 (libjpeg-turbo rounds the size up) and applies EXIF orientation.
    static func decode(_ data: Data, path: String, eighths m: Int) throws -> Image8 {
        guard m < 8 else { return try JPEG.decode(data, path: path) }
        guard let handle = tjInitDecompress() else {
            throw ImageError.unreadable(path: path, reason: "cannot start libjpeg-turbo")
        }
        defer { tjDestroy(handle) }
        guard let size = storedSize(data) else {
            throw ImageError.unreadable(path: path, reason: "not a JPEG header")
        }
        let w = (size.width * m + 7) / 8, h = (size.height * m + 7) / 8
        var pixels = [UInt8](repeating: 0, count: w * h * 3)
        let status = data.withUnsafeBytes { raw in
            pixels.withUnsafeMutableBufferPointer { out in
                tjDecompress2(handle, raw.bindMemory(to: UInt8.self).baseAddress, UInt(raw.count),
                              out.baseAddress, Int32(w), 0, Int32(h), Int32(TJPF_RGB.rawValue), TJFLAG_ACCURATEDCT)
            }
        }
        if status != 0 && tjGetErrorCode(handle) != Int32(TJERR_WARNING.rawValue) {
            throw ImageError.unreadable(path: path, reason: String(cString: tjGetErrorStr2(handle)))
        }
        return Image8(width: w, height: h, channels: 3, pixels: pixels).oriented(JPEG.exifOrientation(data) ?? 1)
    }
}
