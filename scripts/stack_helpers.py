"""What the stack end-to-end checks (scripts/stack-e2e-idle, -transactions, -snapshot) share.

They run as `python3 -` from the repository root after `source .run/stack/env`, and import this with
scripts/ on sys.path: the stack's addresses from that environment, a log timed from the start, the
failures collected, the children stopped at exit, and psql, Kafka Connect, Tansu and replication-slot
helpers for a run's own database, topics, connector and slot.
"""
import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

BIN = os.environ["CDCTOP_BIN"]
BROKERS = os.environ["CDCTOP_STACK_BROKERS"]
PG_URL = urllib.parse.urlparse(os.environ["CDCTOP_STACK_PG"])
CONNECT = os.environ["CDCTOP_STACK_CONNECT"]
LIB = os.environ["CDCTOP_RDKAFKA_216"]
# The server without a database: psql() names the database.
PG = f"postgresql://{PG_URL.username}@{PG_URL.hostname}:{PG_URL.port}"
# cdctop needs librdkafka 2.16 (scripts/stack's), not the system's.
env = dict(os.environ, LD_LIBRARY_PATH=LIB + (":" + os.environ["LD_LIBRARY_PATH"] if os.environ.get("LD_LIBRARY_PATH") else ""))
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
    done = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", f"{PG}/{database}", "-c", sql],
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise SystemExit(f"psql {database}: `{sql[:200]}` failed: {done.stderr.strip()}")
    return [line.split("|") for line in done.stdout.splitlines() if line]


def connect(method, path, body=None):
    request = urllib.request.Request(CONNECT + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:
            text = answer.read().decode()
            return answer.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def tansu(*arguments):
    return subprocess.run([".run/bin/tansu", "topic", *arguments, "--broker", "tcp://" + BROKERS], capture_output=True, text=True, timeout=60)


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
    done = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", f"{PG}/{database}", "-f", "Tests/Fixtures/debezium/schema.sql"],
                          capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise SystemExit(f"schema.sql failed: {done.stderr}")


def create_topic(name, partitions):
    if tansu("create", "--partitions", str(partitions), name).returncode != 0:
        raise SystemExit(f"tansu topic create {name} failed")


def start_connector(name, database, slot, prefix, extra):
    """A PostgreSQL connector on `database` (pgoutput, the schema's dbz_publication) with `extra` config,
    once its slot streams."""
    status, answer = connect("PUT", f"/connectors/{name}/config", {
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector", "tasks.max": "1",
        "database.hostname": PG_URL.hostname, "database.port": str(PG_URL.port), "database.user": "postgres",
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
