import Foundation

/// One setting of a chat process: its command-line option, its environment variable, its
/// default, how its text is parsed into the configuration, and the help text built from them.
///
/// ``ChatSettings`` holds the table; ``ChatSettings/resolve(options:environment:)`` applies it with
/// one precedence rule: an option beats its environment variable, which beats the default.
public struct ChatSetting: Sendable, Hashable {
    /// How the option is given on the command line.
    public enum Kind: Sendable {
        /// `--name value`; the last one counts.
        case value
        /// `--name value`, repeatable; the environment variable is a comma-separated list.
        case list
        /// `--name` alone; the environment variable is `1` (on) or `0` (off).
        case flag
    }

    /// The option's name without the leading dashes (`port` for `--port`).
    public let option: String
    /// The environment variable (`CHAT_PORT`).
    public let variable: String
    public let kind: Kind
    /// Applied when neither the option nor the variable is given; `nil` keeps the configuration's own.
    public let defaultValue: String?
    /// The help text.
    public let help: String
    let apply: @Sendable (_ values: [String], _ source: String, _ settings: inout ChatSettings.Resolved) throws(ChatSettingError) -> Void

    /// - Parameters:
    ///   - summary: what the setting does, the help text before the bracket.
    ///   - note: what the bracket says after the variable when there is no plain default
    ///     (`", comma-separated"`, `", default: hostname"`).
    ///   - tail: what follows the bracket.
    init(
        _ option: String, _ variable: String, kind: Kind = .value, default defaultValue: String? = nil, summary: String, note: String? = nil,
        tail: String = ".",
        apply: @escaping @Sendable (_ values: [String], _ source: String, _ settings: inout ChatSettings.Resolved) throws(ChatSettingError) -> Void
    ) {
        self.option = option
        self.variable = variable
        self.kind = kind
        self.defaultValue = defaultValue
        let bracket = kind == .flag ? "\(variable)=1" : variable + (note ?? defaultValue.map { ", default \($0)" } ?? "")
        self.help = "\(summary) [\(bracket)]\(tail)"
        self.apply = apply
    }

    /// `--option`, as errors name it.
    public var flagName: String { "--\(option)" }

    public static func == (lhs: ChatSetting, rhs: ChatSetting) -> Bool { lhs.option == rhs.option }
    public func hash(into hasher: inout Hasher) { hasher.combine(option) }
}

/// A setting's value cannot be used; the message names the option or variable it came from.
public struct ChatSettingError: Error, CustomStringConvertible, Equatable {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

extension ChatSetting {
    /// A whole number of at least `minimum`.
    static func integer<Value: FixedWidthInteger & Sendable>(
        _ option: String, _ variable: String, default defaultValue: String? = nil, minimum: Value, summary: String, note: String? = nil,
        tail: String = ".", _ set: @escaping @Sendable (Value, inout ChatSettings.Resolved) -> Void
    ) -> ChatSetting {
        ChatSetting(option, variable, default: defaultValue, summary: summary, note: note, tail: tail) {
            values, source, settings throws(ChatSettingError) in
            let text = values.last ?? ""
            guard let value = Value(text) else { throw ChatSettingError("\(source) must be a whole number, got \(text)") }
            guard value >= minimum else {
                throw ChatSettingError(
                    minimum == 0 ? "\(source) must not be negative, got \(text)" : "\(source) must be at least \(minimum), got \(text)")
            }
            set(value, &settings)
        }
    }

    /// Free text (a host name, a path, a secret).
    static func text(
        _ option: String, _ variable: String, default defaultValue: String? = nil, summary: String, note: String? = nil, tail: String = ".",
        _ set: @escaping @Sendable (_ value: String, _ source: String, inout ChatSettings.Resolved) throws(ChatSettingError) -> Void
    ) -> ChatSetting {
        ChatSetting(option, variable, default: defaultValue, summary: summary, note: note, tail: tail) {
            values, source, settings throws(ChatSettingError) in
            try set(values.last ?? "", source, &settings)
        }
    }

    /// A repeatable option; its variable is a comma-separated list.
    static func list(
        _ option: String, _ variable: String, summary: String, tail: String = ".",
        _ set: @escaping @Sendable ([String], String, inout ChatSettings.Resolved) throws(ChatSettingError) -> Void
    ) -> ChatSetting {
        ChatSetting(option, variable, kind: .list, summary: summary, note: ", comma-separated", tail: tail, apply: set)
    }

    /// An on/off flag.
    static func flag(_ option: String, _ variable: String, summary: String, _ set: @escaping @Sendable (inout ChatSettings.Resolved) -> Void)
        -> ChatSetting
    {
        ChatSetting(option, variable, kind: .flag, summary: summary) { values, source, settings throws(ChatSettingError) in
            switch values.last {
            case "1": set(&settings)
            case "0": break
            default: throw ChatSettingError("\(source) must be 1 or 0, got \(values.last ?? "")")
            }
        }
    }
}
