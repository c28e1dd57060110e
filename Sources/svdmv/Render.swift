// `svdmv render`: Objaverse-style orbits of meshes (one file, a folder, or a list of files).
// Batches run each object in a child `svdmv render --worker` with a timeout, so a crash or a
// hang inside assimp is recorded as that object's failure and the batch goes on.

import ArgumentParser
import Foundation
import Render

extension Background: ExpressibleByArgument {}
extension PNGCompression: ExpressibleByArgument {}
extension OrbitKind: ExpressibleByArgument {}
extension NormalizationRule: ExpressibleByArgument {}

extension SVDMV {
    struct RenderCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "render",
            abstract: "Render 360-degree orbits of meshes (GLB, glTF, OBJ, FBX, PLY, STL, DAE...).",
            discussion: """
            Each object goes to OUT/<id>/: 000.png..., cameras.json and, when asked, NNN-depth.png and \
            NNN-normal.png (and NNN-white.png with --background random-color); OUT/manifest.tsv gets one line per object (ok or the error). Objects with a \
            cameras.json, or that failed before in this shard's manifest, are skipped on a rerun.

            A list file has one path per line (# starts a comment); relative paths resolve against the \
            list's folder, not the current one. <id> is the path relative to the input folder, '/' \
            written '__'; for a list, a relative path as written, an absolute one relative to the \
            deepest folder holding all of the list's absolute paths.
            """)

        @Argument(help: "A mesh file, a folder of meshes (searched recursively) or a .txt/.lst list of paths (relative to the list's folder).")
        var input: String

        @Option(help: "Output folder.")
        var out: String

        @Option(name: [.long, .customLong("frames")], help: "Views per orbit (azimuths evenly spaced over 360 degrees).")
        var views = 21

        @Option(help: "Views per training sample, recorded in cameras.json: the orbit's views form VIEWS/N interleaved samples of N evenly spaced views (SV3D: --frames 84 --sample 21, 4 samples), which `svdmv dataset renders` reads.")
        var sample: Int?

        @Option(help: "Orbit: static (one elevation, even azimuth steps) or dynamic (SV3D's: elevation a smoothed sum of seeded sinusoids about the drawn one, azimuths with small seeded noise; the draws are recorded in cameras.json).")
        var orbit = OrbitKind.static

        @Option(help: "Image width and height in pixels.")
        var size = 576

        @Option(parsing: .unconditional, help: "Fixed orbit elevation in degrees (overrides --elevation-range).")
        var elevation: Double?

        @Option(parsing: .unconditional, help: "Elevation range LO:HI in degrees; each object draws one elevation from it with the seed.")
        var elevationRange = "-5:30"

        @Option(parsing: .unconditional, help: "Azimuth of the first view in degrees (0 = camera on +X).")
        var azimuthStart = 0.0

        @Option(help: "Camera distance from the origin (the object is normalised to a unit box). Default: fitted per object, bounding-sphere radius / sin(fov/2).")
        var distance: Double?

        @Option(help: "Field of view in degrees (SV3D: 33.8).")
        var fov = 33.8

        @Option(help: "Background: transparent (RGBA, alpha = coverage), white (RGB), or random-color (as SV3D: RGB over a colour drawn per object from the seed, recorded in cameras.json, plus each view over white as NNN-white.png).")
        var background = Background.transparent

        @Option(help: "Samples per pixel, a square number (1, 4, 9, 16...).")
        var samples = 4

        @Option(help: "PNG compression: fast (libpng's fastest) or small (libpng's defaults).")
        var png = PNGCompression.fast

        @Flag(help: "Also write 16-bit depth PNGs (NNN-depth.png).")
        var depth = false

        @Flag(help: "Also write 16-bit world-space normal PNGs (NNN-normal.png).")
        var normals = false

        @Flag(help: "Darken the image-based light by glTF occlusion textures (the glTF specification's use; Blender's importer leaves them unconnected, so they are off by default).")
        var occlusionTextures = false

        @Option(help: "Box the scene is normalised by (largest side 1, centred): objaverse (each mesh node's local box corners in world space, as the Objaverse/zero123/SyncDreamer Blender scripts) or tight-box (the tight box over the vertices).")
        var normalization = NormalizationRule.objaverse

        @OptionGroup var lighting: LightingArguments

        @Option(help: "Seed for the elevation draw and a dynamic orbit's (combined with each object's id).")
        var seed: UInt64 = 0

        @Option(help: "Render only shard I of N (0-based), e.g. 0/4; each shard writes its own manifest.")
        var shard = "0/1"

        @Option(help: "Objects rendered at the same time (each renders its views on every core).")
        var jobs = 1

        @Option(help: "Seconds before a batch object is abandoned as hung.")
        var timeout = 600.0

        @Flag(help: "Retry objects this shard's manifest records as failed.")
        var retryFailed = false

        @Flag(help: .hidden)
        var worker = false

        @Option(help: .hidden)
        var objectID: String?

        func validate() throws {
            guard views >= 1, views <= 1000 else { throw ValidationError("--views must be in 1...1000") }
            if let sample {
                guard sample >= 1, sample <= views, views % sample == 0 else {
                    throw ValidationError("--sample must divide --views (e.g. --frames 84 --sample 21)")
                }
            }
            guard size >= 1, size <= 8192 else { throw ValidationError("--size must be in 1...8192") }
            let side = Int(Double(samples).squareRoot().rounded())
            guard samples >= 1, samples <= 64, side * side == samples else {
                throw ValidationError("--samples must be a square number in 1...64 (1, 4, 9, 16...)")
            }
            guard fov > 0, fov < 180 else { throw ValidationError("--fov must be in (0, 180) degrees") }
            if let distance { guard distance > 0, distance.isFinite else { throw ValidationError("--distance must be positive") } }
            if let elevation { guard abs(elevation) <= 90 else { throw ValidationError("--elevation must be in [-90, 90]") } }
            guard let range = parseRange(elevationRange), range.0 <= range.1, abs(range.0) <= 90, abs(range.1) <= 90 else {
                throw ValidationError("--elevation-range must be LO:HI with -90 <= LO <= HI <= 90, e.g. -5:30")
            }
            guard parseShard(shard) != nil else { throw ValidationError("--shard must be I/N with 0 <= I < N") }
            guard jobs >= 1, jobs <= 256 else { throw ValidationError("--jobs must be in 1...256") }
            guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
            guard FileManager.default.fileExists(atPath: input) else { throw ValidationError("no such file or folder: \(input)") }
        }

        func parseRange(_ s: String) -> (Double, Double)? {
            let parts = s.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, let lo = Double(parts[0]), let hi = Double(parts[1]) else { return nil }
            return (lo, hi)
        }

        func parseShard(_ s: String) -> Shard? {
            let parts = s.split(separator: "/")
            guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, i >= 0, i < n else { return nil }
            return Shard(index: i, count: n)
        }

        var options: RenderOptions {
            var o = RenderOptions()
            o.views = views
            o.sampleViews = sample
            o.orbit = orbit
            o.size = size
            if let elevation { o.elevation = .fixed(elevation) } else if let (lo, hi) = parseRange(elevationRange) {
                o.elevation = .range(lo, hi)
            }
            o.azimuthStart = azimuthStart
            o.distance = distance
            o.fovDegrees = fov
            o.background = background
            o.samples = samples
            o.writeDepth = depth
            o.writeNormals = normals
            o.seed = seed
            o.pngCompression = png
            o.normalization = normalization
            o.occlusionTextures = occlusionTextures
            o.lighting = lighting.options
            return o
        }

        /// The options a worker child needs to render exactly as this process would.
        var forwardedOptions: [String] {
            var a = ["--views", "\(views)", "--size", "\(size)", "--elevation-range=\(elevationRange)",
                     "--azimuth-start=\(azimuthStart)", "--fov", "\(fov)", "--background", background.rawValue,
                     "--samples", "\(samples)", "--seed", "\(seed)", "--png", png.rawValue,
                     "--normalization", normalization.rawValue]
            a += ["--orbit", orbit.rawValue]
            if let sample { a += ["--sample", "\(sample)"] }
            if let elevation { a.append("--elevation=\(elevation)") }
            if let distance { a += ["--distance", "\(distance)"] }
            if depth { a.append("--depth") }
            if normals { a.append("--normals") }
            if occlusionTextures { a.append("--occlusion-textures") }
            a += lighting.forwarded
            return a
        }

        func run() throws {
            let inputURL = URL(fileURLWithPath: input)
            let outURL = URL(fileURLWithPath: out)
            if worker {
                // one object straight into OUT; the parent reads our last stderr line on failure
                let id = objectID ?? inputURL.lastPathComponent
                do {
                    try RenderJob(input: inputURL, objectID: id, outputFolder: outURL, options: options).run()
                } catch {
                    FileHandle.standardError.write("\(error)\n".data(using: .utf8) ?? Data())
                    throw ExitCode.failure
                }
                return
            }
            let shard = parseShard(shard) ?? .all
            let all = try Batch.items(from: inputURL)
            let items = Batch.select(all, shard: shard)
            let missing = items.filter { !FileManager.default.fileExists(atPath: $0.input.path) }
            if let first = missing.first, ["txt", "lst"].contains(inputURL.pathExtension.lowercased()) {
                // Each still gets its manifest line; this says why at once.
                FileHandle.standardError.write(Data(("\(missing.count) listed file(s) do not exist, e.g. \(first.input.path) "
                    + "(relative paths in a list resolve against the list's folder, \(inputURL.deletingLastPathComponent().path))\n").utf8))
            }
            let single = all.count == 1 && items.count == 1 && !inputURL.hasDirectoryPath
                && !["txt", "lst"].contains(inputURL.pathExtension.lowercased())
            let work: @Sendable (BatchItem, URL) -> BatchOutcome
            if single {
                work = Batch.inProcess(options: options)
            } else {
                let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
                let forwarded = forwardedOptions
                work = Batch.subprocess(executable: Bundle.main.executableURL ?? executable, timeout: timeout) { item, folder in
                    ["render", item.input.path, "--out", folder.path, "--worker", "--object-id", item.id] + forwarded
                }
            }
            let bar = ProgressBar(total: items.count, enabled: !single)
            let start = Date()
            let result = try Batch.run(items, output: outURL, shard: shard, jobs: jobs, retryFailed: retryFailed,
                                       work: work, progress: { p in
                bar.update(done: p.done, total: p.total, label: "ok \(p.ok)  failed \(p.failed)  skipped \(p.skipped)")
            })
            bar.finish()
            let manifest = outURL.appendingPathComponent(Batch.manifestName(shard)).path
            print("rendered \(result.ok), failed \(result.failed), skipped \(result.skipped) of \(items.count) "
                  + "(shard \(shard.index)/\(shard.count) of \(all.count)) in "
                  + String(format: "%.1f s", Date().timeIntervalSince(start)) + "; manifest: \(manifest)")
            if single && result.failed > 0 {
                if let line = (try? String(contentsOfFile: manifest, encoding: .utf8))?
                    .split(separator: "\n").last?.split(separator: "\t").dropFirst().first {
                    FileHandle.standardError.write("\(line)\n".data(using: .utf8) ?? Data())
                }
                throw ExitCode.failure
            }
        }
    }
}
