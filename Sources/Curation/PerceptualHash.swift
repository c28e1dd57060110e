// Near-duplicate detection: a 64-bit DCT perceptual hash (pHash) of an object's canonical view,
// compared by Hamming distance, and single-linkage clusters of hashes within a distance, of which
// one member is kept. The hash follows imagehash's `phash` (Johannes Buchner's ImageHash,
// `imagehash/__init__.py`): grey, 32 x 32, 2-D DCT-II, the 8 x 8 lowest frequencies (DC
// included), each bit set when its coefficient is above their median. Differences: the 32 x 32
// image is made by area averaging here (Pillow's Lanczos there), so hashes agree with imagehash's
// closely but not bit for bit.

import Foundation

public struct PerceptualHash: Hashable, Sendable, CustomStringConvertible {
    /// Bit 63 − (8 row + column) holds low-frequency coefficient (row, column).
    public var bits: UInt64

    public init(bits: UInt64) { self.bits = bits }

    /// The hash of a grey image (any size; scaled by area to 32 x 32).
    public init(_ image: GreyImage) {
        let small = image.areaResized(width: 32, height: 32)
        let n = 32, k = 8
        // DCT-II (unnormalised; scaling does not change the comparison with the median) of rows,
        // then of columns, keeping the k lowest frequencies of each.
        var basis = [Double](repeating: 0, count: k * n)
        for u in 0..<k { for x in 0..<n { basis[u * n + x] = cos(Double.pi * Double(u) * (2 * Double(x) + 1) / Double(2 * n)) } }
        var rows = [Double](repeating: 0, count: n * k)   // [y][u]
        for y in 0..<n { for u in 0..<k {
            var s = 0.0
            for x in 0..<n { s += Double(small.values[y * n + x]) * basis[u * n + x] }
            rows[y * k + u] = s
        } }
        var coefficients = [Double](repeating: 0, count: k * k)   // [v][u]
        for v in 0..<k { for u in 0..<k {
            var s = 0.0
            for y in 0..<n { s += rows[y * k + u] * basis[v * n + y] }
            coefficients[v * k + u] = s
        } }
        let m = median(coefficients) ?? 0
        var bits: UInt64 = 0
        for (i, c) in coefficients.enumerated() where c > m { bits |= 1 << UInt64(63 - i) }
        self.bits = bits
    }

    /// 16 lower-case hex digits.
    public var description: String {
        let hex = String(bits, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    public init?(hex: String) {
        guard hex.count == 16, let v = UInt64(hex, radix: 16) else { return nil }
        bits = v
    }

    public func distance(to other: PerceptualHash) -> Int { (bits ^ other.bits).nonzeroBitCount }
}

/// A duplicate found by `nearDuplicates`: `index` is dropped for `keeper`.
public struct DuplicateOf: Equatable, Sendable {
    public var index: Int
    public var keeper: Int
    /// Hamming distance from the item to its keeper (members may be linked through others, so this
    /// can exceed the clustering distance).
    public var distance: Int
}

/// Single-linkage clusters of hashes at most `maxDistance` apart (union-find over every pair);
/// in each cluster the first item (lowest index) is kept and every other is returned, sorted by index.
public func nearDuplicates(_ hashes: [PerceptualHash], maxDistance: Int) -> [DuplicateOf] {
    var parent = Array(hashes.indices)
    func root(_ i: Int) -> Int {
        var i = i
        while parent[i] != i { parent[i] = parent[parent[i]]; i = parent[i] }
        return i
    }
    for i in hashes.indices {
        for j in (i + 1)..<hashes.count where hashes[i].distance(to: hashes[j]) <= maxDistance {
            let (a, b) = (root(i), root(j))
            if a != b { parent[max(a, b)] = min(a, b) }   // the root stays the lowest index
        }
    }
    return hashes.indices.compactMap { i in
        let r = root(i)
        return r == i ? nil : DuplicateOf(index: i, keeper: r, distance: hashes[i].distance(to: hashes[r]))
    }
}
