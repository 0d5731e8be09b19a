import Foundation

#if canImport(FoundationXML)
import FoundationXML
#endif

/// A small element tree over Foundation's XMLParser: AWS responses are small documents read by path,
/// which a tree answers more plainly than SAX callbacks. Unchecked Sendable: the tree is built by `parse`
/// alone and never changes once returned (its setters are fileprivate to this file).
package final class XMLElement: @unchecked Sendable {
    package let name: String
    package fileprivate(set) var text: String = ""
    package fileprivate(set) var children: [XMLElement] = []

    init(name: String) { self.name = name }

    package func child(_ name: String) -> XMLElement? { children.first { $0.name == name } }
    package func children(_ name: String) -> [XMLElement] { children.filter { $0.name == name } }
    /// Text of the first child with that name (nil when absent).
    package func string(_ name: String) -> String? { child(name)?.text }
    /// The first child with that name as a time: ISO 8601 as the query protocols write it, with or without
    /// fractional seconds (nil when absent or not a time).
    package func date(_ name: String) -> Date? {
        string(name).flatMap(WireDate.iso8601)
    }
    /// Follows a path of child names: `root.path("Error", "Code")`.
    package func path(_ names: String...) -> XMLElement? {
        var node: XMLElement? = self
        for name in names { node = node?.child(name) }
        return node
    }

    package static func parse(_ data: Data) throws -> XMLElement {
        let delegate = TreeBuilder()
        let parser = XMLParser(data: data)
        parser.shouldProcessNamespaces = false
        parser.delegate = delegate
        guard parser.parse(), let root = delegate.root else {
            let reason = parser.parserError.map { "\($0.localizedDescription)" } ?? "no root element"
            throw XMLDecodingError(reason: "not a well-formed XML document (\(reason))")
        }
        return root
    }
}

package struct XMLDecodingError: Error, Sendable, CustomStringConvertible {
    package var reason: String
    package var description: String { reason }
}

private final class TreeBuilder: NSObject, XMLParserDelegate {
    var root: XMLElement?
    var stack: [XMLElement] = []

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
        qualifiedName: String?, attributes: [String: String] = [:]
    ) {
        let element = XMLElement(name: elementName)
        if let parent = stack.last { parent.children.append(element) } else { root = element }
        stack.append(element)
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        stack.removeLast()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        stack.last?.text += string
    }
}

/// Builds request documents with the escaping XML needs.
package struct XMLWriter: Sendable {
    package private(set) var text = ""

    package init(declaration: Bool = true) {
        if declaration { text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>" }
    }

    package mutating func open(_ name: String, namespace: String? = nil) {
        text += namespace.map { "<\(name) xmlns=\"\($0)\">" } ?? "<\(name)>"
    }

    package mutating func close(_ name: String) { text += "</\(name)>" }

    package mutating func element(_ name: String, _ value: String) {
        text += "<\(name)>\(Self.escape(value))</\(name)>"
    }

    package static func escape(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for character in value.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\r": out += "&#13;"
            case "\n": out += "&#10;"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }
}
