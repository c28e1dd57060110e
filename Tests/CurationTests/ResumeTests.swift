// A rerun resumes: records a killed run appended to its journal, or a finished run wrote to
// scores.jsonl, are reused when they were scored with the same settings, and scored again
// otherwise; records with an error are always scored again; the journal goes once the outputs are
// written.

@testable import Curation
import Foundation
import XCTest

final class ResumeTests: XCTestCase {
    func testJournalAndFinishedRunsAreReusedUnderTheSameSettings() throws {
        let work = try temporaryFolder("resume")
        defer { try? FileManager.default.removeItem(at: work) }
        let renders = work.appendingPathComponent("renders"), out = work.appendingPathComponent("out")
        let square = rgbaImage(width: 12, height: 12) { x, y in (3..<9).contains(x) && (3..<9).contains(y) }
        for id in ["a", "b"] { try writeOrbit(renders.appendingPathComponent(id), id: id, views: [square, square]) }
        let config = CurationConfiguration.defaultRenders

        // A run cut short after "a": its journal holds a (marked) record of a.
        var marked = OrbitScorer().score(folder: renders.appendingPathComponent("a"), id: "a")
        marked.scores["marker"] = 42
        let journal = try ScoreJournal(out: out, source: .renders, scoring: config.scoring)
        journal.append(marked)
        let previous = CurationRun.previousRecords(in: out, source: .renders, scoring: config.scoring)
        XCTAssertEqual(previous.keys.sorted(), ["a"])
        let resumed = try CurationRun.score(source: .renders, root: renders, configuration: config, workers: 1,
                                            reuse: previous, journal: journal)
        XCTAssertEqual(resumed.map(\.id), ["a", "b"])
        XCTAssertEqual(resumed[0].scores["marker"], 42, "a is reused, not scored again")
        XCTAssertNil(resumed[1].scores["marker"])
        // b went into the journal as well.
        XCTAssertEqual(ScoreJournal.read(out.appendingPathComponent(ScoreJournal.fileName), source: .renders, scoring: config.scoring).map(\.id),
                       ["a", "b"])
        // Other scoring settings: nothing is reused, and a new journal starts afresh.
        var other = config.scoring
        other.viewStride = 2
        XCTAssertEqual(CurationRun.previousRecords(in: out, source: .renders, scoring: other), [:])
        XCTAssertEqual(CurationRun.previousRecords(in: out, source: .mvimgnet, scoring: config.scoring), [:])

        // Finishing writes the outputs and removes the journal; the finished run is reused next time.
        try CurationRun.write(records: resumed, result: Cascade.apply(config, to: resumed), configuration: config, to: out)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent(ScoreJournal.fileName).path))
        XCTAssertEqual(CurationRun.previousRecords(in: out, source: .renders, scoring: config.scoring)["a"]?.scores["marker"], 42)
        XCTAssertEqual(CurationRun.previousRecords(in: out, source: .renders, scoring: other), [:])

        // A record with an error is scored again.
        var failed = marked
        failed.error = "transient"
        let again = try CurationRun.score(source: .renders, root: renders, configuration: config, workers: 1, reuse: ["a": failed])
        XCTAssertNil(again[0].scores["marker"])
        XCTAssertNil(again[0].error)
    }
}
