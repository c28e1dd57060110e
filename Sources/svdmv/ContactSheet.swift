// `svdmv contact-sheet`: a PNG with one row per rendered object folder, its views left to right.

import ArgumentParser
import Foundation
import Imaging
import Render

extension SVDMV {
    struct ContactSheetCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "contact-sheet",
            abstract: "Tile orbits rendered by `svdmv render` into one PNG, one object per row.")

        @Argument(help: "Object folders written by `svdmv render` (each holds 000.png...).")
        var folders: [String]

        @Option(help: "Output PNG.")
        var out: String

        @Option(help: "Views per row, evenly spaced over the orbit.")
        var columns = 7

        @Option(help: "Cell size in pixels.")
        var cell = 192

        func validate() throws {
            guard !folders.isEmpty else { throw ValidationError("give at least one object folder") }
            guard (1...64).contains(columns) else { throw ValidationError("--columns must be in 1...64") }
            guard (8...1024).contains(cell) else { throw ValidationError("--cell must be in 8...1024") }
        }

        func run() throws {
            let sheet = try OrbitContactSheet.make(objectFolders: folders.map { URL(fileURLWithPath: $0) },
                                              columns: columns, cell: cell)
            try PNG.write(sheet, to: URL(fileURLWithPath: out))
            print("wrote \(out) (\(sheet.width)x\(sheet.height))")
        }
    }
}
