#!/usr/bin/env python3
"""TEST STAND-IN: a Kafka SASL front end in front of a plaintext broker (Python standard library only).

No Kafka broker that accepts a password is installable here (Tansu drops SCRAM users and has no PLAIN;
librdkafka's mock cluster has no SASL handlers), so this speaks the broker's side of Kafka's SASL
protocol itself and then gets out of the way:

  * ApiVersions is forwarded to the broker and its answer gains SaslHandshake (v0-v1) and
    SaslAuthenticate (v0-v2) if the broker does not list them;
  * SaslHandshake v0/v1 and SaslAuthenticate v0-v2 are answered here, with SASL PLAIN, SCRAM-SHA-256
    and SCRAM-SHA-512 (RFC 5802/7677: salted proof checked, server signature sent) and OAUTHBEARER
    with an unsecured JWT (alg none, as librdkafka's enable.sasl.oauthbearer.unsecure.jwt makes);
    refused credentials get SASL_AUTHENTICATION_FAILED (58) with Kafka's message, then the
    connection is closed, as Kafka does;
  * any other request before authentication closes the connection (Kafka's ILLEGAL_SASL_STATE);
  * after authentication, bytes flow both ways unchanged.

The broker's advertised listener must be this front end's address, or clients would bypass it after
the first metadata response.

Usage:
  kafka-sasl-standin.py --listen 127.0.0.1:PORT --upstream 127.0.0.1:PORT --users FILE [--log FILE]

FILE holds one `user:password` a line (the password is turned into SCRAM credentials at start, as
Kafka's kafka-configs --add-config SCRAM-SHA-256=[password=...] does). Every authentication attempt is
one line of --log: `auth MECHANISM user=NAME ok|failed (reason)`, so tests can count attempts.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import socket
import struct
import sys
import threading
import time

API_SASL_HANDSHAKE = 17
API_VERSIONS = 18
API_SASL_AUTHENTICATE = 36

ERR_NONE = 0
ERR_UNSUPPORTED_SASL_MECHANISM = 33
ERR_ILLEGAL_SASL_STATE = 34
ERR_SASL_AUTHENTICATION_FAILED = 58

MECHANISMS = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"]
SCRAM_ITERATIONS = 4096  # Kafka's minimum for SCRAM credentials
FAILED_AUTHENTICATION_DELAY_SECONDS = 0.1

log_lock = threading.Lock()
log_file = None


def log(line):
    with log_lock:
        now = time.time()
        stamp = time.strftime("%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}"
        target = log_file or sys.stderr
        target.write(f"{stamp} {line}\n")
        target.flush()


# --- Kafka wire primitives ---------------------------------------------------------------------------


class Reader:
    def __init__(self, data, pos=0):
        self.data = data
        self.pos = pos

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError("truncated request")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def int16(self):
        return struct.unpack(">h", self.take(2))[0]

    def int32(self):
        return struct.unpack(">i", self.take(4))[0]

    def uvarint(self):
        shift = value = 0
        while True:
            byte = self.take(1)[0]
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7

    def string(self):
        n = self.int16()
        return None if n < 0 else self.take(n).decode()

    def compact_string(self):
        n = self.uvarint() - 1
        return None if n < 0 else self.take(n).decode()

    def bytes_(self):
        n = self.int32()
        return None if n < 0 else self.take(n)

    def compact_bytes(self):
        n = self.uvarint() - 1
        return None if n < 0 else self.take(n)

    def skip_tagged_fields(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())


def uvarint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def int16(v):
    return struct.pack(">h", v)


def int32(v):
    return struct.pack(">i", v)


def string(s):
    if s is None:
        return int16(-1)
    b = s.encode()
    return int16(len(b)) + b


def compact_string(s):
    if s is None:
        return uvarint(0)
    b = s.encode()
    return uvarint(len(b) + 1) + b


def bytes_(b):
    return int32(len(b)) + b


def compact_bytes(b):
    return uvarint(len(b) + 1) + b


def recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def recv_frame(sock):
    """One size-prefixed frame (the size excluded), or None at end of stream."""
    head = recv_exact(sock, 4)
    if head is None:
        return None
    size = struct.unpack(">i", head)[0]
    if size < 0 or size > 100 * 1024 * 1024:
        raise ValueError(f"frame size {size}")
    return recv_exact(sock, size)


def send_frame(sock, payload):
    sock.sendall(int32(len(payload)) + payload)


# --- SASL mechanisms ---------------------------------------------------------------------------------


class Failed(Exception):
    """Refused credentials: Kafka's message for the client, and the reason for the log."""

    def __init__(self, message, reason):
        super().__init__(message)
        self.message = message
        self.reason = reason


