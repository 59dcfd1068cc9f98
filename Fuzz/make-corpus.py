#!/usr/bin/env python3
"""Writes Fuzz/corpus/ from the real Debezium captures in Tests/Fixtures/debezium, in every form the
decoder reads: precise with schema (shop.*), precise without (shopnos.*), string (shopstr.*), double
(shopdbl.*), plus unwrapped (ExtractNewRecordState) records, tombstones, truncates, heartbeats, the
shop profile's column names, and the inputs of issue 10. Format: see FuzzEngine.swift. Idempotent.
Files it did not write (added by hand, e.g. mysql-schema-change) are kept: it removes only inputs that
its manifest, Fuzz/corpus/.generated, says an earlier run wrote and this one no longer writes."""
import json, os, pathlib

root = pathlib.Path(__file__).resolve().parent.parent
samples = root / "Tests/Fixtures/debezium"
out = root / "Fuzz/corpus"
out.mkdir(exist_ok=True)
# A dot file: scripts/fuzz copies Fuzz/corpus/* (no dot files), so the manifest never becomes an input.
manifest = out / ".generated"
generated_before = set(manifest.read_text().split()) if manifest.exists() else set()
written = set()

prefixes = ["shop", "shopnos", "shopstr", "shopdbl"]
tables = ["transaction", "transactiondetail", "product", "customer"]
HEARTBEAT, ROUTED, UNKNOWN = 16, 17, 18
SAMPLES, SHOP = b"\x00", b"\x01"

def topic_index(topic):
    p, _, t = topic.split(".")
    return prefixes.index(p) * 4 + tables.index(t)

def line(index, value, partition=0, duplicate=False):
    header = index | (0x40 if partition else 0) | (0x20 if duplicate else 0)
    if value is None:
        return bytes([header | 0x80])
    text = value if isinstance(value, (bytes, str)) else json.dumps(value, separators=(",", ":"))
    data = text.encode() if isinstance(text, str) else text
    assert b"\n" not in data
    return bytes([header]) + data

def write(name, profile, lines):
    (out / name).write_bytes(profile + b"\n".join(lines))
    written.add(name)

def unwrap(value):
    """ExtractNewRecordState with add.fields=op,table,source.ts_ms and delete.handling.mode=rewrite."""
    if value is None:
        return None
    payload = value.get("payload", value) if "schema" in value else value
    if payload is None:
        return None
    row = payload["after"] or payload["before"] or {}
    record = dict(row)
    record["__op"] = payload["op"]
    record["__table"] = payload["source"]["table"]
    record["__source_ts_ms"] = payload["source"]["ts_ms"]
    record["__deleted"] = "true" if payload["op"] == "d" else "false"
    return record

shop_columns = {
    "transaction": {"id": "transaction_id"},
    "transactiondetail": {"id": "detail_id", "qty": "quantity", "price": "unit_price"},
    "product": {"id": "product_id", "name": "category"},
}

def to_shop(value, table):
    """The sample's rows under the shop profile's column names (payload only, no schema)."""
    if value is None:
        return None
    payload = value["payload"] if "schema" in value else value
    if payload is None:
        return None
    renames = shop_columns.get(table, {})
    payload = dict(payload)
    for side in ("before", "after"):
        if payload.get(side):
            payload[side] = {renames.get(k, k): v for k, v in payload[side].items()}
    return payload

every = []
for prefix in prefixes:
    for table in tables:
        file = samples / f"{prefix}.public.{table}.jsonl"
        messages = [json.loads(l) for l in file.read_text().splitlines() if l.strip()]
        lines = [line(topic_index(m["topic"]), m["value"], m["partition"]) for m in messages]
        every += lines
        write(f"{prefix}-{table}", SAMPLES, lines)
        for i, (m, l) in enumerate(zip(messages, lines)):
            write(f"{prefix}-{table}-{i:02d}", SAMPLES, [l])
        write(f"{prefix}-{table}-unwrapped", SAMPLES,
              [line(topic_index(m["topic"]), unwrap(m["value"]), m["partition"]) for m in messages])
        if table in shop_columns and prefix != "shop":
            write(f"{prefix}-{table}-shop-profile", SHOP,
                  [line(topic_index(m["topic"]), to_shop(m["value"], table), m["partition"]) for m in messages])
        # Redelivery: the same messages again, as duplicates.
        write(f"{prefix}-{table}-redelivered", SAMPLES, lines + [l[:1] and bytes([l[0] | 0x20]) + l[1:] for l in lines])
