import ArgumentParser
import Foundation
import Pipeline

/// Output and integration options shared by `watch` and `demo`.
struct LiveOptions: ParsableArguments {
    @Flag(help: "No dashboard: print a summary line (or, with --json, one result object) per snapshot.")
    var headless = false

    @Flag(help: "With --headless: print one JSON result object per line at each snapshot.")
    var json = false

    @Option(help: "With --headless: milliseconds between printed snapshots.")
    var interval: Int = 1000

    @Option(help: "Dashboard theme: dark, light, high-contrast, mono, or a theme file.")
    var theme: String = "dark"

    @Option(
        name: .customLong("themes-dir"),
        help: ArgumentHelp(
            "Folder of .theme files (default: themes/ next to the executable, else the built-ins).", valueName: "dir"))
    var themesDir: String?

    @Option(
        help: ArgumentHelp(
            "Append a timestamped log here: service state changes, errors verbatim, retries, checkpoints, alerts, malformed messages, schema changes, lag caught up/behind (and librdkafka's own messages while the dashboard runs).",
            valueName: "file"))
    var log: String?

    @Option(
        help:
            "Mirror the KPIs to Redis, e.g. redis://127.0.0.1:6379/0 or redis://USER:@host:6379/0 for an ACL user (toggle with m). Give the password with --redis-password-file or $REDISCLI_AUTH, not in the URL (ps shows the command line)."
    )
    var redis: String?

    @Option(
        name: .customLong("redis-password-file"),
        help: ArgumentHelp(
            "File whose first line is the Redis password (default: $REDISCLI_AUTH, as redis-cli reads it); used when the --redis URL has none.",
            valueName: "file"))
    var redisPasswordFile: String?

    @Option(help: "Redis key prefix (default cdctop:<pipeline>).")
    var redisPrefix: String?

    @Option(
        help:
            "Name of this pipeline in Redis keys, warehouse rows and the default --state directory (default: the profile's name, e.g. shop)."
    )
    var pipeline: String?

    @Option(help: "PostgreSQL warehouse URL: closed windows are written there and History reads it.")
    var warehouse: String?

    @Option(
        help:
            "Source PostgreSQL URL (the OLTP database): running totals are reconciled against it, its logical replication slots are watched (retained WAL, active, idle since), and the row estimates of tables being snapshotted come from it (view 9)."
    )
    var source: String?

    @Option(
        help: ArgumentHelp(
            "Serve Prometheus metrics at http://HOST:PORT/metrics (and /healthz) from a thread of its own, e.g. 127.0.0.1:9464 (https with --web-config's tls_server_config).",
            valueName: "host:port"))
    var metrics: String?

    @Option(
        name: .customLong("web-config"),
        help: ArgumentHelp(
            "Prometheus exporter web config for --metrics: basic_auth_users with bcrypt hashes, and tls_server_config (cert_file, key_file, client_ca_file, client_auth_type, min_version, max_version) for https; certificate files are reloaded when they change.",
            valueName: "file"))
    var webConfig: String?

    @Option(
        help: ArgumentHelp(
            "Alertmanager base URL (e.g. http://127.0.0.1:9093): firing and resolved alerts are posted to its v2 API; rules and thresholds in the profile's [alerts].",
            valueName: "url"))
    var alertmanager: String?

    @Option(
        name: .customLong("alert-exec"),
        help: ArgumentHelp(
            "Run this shell command once per fired or resolved alert, with the alert as JSON on stdin (at most 4 at a time).",
            valueName: "cmd"))
    var alertExec: String?

    @OptionGroup var alertmanagerHTTP: AlertmanagerHTTPOptions

    func validate() throws {
        if let alertExec, alertExec.trimmingCharacters(in: .whitespaces).isEmpty {
            throw ValidationError("--alert-exec needs a command, e.g. --alert-exec 'cat >> alerts.jsonl'")
        }
        try alertmanagerHTTP.validate(url: alertmanager)
        if json && !headless { throw ValidationError("--json needs --headless (the dashboard is interactive)") }
        if interval < 50 { throw ValidationError("--interval must be at least 50 ms") }
        if let metrics { do { _ = try MetricsServer.parse(metrics) } catch { throw ValidationError("\(error)") } }
        if let webConfig {
            guard metrics != nil else { throw ValidationError("--web-config needs --metrics HOST:PORT") }
            do { _ = try MetricsWebConfig.load(path: webConfig) } catch { throw ValidationError("\(error)") }
        }
    }
}
