#!/usr/bin/env python3
"""Kafka SASL end to end (issue 23), through the TEST STAND-IN scripts/kafka-sasl-standin.py in front of a
plaintext Tansu of this script's own (Tansu's advertised listener is the stand-in's port).

For each mechanism (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER with an unsecured JWT), configured the
documented way, never on the command line (-F FILE, $CDCTOP_KAFKA_CONFIG, --config TOML naming the -F file):
  1. `cdctop generate` writes a shop workload through SASL_PLAINTEXT and prints its exact truth;
  2. `cdctop watch --headless --json --until-caught-up` reads it through SASL_PLAINTEXT: exit 0 and
     messages, windows, totals, malformed, dropped equal to the truth;
  3. /proc/<pid>/cmdline of the running watch, its stdout and stderr hold no password;
  4. the stand-in logged successful authentications with that mechanism and no failure.
Then, with a wrong password (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512; --topics a ^pattern, and a named topic):
  5. watch exits 4 ("refused") within seconds, says on one line that the credentials were refused and what
     to fix (sasl.password), and the stand-in saw only a handful of authentication attempts, not a storm.
Prints a table of both.
Environment: CDCTOP_BIN (the cdctop binary), CDCTOP_RDKAFKA_216 or .run/lib (librdkafka 2.16).
Every process started here is stopped by pid; the work folder is removed unless a check fails.
"""

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ["CDCTOP_BIN"]
TANSU = os.path.join(ROOT, ".run", "bin", "tansu")
WORK = f"/tmp/cdctop-e2e-sasl-{os.getpid()}"
MESSAGES = int(os.environ.get("CDCTOP_SASL_MESSAGES", "3000"))
FIELDS = ("window_ms", "messages", "windows", "totals", "malformed", "dropped")
# librdkafka's client tries a wrong password twice before cdctop counts the fault as needing a fix (one failure
# may be a broker restarting), and one more attempt may be in flight; a named topic is first checked by a
# metadata client of its own (whose refusal ends the run). Measured: 2-3 (pattern) and 5 (named topic); before
# issue 23's fix 13 and 72 at this stand-in.
MAX_FAILED_ATTEMPTS = {"pattern": 4, "named": 8}
MAX_REFUSAL_SECONDS = 10

started = []
failures = []


def say(text):
    print(f"e2e-sasl: {text}", flush=True)


