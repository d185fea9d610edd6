#!/usr/bin/env python3
"""How fast the status page draws a large suite, in headless Chromium.

    statuspage_render.py [TESTS]

Serves the page's files (from this source tree) and an /api/status of
TESTS tests (default 10,000: 50 scenarios x 4 targets x a matrix, each
test with 16 results, a tenth of them failing with a message) from a
loopback server, opens the page with tests/browser.py and prints the
size of the JSON, the time of one render and the number of elements.
"""
import http.server
import json
import os
import subprocess
import sys
import threading

top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
targets = ["prod-eu", "prod-us", "canary", "staging"]
per = max(1, n // (50 * len(targets)))
tests, t0 = [], 1.7e9
for s in range(50):
    for tg in targets:
        for k in range(per):
            bad = (s * 7 + k) % 10 == 0
            st = "fail" if bad else "pass"
            tests.append({
                "id": "scenario-%d@%s[locale=l%d,payment=p%d]" % (s, tg, k % 7, k),
                "scenario": "scenario-%d" % s, "target": tg, "status": st,
                "since": t0, "last_run": t0 + 600, "duration_ms": 123.4,
                "message": "status: expected 200, got 503" if bad else None,
                "step": "When the user pays" if bad else None,
                "runs": 16, "failures": 16 if bad else 0,
                "history": st[0] * 16})
status = json.dumps({
    "runner": {"id": "bench", "version": "x", "tests": len(tests),
               "runs_in_flight": 0, "redis_up": True, "config_reloads": 0},
    "tests": tests, "incidents": [], "paused": {"all": False, "targets": []},
    "silenced": [],
    "scenarios": [{"name": "scenario-%d" % s, "description": "A journey",
                   "severity": "error", "every_ms": 60000,
                   "tags": ["t%d" % (s % 5)]} for s in range(50)],
    "targets": [{"name": t, "channel": "stable", "paused": False,
                 "silenced": False} for t in targets]}).encode()
files = {"/": ("statuspage.html", "text/html"),
         "/statuspage.css": ("statuspage.css", "text/css"),
         "/statuspage.js": ("statuspage.js", "text/javascript")}


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/api/status":
            body, ctype = status, "application/json"
        elif self.path in files:
            name, ctype = files[self.path]
            with open(os.path.join(top, "runner", name), "rb") as f:
                body = f.read()
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=srv.serve_forever, daemon=True).start()
url = "http://127.0.0.1:%d/" % srv.server_address[1]
r = subprocess.run(
    [sys.executable, os.path.join(top, "tests", "browser.py"), "--timeout", "60",
     "--until", "document.body.dataset.loaded === '1'",
     "--eval", "document.getElementById('grid').dataset.renderMs",
     "--eval", "document.getElementsByTagName('*').length",
     "--eval", "document.querySelectorAll('.test').length",
     url], capture_output=True, text=True, timeout=180)
srv.shutdown()
ev = [json.loads(l)["value"] for l in r.stdout.splitlines() if '"eval"' in l]
if r.returncode != 0 or len(ev) != 3:
    sys.exit("statuspage_render: %s" % r.stderr.strip())
print("tests %d, /api/status %d bytes, render %s ms, %d elements, %d test rows"
      % (len(tests), len(status), ev[0], ev[1], ev[2]))
