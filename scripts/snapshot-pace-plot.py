"""Text plot of Debezium's pace through recorded snapshots (Tests/Fixtures/snapshot-pace/*.txt, written by
CDCTOP_SNAPSHOT_RECORD=DIR scripts/stack-e2e-snapshot or scripts/stack-e2e-mysql-cdc): rows per second of Debezium's
clock averaged over STEP seconds (default 5), the share of the table made so far, and a bar.

    python3 scripts/snapshot-pace-plot.py [--step N] FILE...
"""
import os
import sys


def load(path):
    recording = {"name": os.path.basename(path), "seconds": [], "load": None}
    for line in open(path):
        words = line.split()
        if line.startswith("#"):
            if len(words) >= 3 and words[1] in ("first_ms", "last_ms", "rows", "load"):
                recording[words[1]] = float(words[2]) if words[1] == "load" else int(words[2])
        elif len(words) == 2:
            recording["seconds"].append((int(words[0]), int(words[1])))
    return recording


def plot(recording, step):
    seconds, rows = recording["seconds"], recording["rows"]
    load = f", load {recording['load']:g}" if recording["load"] is not None else ""
    print(f"{recording['name']}: {rows} rows in {(recording['last_ms'] - recording['first_ms']) / 1000:.1f} s{load}")
    peak = max(sum(n for _, n in seconds[i:i + step]) / len(seconds[i:i + step]) for i in range(0, len(seconds), step))
    made = 0
    for i in range(0, len(seconds), step):
        chunk = seconds[i:i + step]
        made += sum(n for _, n in chunk)
        rate = sum(n for _, n in chunk) / len(chunk)
        print(f"  {chunk[0][0] - seconds[0][0]:4d} s {rate:7.0f} rows/s {made * 100 / rows:5.1f} % {'#' * round(40 * rate / peak)}")


if __name__ == "__main__":
    arguments = sys.argv[1:]
    step = 5
    if arguments[:1] == ["--step"]:
        step, arguments = int(arguments[1]), arguments[2:]
    if not arguments:
        sys.exit(__doc__.strip())
    for path in arguments:
        plot(load(path), step)