def fail(text):
    failures.append(text)
    print(f"e2e-sasl: FAIL: {text}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(name, args, env=None):
    log = open(os.path.join(WORK, f"{name}.log"), "w")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    started.append(proc)
    return proc


def wait_port(port, proc, name):
    for _ in range(100):
        if proc.poll() is not None:
            break
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    with open(os.path.join(WORK, f"{name}.log")) as f:
        tail = f.read()[-500:]
    raise SystemExit(f"e2e-sasl: error: {name} did not listen on port {port}: {tail}")


def stop_all():
    for proc in reversed(started):
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def standin_lines():
    with open(os.path.join(WORK, "standin.log")) as f:
        return [line.rstrip("\n") for line in f]


def write_private(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def differences(result, truth):
    if result is None:
        return ["no JSON result was printed"]
    out = []
    for field in FIELDS:
        if result.get(field) != truth.get(field):
            got, want = result.get(field), truth.get(field)
            if field == "windows":
                out.append(f"windows differ ({len(got or [])} vs truth {len(want or [])})")
            else:
                out.append(f"{field} {json.dumps(got)[:200]} (truth {json.dumps(want)[:200]})")
    return out


def last_json(text):
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


def run_watch(name, arguments, env, secrets):
    """Runs `cdctop watch` to its end; reads its cmdline while it runs. (exit code, stdout, stderr, seconds)."""
    out_path, err_path = os.path.join(WORK, f"{name}.out"), os.path.join(WORK, f"{name}.err")
    t0 = time.monotonic()
    with open(out_path, "w") as out, open(err_path, "w") as err:
        proc = subprocess.Popen([BIN, *arguments], stdout=out, stderr=err, env=env)
        started.append(proc)
        cmdline = None
        # Popen returns while the kernel is still in the exec (close-on-exec ran, the arguments are not
        # mapped yet): the cmdline reads empty for a moment.
        for _ in range(1000):
            try:
                with open(f"/proc/{proc.pid}/cmdline", "rb") as f:
                    text = f.read().replace(b"\0", b" ").decode()
            except OSError:
                break
            if text:
                cmdline = text
                break
            time.sleep(0.001)
        try:
            code = proc.wait(timeout=180)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            code = None
    seconds = time.monotonic() - t0
    with open(out_path) as f:
        stdout = f.read()
    with open(err_path) as f:
        stderr = f.read()
    if cmdline is None:
        fail(f"{name}: cdctop ended before its /proc/PID/cmdline could be read")
    else:
        for secret in secrets:
            if secret in cmdline:
                fail(f"{name}: a password is on the command line: {cmdline}")
    for secret in secrets:
        if secret in stdout or secret in stderr:
            fail(f"{name}: a password is in cdctop's output")
    return code, stdout, stderr, seconds, cmdline


def main():
    os.makedirs(WORK)
    env = dict(os.environ)
    env.pop("CDCTOP_KAFKA_CONFIG", None)
    lib = os.environ.get("CDCTOP_RDKAFKA_216") or os.path.join(ROOT, ".run", "lib")
    env["LD_LIBRARY_PATH"] = lib + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")

    plain_port, sasl_port = free_port(), free_port()
    brokers = f"127.0.0.1:{sasl_port}"
    tansu = start("tansu", [TANSU, "broker", "--listener-url", f"tcp://127.0.0.1:{plain_port}",
                            "--advertised-listener-url", f"tcp://127.0.0.1:{sasl_port}",
                            "--storage-engine", "memory://tansu/"])
    user = "cdctop-e2e"
    # '=' and ',' in the password: the -F parser splits at the first '=' only, SCRAM carries both unescaped.
    password = f"pw={random.getrandbits(48):x},x"
    write_private(os.path.join(WORK, "users"), f"{user}:{password}\n")
    standin = start("standin-stderr", [sys.executable, os.path.join(ROOT, "scripts", "kafka-sasl-standin.py"),
                                       "--listen", brokers, "--upstream", f"127.0.0.1:{plain_port}",
                                       "--users", os.path.join(WORK, "users"),
                                       "--log", os.path.join(WORK, "standin.log")])
    wait_port(plain_port, tansu, "tansu")
    wait_port(sasl_port, standin, "standin-stderr")
    say(f"Tansu on {plain_port} (advertised {sasl_port}), SASL stand-in on {sasl_port}; work folder {WORK}")

    table = []
    # How each mechanism's credentials reach cdctop: all of them documented, none on the command line.
    cases = [("PLAIN", "-F"), ("SCRAM-SHA-256", "CDCTOP_KAFKA_CONFIG"), ("SCRAM-SHA-512", "--config"),
             ("OAUTHBEARER", "-F")]
    for number, (mechanism, how) in enumerate(cases):
        tag = mechanism.lower().replace("-", "")
        props = os.path.join(WORK, f"{tag}.properties")
        lines = ["# librdkafka properties (kcat's -F format)", "security.protocol=SASL_PLAINTEXT",
                 f"sasl.mechanisms={mechanism}"]
        if mechanism == "OAUTHBEARER":
            # librdkafka makes an unsecured JWT (alg none) for this principal; the stand-in checks it.
            lines += ["enable.sasl.oauthbearer.unsecure.jwt=true", f"sasl.oauthbearer.config=principal={user}"]
        else:
            lines += [f"sasl.username={user}", f"sasl.password={password}"]
        write_private(props, "\n".join(lines) + "\n")
        prefix = f"sasl{os.getpid()}{tag}"
        topics = f"^{prefix}\\.public\\..*"
        before = len(standin_lines())

        generated = subprocess.run(
            [BIN, "--no-config", "generate", "--brokers", brokers, "-F", props, "--prefix", prefix,
             "--count", str(MESSAGES), "--max", "--seed", str(30 + number), "--print-truth"],
            env=env, capture_output=True, text=True, timeout=300)
        truth = last_json(generated.stdout)
        if generated.returncode != 0 or truth is None:
            fail(f"{mechanism}: generate through SASL failed ({generated.returncode}): {generated.stderr[-400:]}")
            continue

        watch_env = dict(env)
        common = ["--topics", topics, "--headless", "--json", "--until-caught-up", "--timeout", "120",
                  "--state", "none", "-X", "session.timeout.ms=6000"]
        if how == "-F":
            arguments = ["--no-config", "watch", "--brokers", brokers, "-F", props, *common]
        elif how == "CDCTOP_KAFKA_CONFIG":
            watch_env["CDCTOP_KAFKA_CONFIG"] = props
            arguments = ["--no-config", "watch", "--brokers", brokers, *common]
        else:
            config = os.path.join(WORK, f"{tag}.toml")
            write_private(config, f'brokers = "{brokers}"\n[watch]\nF = "{props}"\n')
            arguments = ["--config", config, "watch", *common]
        code, stdout, stderr, seconds, cmdline = run_watch(f"watch-{tag}", arguments, watch_env, [password])
        result = last_json(stdout)
        diffs = differences(result, truth)
        if code != 0:
            fail(f"{mechanism}: watch exited {code}: {stderr.strip()[-400:]}")
        elif diffs:
            fail(f"{mechanism}: the result is not the generator's truth: " + "; ".join(diffs))
        lines = standin_lines()[before:]
        ok = sum(1 for line in lines if f"auth {mechanism} user={user} ok" in line)
        failed = sum(1 for line in lines if " failed " in line)
        if ok < 2 or failed:
            fail(f"{mechanism}: the stand-in logged {ok} successful and {failed} failed authentications "
                 f"(expected at least one for the producer and one for the consumer, no failure)")
        totals = (result or {}).get("totals") or {}
        table.append((mechanism, how, f"{(result or {}).get('messages')}/{truth.get('messages')}",
                      f"{totals.get('tx_count')}", f"{totals.get('revenue')}",
                      "yes" if code == 0 and not diffs else "NO", str(ok), f"{seconds:.1f} s"))
        say(f"{mechanism} ({how}): {(result or {}).get('messages')} messages, totals "
            f"{'equal' if not diffs else 'DIFFERENT'} to the truth, {ok} authentications, cmdline: {cmdline}")

    # --- a wrong password: refused at once, one line with the fix, exit 4, no retry storm -----------------
    refusals = []
    # A ^pattern is listed by the consumer alone; a named topic is first checked by its own metadata client.
    pattern, named = f"^sasl{os.getpid()}plain\\..*", f"sasl{os.getpid()}plain.public.transaction"
    for mechanism, topics in (("PLAIN", pattern), ("SCRAM-SHA-256", pattern), ("SCRAM-SHA-512", pattern),
                              ("SCRAM-SHA-512", named)):
        tag = mechanism.lower().replace("-", "") + ("-named" if topics == named else "")
        wrong = f"wrong-{random.getrandbits(32):x}"
        props = os.path.join(WORK, f"wrong-{tag}.properties")
        write_private(props, f"security.protocol=SASL_PLAINTEXT\nsasl.mechanisms={mechanism}\n"
                             f"sasl.username={user}\nsasl.password={wrong}\n")
        before = len(standin_lines())
        code, stdout, stderr, seconds, _ = run_watch(
            f"wrong-{tag}",
            ["--no-config", "watch", "--brokers", brokers, "-F", props, "--topics", topics,
             "--headless", "--json", "--until-caught-up", "--timeout", "60", "--state", "none"],
            env, [wrong, password])
        time.sleep(1)  # attempts still in flight when cdctop exited reach the stand-in's log
        lines = standin_lines()[before:]
        attempts = sum(1 for line in lines if line.split(" ", 1)[-1].startswith(f"auth {mechanism} "))
        outcome = ((last_json(stdout) or {}).get("outcome")) or {}
        refused_lines = [line for line in stderr.splitlines() if "refused the credentials" in line]
        problems = []
        if code != 4:
            problems.append(f"exit {code} (expected 4, refused)")
        if outcome.get("result") != "refused":
            problems.append(f"JSON outcome {outcome.get('result')} (expected refused)")
        if not refused_lines or "sasl.password" not in refused_lines[0]:
            problems.append(f"no line saying the credentials were refused and naming sasl.password: {stderr[-500:]}")
        if seconds > MAX_REFUSAL_SECONDS:
            problems.append(f"took {seconds:.1f} s (at most {MAX_REFUSAL_SECONDS} s)")
        limit = MAX_FAILED_ATTEMPTS["named" if topics == named else "pattern"]
        if not 1 <= attempts <= limit:
            problems.append(f"the stand-in saw {attempts} authentication attempts (1 to {limit} expected)")
        if problems:
            fail(f"wrong password, {mechanism}: " + "; ".join(problems))
        refusals.append((mechanism + (" (named)" if topics == named else ""), str(code), outcome.get("result"), f"{seconds:.1f} s", str(attempts)))
        say(f"wrong password, {mechanism}, --topics {topics}: exit {code} after {seconds:.1f} s, {attempts} attempts at the stand-in: "
            f"{(refused_lines or ['(no line)'])[0][:240]}")

    print()
    print(f"{'mechanism':<14} {'credentials via':<20} {'messages':<12} {'tx':>6} {'revenue':>14}  truth  auths  time")
    for row in table:
        print(f"{row[0]:<14} {row[1]:<20} {row[2]:<12} {row[3]:>6} {row[4]:>14}  {row[5]:<5}  {row[6]:>5}  {row[7]}")
    print(f"\n{'wrong password':<22} {'exit':>4}  {'outcome':<8} {'time':>7}  attempts")
    for row in refusals:
        print(f"{row[0]:<22} {row[1]:>4}  {str(row[2]):<8} {row[3]:>7}  {row[4]}")
    print()


if __name__ == "__main__":
    try:
        main()
    except BaseException:
        stop_all()
        raise
    stop_all()
    if failures:
        say(f"{len(failures)} failure(s); logs in {WORK}")
        sys.exit(1)
    shutil.rmtree(WORK, ignore_errors=True)
    say("all passed")
