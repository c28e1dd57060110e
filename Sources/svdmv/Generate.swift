// `svdmv generate IMAGE --out DIR [--checkpoint FILE]`: an orbit of views from one image, by
// default with the bundled small model.

import ArgumentParser
import Diffusion
import FileSupport
import Foundation
import Generation
import Imaging
import Models
import MultiViewData
import Render
import Tensor

enum GuiderOption: String, ExpressibleByArgument, CaseIterable {
    case triangle, linear, vanilla, none

    /// vanilla takes `maxScale` as its one scale.
    func guider(minScale: Float, maxScale: Float) -> Guider {
        switch self {
        case .triangle: return .triangle(minScale: minScale, maxScale: maxScale)
        case .linear: return .linear(minScale: minScale, maxScale: maxScale)
        case .vanilla: return .vanilla(scale: maxScale)
        case .none: return .identity
        }
    }
}

/// Sampling settings a checkpoint recommends, in its safetensors metadata under
/// `svdmv.sampling` (JSON; written by `svdmv weights convert --sampling-steps/--sampling-guider`).
/// `generate` uses them where its own options are not given: a small model trained by us may
/// sample best with settings other than SV3D's (the bundled default model: see
/// Evaluation/default-model.md). Official checkpoints carry none, so they get SV3D's.
struct SamplingRecommendation: Codable, Equatable {
    static let metadataKey = "svdmv.sampling"
    var steps: Int?
    var guider: GuiderOption?

    /// The recommendation in a checkpoint's metadata (nil without one), or an error naming the file.
    static func read(_ url: URL) throws -> SamplingRecommendation? {
        guard let json = try SafeTensorsFile(url: url).metadata?[metadataKey] else { return nil }
        do { return try JSONDecoder().decode(SamplingRecommendation.self, from: Data(json.utf8)) } catch {
            throw ValidationError("\(url.path): metadata \(metadataKey) is not a sampling recommendation (\(error))")
        }
    }

    /// The metadata value `read` takes back (JSON, sorted keys).
    func metadataValue() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

extension GuiderOption: Codable {}

extension SVDMV {
    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate an orbit of views (PNGs, contact sheet, animated PNG, cameras) from one image.")

        @Argument(help: "Input image (PNG or JPEG). RGBA is used as is; otherwise a plain background is cut out.")
        var image: String
        @Option(help: "Model checkpoint (.safetensors): an official sv3d_u/sv3d_p file or one of ours (default: the bundled small model, 64x64).")
        var checkpoint: String?
        @Option(help: "Output folder.")
        var out: String
        @Option(parsing: .unconditional, help: "Camera elevation in degrees (sv3d_p), one value or one per frame, comma-separated (negative values as they are: --elevation -5).")
        var elevation = "10"
        @Option(parsing: .unconditional, help: "Azimuths in degrees, one per frame, the input view last (sv3d_p; default: an even orbit).")
        var azimuths: String?
        @Option(help: "Sampler steps (default: the checkpoint's recommendation, else SV3D's 50).")
        var steps: Int?
        @Option(help: "Random seed (the reference script's default is 23).")
        var seed: UInt64 = 23
        @Option(help: "Guidance schedule over frames: \(GuiderOption.allCases.map(\.rawValue).joined(separator: ", ")) (default: the checkpoint's recommendation, else SV3D's triangle).")
        var guider: GuiderOption?
        @Option(help: "Guidance scale at the ends of the schedule (and for linear, the first frame).")
        var minGuidance: Float = 1
        @Option(help: "Largest guidance scale (vanilla: the one scale).")
        var maxGuidance: Float = 2.5
        @Option(help: "Sampler: euler or heun.")
        var method: EDMSampler.Method = .euler
        @Option(help: "Frames in the orbit (SV3D was trained on 21).")
        var frames = 21
        @Option(help: "Object size relative to the frame (the script's image_frame_ratio); default: as the input.")
        var frameRatio: Double?
        @Flag(help: "Use the image's own framing: no re-centring or re-scaling of the object, only compositing on white and resizing (for inputs framed like the training views, e.g. renders from `svdmv render`).")
        var keepFraming = false
        @Option(help: "Frames decoded at a time.")
        var decodingChunk = 14
        @Option(help: "Largest noise level of the sampler's discretization (SV3D: 700).")
        var sigmaMax: Float = 700
        @Option(help: "s_churn: noise re-injected at each step (SV3D: 0, a deterministic sampler).")
        var churn: Float = 0
        @Option(help: "cond_aug: noise added to the conditioning image and fed to the UNet as its level (SV3D's script: 1e-5; svdmv train draws ln σ ~ N(\(trainingCondAugDistribution))).")
        var condAug: Float = SV3DSamplingSettings().conditioningAugmentation
        @Flag(help: "SDEdit: start from the input view on every frame, noised to --sigma-max (use a few, not 700), instead of from pure noise. Not the reference's sampling.")
        var fromInput = false
        @OptionGroup var memory: MemoryOptions

