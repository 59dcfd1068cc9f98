import ArgumentParser
import Foundation
import Metrics

/// `--config FILE`: every command-line option of every command from a TOML file, the command line on top.
///
/// ```toml
/// # keys before any section apply to every command that has the option
/// brokers = "kafka-1.example:9093"
/// F = "/etc/cdctop/kafka.properties"        # -F; one-letter keys are short options
/// [watch]                                   # only for `cdctop watch`
/// topics = "^shop\\.public\\..*"
/// redis = "redis://127.0.0.1:6379/0"
/// redis-password-file = "/etc/cdctop/redis.password"
/// json = true                               # a flag: true gives it, false leaves it out
/// X = ["session.timeout.ms=6000"]           # a repeatable option: one value each
/// [warehouse.init]                          # a nested command
/// ```
///
/// Without `--config` the file is `$XDG_CONFIG_HOME/cdctop/config.toml` (else `~/.config/cdctop/config.toml`)
/// when it exists; `--no-config` reads none. The file's options go in front of the command line's, so for
/// an option taking one value the command line wins, a repeatable one (`-X`) gets both (later `-X` keys
/// win), and a flag set in the file stays set. Keys are long option names (`redis-prefix` or `redis_prefix`).
enum ConfigFile {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The arguments to parse: `arguments` (without the program name) with `--config FILE`/`--no-config`
    /// taken out and the file's options put right after the (sub)command names.
    static func expand(
        _ arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment,
        commands givenCommands: CommandTree? = nil
    ) throws(Failure) -> [String] {
        var rest: [String] = []
        var explicitPath: String?
        var skip = false
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" {
                rest += arguments[index...]
                break
            }
            if argument == "--no-config" {
                skip = true
            } else if argument == "--config" {
                guard index + 1 < arguments.count else {
                    throw Failure(description: "--config needs a file, e.g. --config ~/.config/cdctop/config.toml")
                }
                explicitPath = arguments[index + 1]
                index += 1
            } else if argument.hasPrefix("--config=") {
                explicitPath = String(argument.dropFirst("--config=".count))
            } else {
                rest.append(argument)
            }
            index += 1
        }
        if skip && explicitPath == nil { return rest }
        let path: String
        if let explicitPath {
            path = explicitPath
        } else {
            guard let defaultPath = defaultPath(environment: environment),
                FileManager.default.fileExists(atPath: defaultPath)
            else { return rest }
            path = defaultPath
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(description: "cannot read the config file \(path) (--config): no such file or no permission")
        }
        let toml: SimpleTOML
        do { toml = try SimpleTOML(text: String(decoding: data, as: UTF8.self), file: path) } catch {
            throw Failure(description: "config file \(error)")
        }
        // Built only when a file is read: it renders every command's help.
        let commands = givenCommands ?? .cdctop
        // The (sub)command path: the leading arguments that name commands.
        var node = commands
        var path_: [String] = []
        var split = 0
        while split < rest.count, let child = node.subcommands[rest[split]] {
            node = child
            path_.append(rest[split])
            split += 1
        }
        let sectionName = path_.joined(separator: ".")
        var injected: [String] = []
        for (section, entries) in toml.sections.sorted(by: { $0.key < $1.key }) {
            let applies = section.isEmpty || section == sectionName
            if !section.isEmpty && !commands.hasPath(section) {
                throw Failure(
                    description:
                        "\(path):\(toml.sectionLines[section] ?? 0): [\(section)] is not a cdctop command (sections name commands: [watch], [demo], [warehouse.init], …)"
                )
            }
            for (key, entry) in entries.sorted(by: { $0.value.line < $1.value.line }) {
                let name = key.count == 1 ? key : key.replacingOccurrences(of: "_", with: "-")
                if name == "config" || name == "no-config" {
                    throw Failure(
                        description: "\(path):\(entry.line): '\(key)' cannot be set in the config file itself")
                }
                // A top-level key must be an option of some command; a section's key an option of that command.
                let known =
                    section.isEmpty ? commands.anyCommandHas(name) : (commands.node(section)?.options[name] != nil)
                guard known else {
                    throw Failure(
                        description:
                            "\(path):\(entry.line): '\(key)' is not an option of \(section.isEmpty ? "any cdctop command" : "cdctop \(section.replacingOccurrences(of: ".", with: " "))") (see --help)"
                    )
                }
                guard applies, let kind = node.options[name] else { continue }
                let flag = name.count == 1 ? "-\(name)" : "--\(name)"
                switch (kind, entry.value) {
                case (.flag, .bool(let on)):
                    if on { injected.append(flag) }
                case (.flag, _):
                    throw Failure(
                        description: "\(path):\(entry.line): '\(key)' is a flag: write \(key) = true or false")
                case (.option(let repeating), .strings(let values)):
                    guard repeating || values.count <= 1 else {
                        throw Failure(description: "\(path):\(entry.line): '\(key)' takes one value, not a list")
                    }
                    for value in values { injected += [flag, value] }
                case (.option, .string(let value)): injected += [flag, value]
                case (.option, .integer(let value)): injected += [flag, String(value)]
                case (.option, .bool(let value)): injected += [flag, String(value)]
                }
            }
        }
        return Array(rest[..<split]) + injected + Array(rest[split...])
    }

    /// `$XDG_CONFIG_HOME/cdctop/config.toml`, else `$HOME/.config/cdctop/config.toml`.
    static func defaultPath(environment: [String: String]) -> String? {
        if let xdg = environment["XDG_CONFIG_HOME"], xdg.hasPrefix("/") { return xdg + "/cdctop/config.toml" }
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        return home + "/.config/cdctop/config.toml"
    }
}

/// The commands and their options, read from swift-argument-parser's own description of `cdctop`
/// (the `--experimental-dump-help` JSON), so the config file knows exactly what each command accepts.
struct CommandTree: Sendable {
    enum OptionKind: Sendable, Equatable {
        case flag
        case option(repeating: Bool)
    }
    var options: [String: OptionKind] = [:]
    var subcommands: [String: CommandTree] = [:]

    static let cdctop: CommandTree = {
        guard let data = CDCTop._dumpHelp().data(using: .utf8),
            let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let command = root["command"] as? [String: Any]
        else { return CommandTree() }
        return CommandTree(command)
    }()

    init() {}

    init(_ command: [String: Any]) {
        for argument in command["arguments"] as? [[String: Any]] ?? [] {
            let kind = argument["kind"] as? String
            guard kind == "option" || kind == "flag" else { continue }
            let optionKind: OptionKind =
                kind == "flag" ? .flag : .option(repeating: argument["isRepeating"] as? Bool ?? false)
            for name in argument["names"] as? [[String: Any]] ?? [] {
                guard let text = name["name"] as? String, text != "help", text != "version" else { continue }
                options[text] = optionKind
            }
        }
        for sub in command["subcommands"] as? [[String: Any]] ?? [] {
            if let name = sub["commandName"] as? String { subcommands[name] = CommandTree(sub) }
        }
    }

    func node(_ dottedPath: String) -> CommandTree? {
        var node = self
        for part in dottedPath.split(separator: ".") {
            guard let next = node.subcommands[String(part)] else { return nil }
            node = next
        }
        return node
    }

    func hasPath(_ dottedPath: String) -> Bool { node(dottedPath) != nil }

    func anyCommandHas(_ option: String) -> Bool {
        options[option] != nil || subcommands.values.contains { $0.anyCommandHas(option) }
    }
}
