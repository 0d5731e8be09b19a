import JSONOutput

/// `SlurmSettings.Database.Uri` as the original reads it: Python's urllib.parse (urlsplit, then its `port`),
/// trying again with "//" in front when no host came out. Hand-written because the original's messages
/// quote urllib's own errors, so the parse has to fail where and how urllib's does.
public struct DatabaseURI: Sendable, Equatable {
    public var scheme: String
    public var netloc: String
    /// The host, without brackets or user information.
    public var host: String
    /// The port text as written (nil: none).
    public var portText: String?

    /// urlsplit's scheme and netloc rules (Python 3.11): a scheme is letters first, then letters, digits and
    /// "+-." up to the first colon; a netloc follows "//" up to "/", "?" or "#".
    public static func split(_ text: String) -> DatabaseURI {
        var rest = Substring(text)
        var scheme = ""
        if let colon = rest.firstIndex(of: ":"), colon > rest.startIndex, let first = rest.first, first.isASCII, first.isLetter,
            rest[..<colon].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) })
        {
            scheme = rest[..<colon].lowercased()
            rest = rest[rest.index(after: colon)...]
        }
        var netloc = ""
        if rest.hasPrefix("//") {
            let body = rest.dropFirst(2)
            netloc = String(body.prefix { !"/?#".contains($0) })
        }
        var hostInfo = Substring(netloc)
        if let at = hostInfo.lastIndex(of: "@") { hostInfo = hostInfo[hostInfo.index(after: at)...] }
        var host: Substring
        var port: Substring
        if let open = hostInfo.firstIndex(of: "[") {
            let bracketed = hostInfo[hostInfo.index(after: open)...]
            let close = bracketed.firstIndex(of: "]") ?? bracketed.endIndex
            host = bracketed[..<close]
            let after = close < bracketed.endIndex ? bracketed[bracketed.index(after: close)...] : ""
            port = after.firstIndex(of: ":").map { after[after.index(after: $0)...] } ?? ""
        } else if let colon = hostInfo.firstIndex(of: ":") {
            host = hostInfo[..<colon]
            port = hostInfo[hostInfo.index(after: colon)...]
        } else {
            host = hostInfo
            port = ""
        }
        return DatabaseURI(scheme: scheme, netloc: netloc, host: String(host), portText: port.isEmpty ? nil : String(port))
    }

    /// As the original's validator parses: again with "//" in front when the first parse found no netloc.
    public static func parse(_ uri: String) -> DatabaseURI {
        let first = split(uri)
        return first.netloc.isEmpty ? split("//" + uri) : first
    }

    /// urllib's `port`: nil when absent, else the number or urllib's error text.
    public var port: Result<Int, PortError>? {
        guard let text = portText else { return nil }
        guard text.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(text) else {
            return .failure(PortError(message: "Port could not be cast to integer value as \(PythonRepr.string(text))"))
        }
        guard (0...65535).contains(value) else { return .failure(PortError(message: "Port out of range 0-65535")) }
        return .success(value)
    }

    public struct PortError: Error, Equatable, Sendable { public var message: String }

    /// MySQL's port when the URI names none (or 0), as the original assumes.
    public static let defaultPort = 3306

    /// Where slurmdbd connects, when the URI is one the validator accepts.
    public var endpoint: (host: String, port: Int)? {
        guard scheme.isEmpty, !netloc.isEmpty, !host.isEmpty else { return nil }
        switch port {
        case nil: return (host, Self.defaultPort)
        case .success(let value): return (host, value == 0 ? Self.defaultPort : value)
        case .failure: return nil
        }
    }
}

extension Validators {
    /// The original's DatabaseUriValidator, message for message.
    static let databaseUri = Validator("DatabaseUriValidator") { c, s in
        guard let database = c.config.scheduling.database else { return }
        let uri = database.uri
        let at = database.path / "Uri"
        if uri.hasPrefix("/") {
            s.add(.error, "Invalid URI specified. Please remove any leading / at the beginning of the provided URI ('\(uri)')", at: at)
            return
        }
        let parsed = DatabaseURI.parse(uri)
        if !parsed.scheme.isEmpty {
            s.add(.error, "Invalid URI specified. Please do not provide a scheme ('\(parsed.scheme)://')", at: at)
            return
        }
        if parsed.netloc.isEmpty {
            s.add(.error, "Invalid URI specified. Please review the provided URI ('\(uri)')", at: at)
            return
        }
        switch parsed.port {
        case .failure(let error): s.add(.error, "Invalid URI specified. \(error.message)", at: at)
        case .success(let port) where port != 0: break
        default: s.add(.info, "No port specified in the URI. Assuming the use of port \(DatabaseURI.defaultPort)", at: at)
        }
    }
}