        func validate() throws {
            guard FileManager.default.isReadableFile(atPath: image) else { throw ValidationError("cannot read image \(image)") }
            if let checkpoint, !FileManager.default.isReadableFile(atPath: checkpoint) {
                throw ValidationError("cannot read checkpoint \(checkpoint)")
            }
            guard (steps ?? 1) >= 1, frames >= 2, decodingChunk >= 1 else {
                throw ValidationError("--steps, --frames and --decoding-chunk must be positive (frames at least 2)")
            }
            let e = try parseList(elevation, "--elevation")
            guard e.count == 1 || e.count == frames else {
                throw ValidationError("--elevation takes one value or \(frames) (one per frame), got \(e.count)")
            }
            if let azimuths {
                guard try parseList(azimuths, "--azimuths").count == frames else {
                    throw ValidationError("--azimuths needs \(frames) values (one per frame, the input view last)")
                }
            }
            guard condAug >= 0, condAug.isFinite else { throw ValidationError("--cond-aug must be a noise level >= 0") }
            guard sigmaMax > 0.002, churn >= 0 else { throw ValidationError("--sigma-max must exceed σ_min 0.002 and --churn must not be negative") }
            if let frameRatio, !(frameRatio > 0 && frameRatio <= 1) { throw ValidationError("--frame-ratio must be in (0, 1]") }
            if keepFraming, frameRatio != nil { throw ValidationError("--keep-framing keeps the object's size: leave out --frame-ratio") }
        }

        func parseList(_ text: String, _ option: String) throws -> [Double] {
            try text.split(separator: ",").map {
                guard let v = Double($0.trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError("\(option): '\($0)' is not a number")
                }
                return v
            }
        }

        func run() throws {
            let started = Date()
            // Weights keep the checkpoint's dtype (F16/BF16 layer weights stay half). The allocator
            // policy comes after loading: with it on, glibc clears recycled heap blocks, which would
            // commit the freshly built model's zero placeholders.
            let checkpointURL = try checkpoint.map { URL(fileURLWithPath: $0) } ?? BundledResource.defaultModel.url()
            let model = try SV3DModel.load(checkpointURL)
            guard model.config.variant.isOrbitModel else {
                throw ValidationError("\(checkpointURL.path) is an SVD (image-to-video) checkpoint; generate makes SV3D orbits and needs an sv3d_u or sv3d_p file (SVD sampling is the Generation library's SV3DSampler with SV3DSamplingSettings.svd())")
            }
            let recommended = try SamplingRecommendation.read(checkpointURL)
            let steps = steps ?? recommended?.steps ?? 50
            let guider = guider ?? recommended?.guider ?? .triangle
            if let recommended, self.steps == nil || self.guider == nil {
                print("sampling: \(steps) steps, guider \(guider.rawValue) (the checkpoint recommends \(recommended.steps.map { "\($0) steps" } ?? "-"), \(recommended.guider?.rawValue ?? "-"); --steps and --guider override)")
            }
            memory.apply()
            let input = try readImage(URL(fileURLWithPath: image))
            let prepared = keepFraming ? ConditioningImage.keepingFraming(input, size: model.config.imageSize)
                : try ConditioningImage.sv3d(input, size: model.config.imageSize, frameRatio: frameRatio)
            var settings = SV3DSamplingSettings()
            settings.frames = frames
            settings.steps = steps
            settings.seed = seed
            settings.method = method
            settings.decodingChunk = decodingChunk
            settings.sigmaMax = sigmaMax
            settings.churn = churn
            settings.conditioningAugmentation = condAug
            settings.startsFromInput = fromInput
            settings.elevationsDegrees = try parseList(elevation, "--elevation")
            settings.azimuthsDegrees = try azimuths.map { try parseList($0, "--azimuths") }
            settings.guider = guider.guider(minScale: minGuidance, maxScale: maxGuidance)
            let sampler = SV3DSampler(model: model, settings: settings)
            let progress = ProgressBar(total: steps * (method == .heun ? 2 : 1))
            let views = sampler.generate(image: Tensor(rgbImage: prepared)) { done, _ in
                progress.step("denoising")
            }
            try writeOrbit(views: views, prepared: prepared, settings: settings, model: model,
                           checkpoint: checkpoint ?? "bundled default model")
            print(String(format: "wrote %d views to %@ in %.1f s", frames, out, Date().timeIntervalSince(started)))
        }

