#!/usr/bin/env python3
"""The typical Python consumer, reading the same recording files as `cdctop replay`.

What a data engineer usually writes for the job (adapted from the confluent-kafka peer in the
shared bench kit, with the Kafka consumer swapped for the recording file): one line per message,
`json.loads` of the kcat envelope, `json.loads` of the Debezium value into plain dicts, integer
cents, 30 s windows on the commit time, revenue per category through the product table.

  scripts/peer_consumer.py FILE… [--out result.json]     (FILE may be - for standard input)

Reads kcat -J lines ({"topic",…,"payload":"<value as a JSON string>"}) and kcat
'%t\\t%p\\t%o\\t%k\\t%s' tab lines. Prints the totals and a `STATS {…}` line with events/s and MB/s.
It is a throughput yardstick: it does not do cdctop's retractions by key, late-event handling or
snapshot accounting, so its windows may differ from cdctop's exact ones.
"""
import argparse, base64, json, sys, time

WINDOW_MS = 30_000
b64 = base64.b64decode
from_bytes = int.from_bytes


def money(cents: int) -> str:
    s = "-" if cents < 0 else ""
    c = abs(cents)
    return f"{s}{c // 100}.{c % 100:02d}"


def make_aggregator():
    cnt, rev, det, prod_cat = {}, {}, {}, {}
    loads = json.loads

    def dec(s):  # Kafka Connect Decimal, scale 2 -> integer cents
        return from_bytes(b64(s), "big", signed=True)

    def handle(topic, value):
        if not value:                      # tombstone
            return
        try:
            p = loads(value)["payload"]
        except (ValueError, KeyError, TypeError):
            return                         # malformed message: skip it, like a consumer that logs and moves on
        op = p["op"]
        ts = p["source"]["ts_ms"]
        ws = ts - ts % WINDOW_MS
        if topic.endswith(".transactiondetail"):
            a, b = p["after"], p["before"]
            if a is not None:
                k = (ws, a["product_id"])
                det[k] = det.get(k, 0) + a["quantity"] * dec(a["unit_price"])
            if b is not None:
                k = (ws, b["product_id"])
                det[k] = det.get(k, 0) - b["quantity"] * dec(b["unit_price"])
        elif topic.endswith(".transaction"):
            if op == "c" or op == "r":
                cnt[ws] = cnt.get(ws, 0) + 1
                rev[ws] = rev.get(ws, 0) + dec(p["after"]["amount"])
            elif op == "u":
                rev[ws] = rev.get(ws, 0) + dec(p["after"]["amount"]) - dec(p["before"]["amount"])
            elif op == "d":
                cnt[ws] = cnt.get(ws, 0) - 1
                rev[ws] = rev.get(ws, 0) - dec(p["before"]["amount"])
        elif topic.endswith(".product"):
            a = p["after"]
            if a is not None:
                prod_cat[a["product_id"]] = a["category"]

    return handle, (cnt, rev, det, prod_cat)


def build_result(cnt, rev, det, prod_cat, stats):
    cats_by_w = {}
    for (ws, pid), v in det.items():
        d = cats_by_w.setdefault(ws, {})
        c = prod_cat.get(pid, "?")
        d[c] = d.get(c, 0) + v
    wins, tn, tr, tc = [], 0, 0, {}
    for ws in sorted(set(cnt) | set(rev) | set(cats_by_w)):
        n, r, cats = cnt.get(ws, 0), rev.get(ws, 0), cats_by_w.get(ws, {})
        tn += n; tr += r
        for c, v in cats.items():
            tc[c] = tc.get(c, 0) + v
        wins.append({"window_start_ms": ws, "tx_count": n, "revenue": money(r),
                     "category_revenue": {c: money(v) for c, v in sorted(cats.items())}})
    return {"window_ms": WINDOW_MS, "messages": stats["messages"], "windows": wins,
            "totals": {"tx_count": tn, "revenue": money(tr),
                       "category_revenue": {c: money(v) for c, v in sorted(tc.items())}},
            "stats": stats}


def read_file(f, handle):
    """One message per line: a kcat -J JSON envelope, or kcat's tab form. Returns (messages, key+value bytes)."""
    loads = json.loads
    n = nbytes = 0
    for line in f:
        if line[:1] == b"{":
            m = loads(line)
            topic, k, v = m["topic"], m.get("key"), m.get("payload", m.get("value"))
            if v is not None and not isinstance(v, str):
                v = json.dumps(v)          # the samples' form: the value embedded as JSON
            if k is not None and not isinstance(k, str):
                k = json.dumps(k)
        else:
            line = line.rstrip(b"\r\n")
            if not line:
                continue
            topic, _p, _o, k, v = line.split(b"\t", 4)
            topic = topic.decode()
        n += 1
        nbytes += (len(k) if k else 0) + (len(v) if v else 0)   # keys+values, as cdctop counts
        handle(topic, v)
    return n, nbytes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+", help="recording files (kcat -J or tab form); - for standard input")
    ap.add_argument("--out")
    a = ap.parse_args()
    t0 = time.perf_counter()
    c0 = time.process_time()
    handle, state = make_aggregator()
    n = nbytes = read = 0
    for path in a.files:
        f = sys.stdin.buffer if path == "-" else open(path, "rb", buffering=1 << 20)
        with f:
            fn, fb = read_file(f, handle)
            n += fn; nbytes += fb
            read += f.tell() if path != "-" else 0
    t1 = time.perf_counter()
    cpu = time.process_time() - c0
    wall = t1 - t0
    res = build_result(*state, stats={
        "peer": "peer_consumer-files", "messages": n, "key_value_bytes": nbytes, "file_bytes": read,
        "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
        "events_per_s": round(n / wall), "key_value_mb_per_s": round(nbytes / 1e6 / wall, 1),
        "file_mb_per_s": round(read / 1e6 / wall, 1)})
    if a.out:
        with open(a.out, "w") as out:
            json.dump(res, out, indent=1)
    print(json.dumps(res["totals"]))
    print(f"STATS {json.dumps(res['stats'])}")


if __name__ == "__main__":
    main()
