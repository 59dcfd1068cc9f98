"""Why Debezium's pace through a snapshot falls (Tests/Fixtures/snapshot-pace/reader-load/README.md): one
PostgreSQL connector of its own snapshots a table of ROWS rows (150000) on the running stack (scripts/stack up),
alone or with a cdctop reading its topic (EXTRA: more cdctop arguments, e.g. "-X fetch.min.bytes=1000000");
records Debezium's rows per second of its own clock and the CPU seconds Tansu, Kafka Connect and cdctop spent,
in total and per second, into OUT (default .run/stack/pace) as LABEL.txt and LABEL.cpu; then removes its
connector, slot, topic and database.

    python3 scripts/snapshot-pace-experiment.py LABEL [--cdctop BIN]
"""
import json, os, subprocess, sys, time
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import stack_helpers as st
label = sys.argv[1]
cdctop = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--cdctop" else None
ROWS = int(os.environ.get("ROWS", "150000"))
DB, RUN = "e2epace", f"e2epace{os.getpid()}"
os.chdir(ROOT)
OUT = os.environ.get("OUT", os.path.join(ROOT, ".run/stack/pace"))
def cpu(pid):
    try:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except FileNotFoundError:
        return 0.0
pids = {n: int(open(f".run/stack/{n}.pid").read()) for n in ("tansu", "connect")}
st.psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", "postgres"); st.psql(f"CREATE DATABASE {DB}", "postgres")
st.psql("CREATE TABLE items (id bigint PRIMARY KEY, v int NOT NULL)", DB)
st.psql(f"INSERT INTO items SELECT g, g % 1000 FROM generate_series(1, {ROWS}) g", DB)
st.psql("CREATE PUBLICATION dbz_publication FOR TABLE items", DB); st.psql("ANALYZE", DB)
st.create_topic(f"{RUN}.public.items", 3)
watch = None
if cdctop:
    watch = subprocess.Popen([cdctop, "watch", "--state", os.path.join(OUT, f"state-{RUN}"), "--state-reset", "--brokers", st.BROKERS, "--topics", f"^{RUN}\\..*$", "--group", RUN, "--headless", "--json",
                              "--interval", "500", "-X", "auto.offset.reset=earliest", "-X", "topic.metadata.refresh.interval.ms=1000"] + os.environ.get("EXTRA", "").split(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=st.env)
    time.sleep(2)
before = {n: cpu(p) for n, p in pids.items()}; before["cdctop"] = cpu(watch.pid) if watch else 0
t0 = time.time()
import threading
samples = []
stop = [False]
def sample():
    while not stop[0]:
        samples.append((int(time.time()), cpu(pids["tansu"]), cpu(pids["connect"]), cpu(watch.pid) if watch else 0))
        time.sleep(1)
threading.Thread(target=sample, daemon=True).start()
st.start_connector(RUN, DB, RUN, RUN, {"table.include.list": "public.items"})
t1 = time.time()
stop[0] = True
after = {n: cpu(p) for n, p in pids.items()}; after["cdctop"] = cpu(watch.pid) if watch else 0
load = open("/proc/loadavg").read().split()[0]
if watch: watch.terminate(); watch.wait()
out = subprocess.run(["kcat", "-C", "-b", st.BROKERS, "-t", f"{RUN}.public.items", "-o", "beginning", "-e", "-q", "-f", "%s\n"],
                     capture_output=True, text=True, check=True, env=st.env).stdout
times = [int(json.loads(r)["payload"]["ts_ms"]) for r in out.splitlines() if r.strip() and json.loads(r)["payload"].get("op") == "r"]
first, last = min(times), max(times)
per = {}
for t in times: per[t // 1000] = per.get(t // 1000, 0) + 1
os.makedirs(OUT, exist_ok=True)
path = os.path.join(OUT, f"{label}.txt")
with open(path, "w") as f:
    f.write(f"# pace experiment {label}: one connector alone, cdctop {'reading ' + os.environ.get('EXTRA', '') if cdctop else 'not running'}; load {load}; CPU s "
            + json.dumps({k: round(after[k] - before[k], 1) for k in after}) + f"; wall {t1 - t0:.1f} s\n")
    f.write(f"# first_ms {first}\n# last_ms {last}\n# rows {len(times)}\n# second rows\n")
    for s in range(first // 1000, last // 1000 + 1): f.write(f"{s} {per.get(s, 0)}\n")
with open(path.replace(".txt", ".cpu"), "w") as f:
    for row in samples: f.write(" ".join(str(x) for x in row) + "\n")
print(open(path).readline().strip(), f"{len(times)} rows in {(last - first) / 1000:.1f} s")
st.connect("DELETE", f"/connectors/{RUN}"); st.drop_slot(RUN, 20)
st.tansu("delete", f"{RUN}.public.items")
st.psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", "postgres")
