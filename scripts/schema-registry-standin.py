#!/usr/bin/env python3
"""TEST STAND-IN for a Confluent-compatible schema registry -- NOT a product part of cdctop.

No registry server (Confluent, Karapace, Apicurio) is installable on the test machines, so the tests,
`cdctop generate --avro` and the local stack use this: Python's standard library only, memory only
(persists nothing), bound to 127.0.0.1. It serves just the REST subset Debezium's AvroConverter and
cdctop use (see /work/shared/SERVICES.md, "Avro through a schema registry"):

  POST /subjects/{s}/versions   {"schema": "...", "schemaType"?} -> {"id": N} (same id for the same schema)
  POST /subjects/{s}            lookup -> {"subject","id","version","schema"} or 40403
  GET  /schemas/ids/{id}        -> {"schema": "..."[, "schemaType"]}
  GET  /schemas/ids/{id}/versions -> [{"subject","version"}]   (cdctop's raw view; off with --no-versions-endpoint,
                                   as registries without it answer: 404)
  GET  /subjects, GET /subjects/{s}/versions, GET /subjects/{s}/versions/{v|latest}, GET /config

  python3 scripts/schema-registry-standin.py --port 0 [--user u:p] [--no-versions-endpoint]   # prints "port N" on stdout
"""
import argparse, base64, json, signal, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class Registry:
    def __init__(self):
        self.lock = threading.Lock()
        self.schemas = {}    # id -> (canonical text, schemaType)
        self.ids = {}        # (canonical text, schemaType) -> id
        self.subjects = {}   # subject -> [id, ...] (version v is index v-1)

    @staticmethod
    def canonical(text, kind):
        if kind in ("AVRO", "JSON"):
            try:
                return json.dumps(json.loads(text), separators=(",", ":"), sort_keys=True)
            except ValueError:
                return None
        return text

    def register(self, subject, text, kind):
        canon = self.canonical(text, kind)
        if canon is None:
            return None
        with self.lock:
            key = (canon, kind)
            if key not in self.ids:
                self.ids[key] = len(self.schemas) + 1
                self.schemas[self.ids[key]] = (text, kind)
            sid = self.ids[key]
            versions = self.subjects.setdefault(subject, [])
            if sid not in versions:
                versions.append(sid)
            return sid

    def subjects_of(self, sid):
        with self.lock:
            return [{"subject": s, "version": v.index(sid) + 1} for s, v in sorted(self.subjects.items()) if sid in v]

    def lookup(self, subject, text, kind):
        with self.lock:
            sid = self.ids.get((self.canonical(text, kind), kind))
            versions = self.subjects.get(subject, [])
            return (sid, versions.index(sid) + 1) if sid in versions else None


class Handler(BaseHTTPRequestHandler):
    registry = Registry()
    credentials = None       # "user:password" when --user is given
    versions_endpoint = True  # GET /schemas/ids/{id}/versions (False: --no-versions-endpoint)
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body):
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (e.g. while the tests froze this process): nothing to answer

    def error(self, status, code, message):
        self.send(status, {"error_code": code, "message": message})

    def authorized(self):
        if self.credentials is None:
            return True
        expected = "Basic " + base64.b64encode(self.credentials.encode()).decode()
        if self.headers.get("Authorization") == expected:
            return True
        self.error(401, 40101, "Unauthorized")
        return False

    def parts(self):
        p = [unquote(p) for p in self.path.split("?")[0].strip("/").split("/") if p]
        return p[3:] if p[:3] == ["apis", "ccompat", "v7"] else p   # Apicurio's Confluent-compatible path

    def do_GET(self):
        if not self.authorized():
            return
        p, r = self.parts(), self.registry
        if p == ["config"]:
            return self.send(200, {"compatibilityLevel": "BACKWARD"})
        if p == ["subjects"]:
            return self.send(200, sorted(r.subjects))
        if len(p) >= 3 and p[:2] == ["schemas", "ids"] and p[2].isdigit():
            entry = r.schemas.get(int(p[2]))
            if entry is None:
                return self.error(404, 40403, "Schema %s not found" % p[2])
            if len(p) == 4 and p[3] == "versions" and self.versions_endpoint:
                return self.send(200, r.subjects_of(int(p[2])))
            if len(p) != 3:
                return self.error(404, 404, "HTTP 404 Not Found")
            body = {"schema": entry[0]}
            if entry[1] != "AVRO":
                body["schemaType"] = entry[1]
            return self.send(200, body)
        if len(p) >= 3 and p[0] == "subjects" and p[2] == "versions":
            versions = r.subjects.get(p[1])
            if versions is None:
                return self.error(404, 40401, "Subject '%s' not found." % p[1])
            if len(p) == 3:
                return self.send(200, list(range(1, len(versions) + 1)))
            v = len(versions) if p[3] == "latest" else int(p[3]) if p[3].isdigit() else 0
            if not 1 <= v <= len(versions):
                return self.error(404, 40402, "Version %s not found." % p[3])
            text, kind = r.schemas[versions[v - 1]]
            body = {"subject": p[1], "version": v, "id": versions[v - 1], "schema": text}
            if kind != "AVRO":
                body["schemaType"] = kind
            return self.send(200, body)
        self.error(404, 404, "Not found: " + self.path)

    def do_POST(self):
        if not self.authorized():
            return
        p = self.parts()
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            text, kind = body["schema"], body.get("schemaType", "AVRO")
        except (ValueError, KeyError, TypeError):
            return self.error(422, 42201, "Invalid schema")
        if len(p) == 3 and p[0] == "subjects" and p[2] == "versions":
            sid = self.registry.register(p[1], text, kind)
            return self.error(422, 42201, "Invalid schema") if sid is None else self.send(200, {"id": sid})
        if len(p) == 2 and p[0] == "subjects":
            found = self.registry.lookup(p[1], text, kind)
            if found is None:
                return self.error(404, 40403, "Schema not found")
            return self.send(200, {"subject": p[1], "id": found[0], "version": found[1], "schema": text})
        self.error(404, 404, "Not found: " + self.path)


def main():
    parser = argparse.ArgumentParser(description="TEST STAND-IN schema registry (not a product part).")
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port (printed)")
    parser.add_argument("--user", help="require basic auth user:password")
    parser.add_argument("--no-versions-endpoint", action="store_true",
                        help="answer 404 to GET /schemas/ids/{id}/versions, as registries without it do")
    args = parser.parse_args()
    # A parent may have blocked or ignored these (the child inherits that): SIGTERM and Ctrl-C must stop it.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    Handler.credentials = args.user
    Handler.versions_endpoint = not args.no_versions_endpoint
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print("port %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
