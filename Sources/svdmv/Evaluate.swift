// `svdmv evaluate`: PSNR, SSIM, LPIPS and (with CLIP weights) CLIP-S of generated views against
// ground-truth views or GSO-layout meshes, per view, per object and overall
// (Evaluation.FolderEvaluator); writes metrics.json, metrics.md, index.html and strips/.

import ArgumentParser
import Evaluation
import Foundation
import Metrics
import Models
import Tensor

extension SSIMConvention: ExpressibleByArgument {}

/// The MLP activation of the CLIP weights, which shapes cannot tell.
enum CLIPActivation: String, CaseIterable, ExpressibleByArgument {
    /// OpenAI's pretrained weights (open_clip `-quickgelu` models, pretrained "openai").
    case quickgelu
    /// Weights trained by OpenCLIP (LAION, DataComp ...).
    case gelu

    var towerActivation: VisionTransformerConfig.Activation { self == .gelu ? .gelu : .quickGELU }

    /// The activation of the weights at `weights`: `flag`, else $SVDMV_CLIP_ACTIVATION, else the
    /// weights file's own `svdmv_clip_activation` metadata (written by Scripts/export-clip-weights.py).
    static func resolved(flag: CLIPActivation?, weights: String?, environment: [String: String]) -> CLIPActivation? {
        if let flag { return flag }
        if let value = environment["SVDMV_CLIP_ACTIVATION"], let a = CLIPActivation(rawValue: value) { return a }
        guard let weights, let file = try? SafeTensorsFile(url: URL(fileURLWithPath: weights)) else { return nil }
        return file.metadata?["svdmv_clip_activation"].flatMap(CLIPActivation.init(rawValue:))
    }

    static let requiredMessage = "--clip-activation is required with CLIP weights: quickgelu for OpenAI's weights, "
        + "gelu for OpenCLIP-trained ones (shapes cannot tell them apart)"
}

