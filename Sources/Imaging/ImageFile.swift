// One entry point for the image files real 3D assets carry as textures: PNG, JPEG, BMP, SGI/IRIS
// and TGA, chosen by the file's magic bytes and, for TGA (which has none), by its name. The
// decoders of BMP, SGI and TGA are our own (`BMP.swift`, `SGI.swift`, `TGA.swift`): every read is
// bounds-checked through `ByteReader`, sizes are capped before anything is allocated, and a bad or
// truncated file throws an `ImageError` naming it.

import Foundation

public enum ImageFile {
    /// The largest image any decoder here accepts: 2^28 pixels (16384 x 16384), at most 65535 a side.
    public static let maxPixels = 1 << 28

    /// Decodes `data` (the contents of the file `name`) as an 8-bit image with the channels the file
    /// holds: gray, gray + alpha, RGB or RGBA, row 0 at the top, samples as stored (sRGB for
    /// colour textures).
    ///
    /// The format comes from the magic bytes (PNG, JPEG, BMP "BM", SGI 474, a TGA 2.0 footer),
    /// so a misnamed file still decodes; otherwise a name ending in .tga (.icb, .vda, .vst) is
    /// read as TGA, which has no magic, and so is a name without an extension (assimp names
    /// embedded textures "*0", "*1", ...) whose first 18 bytes form a consistent TGA header.
    public static func decode(_ data: Data, name: String) throws -> Image8 {
        switch format(of: data, name: name) {
        case .png: return try PNG.decode(data, path: name)
        case .jpeg: return try JPEG.decode(data, path: name)
        case .bmp: return try BMP.decode(data, path: name)
        case .sgi: return try SGI.decode(data, path: name)
        case .tga: return try TGA.decode(data, path: name)
        case nil:
            let head = data.prefix(4).map { String(format: "%02x", $0) }.joined(separator: " ")
            throw ImageError.unsupported(path: name, reason: "not a PNG, JPEG, BMP, SGI or TGA file (starts with \(head.isEmpty ? "nothing" : head))")
        }
    }

    /// Reads and decodes the file at `url`.
    public static func read(_ url: URL) throws -> Image8 {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ImageError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        return try decode(data, name: url.path)
    }

    public enum Format: String, CaseIterable { case png, jpeg, bmp, sgi, tga }

    /// The format `decode` would use, or nil.
    public static func format(of data: Data, name: String) -> Format? {
        let head = [UInt8](data.prefix(8))
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return .png }                // \x89PNG
        if head.starts(with: [0xFF, 0xD8]) { return .jpeg }                          // SOI
        if head.starts(with: [0x42, 0x4D]) { return .bmp }                      // "BM"
        if head.starts(with: [0x01, 0xDA]) { return .sgi }                      // 474, big-endian
        if data.count >= 18 + 26, data.suffix(18).elementsEqual(Array("TRUEVISION-XFILE.\0".utf8)) { return .tga }
        let ext = (name as NSString).pathExtension.lowercased()
        if ["tga", "icb", "vda", "vst", "tpic"].contains(ext) { return .tga }
        // A name without an extension (an embedded texture, "*0") whose header reads as TGA's.
        if ext.isEmpty && TGA.plausibleHeader(data) { return .tga }
        return nil
    }

    /// Throws unless `width` x `height` is a size the decoders accept.
    static func checkSize(_ width: Int, _ height: Int, path: String, format: String) throws {
        guard width > 0, height > 0, width <= 65535, height <= 65535, width * height <= maxPixels else {
            throw ImageError.unsupported(path: path, reason: "\(format) size \(width)x\(height)")
        }
    }
}

/// Bounds-checked little- and big-endian reads from a file's bytes; reading past the end throws
/// "truncated" naming the file and what was being read.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    let path: String
    let format: String

    var count: Int { bytes.count }

    func truncated(_ what: String) -> ImageError {
        .unreadable(path: path, reason: "truncated \(format) file (\(what))")
    }

    /// Throws unless bytes [offset, offset + length) exist.
    @inline(__always) func require(_ offset: Int, _ length: Int, _ what: String) throws {
        guard offset >= 0, length >= 0, offset <= bytes.count, length <= bytes.count - offset else { throw truncated(what) }
    }

    @inline(__always) func u8(_ offset: Int, _ what: String) throws -> UInt8 {
        try require(offset, 1, what)
        return bytes[offset]
    }

    func u16le(_ offset: Int, _ what: String) throws -> Int {
        try require(offset, 2, what)
        return Int(bytes[offset]) | Int(bytes[offset + 1]) << 8
    }

    func u32le(_ offset: Int, _ what: String) throws -> UInt32 {
        try require(offset, 4, what)
        return (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
    }

    func i32le(_ offset: Int, _ what: String) throws -> Int { Int(Int32(bitPattern: try u32le(offset, what))) }

    func u16be(_ offset: Int, _ what: String) throws -> Int {
        try require(offset, 2, what)
        return Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
    }

    func u32be(_ offset: Int, _ what: String) throws -> Int {
        try require(offset, 4, what)
        return (0..<4).reduce(0) { $0 << 8 | Int(bytes[offset + $1]) }
    }

    /// An error about the file's content (not its length).
    func bad(_ reason: String) -> ImageError { .unreadable(path: path, reason: "\(format): \(reason)") }
    func unsupported(_ reason: String) -> ImageError { .unsupported(path: path, reason: "\(format): \(reason)") }
}

extension ByteReader {
    /// Runs `body` with a reader over `data`'s bytes.
    static func with<R>(_ data: Data, path: String, format: String, _ body: (ByteReader) throws -> R) throws -> R {
        try data.withUnsafeBytes { try body(ByteReader(bytes: $0, path: path, format: format)) }
    }
}

/// A 5-bit sample widened to 8 bits, rounded to nearest: round(v * 255 / 31).
@inline(__always) func widen5(_ v: Int) -> UInt8 { UInt8((v * 255 + 15) / 31) }
