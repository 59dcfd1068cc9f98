#!/usr/bin/env python3
"""The faults of scripts/chaos (read its header first). Run it through scripts/chaos, which provides
CDCTOP_BIN and CDCTOP_RDKAFKA_216. Starts its own moto S3 stand-in, Tansu (s3:// storage), Redis and
PostgreSQL on free ports under .run/chaos/, stops each by pid on every exit path.

Reuses scripts/state-chaos.py for the workload (`cdctop generate --output … --print-truth`), the librdkafka
producer (exact bytes and partitions) and the result comparison."""
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from decimal import Decimal

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, ".run", "chaos")
PG_BASE = f"/tmp/cdctop-chaos-pg-{os.getpid()}"  # the postgres user must reach it; short socket path
MESSAGES = int(os.environ.get("CDCTOP_CHAOS_MESSAGES", "30000"))
WAIT_SECONDS = float(os.environ.get("CDCTOP_CHAOS_WAIT_SECONDS", "90"))
ALL_FAULTS = ["broker-restart", "broker-silent", "disk-full", "warehouse-restart", "redis-restart", "sigkill",
              "clock-jump"]
FAULTS = [f.strip() for f in os.environ.get("CDCTOP_CHAOS_FAULTS", ",".join(ALL_FAULTS)).split(",") if f.strip()]
TANSU = os.path.join(ROOT, ".run", "bin", "tansu")
PIPELINE = "chaos"
BLOCK_SECONDS = float(os.environ.get("CDCTOP_CHAOS_BLOCK_SECONDS", "30"))
STATE_DISK_BYTES = 32 << 20  # the tmpfs under the live run's --state (a 30k-message state is ~0.5 MB)
started = time.time()
services = {}  # name -> Popen, stopped by pid on exit


def log(message):
    print(f"[{time.time() - started:6.1f}s] {message}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for(predicate, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} not within {seconds:.0f} s (logs in {os.path.relpath(WORK, ROOT)}/)")


def launch(name, args, env=None):
    out = open(os.path.join(WORK, f"{name}.log"), "ab")
    proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=env, start_new_session=True)
    services[name] = proc
    return proc


def stop_service(name, sig=signal.SIGTERM):
    proc = services.pop(name, None)
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, sig)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)


# --- services --------------------------------------------------------------------------------------

class S3:
    def __init__(self):
        self.port = free_port()
        launch("moto", ["moto_server", "-H", "127.0.0.1", "-p", str(self.port)])
        wait_for(lambda: port_answers(self.port), 30, "moto_server answering")
        import boto3  # moto[server] brings it
        boto3.client("s3", endpoint_url=f"http://127.0.0.1:{self.port}", aws_access_key_id="chaos",
                     aws_secret_access_key="chaos", region_name="us-east-1").create_bucket(Bucket="tansu")


