// `svdmv info`: what this build links against and how many threads it uses.

import ArgumentParser
import Tensor

extension SVDMV {
    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the BLAS configuration and thread counts this build uses.")

        func run() throws {
            print("svdmv \(SVDMV.configuration.version)")
            print("BLAS: \(BLAS.configuration)")
            print("threads: \(Parallel.threadCount)")
        }
    }
}