class Users:
    def __init__(self, path):
        self.passwords = {}
        self.scram = {}
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                line = line.rstrip("\n")
                if not line or line.startswith("#"):
                    continue
                if ":" not in line:
                    raise SystemExit(f"{path} line {number}: expected user:password")
                user, password = line.split(":", 1)
                self.passwords[user] = password
                for name, digest in (("SCRAM-SHA-256", "sha256"), ("SCRAM-SHA-512", "sha512")):
                    salt = os.urandom(16)
                    salted = hashlib.pbkdf2_hmac(digest, password.encode(), salt, SCRAM_ITERATIONS)
                    client_key = hmac.new(salted, b"Client Key", digest).digest()
                    self.scram[(name, user)] = {
                        "salt": salt,
                        "stored_key": hashlib.new(digest, client_key).digest(),
                        "server_key": hmac.new(salted, b"Server Key", digest).digest(),
                    }


class Plain:
    """RFC 4616: one message, authzid NUL authcid NUL password."""

    def __init__(self, users):
        self.users = users
        self.user = None
        self.done = False

    def step(self, token):
        parts = token.split(b"\0")
        if len(parts) != 3:
            raise Failed("Authentication failed: Invalid username or password", "malformed PLAIN message")
        authzid, user, password = (p.decode("utf-8", "replace") for p in parts)
        self.user = user
        if authzid and authzid != user:
            raise Failed("Authentication failed: Client requested an authorization id that is different from username",
                         "authzid differs")
        expected = self.users.passwords.get(user)
        if expected is None or not hmac.compare_digest(expected.encode(), password.encode()):
            raise Failed("Authentication failed: Invalid username or password", "wrong password or unknown user")
        self.done = True
        return b""


class Scram:
    """RFC 5802 (SCRAM-SHA-256 as RFC 7677, SCRAM-SHA-512 the same with SHA-512), server side."""

    def __init__(self, users, mechanism):
        self.users = users
        self.mechanism = mechanism
        self.digest = "sha256" if mechanism == "SCRAM-SHA-256" else "sha512"
        self.state = "first"
        self.user = None
        self.done = False

    def fail(self, reason):
        return Failed(
            f"Authentication failed during authentication due to invalid credentials with SASL mechanism "
            f"{self.mechanism}", reason)

    @staticmethod
    def attributes(text):
        out = {}
        for part in text.split(","):
            if len(part) >= 2 and part[1] == "=":
                out.setdefault(part[0], part[2:])
        return out

    def step(self, token):
        text = token.decode("utf-8", "replace")
        if self.state == "first":
            # gs2-header "n,," (or "y,,"; "p=" channel binding is not offered), then client-first-message-bare
            if not (text.startswith("n,") or text.startswith("y,")):
                raise self.fail("channel binding requested")
            _, authzid, bare = text.split(",", 2)
            attrs = self.attributes(bare)
            if "n" not in attrs or "r" not in attrs:
                raise self.fail("malformed client-first-message")
            self.user = attrs["n"].replace("=2C", ",").replace("=3D", "=")
            self.client_first_bare = bare
            self.credentials = self.users.scram.get((self.mechanism, self.user))
            # An unknown user gets a made-up salt, so the answer does not reveal which users exist.
            salt = self.credentials["salt"] if self.credentials else hashlib.sha256(self.user.encode()).digest()[:16]
            self.nonce = attrs["r"] + base64.b64encode(os.urandom(18)).decode()
            self.server_first = f"r={self.nonce},s={base64.b64encode(salt).decode()},i={SCRAM_ITERATIONS}"
            self.state = "final"
            return self.server_first.encode()
        if self.state == "final":
            attrs = self.attributes(text)
            if attrs.get("r") != self.nonce or "p" not in attrs or ",p=" not in text:
                raise self.fail("nonce mismatch or no proof")
            without_proof = text[: text.rindex(",p=")]
            auth_message = f"{self.client_first_bare},{self.server_first},{without_proof}".encode()
            if self.credentials is None:
                raise self.fail("unknown user")
            proof = base64.b64decode(attrs["p"])
            signature = hmac.new(self.credentials["stored_key"], auth_message, self.digest).digest()
            if len(proof) != len(signature):
                raise self.fail("proof has the wrong length")
            client_key = bytes(a ^ b for a, b in zip(proof, signature))
            if not hmac.compare_digest(hashlib.new(self.digest, client_key).digest(), self.credentials["stored_key"]):
                raise self.fail("wrong password")
            server_signature = hmac.new(self.credentials["server_key"], auth_message, self.digest).digest()
            self.done = True
            self.state = "done"
            return f"v={base64.b64encode(server_signature).decode()}".encode()
        raise self.fail("message after the exchange ended")


