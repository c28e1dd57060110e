// `svdmv train` as a user runs it: a separate process killed with SIGKILL after its first
// checkpoint and restarted with --resume ends with the same loss curve, byte for byte in
// metrics.csv's losses, as a run never stopped; its exported model loads and generates.

import Cameras
import Foundation
import Generation
import Imaging
import Models
import MultiViewData
import Tensor
import TestSupport
import XCTest

final class TrainCommandTests: XCTestCase {

    func folder(_ name: String) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("svdmv-cli-\(UUID())-\(name)")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// Two 5-frame 64x64 synthetic orbits (coloured discs moving around) in one shard.
    func makeShard() throws -> URL {
        let dir = folder("shards")
        let writer = ShardWriter(directory: dir)
        for object in 0..<2 {
            let frames = 5
            let images: [Image8] = (0..<frames).map { f in
                var img = Image8(width: 64, height: 64, channels: 3, fill: 255)
                let cx = 32 + 16 * cos(Double(f) * 1.2 + Double(object)), cy = 32 + 10 * sin(Double(f) * 1.2)
                for y in 0..<64 { for x in 0..<64 where hypot(Double(x) - cx, Double(y) - cy) < 12 {
                    img[x, y, 0] = UInt8(60 * object); img[x, y, 1] = 120; img[x, y, 2] = UInt8(40 * f)
                } }
                return img
            }
            let azimuths = (0..<frames).map { f in f == frames - 1 ? 0.0 : Double(f + 1) * 72 }
            let metadata = SequenceMetadata(
                source: .renders, objectID: "synthetic-\(object)", width: 64, height: 64, conditioningIndex: frames - 1,
                elevationsDeg: Array(repeating: 10, count: frames), azimuthsDeg: azimuths,
                distances: Array(repeating: 2, count: frames),
                cameras: Array(repeating: FrameCamera(K: [[64, 0, 32], [0, 64, 32], [0, 0, 1]],
                                                      worldToCamera: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 2]]), count: frames),
                frameNames: (0..<frames).map { String(format: "%03d.png", $0) })
            try writer.write(TrainingSequence(metadata: metadata, images: images), key: "object\(object)")
        }
        _ = try writer.finish()
        return dir
    }

    @discardableResult
    func train(_ arguments: [String], killAfterCheckpoint: URL? = nil) throws -> Int32 {
        try runProcess(try svdmvExecutable(), ["train"] + arguments) { process in
            guard let checkpoint = killAfterCheckpoint else { return }
            while process.isRunning && !FileManager.default.fileExists(atPath: checkpoint.path) { usleep(20_000) }
            kill(process.processIdentifier, SIGKILL)
        }.status
    }

    func losses(_ run: URL) throws -> [String] {
        try String(contentsOf: run.appendingPathComponent("metrics.csv"), encoding: .utf8)
            .split(separator: "\n").dropFirst().map { String($0.split(separator: ",")[1]) }
    }

    func testKilledAndResumedRunRepeatsTheLossCurve() throws {
        let shards = try makeShard()
        let common = ["--data", shards.path, "--fresh", "tiny", "--steps", "4", "--checkpoint-every", "2",
                      "--learning-rate", "1e-3", "--seed", "5", "--ema", "0.9"]
        let straight = folder("straight")
        XCTAssertEqual(try train(common + ["--out", straight.path]), 0)
        let interrupted = folder("interrupted")
        try train(common + ["--out", interrupted.path],
                  killAfterCheckpoint: interrupted.appendingPathComponent("checkpoints/step-000002"))
        XCTAssertNotEqual(try train(common + ["--out", interrupted.path]), 0, "an existing run needs --resume")
        XCTAssertEqual(try train(common + ["--out", interrupted.path, "--resume"]), 0)
        XCTAssertEqual(try losses(straight).count, 4)
        XCTAssertEqual(try losses(interrupted), try losses(straight), "same loss curve after SIGKILL and --resume")
        // The exported weights are the EMA's; its warm-up (sgm's LitEma default) counts updates
        // from the run's start, so the resumed run's average is the same to the bit.
        let exported = { (run: URL) in try SafeTensorsFile(url: run.appendingPathComponent("model.safetensors")).tensors() }
        let (straightWeights, resumedWeights) = (try exported(straight), try exported(interrupted))
        XCTAssertEqual(straightWeights.keys.sorted(), resumedWeights.keys.sorted())
        for (key, w) in straightWeights { XCTAssertEqual(w.scalars, resumedWeights[key]?.scalars, "exported \(key)") }
        XCTAssertTrue(try String(contentsOf: straight.appendingPathComponent("config.json"), encoding: .utf8)
            .contains("\"emaWarmUp\" : true"))
        let constant = folder("constant-ema")
        XCTAssertEqual(try train(common + ["--out", constant.path, "--no-ema-warmup"]), 0)
        XCTAssertNotEqual(try exported(constant)["model.diffusion_model.out.2.weight"]?.scalars,
                          straightWeights["model.diffusion_model.out.2.weight"]?.scalars, "a constant decay averages otherwise")
        let model = try StableVideoModel.load(straight.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(model.config, .tinySV3DP)
        XCTAssertTrue(FileManager.default.fileExists(atPath: straight.appendingPathComponent("loss.png").path))
    }

    /// The training noise levels ln σ ~ N(P_mean, P_std²) are options with SV3D's defaults.
    func testNoiseLevelDistributionIsAnOptionWithSV3DsDefaults() throws {
        let shards = try makeShard()
        func run(_ extra: [String]) throws -> [String] {
            let out = folder("sigma")
            XCTAssertEqual(try train(["--data", shards.path, "--out", out.path, "--fresh", "tiny", "--steps", "3",
                                      "--seed", "3"] + extra), 0)
            return try losses(out)
        }
        let defaults = try run([])
        XCTAssertEqual(try run(["--p-mean", "1.0", "--p-std", "1.6"]), defaults, "the defaults are 1.0 / 1.6")
        XCTAssertNotEqual(try run(["--p-mean", "-1.2", "--p-std", "1.2"]), defaults, "other noise levels, other losses")
        // The conditioning frame's noise augmentation likewise: ln σ_aug ~ N(-3, 0.5²) by default.
        XCTAssertEqual(try run(["--cond-aug-mean", "-3", "--cond-aug-std", "0.5"]), defaults, "the defaults are -3 / 0.5")
        XCTAssertNotEqual(try run(["--cond-aug-mean", "-6"]), defaults, "a cleaner conditioning frame, other losses")
        // A resume must use the run's own noise levels (they are part of its config.json).
        let out = folder("sigma-resume")
        XCTAssertEqual(try train(["--data", shards.path, "--out", out.path, "--fresh", "tiny", "--steps", "2",
                                  "--checkpoint-every", "1", "--p-std", "1.2"]), 0)
        let (mismatch, message) = try runSVDMV(["train", "--data", shards.path, "--out", out.path, "--fresh", "tiny",
                                                "--steps", "3", "--checkpoint-every", "1", "--resume"])
        XCTAssertNotEqual(mismatch, 0, "resumed with the default --p-std")
        XCTAssertTrue(message.contains("differs from the requested settings in objective.p_std (run: 1.2, requested: 1.6)"), message)
        XCTAssertEqual(try train(["--data", shards.path, "--out", out.path, "--fresh", "tiny", "--steps", "3",
                                  "--checkpoint-every", "1", "--p-std", "1.2", "--resume"]), 0)
        let (status, output) = try runSVDMV(["train", "--data", shards.path, "--out", folder("bad").path,
                                             "--fresh", "tiny", "--p-std", "0"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("--p-std must be positive"), output)
        // Other than default augmentation levels are in the run's config, so a resume keeps them.
        let augmented = folder("cond-aug")
        XCTAssertEqual(try train(["--data", shards.path, "--out", augmented.path, "--fresh", "tiny", "--steps", "1",
                                  "--cond-aug-mean", "-6", "--cond-aug-std", "0.25"]), 0)
        let runConfig = try String(contentsOf: augmented.appendingPathComponent("config.json"), encoding: .utf8)
        XCTAssertTrue(runConfig.contains("\"cond_aug_log_mean\" : -6") && runConfig.contains("\"cond_aug_log_std\" : 0.25"), runConfig)
        let (resumedOther, _) = try runSVDMV(["train", "--data", shards.path, "--out", augmented.path, "--fresh", "tiny",
                                              "--steps", "2", "--resume"])
        XCTAssertNotEqual(resumedOther, 0, "resumed with the default augmentation")
    }

    /// The UNet's image-space term is off by default (sgm's objective); on, it changes the losses
    /// and is part of the run's config, and bad values are refused naming the option.
    func testDecodedLossIsOptInAndRecordedInTheRunConfig() throws {
        let shards = try makeShard()
        let plain = folder("plain"), decoded = folder("decoded")
        let common = ["--data", shards.path, "--fresh", "tiny", "--steps", "2", "--seed", "3"]
        XCTAssertEqual(try train(common + ["--out", plain.path]), 0)
        let run = try runSVDMV(["train"] + common + ["--out", decoded.path, "--decoded-loss-weight", "1",
                                                      "--decoded-frames", "2", "--lpips", "alex"])
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertNotEqual(try losses(decoded), try losses(plain))
        let config = try String(contentsOf: decoded.appendingPathComponent("config.json"), encoding: .utf8)
        XCTAssertTrue(config.contains("decoded_loss_weight"), config)
        XCTAssertFalse(try String(contentsOf: plain.appendingPathComponent("config.json"), encoding: .utf8).contains("decoded_loss_weight"))
        let bad = try runSVDMV(["train"] + common + ["--out", folder("bad").path, "--decoded-loss-weight", "1", "--decoded-frames", "0"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.output.contains("--decoded-frames"), bad.output)
    }

    /// --latent-cache: the first run writes the encoder's latents, a second run on the same shards
    /// reads them, and both train exactly as a run that encodes for itself.
    func testLatentCacheIsWrittenOnceAndChangesNothing() throws {
        let shards = try makeShard()
        let cache = folder("latent-cache")
        let common = ["--data", shards.path, "--fresh", "tiny", "--steps", "2", "--seed", "3"]
        XCTAssertEqual(try train(common + ["--out", folder("plain").path]), 0)
        let first = folder("first"), second = folder("second"), plain = folder("plain2")
        XCTAssertEqual(try train(common + ["--out", first.path, "--latent-cache", cache.path]), 0)
        let files = try FileManager.default.contentsOfDirectory(atPath: cache.path)
        XCTAssertEqual(files.count, 1, "\(files)")
        XCTAssertTrue(files[0].hasPrefix("latents-") && files[0].hasSuffix(".safetensors"), files[0])
        XCTAssertEqual(try train(common + ["--out", second.path, "--latent-cache", cache.path]), 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cache.path), files, "read, not written again")
        XCTAssertEqual(try train(common + ["--out", plain.path]), 0)
        XCTAssertEqual(try losses(first), try losses(plain))
        XCTAssertEqual(try losses(second), try losses(plain))
        // Another encoder (another seed's fresh model) misses the cache and writes its own.
        XCTAssertEqual(try train(["--data", shards.path, "--fresh", "tiny", "--steps", "1", "--seed", "4",
                                  "--out", folder("other").path, "--latent-cache", cache.path]), 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cache.path).count, 2)
    }

    /// Stage I (--image-only) then the multi-view stage from its model, with validation curves:
    /// validation.csv holds one row per validated step and σ, with PSNR and LPIPS of the held-out
    /// estimates beside the baseline's; the image-only setting is recorded so a resume keeps it.
    func testImageOnlyStageWithValidationCurveThenMultiViewStage() throws {
        let shards = try makeShard()
        let image = folder("image-only"), multiView = folder("multi-view")
        let run = try runSVDMV(["train", "--data", shards.path, "--out", image.path, "--fresh", "tiny", "--steps", "2",
                                "--image-only", "--validation-data", shards.path, "--validate-every", "1",
                                "--validation-sequences", "2", "--validation-sigmas", "700", "5", "--lpips", "alex"])
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertTrue(run.output.contains("validation at step 2 (2 sequences)"), run.output)
        let config = try String(contentsOf: image.appendingPathComponent("config.json"), encoding: .utf8)
        XCTAssertTrue(config.contains("image_only"), config)
        let rows = try String(contentsOf: image.appendingPathComponent("validation.csv"), encoding: .utf8)
            .split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        XCTAssertEqual(rows.first, ["step", "sigma", "latent_mse", "psnr", "lpips", "baseline_psnr", "baseline_lpips", "sequences"])
        XCTAssertEqual(rows.dropFirst().map { [$0[0], $0[1]] }, [["1", "700"], ["1", "5"], ["2", "700"], ["2", "5"]])
        for row in rows.dropFirst() {
            let psnr = try XCTUnwrap(Double(row[3])), lpips = try XCTUnwrap(Double(row[4]))
            XCTAssertTrue(psnr.isFinite && psnr > 0 && lpips >= 0 && lpips.isFinite, "\(row)")
            XCTAssertEqual(row[7], "2")
        }
        let second = try runSVDMV(["train", "--data", shards.path, "--out", multiView.path, "--init-from",
                                   image.appendingPathComponent("model.safetensors").path, "--steps", "1"])
        XCTAssertEqual(second.status, 0, second.output)
        let refused = try runSVDMV(["train", "--data", shards.path, "--out", folder("refused").path, "--fresh", "small",
                                    "--part", "autoencoder", "--image-only", "--steps", "1"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.output.contains("--image-only"), refused.output)
    }

    /// The default-model recipe in miniature: the autoencoder stage trains only the VAE pair and
    /// sets the latent scale factor, the UNet stage then trains only the UNet, and the result
    /// generates an orbit whose cameras.json the dataset reader takes.
    func testAutoencoderStageThenUNetStageThenGenerate() throws {
        let shards = try makeShard()
        let autoencoder = folder("autoencoder"), unet = folder("unet"), generated = folder("generated")
        let stage1 = try runSVDMV(["train", "--data", shards.path, "--out", autoencoder.path, "--fresh", "small",
                              "--part", "autoencoder", "--steps", "2", "--images-per-step", "2", "--lpips", "alex",
                              "--learning-rate", "1e-3", "--seed", "3"])
        XCTAssertEqual(stage1.status, 0, stage1.output)
        XCTAssertTrue(stage1.output.contains("latent scale factor"), stage1.output)
        let fresh = StableVideoModel(.small)
        fresh.initializeRandomly(seed: 3)
        let afterStage1 = try StableVideoModel.load(autoencoder.appendingPathComponent("model.safetensors"))
        XCTAssertNotEqual(afterStage1.config.firstStage.scaleFactor, StableVideoModelConfig.small.firstStage.scaleFactor)
        XCTAssertEqual(afterStage1.config.conditioningEncoder.scaleFactor, afterStage1.config.firstStage.scaleFactor)
        func weights(_ model: StableVideoModel, _ prefix: String) -> [String: [Float]] {
            var out: [String: [Float]] = [:]
            model.visitParameters { k, t in if k.hasPrefix(prefix) { out[k] = t.scalars } }
            return out
        }
        XCTAssertEqual(weights(afterStage1, StableVideoModel.unetPrefix), weights(fresh, StableVideoModel.unetPrefix), "stage 1 leaves the UNet")
        XCTAssertNotEqual(weights(afterStage1, StableVideoModel.decoderPrefix), weights(fresh, StableVideoModel.decoderPrefix), "stage 1 trains the decoder")
        XCTAssertNotEqual(weights(afterStage1, StableVideoModel.encoderPrefix), weights(fresh, StableVideoModel.encoderPrefix), "stage 1 trains the encoder")

        let stage2 = try runSVDMV(["train", "--data", shards.path, "--out", unet.path, "--init-from",
                              autoencoder.appendingPathComponent("model.safetensors").path, "--steps", "2", "--seed", "3"])
        XCTAssertEqual(stage2.status, 0, stage2.output)
        let afterStage2 = try StableVideoModel.load(unet.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(afterStage2.config, afterStage1.config)
        XCTAssertEqual(weights(afterStage2, StableVideoModel.decoderPrefix), weights(afterStage1, StableVideoModel.decoderPrefix), "stage 2 leaves the VAE")
        XCTAssertNotEqual(weights(afterStage2, StableVideoModel.unetPrefix), weights(afterStage1, StableVideoModel.unetPrefix), "stage 2 trains the UNet")

        let input = generated.deletingLastPathComponent().appendingPathComponent("input-\(UUID()).png")
        addTeardownBlock { try? FileManager.default.removeItem(at: input) }
        var image = Image8(width: 64, height: 64, channels: 3, fill: 255)
        for y in 20..<44 { for x in 16..<48 { image[x, y, 0] = 200; image[x, y, 1] = 40 } }
        try PNG.write(image, to: input)

        // Stage 3 adapts the decoder to the stage-2 UNet's estimates and leaves everything else.
        let decoder = folder("decoder")
        let stage3 = try runSVDMV(["train", "--data", shards.path, "--out", decoder.path, "--init-from",
                                   unet.appendingPathComponent("model.safetensors").path, "--part", "decoder",
                                   "--steps", "2", "--images-per-step", "2", "--lpips", "alex", "--p-mean", "0", "--seed", "3"])
        XCTAssertEqual(stage3.status, 0, stage3.output)
        let afterStage3 = try StableVideoModel.load(decoder.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(afterStage3.config, afterStage2.config)
        XCTAssertNotEqual(weights(afterStage3, StableVideoModel.decoderPrefix), weights(afterStage2, StableVideoModel.decoderPrefix), "stage 3 trains the decoder")
        for prefix in [StableVideoModel.unetPrefix, StableVideoModel.encoderPrefix, StableVideoModel.clipPrefix] {
            XCTAssertEqual(weights(afterStage3, prefix), weights(afterStage2, prefix), "stage 3 leaves \(prefix)")
        }
        // Stage 3 with a new decoder of another width: the saved config records it, the decoder
        // is the only part that changes, and the model loads and generates like any other.
        let wideDecoder = folder("wide-decoder")
        let stage3b = try runSVDMV(["train", "--data", shards.path, "--out", wideDecoder.path, "--init-from",
                                    unet.appendingPathComponent("model.safetensors").path, "--part", "decoder",
                                    "--decoder-channels", "64", "--steps", "2", "--images-per-step", "2",
                                    "--lpips", "alex", "--p-mean", "0", "--seed", "3"])
        XCTAssertEqual(stage3b.status, 0, stage3b.output)
        let afterStage3b = try StableVideoModel.load(wideDecoder.appendingPathComponent("model.safetensors"))
        var expectedConfig = afterStage2.config
        expectedConfig.firstStage.baseChannels = 64
        XCTAssertEqual(afterStage3b.config, expectedConfig, "only the decoder's width changes; the latent scale factor is kept")
        var convInShape: [Int] = []
        afterStage3b.visitParameters { k, t in if k == StableVideoModel.decoderPrefix + "conv_in.weight" { convInShape = t.shape } }
        XCTAssertEqual(convInShape, [128, 4, 3, 3], "ch 64 x ch_mult 2 at the latent level")
        for prefix in [StableVideoModel.unetPrefix, StableVideoModel.encoderPrefix, StableVideoModel.clipPrefix] {
            XCTAssertEqual(weights(afterStage3b, prefix), weights(afterStage2, prefix), "a new decoder leaves \(prefix)")
        }
        let wideGenerate = try runSVDMV(["generate", input.path, "--checkpoint", wideDecoder.appendingPathComponent("model.safetensors").path,
                                           "--out", folder("wide-generated").path, "--steps", "2", "--frames", "5"])
        XCTAssertEqual(wideGenerate.status, 0, wideGenerate.output)
        let resumeOther = try runSVDMV(["train", "--data", shards.path, "--out", wideDecoder.path, "--init-from",
                                        unet.appendingPathComponent("model.safetensors").path, "--part", "decoder",
                                        "--decoder-channels", "96", "--steps", "3", "--images-per-step", "2",
                                        "--lpips", "alex", "--p-mean", "0", "--seed", "3", "--resume"])
        XCTAssertNotEqual(resumeOther.status, 0, "a resume must not load a checkpoint into a decoder of another width")
        // The same width widened from the trained decoder (Net2WiderNet) starts where that decoder
        // is: after one small step it decodes like the narrow one, which a random decoder does not.
        let widened = folder("widened-decoder")
        let stage3c = try runSVDMV(["train", "--data", shards.path, "--out", widened.path, "--init-from",
                                    unet.appendingPathComponent("model.safetensors").path, "--part", "decoder",
                                    "--decoder-channels", "64", "--decoder-init", "widened", "--steps", "1", "--learning-rate", "0",
                                    "--images-per-step", "2", "--lpips", "alex", "--p-mean", "0", "--seed", "3"])
        XCTAssertEqual(stage3c.status, 0, stage3c.output)
        let afterStage3c = try StableVideoModel.load(widened.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(afterStage3c.config, expectedConfig)
        let runConfig = try String(contentsOf: widened.appendingPathComponent("config.json"), encoding: .utf8)
        XCTAssertTrue(runConfig.contains("decoder_widened"), runConfig)
        var generator = TorchGenerator(seed: 9)
        let latents = generator.randn([2, 4, 16, 16])
        let narrowImages = afterStage2.decoder(latents)
        let meanDifference = { (m: StableVideoModel) -> Float in
            let d = (m.decoder(latents) - narrowImages).scalars.map(abs)
            return d.reduce(0, +) / Float(d.count)
        }
        XCTAssertLessThan(meanDifference(afterStage3c), 0.02, "a widened decoder starts from the trained one")
        XCTAssertGreaterThan(meanDifference(try StableVideoModel.load(wideDecoder.appendingPathComponent("model.safetensors"))), 0.1,
                             "a random decoder of the same width does not")
        let initWithoutChannels = try runSVDMV(["train", "--data", shards.path, "--out", folder("init-only").path, "--init-from",
                                                unet.appendingPathComponent("model.safetensors").path, "--part", "decoder",
                                                "--decoder-init", "widened"])
        XCTAssertNotEqual(initWithoutChannels.status, 0)
        XCTAssertTrue(initWithoutChannels.output.contains("--decoder-init goes with --decoder-channels"), initWithoutChannels.output)
        let notAMultiple = try runSVDMV(["train", "--data", shards.path, "--out", folder("decoder-48").path, "--init-from",
                                         unet.appendingPathComponent("model.safetensors").path, "--part", "decoder",
                                         "--decoder-channels", "48", "--steps", "1"])
        XCTAssertNotEqual(notAMultiple.status, 0, "48 x ch_mult [1, 2, 2] has a level of 48 channels, not a multiple of 32")
        XCTAssertTrue(notAMultiple.output.contains("multiples of 32"), notAMultiple.output)
        let unetWithChannels = try runSVDMV(["train", "--data", shards.path, "--out", folder("unet-channels").path, "--init-from",
                                             unet.appendingPathComponent("model.safetensors").path, "--decoder-channels", "16"])
        XCTAssertNotEqual(unetWithChannels.status, 0)
        XCTAssertTrue(unetWithChannels.output.contains("--decoder-channels"), unetWithChannels.output)

        let freshDecoder = try runSVDMV(["train", "--data", shards.path, "--out", folder("fresh-decoder").path,
                                         "--fresh", "small", "--part", "decoder"])
        XCTAssertNotEqual(freshDecoder.status, 0)
        XCTAssertTrue(freshDecoder.output.contains("--part decoder"), freshDecoder.output)

        // Generate 5 views (the shard's orbit length) and read its cameras.json like a render's.
        let generate = try runSVDMV(["generate", input.path, "--checkpoint", unet.appendingPathComponent("model.safetensors").path,
                                "--out", generated.path, "--steps", "2", "--frames", "5", "--elevation", "12.5"])
        XCTAssertEqual(generate.status, 0, generate.output)
        let cameras = try OrbitCameras.read(generated.appendingPathComponent("cameras.json"))
        XCTAssertEqual(cameras.views.map(\.file), (0..<5).map { String(format: "%03d.png", $0) })
        XCTAssertEqual(cameras.views.map(\.elevationDeg), Array(repeating: 12.5, count: 5))
        XCTAssertEqual(cameras.views.map(\.azimuthDeg), [72, 144, 216, 288, 0], "input view last at azimuth 0")
        XCTAssertEqual(cameras.width, 64)
        let sequence = try RendersLoader(frameCount: 5).load(objectDirectory: generated)
        XCTAssertEqual(sequence.metadata.azimuthsDeg.last, 0)

        // A fresh UNet on stage 1's VAE (--autoencoder-from): the VAE, CLIP and latent scale are
        // stage 1's, the UNet starts from its own seed.
        let freshUNet = folder("fresh-unet")
        let stage2b = try runSVDMV(["train", "--data", shards.path, "--out", freshUNet.path, "--fresh", "small",
                                    "--autoencoder-from", autoencoder.appendingPathComponent("model.safetensors").path,
                                    "--steps", "1", "--seed", "5"])
        XCTAssertEqual(stage2b.status, 0, stage2b.output)
        let afterStage2b = try StableVideoModel.load(freshUNet.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(afterStage2b.config, afterStage1.config)
        XCTAssertEqual(weights(afterStage2b, StableVideoModel.decoderPrefix), weights(afterStage1, StableVideoModel.decoderPrefix))
        XCTAssertEqual(weights(afterStage2b, StableVideoModel.encoderPrefix), weights(afterStage1, StableVideoModel.encoderPrefix))
        XCTAssertEqual(weights(afterStage2b, StableVideoModel.clipPrefix), weights(afterStage1, StableVideoModel.clipPrefix))
        XCTAssertNotEqual(weights(afterStage2b, StableVideoModel.unetPrefix), weights(afterStage1, StableVideoModel.unetPrefix))
        let mismatch = try runSVDMV(["train", "--data", shards.path, "--out", folder("mismatch").path, "--fresh", "tiny",
                                     "--autoencoder-from", autoencoder.appendingPathComponent("model.safetensors").path, "--steps", "1"])
        XCTAssertNotEqual(mismatch.status, 0)
        XCTAssertTrue(mismatch.output.contains("--autoencoder-from"), mismatch.output)
        // A VAE of 8 latent channels (--latent-channels): a fresh UNet on it must be given the same
        // width, and then takes 16 input channels (noisy latents | concat latent) and returns 8.
        let autoencoder8 = folder("autoencoder-8")
        let stage1d = try runSVDMV(["train", "--data", shards.path, "--out", autoencoder8.path, "--fresh", "small",
                                    "--latent-channels", "8", "--part", "autoencoder", "--steps", "1", "--images-per-step", "2"])
        XCTAssertEqual(stage1d.status, 0, stage1d.output)
        let unetOn4 = try runSVDMV(["train", "--data", shards.path, "--out", folder("unet-on-8-as-4").path, "--fresh", "small",
                                    "--autoencoder-from", autoencoder8.appendingPathComponent("model.safetensors").path, "--steps", "1"])
        XCTAssertNotEqual(unetOn4.status, 0)
        XCTAssertTrue(unetOn4.output.contains("pass --latent-channels 8"), unetOn4.output)
        let unet8 = folder("unet-8")
        let stage2d = try runSVDMV(["train", "--data", shards.path, "--out", unet8.path, "--fresh", "small", "--latent-channels", "8",
                                    "--autoencoder-from", autoencoder8.appendingPathComponent("model.safetensors").path, "--steps", "1"])
        XCTAssertEqual(stage2d.status, 0, stage2d.output)
        let afterStage2d = try StableVideoModel.load(unet8.appendingPathComponent("model.safetensors"))
        var expected8 = StableVideoModelConfig.small.withLatentChannels(8)
        let autoencoder8Config = try StableVideoModel.load(autoencoder8.appendingPathComponent("model.safetensors")).config
        expected8.firstStage.scaleFactor = autoencoder8Config.firstStage.scaleFactor
        expected8.conditioningEncoder.scaleFactor = autoencoder8Config.conditioningEncoder.scaleFactor
        XCTAssertEqual(afterStage2d.config, expected8)
        XCTAssertEqual([afterStage2d.config.unet.inChannels, afterStage2d.config.unet.outChannels,
                        afterStage2d.config.firstStage.latentChannels, afterStage2d.config.conditioningEncoder.latentChannels], [16, 8, 8, 8])
        let generate8 = try runSVDMV(["generate", input.path, "--checkpoint", unet8.appendingPathComponent("model.safetensors").path,
                                      "--out", folder("generated-8").path, "--steps", "2", "--frames", "5"])
        XCTAssertEqual(generate8.status, 0, generate8.output)
        let latentsWithInit = try runSVDMV(["train", "--data", shards.path, "--out", folder("init-8").path, "--init-from",
                                            unet8.appendingPathComponent("model.safetensors").path, "--latent-channels", "8"])
        XCTAssertNotEqual(latentsWithInit.status, 0)
        XCTAssertTrue(latentsWithInit.output.contains("--latent-channels shapes a fresh model"), latentsWithInit.output)

        // The per-σ probe of the stage-2 model: one row per σ, the noisy input's latent error is
        // σ² (unit-variance noise), and the picture has the frames, one row per σ and the sample.
        let probe = folder("probe")
        let probed = try runSVDMV(["probe", "--checkpoint", unet.appendingPathComponent("model.safetensors").path,
                                   "--data", shards.path, "--out", probe.path, "--sigmas", "0.5", "2", "--steps", "2"])
        XCTAssertEqual(probed.status, 0, probed.output)
        let report = try String(contentsOf: probe.appendingPathComponent("probe.md"), encoding: .utf8)
        let rows = report.split(separator: "\n").filter { $0.hasPrefix("| 0.5 |") || $0.hasPrefix("| 2 |") }
        XCTAssertEqual(rows.count, 2, report)
        for (row, sigma) in zip(rows, [0.5, 2.0]) {
            let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            let inputError = try XCTUnwrap(Double(cells[2]), report)
            XCTAssertEqual(inputError, sigma * sigma, accuracy: 0.1 * sigma * sigma, report)
            let estimatePSNR = try XCTUnwrap(Double(cells[3]), report)
            let noisyInputPSNR = try XCTUnwrap(Double(cells[4]), report)
            XCTAssertTrue(estimatePSNR.isFinite && noisyInputPSNR.isFinite, report)
        }
        XCTAssertTrue(report.contains("Full samples (2 Euler steps"), report)
        let picture = try PNG.read(probe.appendingPathComponent("probe.png"))
        XCTAssertEqual(picture.height, 4 * 64 + 5 * 4, "frames, 2 σ rows and the sample")
        XCTAssertEqual(picture.width, 3 * 64 + 4 * 4, "every other of the 5 frames")
    }
}
