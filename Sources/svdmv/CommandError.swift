// Errors a command finds in its data while running (an unsuitable checkpoint, an empty capture
// folder). ArgumentParser prints them as "Error: <message>" and exits with status 1, without the
// usage text, which is for bad arguments: those throw `ValidationError` from `validate()`.

struct CommandError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
