import AsyncHTTPClient
import NIOCore

/// The process-wide HTTP client: one connection pool shared by every AWS client, so parallel ranged GETs
/// and many small calls reuse connections instead of paying a handshake each.
package enum AWSHTTP {
    package static let shared: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.timeout.connect = .seconds(5)
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        // A refused connection should surface at once; AWSClient's own retry policy decides what to repeat.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        configuration.httpVersion = .http1Only
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()
}