        func writeOrbit(views: Tensor, prepared: Image8, settings: SV3DSamplingSettings, model: SV3DModel,
                        checkpoint: String) throws {
            let folder = URL(fileURLWithPath: out)
            let images = (0..<views.shape[0]).map { Image8(frame: $0, of: views) }
            for (i, img) in images.enumerated() {
                try PNG.write(img, to: folder.appendingPathComponent(String(format: "%03d.png", i)))
            }
            try PNG.write(prepared, to: folder.appendingPathComponent("input.png"))
            let columns = min(7, images.count)
            let rows = stride(from: 0, to: images.count, by: columns).map { Array(images[$0..<min(images.count, $0 + columns)]) }
            let cell = min(192, prepared.width)
            try PNG.write(ContactSheet.make(rows: rows, cellWidth: cell, cellHeight: cell), to: folder.appendingPathComponent("contact-sheet.png"))
            try APNG.write(images, delay: 0.1, to: folder.appendingPathComponent("orbit.png"))
            let elevations = settings.elevationsDegrees.count == 1
                ? Array(repeating: settings.elevationsDegrees[0], count: settings.frames) : settings.elevationsDegrees
            let azimuths = settings.azimuthsDegrees ?? SV3DCamera.defaultAzimuthsDegrees(frames: settings.frames)
            let record: [String: Any] = [
                "format": "svdmv-generated-orbit", "version": 1,
                "checkpoint": checkpoint, "variant": model.config.variant.rawValue,
                "frames": settings.frames, "steps": settings.steps, "seed": settings.seed,
                "sampler": settings.method.rawValue, "sigma_max": settings.sigmaMax, "churn": settings.churn,
                "cond_aug": settings.conditioningAugmentation,
                "starts_from_input": settings.startsFromInput, "guider": String(describing: settings.guider),
                "input_view": settings.frames - 1,
                "input_framing": keepFraming ? "as given" : "re-centred (the reference script's)",
                "elevation_deg": elevations,
                "azimuth_deg": azimuths,
                "files": (0..<images.count).map { String(format: "%03d.png", $0) },
            ]
            let json = try JSONSerialization.data(withJSONObject: record, options: [.prettyPrinted, .sortedKeys])
            try writeAtomically(json, to: folder.appendingPathComponent("orbit.json"))
            // The same views in the renderer's cameras.json schema, so the dataset reader, the
            // evaluator and mesh renders take generated orbits like rendered ones. Azimuths are
            // relative to the input view (SV3D's frame); the model fixes neither distance nor
            // field of view, so the renderer's defaults are written: 33.8° and the distance that
            // fits the unit-box normalisation's bounding sphere (radius √3/2).
            let fov = RenderOptions().fovDegrees
            let distance = Orbit.fittedDistance(radius: 3.0.squareRoot() / 2, fovDegrees: fov)
            let size = images.first?.width ?? model.config.imageSize
            let cameras = RenderCameras(
                objectID: folder.lastPathComponent, width: size, height: size, fovDeg: fov,
                K: RenderCameras.intrinsics(size: size, fovDeg: fov),
                views: (0..<images.count).map { i in
                    RenderCameras.orbitView(file: String(format: "%03d.png", i), elevationDeg: elevations[i],
                                            azimuthDeg: azimuths[i], distance: distance)
                })
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try writeAtomically(try encoder.encode(cameras), to: folder.appendingPathComponent("cameras.json"))
        }
    }
}

extension EDMSampler.Method: ExpressibleByArgument {}

/// PNG or JPEG by content.
func readImage(_ url: URL) throws -> Image8 {
    let data = try Data(contentsOf: url)
    if data.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return try PNG.decode(data, path: url.path) }
    if data.starts(with: [0xFF, 0xD8]) { return try JPEG.decode(data, path: url.path) }
    throw ImageError.unsupported(path: url.path, reason: "not a PNG or JPEG file")
}
