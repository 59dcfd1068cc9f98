import Foundation
import Testing

@testable import App

/// `--config FILE`: options from TOML, the command line on top; and `-F`/`$CDCTOP_KAFKA_CONFIG` for librdkafka.
@Suite("Config file and -F")
struct ConfigFileTests {
    private func write(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "cdctop-config-\(UUID().uuidString.prefix(8)).toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("the file's options go after the command names; the command line overrides one-value options; -X adds up")
    func overrides() throws {
        let file = try write(
            """
            # for every command that has the option
            brokers = "file-broker:9092"
            [watch]
            topics = "from-file"
            redis_prefix = "cdctop:file"
            headless = true
            X = ["session.timeout.ms=6000", "client.id=from-file"]
            [demo]
            seconds = 5
            """)
        defer { unlink(file) }
        let expanded = try ConfigFile.expand(
            ["--config", file, "watch", "--brokers", "cli-broker:9092", "-X", "client.id=cli"],
            environment: [:])
        #expect(expanded.first == "watch")
        #expect(
            !expanded.contains("--config") && !expanded.contains("--seconds"), "[demo] is not for watch: \(expanded)")
        let watch = try WatchCommand.parse(Array(expanded.dropFirst()))
        #expect(watch.brokers == "cli-broker:9092", "the command line wins")
        #expect(watch.topics == "from-file")
        #expect(watch.live.redisPrefix == "cdctop:file")
        #expect(watch.live.headless)
        let properties = try watch.kafka.dictionary()
        #expect(properties["session.timeout.ms"] == "6000" && properties["client.id"] == "cli")
    }

    @Test("mistakes name the file and line; the default file is found under XDG_CONFIG_HOME; --no-config skips it")
    func mistakesAndDefaults() throws {
        let unknown = try write("[watch]\nbrokerz = \"x\"\n")
        defer { unlink(unknown) }
        #expect(throws: ConfigFile.Failure.self) {
            try ConfigFile.expand(["--config", unknown, "watch"], environment: [:])
        }
        do { _ = try ConfigFile.expand(["--config", unknown, "watch"], environment: [:]) } catch {
            #expect(error.description.contains("\(unknown):2") && error.description.contains("brokerz"))
        }
        let badSection = try write("[wach]\nbrokers = \"x\"\n")
        defer { unlink(badSection) }
        #expect(throws: ConfigFile.Failure.self) {
            try ConfigFile.expand(["--config", badSection, "watch"], environment: [:])
        }
        #expect(throws: ConfigFile.Failure.self) {
            try ConfigFile.expand(["--config", "/nonexistent/config.toml", "watch"], environment: [:])
        }

        let home = NSTemporaryDirectory() + "cdctop-xdg-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: home + "/cdctop", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: home) }
        try "[watch]\ntopics = \"xdg\"\n".write(toFile: home + "/cdctop/config.toml", atomically: true, encoding: .utf8)
        #expect(
            try ConfigFile.expand(["watch"], environment: ["XDG_CONFIG_HOME": home]) == ["watch", "--topics", "xdg"])
        #expect(try ConfigFile.expand(["--no-config", "watch"], environment: ["XDG_CONFIG_HOME": home]) == ["watch"])
        #expect(
            try ConfigFile.expand(["watch"], environment: ["XDG_CONFIG_HOME": home + "/none", "HOME": home + "/none"])
                == ["watch"])
    }

    @Test("-F reads kcat's format; -X overrides it")
    func kafkaPropertiesFile() throws {
        let file = try write("# kcat format\nsecurity.protocol=SSL\nsasl.password = s3cr3t\nclient.id=file\n")
        defer { unlink(file) }
        let options = try KafkaPropertyOptions.parse(["-F", file, "-X", "client.id=cli"])
        #expect(
            try options.dictionary() == ["security.protocol": "SSL", "sasl.password": "s3cr3t", "client.id": "cli"])
    }
}