class Forwarder:
    """A TCP forwarder in front of Tansu (the port clients and Tansu's advertised listener use). `block()`
    stops moving bytes both ways without closing anything: the kernel buffers fill and every request goes
    unanswered, as behind a firewall that drops. Chosen over a network namespace + nft drop because it needs
    no root, no nft/iptables and no moto reachability across namespaces, and works on any CI runner; a
    closed upstream (a broker restart) closes the client side, as a real one would."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.unblocked = threading.Event()
        self.unblocked.set()
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def block(self):
        self.unblocked.clear()

    def unblock(self):
        self.unblocked.set()

    def accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self.connect, args=(client,), daemon=True).start()

    def connect(self, client):
        self.unblocked.wait()
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            upstream.settimeout(None)
        except OSError:
            client.close()
            return
        threading.Thread(target=self.pump, args=(upstream, client), daemon=True).start()
        self.pump(client, upstream)

    def pump(self, source, target):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                self.unblocked.wait()
                target.sendall(data)
        except OSError:
            pass
        for sock in (source, target):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


class Broker:
    """Tansu on s3://tansu/ (moto): topics, offsets and group offsets survive a restart. Clients reach it
    through a Forwarder (the advertised listener), so that it can be silently blocked."""

    def __init__(self, s3):
        self.internal_port = free_port()
        self.forwarder = Forwarder(self.internal_port)
        self.port = self.forwarder.port
        self.env = dict(os.environ, AWS_ENDPOINT=f"http://127.0.0.1:{s3.port}", AWS_ALLOW_HTTP="true",
                        AWS_ACCESS_KEY_ID="chaos", AWS_SECRET_ACCESS_KEY="chaos", AWS_DEFAULT_REGION="us-east-1")
        self.start()

    def start(self):
        launch("tansu", [TANSU, "broker", "--listener-url", f"tcp://127.0.0.1:{self.internal_port}",
                         "--advertised-listener-url", f"tcp://127.0.0.1:{self.port}",
                         "--storage-engine", "s3://tansu/"], env=self.env)
        wait_for(lambda: port_answers(self.internal_port), 30, "tansu answering")

    def stop(self):
        stop_service("tansu")


class Redis:
    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.start()

    def start(self):
        launch("redis", ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                         "--appendonly", "no", "--dir", WORK, "--daemonize", "no"])
        wait_for(lambda: self.cli("ping") == "PONG", 30, "redis answering")

    def cli(self, *args):
        done = subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True, text=True, timeout=10)
        return done.stdout.strip() if done.returncode == 0 else None

    def stop(self):
        stop_service("redis")


def as_postgres(args):
    # setpriv execs (runuser would stay the parent): the pid we hold is the postmaster's.
    return ["setpriv", "--reuid", "postgres", "--regid", "postgres", "--init-groups", *args] if os.getuid() == 0 else args


class Postgres:
    def __init__(self):
        self.bin = sorted(d for d in (f"/usr/lib/postgresql/{v}/bin" for v in os.listdir("/usr/lib/postgresql"))
                          if os.path.exists(d + "/initdb"))[-1]
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.data = os.path.join(PG_BASE, "data")
        shutil.rmtree(PG_BASE, ignore_errors=True)
        os.makedirs(PG_BASE)
        if os.getuid() == 0:
            shutil.chown(PG_BASE, "postgres", "postgres")
        subprocess.run(as_postgres([self.bin + "/initdb", "-D", self.data, "-U", "postgres", "-A", "trust",
                                    "-E", "UTF8", "--no-locale"]), check=True, capture_output=True, timeout=120)
        self.pid = None
        self.start()

    def start(self):
        # The postmaster itself (not pg_ctl) so it is ours to stop by pid.
        proc = launch("postgres", as_postgres([self.bin + "/postgres", "-D", self.data, "-p", str(self.port),
                                               "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={PG_BASE}"]))
        self.pid = proc.pid
        wait_for(lambda: subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port), "-t", "1"]).returncode == 0,
                 60, "postgres answering")

    def stop(self):
        stop_service("postgres", signal.SIGINT)  # fast shutdown: disconnects clients


class StateDisk:
    """A small tmpfs under the live run's --state: `fill()` takes every free byte, `free()` gives it back."""

    def __init__(self, path):
        self.path = path
        self.filler = None
        os.makedirs(path, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={STATE_DISK_BYTES}", "cdctop-chaos", path],
                       check=True, capture_output=True, timeout=30)
        self.mounted = True

    def fill(self):
        """Writes a filler file inside the mount until the disk is full (cdctop only touches its own files)."""
        self.filler = os.path.join(self.path, "chaos-filler")
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            for size in (1 << 20, 4096, 1):
                try:
                    while True:
                        os.write(fd, b"\0" * size)
                except OSError:
                    pass
        finally:
            os.close(fd)

    def free(self):
        if self.filler and os.path.exists(self.filler):
            os.remove(self.filler)

    def unmount(self):
        if self.mounted:
            subprocess.run(["umount", "-l", self.path], capture_output=True, timeout=30)
            self.mounted = False


def stop_all():
    for name in list(services):
        if name == "postgres":
            stop_service(name, signal.SIGINT)
        else:
            stop_service(name)


# --- the run -----------------------------------------------------------------------------------------