class OAuthBearer:
    """RFC 7628 with an unsecured JWT (alg none), as Kafka's OAuthBearerUnsecuredValidatorCallbackHandler."""

    def __init__(self, users):
        self.users = users
        self.user = None
        self.done = False

    @staticmethod
    def b64url(part):
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

    def step(self, token):
        text = token.decode("utf-8", "replace")
        fail = lambda reason: Failed(f"Authentication failed: {reason}", reason)  # noqa: E731
        fields = dict(kv.split("=", 1) for kv in text.split("\x01")[1:] if "=" in kv)
        auth = fields.get("auth", "")
        if not auth.startswith("Bearer "):
            raise fail("no bearer token")
        pieces = auth[len("Bearer "):].split(".")
        if len(pieces) != 3:
            raise fail("the token is not a JWT")
        try:
            header = json.loads(self.b64url(pieces[0]))
            claims = json.loads(self.b64url(pieces[1]))
        except ValueError:
            raise fail("the token's header or claims are not JSON")
        if header.get("alg") != "none":
            raise fail("only unsecured JWTs (alg none) are accepted by this stand-in")
        self.user = claims.get("sub")
        if not self.user:
            raise fail("the token has no sub claim")
        if "exp" in claims and float(claims["exp"]) < time.time():
            raise fail("the token expired")
        if self.user not in self.users.passwords:
            raise fail(f"principal {self.user} is not a known user")
        self.done = True
        return b""


# --- one client connection ---------------------------------------------------------------------------


