import DataRepository
import Synchronization

/// The file system's data repository associations as last saved, and the repository client made for each.
/// Lookups by id, by path and by archived key all read this table; the MDT holds the records.
final class AssociationTable: Sendable {
    private struct State {
        var associations: [Association] = []
        var repositories: [String: any DataRepository] = [:]
    }

    private let state = Mutex(State())

    var all: [Association] { state.withLock { $0.associations } }

    func find(_ id: String) -> Association? { state.withLock { $0.associations.first { $0.id == id } } }

    func first(where matches: (Association) -> Bool) -> Association? {
        state.withLock { $0.associations.first(where: matches) }
    }

    func contains(where matches: (Association) -> Bool) -> Bool {
        state.withLock { $0.associations.contains(where: matches) }
    }

    func filter(_ matches: (Association) -> Bool) -> [Association] {
        state.withLock { $0.associations.filter(matches) }
    }

    /// The table as loaded from the MDT at open.
    func load(_ associations: [Association]) { state.withLock { $0.associations = associations } }

    /// Keeps a saved association (new, or a newer version of one known).
    func keep(_ association: Association) {
        state.withLock { state in
            if let index = state.associations.firstIndex(where: { $0.id == association.id }) {
                state.associations[index] = association
            } else {
                state.associations.append(association)
            }
        }
    }

    /// Forgets an association; with `andItsRepository`, the client made for it too.
    func forget(_ id: String, andItsRepository: Bool) {
        state.withLock { state in
            state.associations.removeAll { $0.id == id }
            if andItsRepository { state.repositories[id] = nil }
        }
    }

    /// The repository client of an association, made by `make` the first time.
    func repository(for id: String, make: () throws -> any DataRepository) rethrows -> any DataRepository {
        if let known = state.withLock({ $0.repositories[id] }) { return known }
        let made = try make()
        state.withLock { $0.repositories[id] = made }
        return made
    }
}
