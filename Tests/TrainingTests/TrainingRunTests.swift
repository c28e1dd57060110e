// Resumable training: a run interrupted between checkpoints and resumed reproduces the losses
// and weights of an uninterrupted run exactly; LoRA adapters train alone and merge exactly.

import Foundation
import NN
import Tensor
import TestSupport
import Training
import XCTest

/// A two-layer perceptron regressing a fixed random function.
final class TinyMLP: Module {
    let fc1 = Linear(4, 16), fc2 = Linear(16, 3)
    init(seed: UInt64) {
        var g = TorchGenerator(seed: seed)
        fc1.weight = g.randn([16, 4]) * 0.5; fc1.bias = g.randn([16]) * 0.1
        fc2.weight = g.randn([3, 16]) * 0.3; fc2.bias = g.randn([3]) * 0.1
    }
    func callAsFunction(_ x: Tensor) -> Tensor { fc2(fc1(x).silu()) }
    func visitParameters(_ body: (String, inout Tensor) -> Void) {
        visit(fc1, "fc1", body); visit(fc2, "fc2", body)
    }
}

struct Interrupted: Error {}

final class TrainingRunTests: XCTestCase {
    func temporaryFolder() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("svdmv-train-\(UUID())")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// Loss on a fresh batch drawn from the run's generator (so data order is part of the state).
    func loss(_ model: TinyMLP) -> (Int, Int, inout TorchGenerator) throws -> Tensor {
        { _, _, g in
            let x = g.randn([8, 4])
            let target = (x * 0.7).tanh().sliced(axis: 1, 0..<3) * 2
            return (model(x) - target).squared().mean()
        }
    }

    let config: TrainingConfig = {
        var c = TrainingConfig(steps: 12, optimizer: AdamWConfig(learningRate: 1e-2, weightDecay: 0.01),
                               warmupSteps: 3, gradientAccumulation: 2, maxGradientNorm: 0.5,
                               checkpointEvery: 4, emaDecay: 0.9, seed: 7)
        c.emaWarmUp = true  // the warm-up's decay depends on the update count, which a resume must restore
        return c
    }()

