// JPEG through libjpeg-turbo's TurboJPEG API, with the EXIF orientation tag honoured on decode
// (phones store portrait captures as rotated landscape frames plus a tag; MVImgNet is such data).

import CTurboJPEG
import FileSupport
import Foundation

public enum JPEG {
    /// Decodes to RGB (or gray for grayscale files), applying the EXIF orientation.
    public static func read(_ url: URL, gray: Bool = false) throws -> Image8 {
        try decode(try readData(url), path: url.path, gray: gray)
    }

    public static func decode(_ data: Data, path: String = "<memory>", gray: Bool = false,
                              applyOrientation: Bool = true) throws -> Image8 {
        var pixels: [UInt8] = []
        let (width, height) = try decodeStored(data, path: path, gray: gray, into: &pixels)
        let image = Image8(width: width, height: height, channels: gray ? 1 : 3, pixels: pixels)
        guard applyOrientation else { return image }
        return image.oriented(exifOrientation(data) ?? 1)
    }

    /// The stored (pre-orientation) size of a JPEG stream; an error names `path`.
    public static func storedSize(_ data: Data, path: String = "<memory>") throws -> (width: Int, height: Int) {
        let handle = try decompressor(path)
        defer { tjDestroy(handle) }
        return try header(handle, data, path)
    }

    /// Decodes the stored picture (no EXIF orientation) as RGB or gray at scale `eighths`/8 into
    /// `buffer`, which grows as needed and is meant to be reused across calls (libjpeg-turbo runs
    /// its inverse DCT at M/8 of the stored size, much cheaper than a full decode followed by a
    /// large reduction; it rounds the scaled size up). Returns the decoded size.
    public static func decodeStored(_ data: Data, path: String = "<memory>", gray: Bool = false, eighths: Int = 8,
                                    into buffer: inout [UInt8]) throws -> (width: Int, height: Int) {
        let handle = try decompressor(path)
        defer { tjDestroy(handle) }
        let stored = try header(handle, data, path)
        let (width, height) = scaledSize(stored, eighths: eighths)
        let channels = gray ? 1 : 3
        if buffer.count < width * height * channels { buffer = [UInt8](repeating: 0, count: width * height * channels) }
        let status = data.withUnsafeBytes { raw in
            buffer.withUnsafeMutableBufferPointer { out in
                tjDecompress2(handle, raw.bindMemory(to: UInt8.self).baseAddress, UInt(raw.count),
                              out.baseAddress, Int32(width), 0, Int32(height),
                              Int32(gray ? TJPF_GRAY.rawValue : TJPF_RGB.rawValue), TJFLAG_ACCURATEDCT)
            }
        }
        // Warnings (tjGetErrorCode == TJERR_WARNING) still give a full image; errors do not.
        if status != 0 && tjGetErrorCode(handle) != Int32(TJERR_WARNING.rawValue) {
            throw ImageError.unreadable(path: path, reason: String(cString: tjGetErrorStr2(handle)))
        }
        return (width, height)
    }

    /// The decoded size at scale `eighths`/8 (libjpeg-turbo rounds up), before orientation.
    public static func scaledSize(_ stored: (width: Int, height: Int), eighths: Int) -> (width: Int, height: Int) {
        ((stored.width * eighths + 7) / 8, (stored.height * eighths + 7) / 8)
    }

    static func decompressor(_ path: String) throws -> tjhandle {
        guard let handle = tjInitDecompress() else {
            throw ImageError.unreadable(path: path, reason: "cannot start libjpeg-turbo")
        }
        return handle
    }

    static func header(_ handle: tjhandle, _ data: Data, _ path: String) throws -> (width: Int, height: Int) {
        var width: Int32 = 0, height: Int32 = 0, subsamp: Int32 = 0, colorspace: Int32 = 0
        let status = data.withUnsafeBytes { raw -> Int32 in
            tjDecompressHeader3(handle, raw.bindMemory(to: UInt8.self).baseAddress,
                                UInt(raw.count), &width, &height, &subsamp, &colorspace)
        }
        guard status == 0 else {
            throw ImageError.unreadable(path: path, reason: String(cString: tjGetErrorStr2(handle)))
        }
        guard width > 0, height > 0, Int(width) * Int(height) <= 1 << 28 else {
            throw ImageError.unsupported(path: path, reason: "size \(width)x\(height)")
        }
        return (Int(width), Int(height))
    }

