extension Alert {
    /// Labels Alertmanager groups, routes, silences and de-duplicates by: a fixed, small set
    /// (`alertname`, `severity`, `pipeline`, `service`, and `connector`/`topic`/`table` where the rule has one).
    package func labels(pipeline: String) -> [(String, String)] {
        var labels = [
            ("alertname", key.kind.rawValue), ("pipeline", pipeline), ("service", "cdctop"),
            ("severity", key.kind.severity),
        ]
        if let name = key.kind.subjectLabel { labels.append((name, key.subject)) }
        return labels.sorted { $0.0 < $1.0 }
    }

    /// One alert of Alertmanager's v2 API (`POST /api/v2/alerts` takes an array of these):
    /// `{"labels":{…},"annotations":{"summary"},"startsAt"[,"endsAt"][,"generatorURL"]}`. A resolved alert
    /// carries the time it resolved. A firing one carries `firingEndsAtMs` when given (the sender passes
    /// now + 3 × its resend interval, as Prometheus does: without endsAt Alertmanager would resolve it
    /// by itself after its resolve_timeout, whatever the resend interval). `status` ("firing"/"resolved")
    /// is added for `--alert-exec` readers only: Alertmanager's schema has no such field.
    package func json(
        pipeline: String, generatorURL: String? = nil, withStatus: Bool = false, firingEndsAtMs: Int64? = nil
    ) -> String {
        var out = "{"
        if withStatus { out += "\"status\":\"\(phase == .resolved ? "resolved" : "firing")\"," }
        out += "\"labels\":{"
        for (i, (name, value)) in labels(pipeline: pipeline).enumerated() {
            if i > 0 { out += "," }
            JSONText.appendQuoted(name, to: &out)
            out += ":"
            JSONText.appendQuoted(value, to: &out)
        }
        out += "},\"annotations\":{\"summary\":"
        JSONText.appendQuoted(summary, to: &out)
        out += "},\"startsAt\":\"\(TimeText.iso8601(ms: firedAtMs > 0 ? firedAtMs : activeSinceMs))\""
        if resolvedAtMs > 0 {
            out += ",\"endsAt\":\"\(TimeText.iso8601(ms: resolvedAtMs))\""
        } else if phase == .firing, let firingEndsAtMs {
            out += ",\"endsAt\":\"\(TimeText.iso8601(ms: firingEndsAtMs))\""
        }
        if let generatorURL {
            out += ",\"generatorURL\":"
            JSONText.appendQuoted(generatorURL, to: &out)
        }
        return out + "}"
    }
}

extension AlertPanel {
    /// The headless `--json` field: `{"firing":n,"active":[{"alertname","subject","state","since_ms",
    /// "fired_ms","summary"}],"history":[{"alertname","subject","fired_ms","resolved_ms","duration_ms","summary"}]}`.
    package func json(historyLimit: Int = 10) -> String {
        func common(_ a: Alert, into out: inout String) {
            out += "{\"alertname\":"
            JSONText.appendQuoted(a.key.kind.rawValue, to: &out)
            out += ",\"subject\":"
            JSONText.appendQuoted(a.key.subject, to: &out)
            out += ",\"state\":\"\(a.phase.rawValue)\",\"since_ms\":\(a.activeSinceMs),\"fired_ms\":\(a.firedAtMs)"
        }
        var out = "{\"firing\":\(firingCount),\"active\":["
        for (i, a) in active.enumerated() {
            if i > 0 { out += "," }
            common(a, into: &out)
            out += ",\"summary\":"
            JSONText.appendQuoted(a.summary, to: &out)
            out += "}"
        }
        out += "],\"history\":["
        for (i, a) in history.suffix(historyLimit).enumerated() {
            if i > 0 { out += "," }
            common(a, into: &out)
            out +=
                ",\"resolved_ms\":\(a.resolvedAtMs),\"duration_ms\":\(a.durationMs(nowMs: a.resolvedAtMs)),\"summary\":"
            JSONText.appendQuoted(a.summary, to: &out)
            out += "}"
        }
        return out + "]}"
    }
}
