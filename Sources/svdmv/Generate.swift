// `svdmv generate IMAGE --out DIR [--checkpoint FILE]`: an orbit of views from one image, by
// default with the bundled small model.

import ArgumentParser
import Foundation
import Generation
import Imaging
import Tensor

extension SVDMV {
    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate an orbit of views (PNGs, contact sheet, animated PNG, cameras) from one image.")

        @Argument(help: "Input image (PNG or JPEG). RGBA is used as is; otherwise a plain background is cut out.")
        var image: String
        @OptionGroup(title: "Model and output") var files: ModelAndOutput
        @OptionGroup(title: "Orbit") var orbit: OrbitOptions
        @OptionGroup(title: "Sampling") var sampling: SamplingOptions
        @Option(help: "Random seed (the reference script's default is 23).")
        var seed: UInt64 = 23
        @Option(help: "Frames decoded at a time.")
        var decodingChunk = 14
        @Flag(help: "SDEdit: start from the input view on every frame, noised to --sigma-max (use a few, not 700), instead of from pure noise. Not the reference's sampling.")
        var fromInput = false
        @OptionGroup var memory: MemoryOptions

        struct ModelAndOutput: ParsableArguments {
            @Option(help: "Model checkpoint (.safetensors): an official sv3d_u/sv3d_p file or one of ours (default: the bundled small model, 64x64).")
            var checkpoint: String?
            @Option(help: "Output folder.")
            var out: String

            func validate() throws {
                if let checkpoint, !FileManager.default.isReadableFile(atPath: checkpoint) {
                    throw ValidationError("cannot read checkpoint \(checkpoint)")
                }
            }
        }

        struct OrbitOptions: ParsableArguments {
            @Option(parsing: .unconditionalSingleValue, help: "Camera elevation in degrees (sv3d_p): once for every frame, or repeated once per frame (--elevation 0 --elevation 5 ...); negative values as they are (--elevation -5).")
            var elevation: [Double] = [10]
            @Option(parsing: .unconditionalSingleValue, help: "Azimuth in degrees, repeated once per frame, the input view last (sv3d_p; default: an even orbit).")
            var azimuths: [Double] = []
            @Option(help: "Frames in the orbit (SV3D was trained on 21).")
            var frames = 21
            @Option(help: "Object size relative to the frame (the script's image_frame_ratio); default: as the input.")
            var frameRatio: Double?
            @Flag(help: "Use the image's own framing: no re-centring or re-scaling of the object, only compositing on white and resizing (for inputs framed like the training views, e.g. renders from `svdmv render`).")
            var keepFraming = false

            func validate() throws {
                guard frames >= 2 else { throw ValidationError("--frames must be at least 2") }
                guard elevation.count == 1 || elevation.count == frames else {
                    throw ValidationError("--elevation takes one value or \(frames) (one per frame), got \(elevation.count)")
                }
                guard azimuths.isEmpty || azimuths.count == frames else {
                    throw ValidationError("--azimuths needs \(frames) values (one per frame, the input view last), got \(azimuths.count)")
                }
                if let frameRatio, !(frameRatio > 0 && frameRatio <= 1) { throw ValidationError("--frame-ratio must be in (0, 1]") }
                if keepFraming, frameRatio != nil { throw ValidationError("--keep-framing keeps the object's size: leave out --frame-ratio") }
            }
        }

        func validate() throws {
            guard FileManager.default.isReadableFile(atPath: image) else { throw ValidationError("cannot read image \(image)") }
            guard decodingChunk >= 1 else { throw ValidationError("--decoding-chunk must be positive") }
        }

        func run() throws {
            let started = Date()
            // Weights keep the checkpoint's dtype (F16/BF16 layer weights stay half). The allocator
            // policy comes after loading: with it on, glibc clears recycled heap blocks, which would
            // commit the freshly built model's zero placeholders.
            let checkpointURL = try files.checkpoint.map { URL(fileURLWithPath: $0) } ?? BundledResource.defaultModel.url()
            let model = try StableVideoModel.load(checkpointURL)
            guard model.config.variant.isOrbitModel else {
                throw CommandError("\(checkpointURL.path) is an SVD (image-to-video) checkpoint; generate makes SV3D orbits and needs an sv3d_u or sv3d_p file (SVD sampling is the Generation library's StableVideoSampler with StableVideoSamplingSettings.svd())")
            }
            let recommended = try SamplingRecommendation.read(checkpointURL)
            let (steps, guider) = sampling.resolved(recommended)
            if let recommended, sampling.steps == nil || sampling.guider == nil {
                print("sampling: \(steps) steps, guider \(guider.rawValue) (the checkpoint recommends \(recommended.steps.map { "\($0) steps" } ?? "-"), \(recommended.guider?.rawValue ?? "-"); --steps and --guider override)")
            }
            memory.apply()
            let input = try ImageFile.read(URL(fileURLWithPath: image))
            let prepared = orbit.keepFraming ? ConditioningImage.keepingFraming(input, size: model.config.imageSize)
                : try ConditioningImage.sv3d(input, size: model.config.imageSize, frameRatio: orbit.frameRatio)
            var settings = StableVideoSamplingSettings()
            sampling.apply(to: &settings, recommended: recommended)
            settings.frames = orbit.frames
            settings.seed = seed
            settings.decodingChunk = decodingChunk
            settings.startsFromInput = fromInput
            settings.elevationsDegrees = orbit.elevation
            settings.azimuthsDegrees = orbit.azimuths.isEmpty ? nil : orbit.azimuths
            let sampler = StableVideoSampler(model: model, settings: settings)
            let progress = ProgressBar(total: steps * (settings.method == .heun ? 2 : 1))
            let views = sampler.generate(image: Tensor(rgbImage: prepared)) { done, _ in
                progress.step("denoising")
            }
            let folder = URL(fileURLWithPath: files.out)
            let images = (0..<views.shape[0]).map { Image8(frame: $0, of: views) }
            let cameras = GeneratedOrbitFiles.cameras(
                objectID: folder.lastPathComponent, size: images.first?.width ?? model.config.imageSize, settings: settings,
                checkpoint: files.checkpoint ?? "bundled default model", variant: model.config.variant,
                inputFraming: orbit.keepFraming ? "as given" : "re-centred (the reference script's)")
            try GeneratedOrbitFiles.write(views: images, prepared: prepared, cameras: cameras, to: folder)
            print(String(format: "wrote %d views to %@ in %.1f s", orbit.frames, files.out, Date().timeIntervalSince(started)))
        }
    }
}
