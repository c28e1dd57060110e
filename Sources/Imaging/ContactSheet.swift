// Contact sheets: pictures laid out in a grid on a background, each scaled to a common cell
// size (Pillow-identical resize), for orbits (one row per object), dataset samples and reports.

import Foundation

public enum ContactSheet {
    /// Rows of images (rows may differ in length); every image becomes an RGB cell of
    /// `cellWidth` x `cellHeight` (alpha composited over `background`), `spacing` pixels apart.
    public static func make(rows: [[Image8]], cellWidth: Int, cellHeight: Int, spacing: Int = 4,
                            background: (UInt8, UInt8, UInt8) = (255, 255, 255)) -> Image8 {
        let columns = rows.map(\.count).max() ?? 0
        let width = max(1, columns * cellWidth + (columns + 1) * spacing)
        let height = max(1, rows.count * cellHeight + (rows.count + 1) * spacing)
        var sheet = Image8(width: width, height: height, channels: 3)
        for i in 0..<(width * height) {
            sheet.pixels[i * 3] = background.0; sheet.pixels[i * 3 + 1] = background.1; sheet.pixels[i * 3 + 2] = background.2
        }
        for (r, row) in rows.enumerated() {
            for (c, image) in row.enumerated() {
                let cell = (image.width == cellWidth && image.height == cellHeight ? image
                    : image.resized(width: cellWidth, height: cellHeight, filter: .bilinear)).rgb(background: background)
                let (ox, oy) = (spacing + c * (cellWidth + spacing), spacing + r * (cellHeight + spacing))
                for y in 0..<cellHeight {
                    let src = y * cellWidth * 3, dst = ((oy + y) * width + ox) * 3
                    for i in 0..<(cellWidth * 3) { sheet.pixels[dst + i] = cell.pixels[src + i] }
                }
            }
        }
        return sheet
    }
}