class Connection:
    def __init__(self, client, upstream_address, users, stats):
        self.client = client
        self.upstream_address = upstream_address
        self.users = users
        self.stats = stats
        self.upstream = None
        self.mechanism = None

    def run(self):
        peer = "%s:%d" % self.client.getpeername()
        try:
            self.upstream = socket.create_connection(self.upstream_address)
            if self.authenticate(peer):
                self.pump()
        except (OSError, ValueError) as error:
            log(f"connection {peer}: {error}")
        finally:
            for s in (self.client, self.upstream):
                if s is not None:
                    try:
                        s.close()
                    except OSError:
                        pass

    def authenticate(self, peer):
        """Answers requests until SASL succeeds (True) or fails / the client leaves (False)."""
        while True:
            frame = recv_frame(self.client)
            if frame is None:
                return False
            r = Reader(frame)
            api_key, api_version, correlation = r.int16(), r.int16(), r.int32()
            client_id = r.string()
            if api_key == API_VERSIONS:
                send_frame(self.upstream, frame)
                answer = recv_frame(self.upstream)
                if answer is None:
                    return False
                send_frame(self.client, self.with_sasl_apis(answer, api_version))
            elif api_key == API_SASL_HANDSHAKE and api_version in (0, 1):
                mechanism = r.string()
                ok = mechanism in MECHANISMS
                self.mechanism = mechanism if ok else None
                body = int16(ERR_NONE if ok else ERR_UNSUPPORTED_SASL_MECHANISM)
                body += int32(len(MECHANISMS)) + b"".join(string(m) for m in MECHANISMS)
                send_frame(self.client, int32(correlation) + body)
                if not ok:
                    log(f"handshake {peer} client={client_id}: mechanism {mechanism} refused")
                    continue
                if api_version == 0:
                    # v0: the SASL tokens follow as bare size-prefixed frames, without Kafka headers.
                    return self.raw_sasl(peer)
            elif api_key == API_SASL_AUTHENTICATE and api_version in (0, 1, 2):
                flexible = api_version >= 2
                if flexible:
                    r.skip_tagged_fields()
                    token = r.compact_bytes()
                else:
                    token = r.bytes_()
                error, message, reply, finished = self.sasl_step(peer, token or b"")
                header = int32(correlation) + (uvarint(0) if flexible else b"")
                body = int16(error)
                if flexible:
                    body += compact_string(message) + compact_bytes(reply)
                else:
                    body += string(message) + bytes_(reply)
                if api_version >= 1:
                    body += struct.pack(">q", 0)  # session_lifetime_ms: no re-authentication
                if flexible:
                    body += uvarint(0)
                send_frame(self.client, header + body)
                if error != ERR_NONE:
                    return False  # Kafka closes the connection after a failed authentication
                if finished:
                    return True
            else:
                log(f"connection {peer}: api {api_key} v{api_version} before authentication: closed "
                    f"(ILLEGAL_SASL_STATE)")
                return False

    def raw_sasl(self, peer):
        while True:
            token = recv_frame(self.client)
            if token is None:
                return False
            error, _, reply, finished = self.sasl_step(peer, token)
            if error != ERR_NONE:
                return False  # v0 has no error frame: the broker closes the connection
            send_frame(self.client, reply)
            if finished:
                return True

    def sasl_step(self, peer, token):
        """(error code, message, reply bytes, finished)."""
        if self.mechanism is None:
            return ERR_ILLEGAL_SASL_STATE, "SaslAuthenticate before a successful SaslHandshake", b"", False
        if not hasattr(self, "exchange"):
            self.exchange = (Plain(self.users) if self.mechanism == "PLAIN"
                             else OAuthBearer(self.users) if self.mechanism == "OAUTHBEARER"
                             else Scram(self.users, self.mechanism))
        exchange = self.exchange
        try:
            reply = exchange.step(token)
        except Failed as failure:
            self.stats.count(False)
            log(f"auth {self.mechanism} user={exchange.user} failed ({failure.reason}) from {peer}")
            # Kafka's connection.failed.authentication.delay.ms (100 ms by default) slows down guessing.
            time.sleep(FAILED_AUTHENTICATION_DELAY_SECONDS)
            return ERR_SASL_AUTHENTICATION_FAILED, failure.message, b"", False
        if exchange.done:
            self.stats.count(True)
            log(f"auth {self.mechanism} user={exchange.user} ok from {peer}")
        return ERR_NONE, None, reply, exchange.done

    @staticmethod
    def with_sasl_apis(answer, version):
        """The broker's ApiVersions response with SaslHandshake v0-1 and SaslAuthenticate v0-2 listed."""
        r = Reader(answer)
        correlation = r.int32()  # ApiVersions responses always use header v0
        error = r.int16()
        flexible = version >= 3
        count = (r.uvarint() - 1) if flexible else r.int32()
        if error != ERR_NONE or count < 0:
            return answer  # e.g. UNSUPPORTED_VERSION: the client asks again with an older version
        apis = {}
        order = []
        for _ in range(count):
            key, low, high = r.int16(), r.int16(), r.int16()
            if flexible:
                r.skip_tagged_fields()
            apis[key] = (low, high)
            order.append(key)
        for key, wanted in ((API_SASL_HANDSHAKE, (0, 1)), (API_SASL_AUTHENTICATE, (0, 2))):
            if key not in apis:
                order.append(key)
            apis[key] = wanted  # our own versions: the broker's (if any) are not the ones answering
        rest = answer[r.pos :]  # throttle_time_ms (v1+) and the v3 tagged fields, unchanged
        body = int32(correlation) + int16(error)
        body += uvarint(len(order) + 1) if flexible else int32(len(order))
        for key in order:
            body += int16(key) + int16(apis[key][0]) + int16(apis[key][1]) + (uvarint(0) if flexible else b"")
        return body + rest

    def pump(self):
        def copy(source, target):
            try:
                while True:
                    chunk = source.recv(65536)
                    if not chunk:
                        break
                    target.sendall(chunk)
            except OSError:
                pass
            finally:
                for s in (source, target):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        back = threading.Thread(target=copy, args=(self.upstream, self.client), daemon=True)
        back.start()
        copy(self.client, self.upstream)
        back.join()


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.ok = 0
        self.failed = 0

    def count(self, ok):
        with self.lock:
            if ok:
                self.ok += 1
            else:
                self.failed += 1


def address(text):
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


def main():
    global log_file
    parser = argparse.ArgumentParser(description="TEST STAND-IN: Kafka SASL front end for a plaintext broker")
    parser.add_argument("--listen", required=True, help="HOST:PORT to accept clients on")
    parser.add_argument("--upstream", required=True, help="HOST:PORT of the plaintext broker")
    parser.add_argument("--users", required=True, help="file of user:password lines")
    parser.add_argument("--log", help="append one line per authentication attempt here (default: stderr)")
    options = parser.parse_args()
    users = Users(options.users)
    if options.log:
        log_file = open(options.log, "a", encoding="utf-8")
    upstream = address(options.upstream)
    server = socket.create_server(address(options.listen), reuse_port=False)
    server.listen(64)
    stats = Stats()
    log(f"listening on {options.listen}, forwarding to {options.upstream}, mechanisms {' '.join(MECHANISMS)}, "
        f"{len(users.passwords)} user(s)")
    while True:
        client, _ = server.accept()
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=Connection(client, upstream, users, stats).run, daemon=True).start()


if __name__ == "__main__":
    main()
