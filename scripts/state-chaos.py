#!/usr/bin/env python3
"""The checks of scripts/state-chaos (read its header first). Run it through scripts/state-chaos, which
provides the broker, PostgreSQL and the cdctop binary in the environment:
CDCTOP_BIN, CDCTOP_TEST_BROKERS, CDCTOP_TEST_PG, CDCTOP_RDKAFKA_216 (and CDCTOP_TANSU).

Only the Python standard library: messages are produced through librdkafka 2.16 itself (ctypes), so the
exact bytes, partitions and order of the generator's recording reach the broker, tombstones included."""
import ctypes
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ["CDCTOP_BIN"]
BROKERS = os.environ["CDCTOP_TEST_BROKERS"]
PG = os.environ.get("CDCTOP_TEST_PG", "")
LIB = os.environ["CDCTOP_RDKAFKA_216"]
TANSU = os.environ.get("CDCTOP_TANSU", os.path.join(ROOT, ".run", "bin", "tansu"))

MESSAGES = int(os.environ.get("CDCTOP_CHAOS_MESSAGES", "50000"))
SEED = int(os.environ.get("CDCTOP_CHAOS_SEED", "11"))
KILLS = max(3, int(os.environ.get("CDCTOP_CHAOS_KILLS", "4")))
MALFORMED_EVERY = int(os.environ.get("CDCTOP_CHAOS_MALFORMED_EVERY", "997"))
NEW_TOPIC_SECONDS = float(os.environ.get("CDCTOP_CHAOS_NEW_TOPIC_SECONDS", "10"))
RUN_SECONDS = float(os.environ.get("CDCTOP_CHAOS_RUN_SECONDS", "120"))
CHECKPOINT_INTERVAL = os.environ.get("CDCTOP_CHAOS_CHECKPOINT_INTERVAL", "1")
ALL_CHECKS = ["restart", "restart-late-dimension", "corrupt", "viewers", "lock", "regex", "chaos"]
CHECKS = [c.strip() for c in os.environ.get("CDCTOP_CHAOS_CHECKS", ",".join(ALL_CHECKS)).split(",") if c.strip()]
RANDOM_SEED = int(os.environ.get("CDCTOP_CHAOS_RANDOM_SEED") or random.SystemRandom().randrange(1, 1 << 31))
# 2026-11-22T11:32:59Z: one second before a 30 s window boundary, so a 50k workload (about 77 s of
# simulated commit time) closes three windows (final windows are what the warehouse receives).
START_MS = int(os.environ.get("CDCTOP_CHAOS_START_MS", "1795347179000"))
WORK = os.path.join(ROOT, ".run", "state-chaos")
CACHE = os.path.join(ROOT, ".run", "state-chaos-workload")
FIELDS = ("window_ms", "messages", "windows", "totals", "malformed", "dropped")
TABLES = ("customer", "product", "transaction", "transactiondetail")

rng = random.Random(RANDOM_SEED)
run_id = "sc%x" % (int(time.time() * 10) % 0xFFFFFF)
started = time.time()
results = []          # (check, ok, reason)
children = []         # every Proc started, stopped on every exit path
env = dict(os.environ, LD_LIBRARY_PATH=LIB + (":" + os.environ["LD_LIBRARY_PATH"] if os.environ.get("LD_LIBRARY_PATH") else ""))


def log(message):
    print(f"[{time.time() - started:6.1f}s] {message}", flush=True)


def record(check, ok, reason):
    results.append((check, ok, reason))
    print(f"{'PASS' if ok else 'FAIL'} {check}: {reason}", flush=True)


class CheckFailed(Exception):
    pass


# --- processes -----------------------------------------------------------------------------------