def import_state_chaos(brokers, pg):
    os.environ.update(CDCTOP_TEST_BROKERS=brokers, CDCTOP_TEST_PG=pg, CDCTOP_TANSU=TANSU)
    spec = importlib.util.spec_from_file_location("state_chaos", os.path.join(ROOT, "scripts", "state-chaos.py"))
    sc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sc)
    sc.WORK = WORK
    sc.CACHE = os.path.join(ROOT, ".run", "chaos-workload")
    sc.MESSAGES = MESSAGES
    return sc


def service_state(result, name):
    entry = ((result or {}).get("services") or {}).get(name) or {}
    return entry.get("state") or entry.get("status")


def service_down(name):
    """Detected: the service is shown not ok, or it reported an error since the fault began."""
    def detected(result, start_ms):
        entry = ((result or {}).get("services") or {}).get(name) or {}
        return entry.get("state") not in (None, "ok") or (entry.get("last_error_ms") or 0) >= start_ms
    return detected


def service_ok(name):
    return lambda result: service_state(result, name) == "ok"


def state_error(result, _start_ms):
    return ((result or {}).get("state") or {}).get("error") is not None


def state_saved_since(ms):
    return lambda result: ((result or {}).get("state") or {}).get("error") is None and \
        (((result or {}).get("state") or {}).get("last_checkpoint_ms") or 0) >= ms


def clock_jumped(result, _start_ms):
    return abs((result or {}).get("ts_ms", 0) - time.time() * 1000) > 1_800_000


def clock_real(result):
    return abs((result or {}).get("ts_ms", 0) - time.time() * 1000) < 60_000


