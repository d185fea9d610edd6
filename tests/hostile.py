#!/usr/bin/env python3
"""A hostile HTTP server for the engine's tests, on loopback only.

Every request is logged (arrival time, method, path, headers, body) and the
log is served at /_log.  Paths:
  /ok                      200 {"status":"ok"}
  /big?n=N                 200 {"blob": N times "x"}
  /weird                   200, a value with U+FFFF and U+FFFE
  /cut                     a status line, then the connection closes
  /echo                    200, the request's headers as JSON
  /slow?ms=N               200 after N milliseconds (at most 30000)
  /redirect?to=URL&code=N  a redirect (302 by default) to URL
  /chain/N                 302 to /chain/N-1; /chain/0 answers 200
  POST /items[?see=PATH]   makes a record {"id": N}; with see=, answers
                           303 to PATH instead
  DELETE /items/N          deletes it; with ?move=1 answers 307 instead
  /_count                  {"items": N}, the records that exist
  /_log, /_reset           the log, and emptying it and the records
Usage: hostile.py PORT_FILE [--tls]
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LOG = []
ITEMS = {}
NEXT_ID = [1]
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, code, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        t = time.monotonic()
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
        url = urlsplit(self.path)
        q = parse_qs(url.query)
        if url.path == "/_log":
            with LOCK:
                return self.answer(200, LOG)
        if url.path == "/_count":
            with LOCK:
                return self.answer(200, {"items": len(ITEMS)})
        if url.path == "/_reset":
            with LOCK:
                LOG.clear()
                ITEMS.clear()
            return self.answer(200, {})
        with LOCK:
            LOG.append({"t": t, "method": self.command, "path": self.path,
                        "headers": dict(self.headers.items()), "body": body})
        if url.path == "/items" and self.command == "POST":
            with LOCK:
                n = NEXT_ID[0]
                NEXT_ID[0] += 1
                ITEMS[n] = body
            if "see" in q:
                return self.answer(303, {}, [("Location", q["see"][0])])
            return self.answer(201, {"id": n})
        if url.path.startswith("/items/") and self.command == "DELETE":
            if "move" in q:
                return self.answer(307, {}, [("Location", "/elsewhere")])
            with LOCK:
                gone = ITEMS.pop(int(url.path.split("/")[2]), None)
            return self.answer(200 if gone is not None else 404, {})
        if url.path == "/big":
            return self.answer(200, {"blob": "x" * int(q["n"][0])})
        if url.path == "/weird":
            return self.answer(200, {"v": "a\uffffb\ufffe"})
        if url.path == "/ok":
            return self.answer(200, {"status": "ok"})
        if url.path == "/cut":
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            self.wfile.flush()
            self.close_connection = True
            return
        if url.path == "/echo":
            return self.answer(200, {"headers": dict(self.headers.items()),
                                     "method": self.command, "body": body})
        if url.path == "/slow":
            time.sleep(min(int(q.get("ms", ["1000"])[0]), 30000) / 1000.0)
            return self.answer(200, {"slow": True})
        if url.path == "/redirect":
            code = int(q.get("code", ["302"])[0])
            return self.answer(code, {}, [("Location", q["to"][0])])
        if url.path.startswith("/chain/"):
            n = int(url.path.split("/")[2])
            if n > 0:
                return self.answer(302, {}, [("Location", "/chain/%d" % (n - 1))])
            return self.answer(200, {"status": "ok"})
        return self.answer(404, {"error": "no such path"})

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    if "--tls" in sys.argv[2:]:
        import ssl
        import subprocess
        import tempfile
        d = tempfile.mkdtemp()
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-days", "30", "-subj", "/CN=127.0.0.1",
                        "-keyout", d + "/k.pem", "-out", d + "/c.pem"],
                       check=True, capture_output=True)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(d + "/c.pem", d + "/k.pem")
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    # Bounded: a test that forgets the server does not leave it forever.
    threading.Timer(600, srv.shutdown).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
