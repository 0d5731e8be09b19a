extension FileSystem {
    /// Runs a step of background work (an association's or task's lifecycle, the export queue's bookkeeping)
    /// whose failure has no caller to go to: the failure is logged with what was being done, and the work goes
    /// on, as the step's own comment at the call site says it may.
    @discardableResult
    func logFailure<Result>(of what: @autoclosure () -> String, _ body: () async throws -> Result) async -> Result? {
        do {
            return try await body()
        } catch {
            logger.error("\(what()) failed: \(error)")
            return nil
        }
    }
}
