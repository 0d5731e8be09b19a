import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import Synchronization

extension AWSClient {
    /// Sends the request and hands the successful answer's body to `chunk`, piece by piece, on the
    /// connection's own thread as each piece arrives. `head` sees the answer's headers first; `chunk`
    /// returns false to stop early (the connection is then closed). Returns the headers.
    ///
    /// For downloads into files. The async body sequence hands each network read (up to 64 KiB) from the
    /// event loop to a task and reads nothing more until the task asks: two thread switches per piece. A
    /// 256 MiB GET made about 2,000 context switches that way and ran at 0.8× of curl on two cores; here it
    /// reads and writes in one thread, as curl does. So `head` and `chunk` must not wait on other work: a
    /// positional write into the page cache, a counter, a signal. A write can still sleep when the kernel
    /// throttles a writer of many dirty pages, so these bodies come through `AWSHTTP.transfers`, whose
    /// threads serve no other kind of call.
    ///
    /// Failures before `head` is called (connecting, an error answer) are retried under the retry policy;
    /// after it, they are the caller's, who knows how much arrived.
    package func receive(
        _ request: AWSRequest,
        head: @escaping @Sendable (HTTPHeaders) throws -> Void,
        chunk: @escaping @Sendable (ByteBuffer) throws -> Bool
    ) async throws -> HTTPHeaders {
        let outcome = try await withRetries(request) { () async throws -> Result<HTTPHeaders, any Error> in
            let receiver = BodyReceiver(notModifiedIsAnswer: request.method == .GET, head: head, chunk: chunk)
            do {
                return .success(try await self.receiveOnce(request, into: receiver, through: self.transfers, timeLimitCoversBody: false).headers)
            } catch {
                // Past the head, a retry would hand the caller the body again from its start.
                if receiver.delivered { return .failure(error) }
                throw error
            }
        }
        return try outcome.get()
    }

    /// One attempt. The time limit covers the wait for the head, and with `timeLimitCoversBody` the whole
    /// answer (small answers gathered whole); otherwise a body streams as long as it keeps coming (callers of
    /// `receive` watch for stalls themselves), since a large download may take longer than any limit.
    func receiveOnce(
        _ request: AWSRequest, into receiver: BodyReceiver, through http: HTTPClient, timeLimitCoversBody: Bool
    ) async throws -> (status: Int, headers: HTTPHeaders) {
        let (url, headers) = try await signed(request)
        let outgoing: HTTPClient.Request
        do {
            outgoing = try HTTPClient.Request(url: url, method: request.method, headers: headers, body: request.body.map { .byteBuffer($0) })
        } catch {
            throw AWSTransportError(reason: .unreachable, endpoint: endpoint.description, detail: "the URL is not usable (\(error))")
        }
        let timeout = request.timeout ?? settings.requestTimeout
        let task = http.execute(request: outgoing, delegate: receiver, eventLoop: .indifferent, deadline: nil, logger: nil)
        let timer = task.eventLoop.scheduleTask(in: .milliseconds(Int64(timeout * 1000))) {
            if receiver.timeOut(unlessFinished: timeLimitCoversBody) { task.cancel() }
        }
        defer { timer.cancel() }
        do {
            try await withTaskCancellationHandler {
                try await task.futureResult.get()
            } onCancel: {
                task.cancel()
            }
        } catch {
            if let failure = receiver.callbackFailure { throw failure }
            if receiver.stopped, let status = receiver.status, let answered = receiver.headers { return (status, answered) }
            if Task.isCancelled { throw CancellationError() }
            if receiver.timedOut {
                throw AWSTransportError(reason: .timedOut, endpoint: endpoint.description, detail: "no answer within \(Int(timeout)) s")
            }
            throw transportError(error, timeout: timeout)
        }
        guard let answered = receiver.headers, let status = receiver.status else {
            throw AWSTransportError(
                reason: .malformedResponse, endpoint: endpoint.description, detail: "\(request.operation) ended without an answer")
        }
        if !receiver.isAnswer(status) {
            throw decodeError(status: status, headers: answered, body: receiver.errorBody, operation: request.operation)
        }
        return (status, answered)
    }
}

