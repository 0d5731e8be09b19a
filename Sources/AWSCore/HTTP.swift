import AsyncHTTPClient
import NIOCore
import NIOPosix

/// The process-wide HTTP clients: connection pools shared by every AWS client, so parallel ranged GETs and
/// many small calls reuse connections instead of paying a handshake each.
package enum AWSHTTP {
    package static let shared = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)

    /// Large bodies streamed into files (`AWSClient.receive`), on event loops of their own: they are written
    /// on the loop's thread as they arrive, and a write may sleep while the kernel throttles a writer of
    /// many dirty pages. On these loops such a sleep delays only other transfers, never the small calls
    /// (a HeadObject, an SQS poll, instance metadata with its 1 s limit) on the shared ones.
    package static let transfers = HTTPClient(
        eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)), configuration: configuration)

    static var configuration: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.timeout.connect = .seconds(5)
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        // A refused connection should surface at once; AWSClient's own retry policy decides what to repeat.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        configuration.httpVersion = .http1Only
        return configuration
    }
}