    func testLearningRateWarmsUpThenStaysOrFollowsTheCosine() throws {
        var c = TrainingConfig(steps: 110, optimizer: AdamWConfig(learningRate: 2e-3), warmupSteps: 10)
        XCTAssertEqual(c.learningRate(atStep: 5), 1e-3, accuracy: 1e-9, "halfway through the warm-up")
        XCTAssertEqual(c.learningRate(atStep: 110), 2e-3, "constant by default")
        c.decay = .cosine
        XCTAssertEqual(c.learningRate(atStep: 5), 1e-3, accuracy: 1e-9, "the warm-up is unchanged")
        XCTAssertEqual(c.learningRate(atStep: 10), 2e-3, accuracy: 1e-9, "peak at the warm-up's end")
        XCTAssertEqual(c.learningRate(atStep: 60), 1e-3, accuracy: 1e-9, "half the peak halfway")
        XCTAssertEqual(c.learningRate(atStep: 110), 0, accuracy: 1e-9, "zero at the last step")
        let rates = (10...110).map { c.learningRate(atStep: $0) }
        XCTAssertEqual(rates, rates.sorted(by: >), "non-increasing after the warm-up")
        // A run folder written before the option existed still decodes (no "decay" key: constant).
        var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(c)) as! [String: Any]
        json.removeValue(forKey: "decay")
        let old = try JSONDecoder().decode(TrainingConfig.self, from: JSONSerialization.data(withJSONObject: json))
        XCTAssertNil(old.decay)
    }

    func testResumedRunRepeatsTheUninterruptedLossCurveExactly() throws {
        let straight = TinyMLP(seed: 1)
        let runA = try TrainingRun(folder: temporaryFolder(), config: config, trainable: straight)
        try runA.run(loss: loss(straight))
        XCTAssertEqual(runA.history.count, 12)
        XCTAssertLessThan(runA.history.last!.loss, runA.history.first!.loss, "training reduces the loss")

        // Same run, killed during step 7 (steps 5 and 6 were done but never checkpointed).
        let folder = temporaryFolder()
        let first = TinyMLP(seed: 1)
        let runB = try TrainingRun(folder: folder, config: config, trainable: first)
        let base = loss(first)
        XCTAssertThrowsError(try runB.run(loss: { step, micro, g in
            if step == 7 { throw Interrupted() }
            return try base(step, micro, &g)
        })) { error in
            XCTAssertTrue(error is Interrupted, "the loss's own error comes out: \(error)")
        }
        XCTAssertEqual(runB.checkpointSteps(), [4])

        // A new process would start from scratch: a new model object, the same folder.
        let resumedModel = TinyMLP(seed: 99)
        let runC = try TrainingRun(folder: folder, config: config, trainable: resumedModel)
        XCTAssertEqual(runC.step, 4)
        try runC.run(loss: loss(resumedModel))
        XCTAssertEqual(runC.history.map(\.loss), runA.history.map(\.loss), "identical loss curve")
        XCTAssertEqual(runC.history.map(\.step), Array(1...12))
        for ((k, a), (_, b)) in zip(straight.namedParameters(), resumedModel.namedParameters()) {
            XCTAssertEqual(a.scalars, b.scalars, "weights \(k)")
        }
        let (averageA, averageC) = (runA.evaluationWeights(), runC.evaluationWeights())
        for (k, a) in averageA {
            XCTAssertEqual(a.scalars, averageC[k]?.scalars, "EMA weights \(k)")
            XCTAssertNotEqual(a.scalars, straight.namedParameters().first { $0.key == k }?.value.scalars,
                              "the EMA is an average, not the last weights (\(k))")
        }
        XCTAssertEqual(runC.checkpointSteps(), [8, 12], "keeps the two newest checkpoints")
        let csv = try String(contentsOf: folder.appendingPathComponent("metrics.csv"), encoding: .utf8)
        XCTAssertEqual(csv.split(separator: "\n").count, 13)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("loss.png").path))
    }

    func testChangedSettingsRefuseToResume() throws {
        let folder = temporaryFolder()
        var small = config
        small.steps = 4
        let model = TinyMLP(seed: 1)
        try TrainingRun(folder: folder, config: small, trainable: model).run(loss: loss(model))
        // A loss that ignores the trainable parameters is an error, not a crash.
        XCTAssertThrowsError(try TrainingRun(folder: temporaryFolder(), config: small, trainable: model)
            .run(loss: loss(TinyMLP(seed: 2)))) { error in
            guard case .lossWithoutGradient? = error as? TrainingError else { return XCTFail("\(error)") }
        }
        var other = config
        other.seed = 8
        XCTAssertThrowsError(try TrainingRun(folder: folder, config: other, trainable: TinyMLP(seed: 1))) { error in
            XCTAssertTrue("\(error)".contains("config.json"), "\(error)")
            XCTAssertTrue("\(error)".contains("seed (run: 7, requested: 8)"), "names the setting: \(error)")
        }
        // A constant EMA decay is another curve (a run folder from before the warm-up has none).
        var constant = config
        constant.emaWarmUp = nil
        XCTAssertThrowsError(try TrainingRun(folder: folder, config: constant, trainable: TinyMLP(seed: 1))) { error in
            XCTAssertTrue("\(error)".contains("emaWarmUp (run: true, requested: unset)"), "\(error)")
        }
        // More steps with the same settings resume.
        XCTAssertEqual(try TrainingRun(folder: folder, config: config, trainable: TinyMLP(seed: 1)).step, 4)
    }

    func testLearningRateWarmsUpLinearly() {
        XCTAssertEqual(config.learningRate(atStep: 1), 1e-2 / 3, accuracy: 1e-9)
        XCTAssertEqual(config.learningRate(atStep: 3), 1e-2, accuracy: 1e-9)
        XCTAssertEqual(config.learningRate(atStep: 10), 1e-2, accuracy: 1e-9)
    }
}

