/// `--transactions complete`: what the transaction buffer holds back from the KPIs, and what it let go.
/// Part of every snapshot (nil with the default `--transactions as-read`).
package struct TransactionStatus: Sendable, Hashable {
    /// Transactions seen (a BEGIN, an END or a change) and not yet released.
    package var open: Int = 0
    /// Wall time since the oldest open transaction was first seen (ms); 0 with none open.
    package var oldestAgeMs: Int64 = 0
    /// Change events held back (they are in no KPI yet).
    package var bufferedEvents: Int = 0
    /// Transactions released whole: their END arrived and every table cdctop reads had all its events.
    package var completed: Int64 = 0
    /// Transactions released unfinished after `timeoutMs` (a lost END, events of a table filtered out).
    package var timedOut: Int64 = 0
    /// Transactions released unfinished because the buffer held `maxBufferedEvents`.
    package var evicted: Int64 = 0
    /// Change events released (whole or not) into the KPIs.
    package var releasedEvents: Int64 = 0
    /// Change events with no transaction block (snapshot rows): applied at once.
    package var passedThrough: Int64 = 0
    /// Of those, streamed changes (not snapshot rows) since this run started: their source sends no
    /// transaction metadata (`provide.transaction.metadata` off, or MariaDB read by Debezium's MySQL
    /// connector, which never sees MariaDB's transaction starts), so they were applied as read, not whole.
    package var streamedWithoutTransaction: Int64 = 0
    /// Change events of a transaction already released (after its timeout): applied at once.
    package var lateEvents: Int64 = 0
    /// BEGIN and END messages read from `<prefix>.transaction`.
    package var begins: Int64 = 0
    package var ends: Int64 = 0
    /// The limits in force.
    package var timeoutMs: Int64 = 0
    package var maxBufferedEvents: Int = 0

    package init() {}

    /// The share of the transactional change events read so far that no KPI includes yet (0…1).
    package var waitingShare: Double {
        let total = Double(bufferedEvents) + Double(releasedEvents)
        return total > 0 ? Double(bufferedEvents) / total : 0
    }

    /// Released without being whole (timed out or evicted).
    package var incomplete: Int64 { timedOut + evicted }

    /// "3 open (oldest 1.2s, 41 events, 0.3% of events waiting) · 1,204 whole · 0 timed out"
    package var summary: String {
        var text = "\(open) open"
        if open > 0 {
            text +=
                " (oldest \(TransactionStatus.seconds(oldestAgeMs)), \(bufferedEvents) events, "
                + TransactionStatus.percent(waitingShare) + " of events waiting)"
        }
        text += " · \(completed) whole · \(timedOut) timed out"
        if evicted > 0 { text += " · \(evicted) evicted (buffer full)" }
        if lateEvents > 0 { text += " · \(lateEvents) late events" }
        if streamedWithoutTransaction > 0 {
            text += " · \(streamedWithoutTransaction) changes without transaction metadata, applied as read"
        }
        return text
    }

    /// `{"open","oldest_age_ms","buffered_events","waiting_share","completed","timed_out","evicted",
    /// "released_events","passed_through","streamed_without_transaction","late_events","begins","ends","timeout_ms",
    /// "max_buffered_events"}`
    package func json() -> String {
        let share = (waitingShare * 1_000_000).rounded() / 1_000_000
        return "{\"open\":\(open),\"oldest_age_ms\":\(oldestAgeMs),\"buffered_events\":\(bufferedEvents)"
            + ",\"waiting_share\":\(share),\"completed\":\(completed),\"timed_out\":\(timedOut),\"evicted\":\(evicted)"
            + ",\"released_events\":\(releasedEvents),\"passed_through\":\(passedThrough)"
            + ",\"streamed_without_transaction\":\(streamedWithoutTransaction),\"late_events\":\(lateEvents)"
            + ",\"begins\":\(begins),\"ends\":\(ends),\"timeout_ms\":\(timeoutMs),\"max_buffered_events\":\(maxBufferedEvents)}"
    }

    static func seconds(_ ms: Int64) -> String {
        ms < 10_000 ? String(Double(ms / 100) / 10) + "s" : String(ms / 1000) + "s"
    }

    static func percent(_ share: Double) -> String {
        let tenths = Int((share * 1000).rounded())
        return "\(tenths / 10).\(tenths % 10)%"
    }
}