class Run:
    def __init__(self, sc, broker, redis, pg):
        self.sc, self.broker, self.redis, self.pg = sc, broker, redis, pg
        self.prefix = sc.run_id + "x"
        self.topics = sc.topic_regex(self.prefix)
        self.state = os.path.join(WORK, "state")
        self.live = None
        self.produced = 0
        self.rows = []
        self.failures = []

    def start_live(self):
        args = self.sc.watch_args(self.topics, self.state, "--checkpoint-interval", "1", "--warehouse", self.pg.url,
                                  "--pipeline", PIPELINE, "--redis", self.redis.url)
        n = sum(1 for p in self.sc.children if p.name.startswith("live"))
        self.live = self.sc.Proc(f"live-{n}", args)

    def counted(self):
        result = self.live.last_json()
        return None if result is None else result.get("messages")

    def reference(self, step):
        """An uninterrupted run over what was produced so far, on a fresh state, writing its own warehouse rows."""
        pipeline = f"ref{step}"
        code, result, proc = self.sc.run_to_end(f"reference-{step}", self.sc.watch_args(
            self.topics, os.path.join(WORK, f"state-ref{step}"), "--until-caught-up", "--warehouse", self.pg.url,
            "--pipeline", pipeline))
        if code != 0 or result is None:
            raise RuntimeError(f"reference run {step}: {self.sc.exit_text(code)}: {proc.stderr_tail()}")
        return result, pipeline

    def compare(self, fault, reference, ref_pipeline):
        """Waits (bounded) until the live run's totals and windows, its warehouse rows and its Redis mirror equal
        the reference; returns the reasons they do not."""
        sc = self.sc
        deadline = time.time() + WAIT_SECONDS
        problems = ["not compared"]
        while time.time() < deadline:
            problems = []
            live = self.live.last_json()
            diffs = sc.differences(live, reference)
            if diffs:
                problems.append("live result: " + "; ".join(diffs))
            got, want = sc.warehouse_rows(PIPELINE), sc.warehouse_rows(ref_pipeline)
            if got != want:
                wrong = sorted(s for s in set(got) | set(want) if got.get(s) != want.get(s))
                problems.append(f"warehouse windows {wrong[:3]} differ (live {len(got)} rows, uninterrupted {len(want)})")
            tx = self.redis.cli("HGET", f"cdctop:{PIPELINE}:kpi", "total_tx_count")
            revenue = self.redis.cli("HGET", f"cdctop:{PIPELINE}:kpi", "total_revenue")
            want_t = reference["totals"]
            if tx != str(want_t["tx_count"]) or revenue is None or revenue == "" or Decimal(revenue) != Decimal(want_t["revenue"]):
                problems.append(f"redis mirror tx {tx} revenue {revenue} (uninterrupted tx {want_t['tx_count']} revenue {want_t['revenue']})")
            if not problems:
                return [], len(got)
            if not self.live.alive():
                problems.append(f"the live cdctop exited: {self.live.stderr_tail()}")
                break
            time.sleep(0.5)
        return problems, 0

    def step(self, fault, part, inject, heal, detected_when, hold_seconds, healthy=lambda result: True):
        """Injects the fault and produces `part` meanwhile; keeps the fault for `hold_seconds` (or until it is
        detected, if it is detected by then and `hold_seconds` is only a bound: see `until_detected`), heals it,
        and measures: detected after (`detected_when(live JSON, fault start ms)` first true), recovered after
        (every produced message counted and `healthy(live JSON)`), lost and duplicated (vs an uninterrupted
        run over the same messages)."""
        t0 = time.time()
        start_ms = int(t0 * 1000)
        self.produce_error = None
        inject()
        producing = threading.Thread(target=self.sc_produce, args=(part,))
        producing.start()
        detected = None
        while time.time() < t0 + hold_seconds:
            if detected_when is not None and detected is None and self.live.alive() and detected_when(self.live.last_json() or {}, start_ms):
                detected = time.time() - t0
            time.sleep(0.05)
        t1 = time.time()
        heal()
        producing.join()
        if self.produce_error:
            raise RuntimeError(f"{fault}: producing during the fault: {self.produce_error}")
        recovered = None
        deadline = time.time() + WAIT_SECONDS
        while time.time() < deadline:
            last = self.live.last_json() or {}
            if detected_when is not None and detected is None and detected_when(last, start_ms):
                detected = time.time() - t0
            if last.get("messages") == self.produced and healthy(last):
                recovered = time.time() - t1
                break
            time.sleep(0.05)
        reference, ref_pipeline = self.reference(len(self.rows))
        problems, windows = self.compare(fault, reference, ref_pipeline)
        want = reference.get("messages") or 0
        counted = (self.live.last_json() or {}).get("messages") or 0
        lost, duplicated = max(0, want - counted), max(0, counted - want)
        self.rows.append((fault, detected, recovered, lost, duplicated, windows))
        if problems or recovered is None:
            self.failures.append(f"{fault}: " + ("; ".join(problems) if problems else "not recovered"))
            log(f"FAIL {fault}: " + "; ".join(problems or [f"not recovered within {WAIT_SECONDS:.0f} s"]))
        else:
            log(f"PASS {fault}: totals, {len(reference.get('windows') or [])} windows, {windows} warehouse rows and "
                f"the Redis mirror equal an uninterrupted run ({self.sc.brief(reference)})")

    produce_error = None

    def sc_produce(self, part):
        try:
            self.sc_producer.produce(part, self.prefix)
            self.produced += len(part)
        except Exception as error:  # noqa: BLE001 — reported by step()
            self.produce_error = str(error)


def fmt(seconds):
    return "-" if seconds is None else f"{seconds:.1f} s"


def on_signal(n, _f):
    raise SystemExit(128 + n)