final class LoRATests: XCTestCase {
    func testAdaptersTrainAloneAndMergeExactly() throws {
        let model = TinyMLP(seed: 3)
        let before = model.namedParameters().map { ($0.key, $0.value.scalars) }
        let adapters = try LoRAAdapters(for: model, config: LoRAConfig(rank: 2, alpha: 4, targets: ["fc1", "fc2"]), seed: 5)
        XCTAssertEqual(adapters.namedParameters().map(\.key),
                       ["fc1.lora_A.weight", "fc1.lora_B.weight", "fc2.lora_A.weight", "fc2.lora_B.weight"])
        var g = TorchGenerator(seed: 2)
        let probe = g.randn([5, 4])
        let plain = GradMode.withoutGradients { model(probe) }
        adapters.apply(to: model)
        assertClose(GradMode.withoutGradients { model(probe) }, plain, rtol: 0, atol: 0, "B = 0 changes nothing")
        adapters.restore(model)

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("svdmv-lora-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try TrainingRun(folder: folder, config: TrainingConfig(steps: 5, optimizer: AdamWConfig(learningRate: 5e-2),
                                                                          checkpointEvery: 5), trainable: adapters)
        try run.run(loss: { _, _, g in
            let x = g.randn([8, 4])
            return (model(x) - 1).squared().mean()
        }, beforeForward: { adapters.apply(to: model) }, afterBackward: { adapters.restore(model) })
        for ((key, original), (_, now)) in zip(before, model.namedParameters()) {
            XCTAssertEqual(original, now.scalars, "\(key) is frozen")
        }
        adapters.apply(to: model)
        let adapted = GradMode.withoutGradients { model(probe) }
        adapters.restore(model)
        XCTAssertGreaterThan(zip(adapted.scalars, plain.scalars).map { abs($0 - $1) }.max()!, 1e-3, "adapters learned")

        // Save, load into a fresh copy, merge: same outputs as the applied adapters.
        let file = folder.appendingPathComponent("adapters.safetensors")
        try adapters.save(to: file)
        let copy = TinyMLP(seed: 3)
        try LoRAAdapters.load(from: file, for: copy).merge(into: copy)
        assertClose(GradMode.withoutGradients { copy(probe) }, adapted, rtol: 1e-5, atol: 1e-6, "merged")
    }
}

/// Run folders record the objective's settings under snake_case names; the folders written when
/// they were a dictionary of numbers (the decoder's `decoder_widened` flag as 1) still resume.
final class ObjectiveSettingsTests: XCTestCase {
    func testRecordedSettingsReadBackAndOldNumberFlagsStillRead() throws {
        var settings = ObjectiveSettings(pMean: 1, pStd: 1.6)
        settings.condAugLogMean = -2
        settings.decodedFrames = 4
        settings.decoderChannels = 64
        settings.decoderWidened = true
        let data = try JSONEncoder().encode(settings)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(Set(json.keys), ["p_mean", "p_std", "cond_aug_log_mean", "decoded_frames", "decoder_channels", "decoder_widened"])
        XCTAssertEqual(try JSONDecoder().decode(ObjectiveSettings.self, from: data), settings)

        let old = #"{"p_mean": 6.55, "p_std": 0.3, "clean_fraction": 0.25, "perceptual_weight": 1, "decoder_channels": 64, "decoder_widened": 1}"#
        let read = try JSONDecoder().decode(ObjectiveSettings.self, from: Data(old.utf8))
        XCTAssertEqual(read.pMean, 6.55)
        XCTAssertEqual(read.cleanFraction, 0.25)
        XCTAssertEqual(read.decoderChannels, 64)
        XCTAssertEqual(read.decoderWidened, true)
        XCTAssertNil(read.decodedLossWeight)
        XCTAssertEqual(read.recordedValues["p_std"], "0.3")

        // A config.json of such a run resumes with the same settings given anew.
        let config = #"{"steps": 10, "optimizer": {"learningRate": 0.0002, "beta1": 0.9, "beta2": 0.999, "eps": 1e-08, "weightDecay": 0.01}, "warmupSteps": 0, "gradientAccumulation": 1, "maxGradientNorm": 1, "checkpointEvery": 5, "keepCheckpoints": 2, "seed": 3, "objective": {"p_mean": 0, "p_std": 1.6}}"#
        let decoded = try JSONDecoder().decode(TrainingConfig.self, from: Data(config.utf8))
        XCTAssertEqual(decoded.objective, ObjectiveSettings(pMean: 0, pStd: 1.6))
    }
}
