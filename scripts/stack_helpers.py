"""What the stack end-to-end checks (scripts/stack-e2e-idle, -transactions, -snapshot, -mysql-cdc) and
scripts/model_samples.py share.

The checks run as `python3 -` from the repository root after `source .run/stack/env`, and import this with
scripts/ on sys.path: the stack's addresses, a log timed from the start, the failures collected, the
children stopped at exit, and psql, MariaDB, Kafka Connect, Tansu and replication-slot helpers for a
run's own database, topics, connector and slot.

The addresses are read when first used, not at import (so a tool that only wants `connect` or `tansu`
can import this before the stack is up): from the environment, else from .run/stack/env.
"""
import atexit
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_stack_env = None


def setting(key):
    """`key` from the environment, else from .run/stack/env (scripts/stack up writes it)."""
    global _stack_env
    if os.environ.get(key):
        return os.environ[key]
    if _stack_env is None:
        _stack_env = {}
        path = os.path.join(ROOT, ".run", "stack", "env")
        if os.path.exists(path):
            for line in open(path).read().splitlines():
                if line.startswith("export "):
                    name, _, value = line[len("export "):].partition("=")
                    _stack_env[name] = shlex.split(value)[0] if value else ""
    if key not in _stack_env:
        raise SystemExit(f"{key} is not set and .run/stack/env does not define it: run scripts/stack up first")
    return _stack_env[key]


def _pg_server():
    """The PostgreSQL server without a database: psql() names the database."""
    url = urllib.parse.urlparse(setting("CDCTOP_STACK_PG"))
    return f"postgresql://{url.username}@{url.hostname}:{url.port}"


def _cdctop_env():
    """The environment for cdctop and kcat: librdkafka 2.16 (scripts/stack's), not the system's."""
    lib = setting("CDCTOP_RDKAFKA_216")
    return dict(os.environ, LD_LIBRARY_PATH=lib + (":" + os.environ["LD_LIBRARY_PATH"] if os.environ.get("LD_LIBRARY_PATH") else ""))


# The module's constants, read on first use (PEP 562): `from stack_helpers import BROKERS` works as before.
_LAZY = {
    "BIN": lambda: setting("CDCTOP_BIN"),
    "BROKERS": lambda: setting("CDCTOP_STACK_BROKERS"),
    "PG_URL": lambda: urllib.parse.urlparse(setting("CDCTOP_STACK_PG")),
    "CONNECT": lambda: setting("CDCTOP_STACK_CONNECT"),
    "LIB": lambda: setting("CDCTOP_RDKAFKA_216"),
    "MYSQL_URL": lambda: urllib.parse.urlparse(setting("CDCTOP_STACK_MYSQL")),
    "PG": _pg_server,
    "env": _cdctop_env,
}


def __getattr__(name):
    if name in _LAZY:
        value = _LAZY[name]()
        globals()[name] = value
        return value
    raise AttributeError(f"module 'stack_helpers' has no attribute {name!r}")


started = time.time()
failures = []
children = []


def log(message):
    print(f"[{time.time() - started:6.1f}s] {message}", flush=True)


def fail(message):
    log("FAIL: " + message)
    failures.append(message)


def stop_children():
    for p in children:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill(); p.wait()


def stop_children_at_exit():
    """The wrapper's cleanup sends SIGTERM: exit 143 through atexit, which stops the children."""
    atexit.register(stop_children)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def psql(sql, database):
    done = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", f"{_pg_server()}/{database}", "-c", sql],
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise SystemExit(f"psql {database}: `{sql[:200]}` failed: {done.stderr.strip()}")
    return [line.split("|") for line in done.stdout.splitlines() if line]