class Proc:
    """A cdctop process: stdout and stderr go to files under WORK, so nothing blocks on a pipe."""

    def __init__(self, name, args):
        self.name = name
        self.args = args
        self.out_path = os.path.join(WORK, f"{name}.out")
        self.err_path = os.path.join(WORK, f"{name}.err")
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.popen = subprocess.Popen(args, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
        self.pid = self.popen.pid
        self.started = time.time()
        children.append(self)

    def alive(self):
        return self.popen.poll() is None

    @property
    def returncode(self):
        return self.popen.poll()

    def wait(self, seconds):
        """The exit code, or None when still running after `seconds`."""
        try:
            return self.popen.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return None

    def kill9(self):
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
        return self.popen.wait(timeout=10)

    def stop(self, seconds=15):
        """SIGTERM (a clean exit), SIGKILL after `seconds`; returns (exit code, True if it needed SIGKILL)."""
        if not self.alive():
            return self.popen.returncode, False
        os.kill(self.pid, signal.SIGTERM)
        code = self.wait(seconds)
        if code is not None:
            return code, False
        return self.kill9(), True

    def stdout(self):
        with open(self.out_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stderr(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stderr_tail(self, lines=6):
        text = self.stderr().strip().splitlines()
        return " | ".join(text[-lines:]) if text else "(no stderr)"

    def last_json(self):
        """The last complete JSON object printed (the file may end in a half-written line)."""
        for line in reversed(self.stdout().splitlines()):
            line = line.strip()
            if line.startswith("{"):
                try:
                    return json.loads(line)
                except ValueError:
                    continue
        return None


def stop_children():
    for proc in children:
        if proc.alive():
            code, killed = proc.stop(seconds=5)
            log(f"stopped {proc.name} (pid {proc.pid}): exit {code}{' after SIGKILL' if killed else ''}")


def on_signal(number, _frame):
    raise SystemExit(128 + number)


# --- the workload --------------------------------------------------------------------------------

def cdctop(*args, seconds=300):
    done = subprocess.run([BIN, *args], env=env, capture_output=True, text=True, timeout=seconds)
    if done.returncode != 0:
        raise CheckFailed(f"cdctop {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return done.stdout


def load_recording(path, prefix):
    """[(topic suffix such as '.public.transaction', partition, key bytes|None, value bytes|None)]."""
    records = []
    with open(path, "rb") as f:
        for line in f:
            o = json.loads(line)
            topic = o["topic"]
            if not topic.startswith(prefix + "."):
                raise CheckFailed(f"unexpected topic {topic} in {path}")
            records.append((topic[len(prefix):], o["partition"],
                            None if o["key"] is None else o["key"].encode("utf-8"),
                            None if o["payload"] is None else o["payload"].encode("utf-8")))
    return records


class Producer:
    """A librdkafka 2.16 producer through ctypes: explicit partition, exact bytes, null value = tombstone,
    idempotent (so retries never reorder a partition)."""
    DeliveryCallback = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)

    def __init__(self, brokers):
        lib = ctypes.CDLL(os.path.join(LIB, "librdkafka.so.1"))
        lib.rd_kafka_conf_new.restype = ctypes.c_void_p
        lib.rd_kafka_conf_set.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
        lib.rd_kafka_conf_set_dr_msg_cb.argtypes = [ctypes.c_void_p, Producer.DeliveryCallback]
        lib.rd_kafka_new.restype = ctypes.c_void_p
        lib.rd_kafka_new.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
        lib.rd_kafka_topic_new.restype = ctypes.c_void_p
        lib.rd_kafka_topic_new.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
        lib.rd_kafka_topic_destroy.argtypes = [ctypes.c_void_p]
        lib.rd_kafka_produce.argtypes = [ctypes.c_void_p, ctypes.c_int32, ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t,
                                         ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p]
        lib.rd_kafka_last_error.restype = ctypes.c_int
        lib.rd_kafka_err2str.restype = ctypes.c_char_p
        lib.rd_kafka_err2str.argtypes = [ctypes.c_int]
        lib.rd_kafka_poll.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.rd_kafka_flush.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.rd_kafka_outq_len.argtypes = [ctypes.c_void_p]
        lib.rd_kafka_destroy.argtypes = [ctypes.c_void_p]
        self.lib = lib
        self.failed = 0
        self.last_error = ""
        self.lock = threading.Lock()
        errstr = ctypes.create_string_buffer(512)
        conf = lib.rd_kafka_conf_new()
        for key, value in {"bootstrap.servers": brokers, "enable.idempotence": "true", "linger.ms": "5",
                           "queue.buffering.max.messages": "500000", "message.timeout.ms": "60000"}.items():
            if lib.rd_kafka_conf_set(conf, key.encode(), value.encode(), errstr, 512) != 0:
                raise CheckFailed(f"librdkafka: {key}={value}: {errstr.value.decode()}")
        self.callback = Producer.DeliveryCallback(self._delivered)
        lib.rd_kafka_conf_set_dr_msg_cb(conf, self.callback)
        self.rk = lib.rd_kafka_new(0, conf, errstr, 512)
        if not self.rk:
            raise CheckFailed(f"librdkafka: cannot create a producer: {errstr.value.decode()}")
        self.topics = {}

    def _delivered(self, _rk, message, _opaque):
        error = ctypes.cast(message, ctypes.POINTER(ctypes.c_int)).contents.value
        if error:
            self.failed += 1
            self.last_error = self.lib.rd_kafka_err2str(error).decode()

    def produce(self, records, prefix):
        """Produces records in order to <prefix><suffix>, then waits until every one is acknowledged."""
        with self.lock:
            for suffix, partition, key, value in records:
                topic = prefix + suffix
                handle = self.topics.get(topic)
                if handle is None:
                    handle = self.topics[topic] = self.lib.rd_kafka_topic_new(self.rk, topic.encode(), None)
                while self.lib.rd_kafka_produce(handle, partition, 2, value, len(value) if value is not None else 0,
                                                key, len(key) if key is not None else 0, None) != 0:
                    error = self.lib.rd_kafka_last_error()
                    if error != -184:  # RD_KAFKA_RESP_ERR__QUEUE_FULL
                        raise CheckFailed(f"produce to {topic}: {self.lib.rd_kafka_err2str(error).decode()}")
                    self.lib.rd_kafka_poll(self.rk, 20)
                self.lib.rd_kafka_poll(self.rk, 0)
            self.lib.rd_kafka_flush(self.rk, 60_000)
            if self.lib.rd_kafka_outq_len(self.rk) != 0 or self.failed:
                raise CheckFailed(f"producing to {prefix}.*: {self.lib.rd_kafka_outq_len(self.rk)} messages not delivered "
                                  f"after 60 s, {self.failed} failed ({self.last_error})")

    def close(self):
        for handle in self.topics.values():
            self.lib.rd_kafka_topic_destroy(handle)
        self.lib.rd_kafka_destroy(self.rk)


def create_topics(prefix, tables=TABLES):
    """3 partitions each, as in the recording (tansu's CLI); without it, producing auto-creates 4."""
    if not os.access(TANSU, os.X_OK):
        return
    for table in tables:
        done = subprocess.run([TANSU, "topic", "create", "--broker", f"tcp://{BROKERS.split(',')[0]}",
                               "--partitions", "3", f"{prefix}.public.{table}"],
                              capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise CheckFailed(f"tansu topic create {prefix}.public.{table}: {done.stderr.strip()[-300:]}")


# --- comparing results ---------------------------------------------------------------------------

def brief(result):
    if result is None:
        return "no result"
    t = result.get("totals") or {}
    return (f"messages {result.get('messages')}, tx {t.get('tx_count')}, revenue {t.get('revenue')}, "
            f"{len(result.get('windows') or [])} windows, malformed {result.get('malformed')}, dropped {result.get('dropped')}")


def differences(result, truth):
    """What differs between a KPIResult JSON and the truth, in words; [] when equal."""
    if result is None:
        return ["no JSON result was printed"]
    out = []
    for field in FIELDS:
        got, want = result.get(field), truth.get(field)
        if got == want:
            continue
        if field == "totals" and isinstance(got, dict):
            parts = [f"{k} {got.get(k)} (truth {want.get(k)})" for k in ("tx_count", "revenue") if got.get(k) != want.get(k)]
            if got.get("category_revenue") != want.get("category_revenue"):
                names = sorted(set(got.get("category_revenue") or {}) | set(want["category_revenue"]))
                wrong = [n for n in names if (got.get("category_revenue") or {}).get(n) != want["category_revenue"].get(n)]
                parts.append(f"category revenue differs for {', '.join(wrong[:4])}{'…' if len(wrong) > 4 else ''}")
            out.append("totals: " + "; ".join(parts))
        elif field == "windows" and isinstance(got, list):
            by_start = {w["window_start_ms"]: w for w in got}
            wrong = []
            for w in want:
                g = by_start.pop(w["window_start_ms"], None)
                if g is None:
                    wrong.append(f"{w['window_start_ms']}: missing")
                elif g != w:
                    text = f"{w['window_start_ms']}: tx {g['tx_count']} rev {g['revenue']} (truth tx {w['tx_count']} rev {w['revenue']})"
                    got_c, want_c = g.get("category_revenue") or {}, w.get("category_revenue") or {}
                    if got_c != want_c:
                        names = sorted(n for n in set(got_c) | set(want_c) if got_c.get(n) != want_c.get(n))
                        text += (f", category revenue of {len(names)} categories differs: "
                                 + ", ".join(f"{n} {got_c.get(n, 'absent')} (truth {want_c.get(n, 'absent')})" for n in names[:3])
                                 + ("…" if len(names) > 3 else ""))
                    wrong.append(text)
            wrong += [f"{start}: not in the truth" for start in sorted(by_start)]
            out.append(f"windows ({len(got)} vs truth {len(want)}): " + "; ".join(wrong[:3]) + ("…" if len(wrong) > 3 else ""))
        else:
            out.append(f"{field} {got} (truth {want})")
    return out


def watch_args(topics, state, *extra):
    # session.timeout.ms=6000: Tansu answers JoinGroup after half of it (SERVICES.md), should a group be joined.
    args = [BIN, "watch", "--brokers", BROKERS, "--topics", topics, "--headless", "--json", "-X", "session.timeout.ms=6000"]
    if state is not None:
        args += ["--state", state]
    return args + list(extra)


def topic_regex(prefix):
    return "^" + re.escape(prefix) + r"\..*"


def run_to_end(name, args, seconds=RUN_SECONDS):
    """Runs `args` (a watch with --until-caught-up) to its exit: (exit code or None on timeout, result, proc)."""
    proc = Proc(name, args)
    code = proc.wait(seconds)
    if code is None:
        proc.kill9()
        return None, proc.last_json(), proc
    return code, proc.last_json(), proc


def exit_text(code):
    if code is None:
        return f"did not exit within {RUN_SECONDS:.0f} s (killed)"
    if code < 0:
        return f"died of signal {-code} ({signal.Signals(-code).name})"
    return f"exit {code}"


def expect_truth(name, args, truth):
    """Runs to the end and returns [] or the reasons it is not the truth."""
    code, result, proc = run_to_end(name, args)
    if code != 0:
        return [f"{name}: {exit_text(code)}: {proc.stderr_tail()}"], result
    diffs = differences(result, truth)
    return [f"{name}: {d}" for d in diffs], result


def state_signature(directory):
    """(mtime, size) of every file in the state folder: changes when a checkpoint writes."""
    signature = []
    try:
        for entry in os.scandir(directory):
            if entry.is_file():
                st = entry.stat()
                signature.append((entry.name, st.st_mtime_ns, st.st_size))
    except FileNotFoundError:
        pass
    return tuple(sorted(signature))


def state_size(directory):
    return sum(size for _name, _mtime, size in state_signature(directory))


def sqlite_files(directory):
    found = []
    for folder, _dirs, files in os.walk(directory):
        for name in files:
            path = os.path.join(folder, name)
            try:
                with open(path, "rb") as f:
                    if f.read(16) == b"SQLite format 3\x00":
                        found.append(path)
            except OSError:
                pass
    return found


def wait_for_json(proc, predicate, seconds):
    """Polls the live --json output until predicate(last object) holds: the object, or None."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        last = proc.last_json()
        if last is not None and predicate(last):
            return last
        if not proc.alive():
            return None
        time.sleep(0.05)
    return None


# --- warehouse -----------------------------------------------------------------------------------

def psql(sql):
    done = subprocess.run(["psql", PG, "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                          capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise CheckFailed(f"psql: {done.stderr.strip()[-300:]}")
    return [line.split("\t") for line in done.stdout.splitlines() if line]


def warehouse_rows(pipeline):
    """{window start ms: (window_ms, tx_count, revenue, {category: revenue})} as the warehouse holds them."""
    assert re.fullmatch(r"[a-z0-9_]+", pipeline)
    rows = {}
    for start, window_ms, tx, revenue in psql(
            "SELECT (extract(epoch FROM window_start) * 1000)::bigint, window_ms, tx_count, revenue "
            f"FROM cdctop.kpi_window WHERE pipeline = '{pipeline}' ORDER BY 1"):
        rows[int(start)] = (int(window_ms), int(tx), Decimal(revenue), {})
    for start, category, revenue in psql(
            "SELECT (extract(epoch FROM window_start) * 1000)::bigint, category, revenue "
            f"FROM cdctop.kpi_category_window WHERE pipeline = '{pipeline}' ORDER BY 1, 2"):
        rows.setdefault(int(start), (None, None, None, {}))[3][category] = Decimal(revenue)
    return rows


def nonzero(categories):
    return {k: Decimal(v) for k, v in categories.items() if Decimal(v) != 0}


def describe_row(row):
    return "absent" if row is None else f"tx {row[1]} rev {row[2]} ({len(row[3])} categories)"


# --- the checks ----------------------------------------------------------------------------------

class Workload:
    def __init__(self):
        path, truth_path = self.generate()
        with open(truth_path) as f:
            self.truth = json.load(f)
        self.records = load_recording(path, "base")
        if len(self.records) != self.truth["messages"]:
            raise CheckFailed(f"the recording has {len(self.records)} lines but the truth counts {self.truth['messages']} messages")
        log(f"ground truth: {brief(self.truth)}")
        self.producer = Producer(BROKERS)
        self.shared = None

    @staticmethod
    def generate():
        """The recording and its truth, generated once per workload and generator source (the debug build
        generates about 1000 messages/s): a cached pair is consistent by construction, since the truth was
        computed for exactly those bytes."""
        key = hashlib.sha1(f"{MESSAGES} {SEED} {START_MS} {MALFORMED_EVERY}".encode())
        generator = os.path.join(ROOT, "Sources", "Pipeline", "Generator")
        for name in sorted(os.listdir(generator)):
            with open(os.path.join(generator, name), "rb") as f:
                key.update(name.encode() + b"\0" + f.read())
        folder = os.path.join(CACHE, key.hexdigest()[:16])
        path, truth_path = os.path.join(folder, "workload.jsonl"), os.path.join(folder, "truth.json")
        if os.path.exists(truth_path):
            log(f"workload and truth from {os.path.relpath(folder, ROOT)} (same parameters and generator source)")
            return path, truth_path
        shutil.rmtree(CACHE, ignore_errors=True)
        os.makedirs(folder)
        log(f"generating the workload: cdctop generate --output {os.path.relpath(path, ROOT)} --count {MESSAGES} "
            f"--seed {SEED} --start-ms {START_MS} --malformed-every {MALFORMED_EVERY} --prefix base --print-truth")
        t0 = time.time()
        truth = cdctop("generate", "--output", path, "--count", str(MESSAGES), "--seed", str(SEED),
                       "--start-ms", str(START_MS), "--prefix", "base", "--malformed-every", str(MALFORMED_EVERY),
                       "--print-truth", seconds=600)
        json.loads(truth)
        with open(truth_path + ".tmp", "w") as f:
            f.write(truth)
        os.rename(truth_path + ".tmp", truth_path)
        log(f"generated in {time.time() - t0:.0f} s")
        return path, truth_path

    def fresh_prefix(self, name):
        return f"{run_id}{name}"

    def shared_topics(self):
        """One fully produced copy for the checks that only read (restart, corrupt, viewers, lock)."""
        if self.shared is None:
            prefix = self.fresh_prefix("s")
            create_topics(prefix)
            t0 = time.time()
            self.producer.produce(self.records, prefix)
            log(f"produced {len(self.records)} messages to {prefix}.public.* in {time.time() - t0:.1f} s")
            self.shared = topic_regex(prefix)
        return self.shared


def check_restart(w):
    """6. Two runs in a row on the same state: the second prints what the first printed, not zeros."""
    topics = w.shared_topics()
    state = os.path.join(WORK, "state-restart")
    problems, first = expect_truth("restart-1", watch_args(topics, state, "--until-caught-up"), w.truth)
    if problems:
        return record("restart", False, "first run on an empty state is not the truth: " + "; ".join(problems))
    t0 = time.time()
    code, second, proc = run_to_end("restart-2", watch_args(topics, state, "--until-caught-up"))
    if code != 0:
        return record("restart", False, f"second run on the same state: {exit_text(code)}: {proc.stderr_tail()}")
    diffs = differences(second, first)
    if diffs:
        return record("restart", False, f"second run on the same state printed {brief(second)}; the first printed "
                      f"{brief(first)}: " + "; ".join(diffs))
    record("restart", True, f"second run on the same state printed the first run's result ({brief(second)}) "
           f"in {time.time() - t0:.1f} s")


def check_restart_late_dimension(w):
    """6b. Restart while line items wait for their product rows (parked): run 1 reads everything but the
    product topic and exits cleanly; the product topic is written; run 2 on the same state must print the
    truth, as one process reading the same order does."""
    prefix = w.fresh_prefix("d")
    dimension = ".public.product"
    first = [r for r in w.records if r[0] != dimension]
    late = [r for r in w.records if r[0] == dimension]
    create_topics(prefix)
    w.producer.produce(first, prefix)
    topics = topic_regex(prefix)
    state = os.path.join(WORK, "state-late-dimension")
    code, result, proc = run_to_end("late-dimension-1", watch_args(topics, state, "--until-caught-up"))
    if code != 0 or (result or {}).get("messages") != len(first):
        return record("restart-late-dimension", False, f"run 1 (no product rows yet): {exit_text(code)}, {brief(result)} "
                      f"(expected messages {len(first)}): {proc.stderr_tail()}")
    w.producer.produce(late, prefix)
    problems, second = expect_truth("late-dimension-2", watch_args(topics, state, "--until-caught-up"), w.truth)
    if problems:
        return record("restart-late-dimension", False, f"line items parked in run 1 ({len(first)} messages, no product "
                      f"rows), product rows ({len(late)}) read by run 2 on the same state: " + "; ".join(problems))
    record("restart-late-dimension", True, f"line items parked before a restart were attributed after it "
           f"({brief(second)})")


def refusal_problems(code, result, proc, files, state):
    """Why this run is not a refusal that names one of `files` and suggests --state-reset ([] if it is)."""
    err = proc.stderr()
    reasons = []
    if code is None or code <= 0:
        reasons.append(f"cdctop {exit_text(code)}" + (f", printing {brief(result)}" if result else "")
                       + " (expected a refusal: non-zero exit)")
    if not any(f in err or (os.path.basename(f) in err and state in err) for f in files):
        reasons.append(f"the message does not name {' or '.join(files)}")
    if "--state-reset" not in err:
        reasons.append("the message does not suggest --state-reset")
    return reasons


def check_corrupt(w):
    """2. A truncated state file is refused (non-zero, named, --state-reset advised); --state-reset rebuilds.
    Also: a WAL cut in the middle (a torn write) is either refused the same way or recovers to the exact truth."""
    topics = w.shared_topics()
    state = os.path.join(WORK, "state-corrupt")
    problems, _ = expect_truth("corrupt-1", watch_args(topics, state, "--until-caught-up"), w.truth)
    if problems:
        return record("corrupt", False, "the run that writes the state is not the truth: " + "; ".join(problems))
    databases = [f for f in sqlite_files(state) if not f.endswith(("-wal", "-shm"))]
    if not databases:
        files = [name for name, _, _ in state_signature(state)]
        return record("corrupt", False, f"no SQLite file in {state} after a clean run with --state (files: {files})")
    target = max(databases, key=os.path.getsize)
    notes = []

    # A torn WAL: SQLite drops the incomplete tail, so an older, consistent checkpoint is a fine outcome.
    wal = target + "-wal"
    if os.path.exists(wal) and os.path.getsize(wal) > 0:
        torn = os.path.join(WORK, "state-corrupt-wal")
        shutil.copytree(state, torn)
        torn_wal = os.path.join(torn, os.path.basename(wal))
        os.truncate(torn_wal, os.path.getsize(torn_wal) // 2)
        code, result, proc = run_to_end("corrupt-wal", watch_args(topics, torn, "--until-caught-up"), seconds=60)
        if code == 0:
            diffs = differences(result, w.truth)
            if diffs:
                return record("corrupt", False, f"with its WAL cut to half ({torn_wal}) the state was used and gave a "
                              "wrong result: " + "; ".join(diffs))
            notes.append("a WAL cut to half recovered to the exact truth")
        else:
            reasons = refusal_problems(code, result, proc, [os.path.join(torn, os.path.basename(target)), torn_wal], torn)
            if reasons:
                return record("corrupt", False, f"with its WAL cut to half ({torn_wal}): " + "; ".join(reasons)
                              + f"; stderr: {proc.stderr_tail(4)}")
            notes.append("a WAL cut to half was refused")

    # The database file itself cut to half. Its pages may still sit in the WAL, which SQLite would read
    # instead of the cut file, so move them into the file first (what an automatic WAL checkpoint does).
    import sqlite3
    connection = sqlite3.connect(target)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    connection.close()
    size = os.path.getsize(target)
    os.truncate(target, size // 2)
    log(f"truncated {os.path.relpath(target, ROOT)} from {size} to {size // 2} bytes (WAL checkpointed into it "
        f"first; state folder: {[name for name, _, _ in state_signature(state)]})")
    code, result, proc = run_to_end("corrupt-2", watch_args(topics, state, "--until-caught-up"), seconds=60)
    reasons = refusal_problems(code, result, proc, [target], state)
    if reasons:
        return record("corrupt", False, f"on {target} cut to half: " + "; ".join(reasons) + f"; stderr: {proc.stderr_tail(4)}")
    refusal = " ".join(proc.stderr().strip().splitlines()[-2:])
    problems, rebuilt = expect_truth("corrupt-3", watch_args(topics, state, "--until-caught-up", "--state-reset"), w.truth)
    if problems:
        return record("corrupt", False, f"refused correctly ({refusal!r}), but --state-reset did not rebuild the truth: "
                      + "; ".join(problems))
    record("corrupt", True, f"truncated state refused ({exit_text(code)}: {refusal[:240]!r}); "
           f"--state-reset rebuilt the truth ({brief(rebuilt)})" + "".join(f"; {n}" for n in notes))


def check_viewers(w):
    """3. Two viewers at once with the default group, each on its own state: both print the whole truth."""
    topics = w.shared_topics()
    procs = [Proc(f"viewer-{i}", watch_args(topics, os.path.join(WORK, f"state-viewer-{i}"), "--until-caught-up"))
             for i in (1, 2)]
    problems = []
    deadline = time.time() + RUN_SECONDS
    for proc in procs:
        code = proc.wait(max(1, deadline - time.time()))
        if code is None:
            proc.kill9()
        if code != 0:
            problems.append(f"{proc.name}: {exit_text(code)}: {proc.stderr_tail()}")
            continue
        problems += [f"{proc.name}: {d}" for d in differences(proc.last_json(), w.truth)]
    if problems:
        return record("viewers", False, "; ".join(problems))
    record("viewers", True, f"two concurrent viewers (default group) both printed the truth ({brief(w.truth)})")


def check_lock(w):
    """4. A second process on the same state folder is refused and told the holder's pid."""
    topics = w.shared_topics()
    state = os.path.join(WORK, "state-lock")
    holder = Proc("lock-holder", watch_args(topics, state, "--interval", "200"))
    if wait_for_json(holder, lambda s: True, 60) is None:
        return record("lock", False, f"the first watch on {state} printed nothing within 60 s "
                      f"({exit_text(holder.returncode) if not holder.alive() else 'running'}): {holder.stderr_tail()}")
    # A second writer (--no-viewer) is refused; without it, the second watch runs as a read-only viewer.
    code, result, second = run_to_end("lock-second", watch_args(topics, state, "--until-caught-up", "--no-viewer"), seconds=60)
    err = second.stderr()
    reasons = []
    if code is None or code <= 0:
        reasons.append(f"the second watch --no-viewer on the same state {exit_text(code)}" +
                       (f" and printed {brief(result)}" if result else "") + " (expected a refusal: non-zero exit)")
    if not re.search(r"\b%d\b" % holder.pid, err):
        reasons.append(f"its message does not name the holding pid {holder.pid}")
    viewer_code, viewer_result, viewer = run_to_end("lock-viewer", watch_args(topics, state, "--until-caught-up"), seconds=60)
    if viewer_code != 0:
        reasons.append(f"the viewer on the same state {exit_text(viewer_code)}: {viewer.stderr_tail(3)}")
    elif "viewer" not in viewer.stderr():
        reasons.append("the second watch without --no-viewer did not say it runs as a viewer")
    else:
        reasons += [f"viewer: {d}" for d in differences(viewer_result, w.truth)]
    holder_alive = holder.alive()
    holder_code, killed = holder.stop()
    if not holder_alive:
        reasons.append(f"the first watch did not survive the second one ({exit_text(holder_code)})")
    elif killed:
        reasons.append("the first watch did not exit within 15 s of SIGTERM")
    elif holder_code != 0:
        reasons.append(f"the first watch exited with {holder_code} on SIGTERM: {holder.stderr_tail(3)}")
    if reasons:
        return record("lock", False, "; ".join(reasons) + f"; second's stderr: {second.stderr_tail(4)}")
    record("lock", True, f"second writer refused ({exit_text(code)}): {' '.join(err.strip().splitlines()[-2:])[:200]!r}; "
           f"a second watch without --no-viewer ran as a viewer and printed the truth")


def check_regex(w):
    """5. A topic created while watching '^prefix\\..*' is read within NEW_TOPIC_SECONDS."""
    prefix = w.fresh_prefix("r")
    late_suffix = ".public.transactiondetail"
    early = [r for r in w.records if r[0] != late_suffix]
    late = [r for r in w.records if r[0] == late_suffix]
    create_topics(prefix, [t for t in TABLES if "." + "public." + t != late_suffix])
    w.producer.produce(early, prefix)
    watcher = Proc("regex", watch_args(topic_regex(prefix), os.path.join(WORK, "state-regex"), "--interval", "200"))
    if wait_for_json(watcher, lambda s: s["messages"] >= len(early), 90) is None:
        last = watcher.last_json()
        return record("regex", False, f"the existing topics were not read within 90 s: {brief(last)} of {len(early)}"
                      + ("" if watcher.alive() else f"; {exit_text(watcher.returncode)}: {watcher.stderr_tail()}"))
    w.producer.produce(late, prefix)   # auto-creates <prefix>.public.transactiondetail
    produced = time.time()
    seen = wait_for_json(watcher, lambda s: s["messages"] >= len(w.records), NEW_TOPIC_SECONDS)
    if seen is None:
        last = watcher.last_json()
        return record("regex", False, f"{len(late)} messages on the new topic {prefix}{late_suffix} were not counted "
                      f"within {NEW_TOPIC_SECONDS:.0f} s of being produced: {brief(last)} (expected messages {len(w.records)})")
    elapsed = time.time() - produced
    exact = wait_for_json(watcher, lambda s: not differences(s, w.truth), 10)
    if exact is None:
        return record("regex", False, f"the new topic was read after {elapsed:.1f} s but the result is not the truth: "
                      + "; ".join(differences(watcher.last_json(), w.truth)))
    record("regex", True, f"new topic {prefix}{late_suffix} ({len(late)} messages) counted {elapsed:.1f} s after it "
           f"was produced; result equals the truth")


def check_chaos(w):
    """1. SIGKILL at random points (one right after a checkpoint write), the rest produced between kills:
    the final result is the truth, and the warehouse rows are an uninterrupted run's."""
    prefix = w.fresh_prefix("c")
    topics = topic_regex(prefix)
    state = os.path.join(WORK, "state-chaos")
    pipeline, reference = f"chaos_{run_id}", f"chaos_ref_{run_id}"
    create_topics(prefix)
    use_warehouse = bool(PG)
    sink = ["--warehouse", PG, "--pipeline", pipeline] if use_warehouse else []
    if use_warehouse:
        cdctop("warehouse", "init", "--warehouse", PG, seconds=60)
    # KILLS + 1 parts: the first about 40% (so the first run is still catching up when it checkpoints and
    # is killed), the rest cut at random (each part at least 4% of the workload).
    total = len(w.records)
    first = int(total * rng.uniform(0.35, 0.45))
    while True:
        cuts = sorted(rng.sample(range(first + total // 25, total - total // 25), KILLS - 1))
        bounds = [0, first] + cuts + [total]
        if all(b - a >= total // 25 for a, b in zip(bounds, bounds[1:])):
            break
    # Within a part, the topics go out one after another in a random order (Debezium's topics are
    # independent, so one can run ahead of another): line items then wait for products or sales at
    # checkpoints. Each topic-partition keeps its order, and the result does not depend on the rest.
    parts, orders = [], []
    for a, b in zip(bounds, bounds[1:]):
        order = rng.sample(sorted({r[0] for r in w.records}), 4)
        orders.append("/".join(t.rsplit(".", 1)[-1] for t in order))
        parts.append(sorted(w.records[a:b], key=lambda r: order.index(r[0])))
    # The first part's product rows go out with the second part: the first run checkpoints line items
    # parked for their products, which it is then killed with (a product topic that lags behind).
    held_back = [r for r in parts[0] if r[0] == ".public.product"]
    parts[0] = [r for r in parts[0] if r[0] != ".public.product"]
    parts[1] = held_back + parts[1]
    produced = [False] * len(parts)
    part_lock = threading.Lock()
    thread_errors = []

    def produce_part(i):
        with part_lock:
            if not produced[i]:
                w.producer.produce(parts[i], prefix)
                produced[i] = True

    def produce_in_background(i):
        def body():
            try:
                produce_part(i)
            except Exception as error:  # reported after the join
                thread_errors.append(error)
        thread = threading.Thread(target=body)
        thread.start()
        return thread

    produce_part(0)
    # after-first-checkpoint: SIGKILL 0-30 ms after the state files change (the first checkpoint, written
    #                   during or right after; its line items wait for the product rows held back)
    # after-checkpoint: the same while the next part is produced and read (data flowing)
    # random:           SIGKILL at a random 0.05-2 s after start (restore, catch-up or idle); next part afterwards
    # while-producing:  the next part is produced while the engine runs; SIGKILL at a random 0.05-1.5 s
    modes = ["after-first-checkpoint", "random", "while-producing", "after-checkpoint"]
    kills = []              # (mode, messages printed before the kill, kill came right after a state change)
    failures = []
    for i in range(KILLS):
        mode = modes[i] if i < len(modes) else modes[1 + (i - 1) % (len(modes) - 1)]
        available = sum(len(p) for p, done in zip(parts, produced) if done)
        proc = Proc(f"chaos-{i + 1}", watch_args(topics, state, "--checkpoint-interval", CHECKPOINT_INTERVAL,
                                                  "--interval", "200", *sink))
        note = ""
        producer_thread = None
        after_change = False
        if mode in ("after-checkpoint", "after-first-checkpoint"):
            wait_for_json(proc, lambda s: True, 30)
            before = state_signature(state)
            if mode == "after-checkpoint":
                producer_thread = produce_in_background(i + 1)
            deadline = time.time() + 20
            while proc.alive() and time.time() < deadline and state_signature(state) == before:
                time.sleep(0.002)
            changed = time.time()
            after_change = state_signature(state) != before
            time.sleep(rng.uniform(0, 0.03))
            note = (f"{(time.time() - changed) * 1000:.0f} ms after a state file changed" if after_change
                    else "(the state files did not change within 20 s)")
        elif mode == "random":
            delay = rng.uniform(0.05, 2.0)
            time.sleep(delay)
            note = f"at a random {delay:.2f} s"
        else:
            producer_thread = produce_in_background(i + 1)
            delay = rng.uniform(0.05, 1.5)
            time.sleep(delay)
            note = f"at a random {delay:.2f} s while part {i + 2} was produced"
        last = proc.last_json()
        alive = proc.alive()
        code = proc.kill9()
        uptime = time.time() - proc.started
        if producer_thread is not None:
            producer_thread.join(120)
        if thread_errors:
            raise CheckFailed(f"producing part {i + 2}: {thread_errors[0]}")
        if not alive:
            failures.append(f"run {i + 1} exited by itself before the kill ({exit_text(code)}): {proc.stderr_tail()}")
            log(f"run {i + 1}: exited before the kill: {exit_text(code)}: {proc.stderr_tail()}")
        else:
            printed = (last or {}).get("messages", 0)
            kills.append((mode, printed, after_change))
            phase = "while still catching up" if printed < available else "after catching up"
            log(f"SIGKILL {len(kills)} ({mode}) {note}, {uptime:.2f} s after start, {phase} "
                f"({available} messages were there at start); last printed: {brief(last)}; state {state_size(state)} bytes")
        produce_part(i + 1)
    for i in range(len(parts)):
        produce_part(i)
    log(f"all {total} messages produced in {len(parts)} parts of {[len(p) for p in parts]}, topic orders {orders}")
    # The kills must have landed where they can hurt, or a pass would prove nothing.
    if not any(after_change for _, _, after_change in kills):
        failures.append("no SIGKILL landed right after a state file changed (no checkpoint was seen being written)")
    if not any(messages > 0 for _, messages, _ in kills):
        failures.append("every SIGKILL landed before the engine printed any message: the kills hit nothing")
    if failures:
        return record("chaos", False, "; ".join(failures))
    kill_text = ", ".join(mode for mode, _, _ in kills)

    problems, final = expect_truth("chaos-final", watch_args(topics, state, "--until-caught-up",
                                                             "--checkpoint-interval", CHECKPOINT_INTERVAL, *sink), w.truth)
    if problems:
        record("chaos", False, f"after {len(kills)} SIGKILLs ({kill_text}) the final result is not the truth: "
               + "; ".join(problems))
    else:
        record("chaos", True, f"after {len(kills)} SIGKILLs ({kill_text}) the final result equals the truth "
               f"({brief(final)})")
    if not use_warehouse:
        return record("chaos-warehouse", False, "CDCTOP_TEST_PG is not set: the warehouse rows were not compared")

    problems, _ = expect_truth("chaos-reference", watch_args(topics, os.path.join(WORK, "state-chaos-reference"),
                                                             "--until-caught-up", "--warehouse", PG,
                                                             "--pipeline", reference), w.truth)
    if problems:
        return record("chaos-warehouse", False, "the uninterrupted reference run is not the truth: " + "; ".join(problems))
    got, want = warehouse_rows(pipeline), warehouse_rows(reference)
    if not want:
        return record("chaos-warehouse", False, f"the uninterrupted run wrote no rows under '{reference}': "
                      "the comparison would prove nothing")
    truth_windows = {x["window_start_ms"]: x for x in w.truth["windows"]}
    wrong_ref = [s for s, row in want.items()
                 if s not in truth_windows or (row[1], row[2], nonzero(row[3])) != (
                     truth_windows[s]["tx_count"], Decimal(truth_windows[s]["revenue"]), nonzero(truth_windows[s]["category_revenue"]))]
    if wrong_ref:
        s = wrong_ref[0]
        t = truth_windows.get(s)
        return record("chaos-warehouse", False, f"the uninterrupted run's row for window {s} is {describe_row(want[s])}, "
                      f"the truth's window is " + ("absent" if t is None else f"tx {t['tx_count']} rev {t['revenue']}"))
    if got != want:
        wrong = sorted(s for s in set(got) | set(want) if got.get(s) != want.get(s))
        details = "; ".join(f"window {s}: {describe_row(got.get(s))}, uninterrupted {describe_row(want.get(s))}" for s in wrong[:3])
        return record("chaos-warehouse", False, f"warehouse rows under '{pipeline}' differ from the uninterrupted run's "
                      f"('{reference}') in {len(wrong)} of {len(set(got) | set(want))} windows: {details}")
    record("chaos-warehouse", True, f"the {len(got)} window rows (and their category rows) equal the uninterrupted run's "
           "and the truth's windows")


def main():
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    unknown = [c for c in CHECKS if c not in ALL_CHECKS]
    if unknown:
        print(f"state-chaos: unknown check(s) {unknown}; known: {ALL_CHECKS}", file=sys.stderr)
        return 2
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    log(f"cdctop {BIN}; brokers {BROKERS}; warehouse {PG or '(none)'}; run {run_id}; "
        f"CDCTOP_CHAOS_RANDOM_SEED={RANDOM_SEED} (set it to replay the same kill timings)")
    workload = None
    try:
        workload = Workload()
        for name in CHECKS:
            log(f"--- {name}")
            try:
                globals()["check_" + name.replace("-", "_")](workload)
            except CheckFailed as error:
                record(name, False, str(error))
            finally:
                stop_children()
    except CheckFailed as error:
        record("setup", False, str(error))
    finally:
        stop_children()
        if workload is not None:
            workload.producer.close()
    failed = [r for r in results if not r[1]]
    print(f"\nstate-chaos: {len(results) - len(failed)} passed, {len(failed)} failed in {time.time() - started:.0f} s "
          f"(logs in {os.path.relpath(WORK, ROOT)}/)")
    for check, _ok, reason in failed:
        print(f"  FAIL {check}: {reason}")
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
