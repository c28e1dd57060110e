// `svdmv render --lighting studio | hdri FILE | hdri-random DIR` and the HDRI's rotation and
// intensity (image-based lighting: Sources/Render/EnvironmentLighting.swift).

import ArgumentParser
import Foundation
import Imaging
import Render

struct LightingArguments: ParsableArguments {
    @Option(parsing: .upToNextOption,
            help: ArgumentHelp("Lighting: studio (four fixed directional lights), hdri FILE (an equirectangular OpenEXR or Radiance .hdr map, Blender's convention) or hdri-random DIR (per object a seeded choice among the folder's .exr/.hdr maps). Takes the values up to the next option, so give the input path before it.",
                               valueName: "mode [path]"))
    var lighting: [String] = ["studio"]

    @Option(parsing: .unconditional, help: "HDRI rotation about +Z in degrees (the map is looked up at Rz(deg) d, as a Blender Mapping node), or 'random' (per object, uniform in [0, 360), seeded). Default: 0 for hdri, random for hdri-random.")
    var hdriRotation: String?

    @Option(help: "Scale on the HDRI's radiance (Blender's Background strength).")
    var hdriIntensity = 1.0

    func validate() throws {
        _ = try parsed()
    }

    /// The lighting options, or a usage error.
    func parsed() throws -> LightingOptions {
        var o = LightingOptions()
        switch (lighting.first, lighting.count) {
        case ("studio", 1):
            guard hdriRotation == nil else { throw ValidationError("--hdri-rotation needs --lighting hdri or hdri-random") }
            return o
        case ("hdri", 2):
            let path = absolute(lighting[1])
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue else {
                throw ValidationError("--lighting hdri: no such file: \(lighting[1])")
            }
            o.source = .file(path)
            o.rotationDegrees = 0
        case ("hdri-random", 2):
            let path = absolute(lighting[1])
            do { _ = try LightingOptions.maps(in: path) } catch {
                throw ValidationError("--lighting hdri-random: \(error)")
            }
            o.source = .folder(path)
            o.rotationDegrees = nil
        default:
            throw ValidationError("--lighting must be studio, hdri FILE or hdri-random DIR (got '\(lighting.joined(separator: " "))'; it takes the values up to the next option, so give the input path before it)")
        }
        if let hdriRotation {
            if hdriRotation == "random" {
                o.rotationDegrees = nil
            } else {
                guard let degrees = Double(hdriRotation), degrees.isFinite else {
                    throw ValidationError("--hdri-rotation must be a number of degrees or 'random'")
                }
                o.rotationDegrees = degrees
            }
        }
        guard hdriIntensity >= 0, hdriIntensity.isFinite else { throw ValidationError("--hdri-intensity must be >= 0") }
        o.intensity = hdriIntensity
        return o
    }

    var options: LightingOptions { (try? parsed()) ?? LightingOptions() }

    /// The same choice for a worker child, with absolute paths.
    var forwarded: [String] {
        guard let o = try? parsed() else { return [] }
        switch o.source {
        case .studio: return []
        case .file(let path), .folder(let path):
            return ["--lighting", lighting[0], path, "--hdri-rotation=" + (o.rotationDegrees.map { "\($0)" } ?? "random"),
                    "--hdri-intensity", "\(o.intensity)"]
        }
    }

    func absolute(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }
}
