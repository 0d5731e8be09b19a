import Synchronization

/// Changes made behind the kernel's back (imports, sweeps, events), collected while their transaction runs and
/// told to the observer (the mount, which drops what the kernel cached) once it committed. Nothing is
/// collected while no one observes.
final class ExternalChanges: Sendable {
    typealias Observer = @Sendable ([ExternalChange]) -> Void

    private struct State {
        var pending: [ExternalChange] = []
        var observer: Observer?
    }

    private let state = Mutex(State())

    func observe(_ observer: Observer?) { state.withLock { $0.observer = observer } }

    func note(_ change: ExternalChange) {
        state.withLock { state in
            if state.observer != nil { state.pending.append(change) }
        }
    }

    /// Tells the observer what was noted since the last time.
    func tell() {
        let (changes, observer) = state.withLock { state -> ([ExternalChange], Observer?) in
            defer { state.pending.removeAll() }
            return (state.pending, state.observer)
        }
        if let observer, !changes.isEmpty { observer(changes) }
    }
}