/// AsyncHTTPClient's delegate for `receive`: its callbacks run on the connection's event loop, one at a
/// time; the state is behind a lock only because the timer and the caller read it from other threads.
final class BodyReceiver: HTTPClientResponseDelegate, Sendable {
    typealias Response = Void

    private struct State {
        var status: Int?
        var headers: HTTPHeaders?
        /// An error answer's document, kept (up to 4 MiB) to decode; it is not the caller's body.
        var errorBody = ByteBuffer()
        var delivered = false
        var stopped = false
        var timedOut = false
        var finished = false
        var callbackFailure: (any Error)?
    }

    private let state = Mutex(State())
    private let onHead: @Sendable (HTTPHeaders) throws -> Void
    private let onChunk: @Sendable (ByteBuffer) throws -> Bool
    /// A GET's 304 (If-None-Match) is an answer, not an error.
    private let notModifiedIsAnswer: Bool

    init(
        notModifiedIsAnswer: Bool, head: @escaping @Sendable (HTTPHeaders) throws -> Void,
        chunk: @escaping @Sendable (ByteBuffer) throws -> Bool
    ) {
        self.notModifiedIsAnswer = notModifiedIsAnswer
        onHead = head
        onChunk = chunk
    }

    /// The caller stopped the body; not a failure.
    private struct Stopped: Error {}

    var status: Int? { state.withLock { $0.status } }
    var headers: HTTPHeaders? { state.withLock { $0.headers } }
    var errorBody: ByteBuffer { state.withLock { $0.errorBody } }
    var delivered: Bool { state.withLock { $0.delivered } }
    var stopped: Bool { state.withLock { $0.stopped } }
    var timedOut: Bool { state.withLock { $0.timedOut } }
    var callbackFailure: (any Error)? { state.withLock { $0.callbackFailure } }

    /// Whether a status is an answer for the caller rather than an error document to decode.
    func isAnswer(_ status: Int) -> Bool { status < 300 || (notModifiedIsAnswer && status == 304) }

    /// Marks the request timed out if no head came yet (or, with `unlessFinished`, if the answer is not
    /// complete); returns whether it did.
    func timeOut(unlessFinished: Bool) -> Bool {
        state.withLock { state in
            guard state.status == nil || (unlessFinished && !state.finished) else { return false }
            state.timedOut = true
            return true
        }
    }

    func didReceiveHead(task: HTTPClient.Task<Void>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        let status = Int(head.status.code)
        let timedOut = state.withLock { state -> Bool in
            state.status = status
            state.headers = head.headers
            return state.timedOut
        }
        guard !timedOut, isAnswer(status) else {
            return task.eventLoop.makeSucceededVoidFuture()
        }
        do {
            state.withLock { $0.delivered = true }
            try onHead(head.headers)
            return task.eventLoop.makeSucceededVoidFuture()
        } catch {
            state.withLock { $0.callbackFailure = error }
            return task.eventLoop.makeFailedFuture(error)
        }
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Void>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        let delivered = state.withLock { state -> Bool in
            if !state.delivered {
                var part = buffer
                if state.errorBody.readableBytes < 4 << 20 { state.errorBody.writeBuffer(&part) }
            }
            return state.delivered
        }
        guard delivered else { return task.eventLoop.makeSucceededVoidFuture() }
        do {
            if try onChunk(buffer) { return task.eventLoop.makeSucceededVoidFuture() }
            state.withLock { $0.stopped = true }
            return task.eventLoop.makeFailedFuture(Stopped())
        } catch {
            state.withLock { $0.callbackFailure = error }
            return task.eventLoop.makeFailedFuture(error)
        }
    }

    func didFinishRequest(task: HTTPClient.Task<Void>) throws { state.withLock { $0.finished = true } }
}