    /// Encodes RGB or gray at `quality` (1...100), 4:2:0 chroma subsampling for colour as PIL does.
    public static func encode(_ image: Image8, quality: Int = 95) throws -> Data {
        precondition(image.channels == 1 || image.channels == 3, "JPEG takes gray or RGB")
        guard let handle = tjInitCompress() else {
            throw ImageError.unwritable(path: "<jpeg>", reason: "cannot start libjpeg-turbo")
        }
        defer { tjDestroy(handle) }
        var buffer: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let status = image.pixels.withUnsafeBufferPointer { src in
            tjCompress2(handle, src.baseAddress, Int32(image.width), 0, Int32(image.height),
                        Int32(image.channels == 1 ? TJPF_GRAY.rawValue : TJPF_RGB.rawValue),
                        &buffer, &size,
                        Int32(image.channels == 1 ? TJSAMP_GRAY.rawValue : TJSAMP_420.rawValue),
                        Int32(max(1, min(100, quality))), TJFLAG_ACCURATEDCT)
        }
        defer { if let buffer { tjFree(buffer) } }
        guard status == 0, let buffer else {
            throw ImageError.unwritable(path: "<jpeg>", reason: String(cString: tjGetErrorStr2(handle)))
        }
        return Data(bytes: buffer, count: Int(size))
    }

    public static func write(_ image: Image8, to url: URL, quality: Int = 95) throws {
        try writeAtomically(try encode(image, quality: quality), to: url)
    }

    /// The EXIF Orientation tag (1...8) of a JPEG stream, or nil when it has none.
    public static func exifOrientation(_ data: Data) -> Int? {
        let bytes = [UInt8](data.prefix(1 << 16))
        var offset = 2
        guard bytes.count > 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { return nil }
        while offset + 4 <= bytes.count, bytes[offset] == 0xFF {
            let marker = bytes[offset + 1]
            let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            if marker == 0xDA || length < 2 { return nil }  // start of scan: no more metadata
            let start = offset + 4, end = min(bytes.count, offset + 2 + length)
            if marker == 0xE1, end - start > 14, Array(bytes[start..<start + 6]) == Array("Exif\0\0".utf8) {
                return parseTIFFOrientation(Array(bytes[(start + 6)..<end]))
            }
            offset += 2 + length
        }
        return nil
    }

    private static func parseTIFFOrientation(_ tiff: [UInt8]) -> Int? {
        guard tiff.count >= 8 else { return nil }
        let little = tiff[0] == 0x49
        func u16(_ at: Int) -> Int? {
            guard at + 2 <= tiff.count else { return nil }
            return little ? Int(tiff[at]) | Int(tiff[at + 1]) << 8 : Int(tiff[at]) << 8 | Int(tiff[at + 1])
        }
        func u32(_ at: Int) -> Int? {
            guard let lo = u16(little ? at : at + 2), let hi = u16(little ? at + 2 : at) else { return nil }
            return hi << 16 | lo
        }
        guard let ifd = u32(4), let count = u16(ifd) else { return nil }
        for i in 0..<count {
            let entry = ifd + 2 + i * 12
            guard let tag = u16(entry) else { return nil }
            if tag == 0x0112, let value = u16(entry + 8), (1...8).contains(value) { return value }
        }
        return nil
    }
}

extension Raster {
    /// Applies an EXIF orientation (1 = as stored ... 8), giving the picture as a viewer shows it.
    public func oriented(_ orientation: Int) -> Raster {
        guard (2...8).contains(orientation) else { return self }
        let transposed = orientation >= 5
        let outW = transposed ? height : width, outH = transposed ? width : height
        var out = Raster(width: outW, height: outH, channels: channels)
        for y in 0..<outH {
            for x in 0..<outW {
                // Source pixel that lands at (x, y) for each EXIF orientation.
                let (sx, sy): (Int, Int)
                switch orientation {
                case 2: (sx, sy) = (width - 1 - x, y)
                case 3: (sx, sy) = (width - 1 - x, height - 1 - y)
                case 4: (sx, sy) = (x, height - 1 - y)
                case 5: (sx, sy) = (y, x)
                case 6: (sx, sy) = (y, height - 1 - x)
                case 7: (sx, sy) = (width - 1 - y, height - 1 - x)
                default: (sx, sy) = (width - 1 - y, x)  // 8
                }
                let src = (sy * width + sx) * channels, dst = (y * outW + x) * channels
                for c in 0..<channels { out.pixels[dst + c] = pixels[src + c] }
            }
        }
        return out
    }
}
