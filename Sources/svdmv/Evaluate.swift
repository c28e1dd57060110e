// `svdmv evaluate`: PSNR, SSIM and LPIPS of generated views against ground-truth views, per view,
// per object and overall (Evaluation.FolderEvaluator); writes metrics.json and metrics.md.

import ArgumentParser
import Evaluation
import Foundation
import Metrics

extension LPIPSNet: ExpressibleByArgument {}
extension SSIMConvention: ExpressibleByArgument {}

extension SVDMV {
    struct Evaluate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Score generated views against ground truth (PSNR, SSIM, LPIPS).",
            discussion: """
                Both folders hold one sub-folder per object with numbered views (000.png, 001.png, ...). \
                Images are composited on white; metrics follow SyncDreamer's GSO eval_nvs.py. LPIPS \
                weights come from Scripts/fetch-lpips-weights (or --lpips-weights / SVDMV_LPIPS_DIR).
                """)

        @Option(help: ArgumentHelp("Folder of generated views: <object>/000.png ...", valueName: "dir"))
        var generated: String
        @Option(help: ArgumentHelp("Folder of ground-truth views with the same layout.", valueName: "dir"))
        var groundTruth: String
        @Option(help: ArgumentHelp("Folder for metrics.json and metrics.md (created if needed).", valueName: "dir"))
        var out: String
        @Option(help: ArgumentHelp("Leave out this view index on both sides (e.g. 0, the conditioning view).", valueName: "n"))
        var excludeInputView: Int?
        @Option(help: "LPIPS trunk (SyncDreamer uses vgg).")
        var lpips: LPIPSNet = .vgg
        @Option(help: ArgumentHelp("Folder holding alex.safetensors / vgg.safetensors (default $SVDMV_LPIPS_DIR or ~/.cache/svdmv/lpips).", valueName: "dir"))
        var lpipsWeights: String?
        @Option(help: "SSIM border: valid (scikit-image, torchmetrics <= 1.4, SyncDreamer's tables) or reflect (torchmetrics >= 1.5).")
        var ssim: SSIMConvention = .validRegion
        @Option(help: "SSIM data range; leave out to derive it from each image pair as torchmetrics' default (SyncDreamer).")
        var ssimDataRange: Double?

        func validate() throws {
            for (flag, path) in [("--generated", generated), ("--ground-truth", groundTruth)] {
                var isDir: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
                    throw ValidationError("\(flag): no folder at \(path)")
                }
            }
            if let v = excludeInputView, v < 0 { throw ValidationError("--exclude-input-view must be >= 0") }
            if let r = ssimDataRange, !(r > 0) { throw ValidationError("--ssim-data-range must be positive") }
        }

        @OptionGroup var memory: MemoryOptions

        func run() throws {
            memory.apply()
            let dir = lpipsWeights.map { URL(fileURLWithPath: $0, isDirectory: true) } ?? LPIPS.defaultWeightsDirectory
            let model = try LPIPS.pretrained(net: lpips, directory: dir)
            let options = EvaluationOptions(excludedViews: excludeInputView.map { [$0] } ?? [], lpipsNet: lpips,
                                            ssimConvention: ssim, ssimDataRange: ssimDataRange)
            let evaluator = FolderEvaluator(options: options, lpips: model)
            let report = try evaluator.evaluate(
                generated: URL(fileURLWithPath: generated, isDirectory: true),
                groundTruth: URL(fileURLWithPath: groundTruth, isDirectory: true),
                progress: { line in FileHandle.standardError.write(Data((line + "\n").utf8)) })
            let files = try report.write(to: URL(fileURLWithPath: out, isDirectory: true))
            print(String(format: "%d objects: PSNR %.3f  SSIM %.4f  LPIPS-%@ %.4f  MSE %.5f", report.objects.count,
                         report.overall.psnr, report.overall.ssim, lpips.rawValue, report.overall.lpips,
                         report.overall.mse))
            for f in files { print("wrote \(f.path)") }
        }
    }
}
