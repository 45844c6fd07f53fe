import Foundation

/// Relay URLs compared as one string: lowercase scheme and host, no trailing slash.
public enum RelayURL {
    public static func normalize(_ text: String) -> String? {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard let comps = URLComponents(string: t), let scheme = comps.scheme?.lowercased(),
              scheme == "ws" || scheme == "wss", let host = comps.host, !host.isEmpty else { return nil }
        var out = "\(scheme)://\(host.lowercased())"
        if let port = comps.port { out += ":\(port)" }
        var path = comps.path
        while path.hasSuffix("/") { path.removeLast() }
        out += path
        if let q = comps.query { out += "?\(q)" }
        return out
    }
}