def main():
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    unknown = [f for f in FAULTS if f not in ALL_FAULTS]
    if unknown:
        print(f"chaos: unknown fault(s) {unknown}; known: {ALL_FAULTS}", file=sys.stderr)
        return 2
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    sc = None
    run = None
    disk = None
    try:
        s3 = S3()
        broker = Broker(s3)
        redis = Redis()
        pg = Postgres()
        log(f"own services: moto :{s3.port}, tansu :{broker.port} (s3://tansu/), redis :{redis.port}, postgres :{pg.port}")
        sc = import_state_chaos(f"127.0.0.1:{broker.port}", pg.url)
        sc.cdctop("warehouse", "init", "--warehouse", pg.url, seconds=60)
        workload = sc.Workload()
        run = Run(sc, broker, redis, pg)
        run.sc_producer = workload.producer
        sc.create_topics(run.prefix)
        records = workload.records
        parts = len(FAULTS) + 1
        size = len(records) // parts
        chunks = [records[i * size:(i + 1) * size] for i in range(parts - 1)] + [records[(parts - 1) * size:]]
        clock_file = os.path.join(WORK, "clock-offset-ms")
        with open(clock_file, "w") as f:
            f.write("0")
        sc.env["CDCTOP_TEST_CLOCK_OFFSET_FILE"] = clock_file
        if "disk-full" in FAULTS:
            disk = StateDisk(run.state)
        run.start_live()
        run.sc_produce(chunks[0])
        wait_for(lambda: run.counted() == run.produced, WAIT_SECONDS, "the live run counting the first part")
        log(f"live run caught up on the first {run.produced} messages")

        def set_clock(offset_ms):
            with open(clock_file + ".tmp", "w") as f:
                f.write(str(offset_ms))
            os.replace(clock_file + ".tmp", clock_file)

        back = []

        def jump_forward_then_back():
            set_clock(3_600_000)           # one hour ahead…
            back.append(threading.Timer(3, set_clock, args=(-3_600_000,)))  # …then two hours back
            back[-1].start()

        def clock_back_to_real():
            back[-1].cancel()              # should the jump back be late, it must not land after this
            back[-1].join()
            set_clock(0)

        for fault, chunk in zip(FAULTS, chunks[1:]):
            log(f"--- {fault}")
            if fault == "broker-restart":
                run.step(fault, chunk, broker.stop, broker.start, service_down("kafka"), 3, service_ok("kafka"))
            elif fault == "broker-silent":
                forwarder = broker.forwarder
                run.step(fault, chunk, forwarder.block, forwarder.unblock, service_down("kafka"), BLOCK_SECONDS,
                         service_ok("kafka"))
            elif fault == "disk-full":
                run.step(fault, chunk, disk.fill, disk.free, state_error, 10, state_saved_since(int(time.time() * 1000) + 10_000))
            elif fault == "warehouse-restart":
                run.step(fault, chunk, pg.stop, pg.start, service_down("warehouse"), 3, service_ok("warehouse"))
            elif fault == "redis-restart":
                run.step(fault, chunk, redis.stop, redis.start, service_down("redis"), 3, service_ok("redis"))
            elif fault == "sigkill":
                run.step(fault, chunk, run.live.kill9, run.start_live, None, 2)
            elif fault == "clock-jump":
                run.step(fault, chunk, jump_forward_then_back, clock_back_to_real, clock_jumped, 6, clock_real)
        final = run.live.last_json()
        diffs = sc.differences(final, workload.truth)
        if diffs:
            run.failures.append("final result vs `cdctop generate` truth: " + "; ".join(diffs))
            log("FAIL final: " + "; ".join(diffs))
        else:
            log(f"PASS final: equals `cdctop generate`'s ground truth ({sc.brief(final)})")
    except (RuntimeError, subprocess.SubprocessError, OSError) as error:
        log(f"FAIL setup: {error}")
        if run is not None:
            run.failures.append(str(error))
        else:
            return 1
    except Exception as error:  # noqa: BLE001 — the state-chaos helpers raise CheckFailed
        log(f"FAIL: {error}")
        if run is None:
            return 1
        run.failures.append(str(error))
    finally:
        # A second signal must not cut the cleanup short (that would leave services running).
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if sc is not None:
            sc.stop_children()
        if disk is not None:
            disk.unmount()
        stop_all()
        shutil.rmtree(PG_BASE, ignore_errors=True)
    print("\nfault              detected after  recovered after  lost  duplicated")
    for fault, detected, recovered, lost, duplicated, _windows in run.rows:
        shown = "n/a" if fault == "sigkill" else fmt(detected)
        print(f"{fault:<18} {shown:>14}  {fmt(recovered):>15}  {lost:>4}  {duplicated:>10}")
    print(f"\nchaos: {len(run.rows)} faults, {len(run.failures)} failures in {time.time() - started:.0f} s "
          f"(logs in {os.path.relpath(WORK, ROOT)}/)")
    for failure in run.failures:
        print(f"  FAIL {failure}")
    return 1 if run.failures or len(run.rows) != len(FAULTS) else 0


if __name__ == "__main__":
    sys.exit(main())