def connect(method, path, body=None, timeout=15):
    """Kafka Connect REST: (HTTP status, parsed answer, or the error's text)."""
    request = urllib.request.Request(setting("CDCTOP_STACK_CONNECT") + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            text = answer.read().decode()
            return answer.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def connect_or_exit(method, path, body=None):
    """`connect`, exiting with Connect's answer unless it succeeded (a DELETE of what is gone succeeds)."""
    status, answer = connect(method, path, body, timeout=30)
    if status < 300 or (method == "DELETE" and status == 404):
        return answer
    raise SystemExit(f"Kafka Connect {method} {path}: HTTP {status} {str(answer)[:400]}")


def mariadb(sql, database=None, timeout=120, server=None):
    """Rows of `sql` on a MariaDB or MySQL server (`server`, a mysql:// URL; default the stack's MariaDB,
    CDCTOP_STACK_MYSQL) as the URL's user, tab-split; `database` None: no default database."""
    url = urllib.parse.urlparse(server or setting("CDCTOP_STACK_MYSQL"))
    done = subprocess.run(["mariadb", "--no-defaults", "--protocol=TCP", "-h", url.hostname, "-P", str(url.port), "-u", url.username,
                           f"-p{url.password}", "--batch", "--skip-column-names", *([database] if database else []), "-e", sql],
                          capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise SystemExit(f"mariadb {database}: `{sql[:200]}` failed: {done.stderr.strip()}")
    return [line.split("\t") for line in done.stdout.splitlines() if line]


def tansu(*arguments):
    return subprocess.run([os.path.join(ROOT, ".run/bin/tansu"), "topic", *arguments, "--broker", "tcp://" + setting("CDCTOP_STACK_BROKERS")], capture_output=True, text=True, timeout=60)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


def drop_slot(slot, seconds):
    """Drops `slot` once inactive; after `seconds` its walsender is terminated so it becomes so."""
    deadline = time.time() + seconds
    while psql(f"SELECT 1 FROM pg_replication_slots WHERE slot_name = '{slot}'", "postgres"):
        rows = psql(f"SELECT active, coalesce(active_pid, 0) FROM pg_replication_slots WHERE slot_name = '{slot}'", "postgres")
        if rows and rows[0][0] == "f":
            psql(f"SELECT pg_drop_replication_slot('{slot}')", "postgres")
        elif rows and time.time() > deadline:
            psql(f"SELECT pg_terminate_backend({rows[0][1]})", "postgres")
        time.sleep(0.5)


def delete_connectors(prefix):
    """Deletes the connectors named `prefix…`: an earlier (interrupted) run's."""
    status, names = connect("GET", "/connectors")
    if status != 200:
        raise SystemExit(f"Kafka Connect answered {status} to GET /connectors: {names}")
    for name in names:
        if name.startswith(prefix):
            connect("DELETE", f"/connectors/{name}")
            log(f"deleted earlier connector {name}")


def fresh_shop_database(database):
    """`database` dropped and created again with the shop sample schema."""
    psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)", "postgres")
    psql(f"CREATE DATABASE {database}", "postgres")
    done = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", f"{_pg_server()}/{database}", "-f", "Tests/Fixtures/debezium/schema.sql"],
                          capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise SystemExit(f"schema.sql failed: {done.stderr}")


def create_topic(name, partitions):
    if tansu("create", "--partitions", str(partitions), name).returncode != 0:
        raise SystemExit(f"tansu topic create {name} failed")


def start_connector(name, database, slot, prefix, extra):
    """A PostgreSQL connector on `database` (pgoutput, the schema's dbz_publication) with `extra` config,
    once its slot streams."""
    pg_url = urllib.parse.urlparse(setting("CDCTOP_STACK_PG"))
    status, answer = connect("PUT", f"/connectors/{name}/config", {
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector", "tasks.max": "1",
        "database.hostname": pg_url.hostname, "database.port": str(pg_url.port), "database.user": "postgres",
        "database.password": "postgres", "database.dbname": database, "plugin.name": "pgoutput",
        "publication.name": "dbz_publication", "publication.autocreate.mode": "disabled", "slot.name": slot,
        "topic.prefix": prefix, "decimal.handling.mode": "precise", "snapshot.mode": "initial", "poll.interval.ms": "50",
        **extra})
    if status not in (200, 201):
        raise SystemExit(f"Kafka Connect refused connector {name}: {status} {answer}")
    # The task's status is not always listed by the standalone worker: the slot streaming is the proof it runs.
    # (Creating a logical slot waits for every older transaction in the cluster to end.)
    deadline = time.time() + 180
    while not psql(f"SELECT 1 FROM pg_replication_slots WHERE slot_name = '{slot}' AND active AND confirmed_flush_lsn IS NOT NULL", "postgres"):
        if time.time() > deadline:
            raise SystemExit(f"the connector's slot {slot} was not streaming after 180 s; see .run/stack/connect.log")
        time.sleep(0.5)


def finish(connector, slot):
    """Stops the children, deletes the run's connector and drops its slot; exits 1 when a check failed."""
    stop_children()
    connect("DELETE", f"/connectors/{connector}")
    try:
        drop_slot(slot, 20)
    except SystemExit as e:
        log(f"warning: {e}")
    if failures:
        log(f"{len(failures)} check(s) failed")
        sys.exit(1)
    log("every check passed")


def record_pace(topic, path, header, table_rows):
    """Debezium's pace through one table's snapshot, per second of its own clock (envelope ts_ms of each op r
    row read from `topic`), into `path` in the format of Tests/Fixtures/snapshot-pace (the ETA estimators are
    replayed on these by SnapshotProgressTests). Also `# batches`: rows made less than 50 ms apart grouped, as
    "start ms after first_ms:rows" (Debezium refills its queue by one Connect poll, 2,048 rows, at a time), and
    `# load`. Skipped, with a note, when the topic does not hold exactly `table_rows` snapshot rows."""
    out = subprocess.run(["kcat", "-C", "-b", setting("CDCTOP_STACK_BROKERS"), "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%s\n"],
                         capture_output=True, text=True, check=True, env=_cdctop_env(), timeout=300).stdout
    times = []
    for raw in out.splitlines():
        if not raw.strip():
            continue
        value = json.loads(raw)
        payload = value.get("payload", value) if isinstance(value, dict) else None
        if payload and payload.get("op") == "r":
            times.append(int(payload["ts_ms"]))
    if len(times) != table_rows:
        log(f"not recording {topic}'s pace: {len(times)} snapshot rows read back, expected {table_rows}")
        return None
    times.sort()
    first, last = times[0], times[-1]
    per_second, batches = {}, []
    for t in times:
        per_second[t // 1000] = per_second.get(t // 1000, 0) + 1
        if batches and t - batches[-1][2] < 50:
            batches[-1][1] += 1
            batches[-1][2] = t
        else:
            batches.append([t, 1, t])
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        f.write(f"# {header}\n# load {open('/proc/loadavg').read().split()[0]} (1-minute load average when recorded)\n")
        f.write(f"# first_ms {first}\n# last_ms {last}\n# rows {len(times)}\n")
        f.write(f"# batches (rows made under 50 ms apart, start ms after first_ms:rows) {' '.join(f'{t - first}:{n}' for t, n, _ in batches)}\n# second rows\n")
        for second in range(first // 1000, last // 1000 + 1):
            f.write(f"{second} {per_second.get(second, 0)}\n")
    log(f"recorded {topic}'s pace ({len(times)} rows, {(last - first) / 1000:.1f} s) in {path}")
    return path
