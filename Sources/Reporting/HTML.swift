// The pieces every HTML report of the toolkit shares (`svdmv evaluate`'s index.html, `svdmv
// curate`'s report.html): escaping, the page skeleton with one stylesheet, and file names for
// the images a page links. A page is self-contained: no script, no network; its images sit in a
// folder beside it and are linked by relative paths.

public enum HTML {
    /// `s` with `&`, `<`, `>` and `"` escaped, safe in text and in double-quoted attributes.
    public static func escaped(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }

    /// The stylesheet every report starts from: body, tables (first column left, numbers right),
    /// boxed sections, small labels.
    public static let baseStyle = [
        "body{font-family:system-ui,sans-serif;margin:24px;color:#222;background:#fafafa}",
        "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}",
        "td:first-child,th:first-child{text-align:left}th{background:#eee}",
        ".label{font-size:12px;color:#555;margin:4px 0 2px}ul{line-height:1.5}code{font-size:90%}",
    ]

    /// A whole page: doctype, `title` as the title, the base stylesheet then `style`, and `body`
    /// (lines of HTML), newline-terminated.
    public static func page(title: String, style: [String] = [], body: [String]) -> String {
        let head = [
            "<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\">",
            "<title>\(escaped(title))</title>",
            "<style>",
        ] + baseStyle + style + ["</style></head><body>"]
        return (head + body + ["</body></html>"]).joined(separator: "\n") + "\n"
    }

    /// A file name for `id` (an object or capture id, which may hold `/` or spaces): letters,
    /// digits, `-`, `_` and `.` kept, anything else `_`.
    public static func fileName(for id: String) -> String {
        String(id.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" })
    }
}