write("all-samples", SAMPLES, every)

tx = topic_index("shopstr.public.transaction")
detail = topic_index("shopstr.public.transactiondetail")
def sale(amount, ts=1795347195732, op="c", key=1):
    return '{"before":null,"after":{"id":%d,"amount":%s},"source":{"ts_ms":%s,"table":"transaction"},"op":"%s"}' % (key, amount, ts, op)
extra = {
    "truncate": [line(tx, sale('"1.00"')), line(tx, '{"before":null,"after":null,"source":{"ts_ms":1795347195733,"table":"transaction"},"op":"t"}')],
    "heartbeat": [line(HEARTBEAT, '{"schema":{"type":"struct","fields":[{"type":"int64","field":"ts_ms"}]},"payload":{"ts_ms":1795347195000}}')],
    "heartbeat-bare": [line(HEARTBEAT, '{"ts_ms":1795347195000}')],
    "routed": [line(ROUTED, sale('"2.50"')), line(ROUTED, sale('"3.50"', key=2).replace('"table":"transaction"', '"table":"transactiondetail"'))],
    "unknown-table": [line(UNKNOWN, '{"before":null,"after":{"id":1},"source":{"ts_ms":1,"table":"unknown"},"op":"c"}')],
    "tombstone-only": [line(tx, None)],
    "variable-scale": [line(tx, sale('{"scale":3,"value":"AYbS"}'))],
    "unavailable": [line(tx, sale('"1.00"')), line(tx, sale('"__debezium_unavailable_value"', op="u"))],
    # Issue 10's crashes and corruptions.
    "issue10-ts-max": [line(tx, sale('"1.00"', ts=9223372036854775807))],
    "issue10-ts-min": [line(tx, sale('"1.00"', ts=-9223372036854775807))],
    "issue10-nan": [line(topic_index("shopnos.public.transaction"), sale('"NaN"'))],
    "issue10-qty-times-price": [line(detail, '{"before":null,"after":{"id":1,"transaction_id":1,"product_id":1,"qty":9223372036854775807,"price":"99999999999.99"},"source":{"ts_ms":1795347195732},"op":"c"}')],
    "issue10-two-huge-orders": [line(tx, sale('"99999999999999999999999999999.99"', key=1)), line(tx, sale('"99999999999999999999999999999.99"', key=2))],
    "issue10-two-max-orders": [line(tx, sale('"1000000000000000000.00"', key=1)), line(tx, sale('"1000000000000000000.00"', key=2))],
    # The replay's unescaper (Tests/PipelineTests/FuzzUnescaper.swift) also takes each value as JSON string
    # content: escapes across 8-byte words, surrogates (a pair, a lone one), bad hex, and a long shared prefix.
    "unescaper-escapes": [
        line(tx, r'abcdefg\"hijklmno\\\/\u00e9\ud83d\ude00\n\t"rest'), line(tx, r'x\ud83d"'), line(tx, r'\u12G4"'),
        line(tx, (r'{\"type\":\"struct\",' * 24) + r'\"a\"}"x'), line(tx, (r'{\"type\":\"struct\",' * 24) + r'\"b\"}"y'),
    ],
}
for name, lines in extra.items():
    write(name, SAMPLES, lines)
stale = sorted(generated_before - written)
for name in stale:
    (out / name).unlink(missing_ok=True)
manifest.write_text("".join(f"{name}\n" for name in sorted(written)))
kept = sorted(p.name for p in out.iterdir() if not p.name.startswith(".") and p.name not in written)
print(f"make-corpus: wrote {len(written)} inputs to {out.relative_to(root)}, removed {len(stale)} it no longer writes, "
      f"kept {len(kept)} it did not write" + (f" ({', '.join(kept)})" if kept else ""))