extension SVDMV {
    struct Evaluate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Score generated views against ground truth (PSNR, SSIM, LPIPS, CLIP-S).",
            discussion: """
                Both folders hold one sub-folder per object with numbered views (000.png, 001.png, ...); \
                the ground truth may instead be Google Scanned Objects meshes (<object>/meshes/model.obj), \
                rendered at the generated views' cameras (their cameras.json or orbit.json) or the \
                protocol's. Images are composited on white; metrics follow SyncDreamer's GSO eval_nvs.py. \
                LPIPS weights come from Scripts/fetch-lpips-weights (or --lpips-weights / SVDMV_LPIPS_DIR). \
                Writes metrics.json, metrics.md and index.html (with strips/) into --out.
                """)

        @Option(help: ArgumentHelp("Folder of generated views: <object>/000.png ...", valueName: "dir"))
        var generated: String
        @Option(help: ArgumentHelp("Folder of ground-truth views with the same layout, or of GSO meshes (<object>/meshes/model.obj).", valueName: "dir"))
        var groundTruth: String
        @Option(help: ArgumentHelp("Folder for the report (created if needed).", valueName: "dir"))
        var out: String
        @Option(name: .customLong("protocol"),
                help: ArgumentHelp("Protocol name (Evaluation/protocols/NAME.json: svd-mv-gso, syncdreamer-gso, real-objects, test-corpus) or a JSON file; sets objects, views, cameras and metric settings.", valueName: "name-or-file"))
        var protocolName: String?
        @Option(help: ArgumentHelp("Leave out this view index on both sides (e.g. 0, the conditioning view); overrides the protocol.", valueName: "n"))
        var excludeInputView: Int?
        @OptionGroup(title: "LPIPS") var lpips: LPIPSOptions
        @Option(help: "SSIM border: valid (scikit-image, torchmetrics <= 1.4, SyncDreamer's tables) or reflect (torchmetrics >= 1.5); default: the protocol's, else valid.")
        var ssim: SSIMConvention?
        @Option(help: "SSIM data range; leave out to derive it from each image pair as torchmetrics' default (SyncDreamer).")
        var ssimDataRange: Double?
        @Option(help: ArgumentHelp("open_clip ViT-B/32 or ViT-L/14 weights (safetensors, open_clip key names) for CLIP-S (default $SVDMV_CLIP_WEIGHTS); without them CLIP-S is reported as not computed.", valueName: "file"))
        var clipWeights: String?
        @Option(help: "MLP activation of the CLIP weights: quickgelu (OpenAI's) or gelu (OpenCLIP-trained); required with CLIP weights unless $SVDMV_CLIP_ACTIVATION or the file's svdmv_clip_activation metadata says it.")
        var clipActivation: CLIPActivation?
        @Option(help: ArgumentHelp("Folder for ground truth rendered from meshes (default: <out>/ground-truth-renders); reused when the cameras match.", valueName: "dir"))
        var renderCache: String?

        var environment: [String: String] { ProcessInfo.processInfo.environment }
        var clipWeightsPath: String? { clipWeights ?? environment["SVDMV_CLIP_WEIGHTS"].flatMap { $0.isEmpty ? nil : $0 } }

        var resolvedCLIPActivation: CLIPActivation? {
            CLIPActivation.resolved(flag: clipActivation, weights: clipWeightsPath, environment: environment)
        }

        func validate() throws {
            for (flag, path) in [("--generated", generated), ("--ground-truth", groundTruth)] {
                var isDir: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
                    throw ValidationError("\(flag): no folder at \(path)")
                }
            }
            if let v = excludeInputView, v < 0 { throw ValidationError("--exclude-input-view must be >= 0") }
            if let r = ssimDataRange, !(r > 0) { throw ValidationError("--ssim-data-range must be positive") }
            if let weights = clipWeightsPath {
                guard FileManager.default.fileExists(atPath: weights) else {
                    throw ValidationError("CLIP weights: no file at \(weights)")
                }
                guard resolvedCLIPActivation != nil else { throw ValidationError(CLIPActivation.requiredMessage) }
            }
        }

        @OptionGroup var memory: MemoryOptions

        func run() throws {
            memory.apply()
            // Everything that can be wrong with the inputs is checked before anything is written.
            let chosen = try protocolName.map { try EvaluationProtocol.named($0) }
            let net = lpips.net(chosen?.lpips ?? .vgg)
            let model = try lpips.network(net)
            let excluded = excludeInputView.map { [$0] } ?? chosen?.excludedViews ?? []
            let options = EvaluationOptions(excludedViews: excluded, lpipsNet: net,
                                            ssimConvention: ssim ?? chosen?.ssim ?? .validRegion,
                                            ssimDataRange: ssimDataRange ?? chosen?.ssimDataRange)
            var scorer: CLIPScorer? = nil
            if let weights = clipWeightsPath {
                guard let activation = resolvedCLIPActivation else { throw ValidationError("--clip-activation is required") }
                scorer = try CLIPScorer(weights: URL(fileURLWithPath: weights), activation: activation.towerActivation)
            }
            let outURL = URL(fileURLWithPath: out, isDirectory: true)
            let cache = renderCache.map { URL(fileURLWithPath: $0, isDirectory: true) }
                ?? outURL.appendingPathComponent("ground-truth-renders", isDirectory: true)
            let evaluator = FolderEvaluator(options: options, lpips: model, clip: scorer)
            let report = try evaluator.evaluate(
                generated: URL(fileURLWithPath: generated, isDirectory: true),
                groundTruth: URL(fileURLWithPath: groundTruth, isDirectory: true),
                protocol: chosen, renderCache: cache,
                progress: { line in FileHandle.standardError.write(Data((line + "\n").utf8)) })
            let files = try report.write(to: outURL)
            let clipText = report.overall.clipScore.map { String(format: "  CLIP-S %.4f", $0) } ?? "  CLIP-S not computed"
            print(String(format: "%d objects: PSNR %.3f  SSIM %.4f  LPIPS-%@ %.4f  MSE %.5f", report.objects.count,
                         report.overall.psnr, report.overall.ssim, net.rawValue, report.overall.lpips,
                         report.overall.mse) + clipText)
            for f in files { print("wrote \(f.path)") }
        }
    }
}
