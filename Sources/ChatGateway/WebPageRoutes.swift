import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The web chat page: plain HTML, CSS and JavaScript shipped as the `Resources/web` package
/// resources of this target, read once at start-up and served from memory.
///
/// - `GET /` is `index.html`, revalidated on every load (`Cache-Control: no-cache` with an ETag).
/// - `GET /static/<version>/<file>` serves the other files. `<version>` is a hash of all of them,
///   so a matching URL never changes content and is cached for a year; a URL with another
///   version (a page from an older or newer node during an upgrade) still gets the file, but
///   uncached. `index.html` names its assets as `/static/__VERSION__/...`, replaced at load.
enum WebPageRoutes {
    /// Adds the page's routes. A missing resource bundle is logged and `GET /` answers 404 with
    /// what to install; the rest of the gateway works either way.
    static func register(on router: Router<ChatRequestContext>, logger: Logger) {
        let site = WebSite.load(logger: logger)
        router.get("/") { request, _ -> Response in
            guard let site, let index = site.index else {
                return plainResponse(.notFound, "the web page is not installed: ship the \(WebSite.bundleName) folder next to chatd\n")
            }
            return index.response(for: request, cacheControl: "no-cache")
        }
        router.get("/static/:version/:file") { request, context -> Response in
            guard let site, let name = context.parameters.get("file"), let asset = site.assets[name] else {
                return plainResponse(.notFound, "not found\n")
            }
            let current = context.parameters.get("version") == site.version
            return asset.response(for: request, cacheControl: current ? "public, max-age=31536000, immutable" : "no-cache")
        }
    }

    private static func plainResponse(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// The files of the page, in memory.
struct WebSite: Sendable {
    /// The resource bundle SwiftPM builds for this target, next to the executable.
    #if os(Linux) || os(Windows)
        static let bundleName = "kafka-chat_ChatGateway.resources"
    #else
        static let bundleName = "kafka-chat_ChatGateway.bundle"
    #endif

    /// Hash of every file, naming this set of assets in URLs.
    let version: String
    let index: WebAsset?
    /// Every file but `index.html`, by file name.
    let assets: [String: WebAsset]

    /// Reads the files, or returns `nil` (and logs why) when the bundle is not installed.
    ///
    /// The bundle is looked up by hand instead of through `Bundle.module`, which stops the
    /// process when the bundle is missing.
    static func load(logger: Logger) -> WebSite? {
        guard let directory = locate() else {
            logger.warning("web page resources not found: GET / will answer 404", metadata: ["bundle": "\(bundleName)"])
            return nil
        }
        let files: [String]
        do {
            files = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        } catch {
            logger.warning("cannot list the web page resources", metadata: ["directory": "\(directory.path)", "error": "\(error)"])
            return nil
        }
        var contents: [(name: String, data: Data)] = []
        for name in files where !name.hasPrefix(".") {
            guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path) else { continue }
            contents.append((name, data))
        }
        var hash = FNV1a64()
        for file in contents {
            hash.add(Array(file.name.utf8))
            hash.add(Array(file.data))
        }
        let version = String(hash.hex.prefix(12))
        var index: WebAsset?
        var assets: [String: WebAsset] = [:]
        for file in contents {
            if file.name == "index.html" {
                let html = String(decoding: file.data, as: UTF8.self).replacingOccurrences(of: "__VERSION__", with: version)
                index = WebAsset(name: file.name, bytes: Array(html.utf8))
            } else {
                assets[file.name] = WebAsset(name: file.name, bytes: Array(file.data))
            }
        }
        return WebSite(version: version, index: index, assets: assets)
    }

    private static func locate() -> URL? {
        var places: [URL] = [Bundle.main.bundleURL]
        if let executable = Bundle.main.executableURL?.resolvingSymlinksInPath() {
            places.append(executable.deletingLastPathComponent())
        }
        for place in places {
            guard let bundle = Bundle(url: place.appendingPathComponent(bundleName)),
                let web = bundle.url(forResource: "web", withExtension: nil)
            else { continue }
            return web
        }
        return nil
    }
}

/// One file ready to send, with its content type and entity tag.
struct WebAsset: Sendable {
    let bytes: [UInt8]
    let contentType: String
    let eTag: String

    init(name: String, bytes: [UInt8]) {
        self.bytes = bytes
        self.contentType = Self.contentType(of: name)
        var hash = FNV1a64()
        hash.add(bytes)
        self.eTag = "\"\(hash.hex)\""
    }

    /// The file, or 304 when the request already holds this version.
    func response(for request: Request, cacheControl: String) -> Response {
        var headers: HTTPFields = [
            .cacheControl: cacheControl,
            .eTag: eTag,
            .xContentTypeOptions: "nosniff",
        ]
        if contentType.hasPrefix("text/html") {
            // Defence in depth: only this origin's own scripts and styles, no inline code.
            headers[.contentSecurityPolicy] =
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
            headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        }
        if let tags = request.headers[.ifNoneMatch], tags.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == eTag }) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = contentType
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func contentType(of name: String) -> String {
        switch name.split(separator: ".").last.map({ $0.lowercased() }) {
        case "html": "text/html; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "js", "mjs": "text/javascript; charset=utf-8"
        case "json": "application/json"
        case "webmanifest": "application/manifest+json"
        case "svg": "image/svg+xml"
        case "png": "image/png"
        case "ico": "image/x-icon"
        case "txt": "text/plain; charset=utf-8"
        default: "application/octet-stream"
        }
    }
}

/// 64-bit FNV-1a, for entity tags and the asset version (not for security).
struct FNV1a64 {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ bytes: [UInt8]) {
        for byte in bytes {
            value ^= UInt64(byte)
            value &*= 0x0000_0100_0000_01b3
        }
    }

    var hex: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
