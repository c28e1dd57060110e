// Small pictures for reports: an image file read as a viewer shows it (JPEG's EXIF orientation
// honoured), fitted within a square of `side` pixels and composited over white, as the
// evaluation report's strips and the curation report's contact sheets show views and frames.

import Foundation
import Imaging

public enum Thumbnail {
    /// The largest side of a report's pictures (one view of an evaluation strip, one item of a
    /// curation contact sheet), in pixels.
    public static let side = 128

    /// `url` fitted within `side` x `side` (aspect kept, never enlarged), RGB over white. A large
    /// JPEG is decoded at a reduced scale (libjpeg-turbo's M/8 inverse DCT) that still leaves it
    /// at least `side` pixels on its longer side.
    public static func read(_ url: URL, side: Int = Thumbnail.side) throws -> Image8 {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ImageError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        let image: Image8
        if ImageFile.format(of: data, name: url.path) == .jpeg {
            let stored = try JPEG.storedSize(data, path: url.path)
            let longer = max(stored.width, stored.height)
            let eighths = [1, 2, 4].first { longer * $0 / 8 >= side } ?? 8
            var buffer: [UInt8] = []
            let (w, h) = try JPEG.decodeStored(data, path: url.path, eighths: eighths, into: &buffer)
            image = Image8(width: w, height: h, channels: 3, pixels: Array(buffer[0..<(w * h * 3)]))
                .oriented(JPEG.exifOrientation(data) ?? 1)
        } else {
            image = try ImageFile.decode(data, name: url.path)
        }
        return fitted(image, side: side)
    }

    /// `image` scaled to fit within `side` x `side` (aspect kept, never enlarged), RGB over white.
    public static func fitted(_ image: Image8, side: Int = Thumbnail.side) -> Image8 {
        let longer = max(image.width, image.height)
        guard longer > side else { return image.rgb() }
        let scale = Double(side) / Double(longer)
        let w = max(1, Int((Double(image.width) * scale).rounded())), h = max(1, Int((Double(image.height) * scale).rounded()))
        return image.rgb().resized(width: w, height: h, filter: .bilinear)
    }
}
