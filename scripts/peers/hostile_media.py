#!/usr/bin/env python3
"""A scripted hostile media source for the media tests (no real server behaves this badly on purpose).

Every path ends in a blob name (<sha256>[.ext]); files in --dir named <sha256> are the good bytes.
  /wrong/<sha>            200 with bytes whose hash is not <sha>
  /endless/<sha>          200 without Content-Length, an endless body (stops when the client goes)
  /slow/<sha>             200, Content-Length 1,000,000, one byte a second
  /huge/<sha>             200 declaring Content-Length 10 GiB, then zeros
  /redirect/<sha>?to=URL  302 to URL
  /hops/<n>/<sha>         302 to /hops/<n-1>/<sha>; /hops/0/<sha> serves the good bytes
  /ratelimit/<sha>        429 with Retry-After: 1 on the first request for <sha>, then the good bytes
  /good/<sha>             the good bytes
GET /_stats             JSON: requests per path
"""

import argparse
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def plain(self, code, body=b"", headers=None):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def good(self, sha):
        path = os.path.join(self.server.dir, sha)
        if not os.path.exists(path):
            return self.plain(404, b"not found", {"X-Reason": "blob not found"})
        with open(path, "rb") as f:
            data = f.read()
        self.plain(200, data, {"Content-Type": "application/octet-stream"})

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        path, _, query = self.path.partition("?")
        with self.server.lock:
            self.server.stats[path] = self.server.stats.get(path, 0) + 1
        if path == "/_stats":
            with self.server.lock:
                return self.plain(200, json.dumps(self.server.stats).encode(), {"Content-Type": "application/json"})
        parts = path.strip("/").split("/")
        mode = parts[0]
        sha = parts[-1].split(".")[0]
        try:
            if mode == "wrong":
                self.plain(200, b"these are not the bytes you are looking for" * 20)
            elif mode == "endless":
                self.send_response(200)
                self.send_header("Connection", "close")
                self.end_headers()
                chunk = b"\0" * 65536
                for _ in range(200_000):  # bounded: at most ~13 GB, ends when the client goes
                    self.wfile.write(chunk)
                self.close_connection = True
            elif mode == "slow":
                self.send_response(200)
                self.send_header("Content-Length", "1000000")
                self.end_headers()
                for _ in range(600):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(1)
                self.close_connection = True
            elif mode == "huge":
                self.send_response(200)
                self.send_header("Content-Length", str(10 * 1024**3))
                self.end_headers()
                if self.command == "GET":
                    chunk = b"\0" * 65536
                    for _ in range(200_000):
                        self.wfile.write(chunk)
                self.close_connection = True
            elif mode == "redirect":
                to = dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("to", "")
                from urllib.parse import unquote

                self.plain(302, b"", {"Location": unquote(to)})
            elif mode == "hops":
                n = int(parts[1])
                if n == 0:
                    return self.good(sha)
                self.plain(302, b"", {"Location": f"/hops/{n - 1}/{parts[-1]}"})
            elif mode == "ratelimit":
                with self.server.lock:
                    first = sha not in self.server.limited
                    self.server.limited.add(sha)
                if first:
                    return self.plain(429, b"slow down", {"Retry-After": "1", "X-Reason": "rate limited"})
                self.good(sha)
            elif mode == "good":
                self.good(sha)
            else:
                self.plain(404, b"no such mode")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    opts = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", opts.port), Handler)
    server.daemon_threads = True
    server.dir = opts.dir
    server.lock = threading.Lock()
    server.stats = {}
    server.limited = set()
    print(f"hostile media source on 127.0.0.1:{opts.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
