// Contact sheets: one row per rendered object, its views left to right, shrunk and composited over
// white, so an orbit can be checked at a glance.

import Foundation
import Imaging

public enum OrbitContactSheet {
    /// One row per folder (an object folder `svdmv render` wrote), `columns` views evenly spaced
    /// over the orbit, each shrunk to `cell` x `cell` by area averaging in linear light, laid out
    /// by Imaging's `ContactSheet`.
    public static func make(objectFolders: [URL], columns: Int, cell: Int) throws -> Image8 {
        precondition(columns > 0 && cell > 0)
        let rows = try objectFolders.map { folder -> [Image8] in
            let frames = try FileManager.default.contentsOfDirectory(atPath: folder.path)
                .filter { $0.count == 7 && $0.hasSuffix(".png") && Int($0.prefix(3)) != nil }.sorted()
            guard !frames.isEmpty else { throw RenderError(path: folder.path, reason: "no NNN.png frames") }
            return try (0..<columns).map { column in
                shrink(try PNG.read(folder.appendingPathComponent(frames[column * frames.count / columns])).rgb(), to: cell)
            }
        }
        return ContactSheet.make(rows: rows, cellWidth: cell, cellHeight: cell, spacing: 0)
    }

    /// Area-average resize of an RGB image to side x side, in linear light.
    static func shrink(_ image: Image8, to side: Int) -> Image8 {
        var out = Image8(width: side, height: side, channels: 3)
        let table = SRGB.decodeTable
        for y in 0..<side {
            let y0 = y * image.height / side, y1 = max(y0 + 1, (y + 1) * image.height / side)
            for x in 0..<side {
                let x0 = x * image.width / side, x1 = max(x0 + 1, (x + 1) * image.width / side)
                var sum = Vec3.zero
                for sy in y0..<y1 {
                    for sx in x0..<x1 {
                        sum += Vec3(table[Int(image[sx, sy, 0])], table[Int(image[sx, sy, 1])], table[Int(image[sx, sy, 2])])
                    }
                }
                let mean = sum / Float((y1 - y0) * (x1 - x0))
                for c in 0..<3 { out[x, y, c] = SRGB.encode(mean[c]) }
            }
        }
        return out
    }
}
