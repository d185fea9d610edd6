#!/usr/bin/env python3
"""Open a page in headless Chromium over WebDriver and report on its DOM.

    browser.py [--timeout S] [--screenshot FILE] [--width W --height H]
               [--until JS] [--click CSS] [--eval JS]... URL

Starts chromedriver on a free loopback port, opens URL, waits until the
JavaScript expression of --until is truthy (a test's "the page has
rendered"), clicks each --click selector in turn (waiting for the next
--until after each when given again), then prints one JSON line per
--eval: the value of the expression.  --screenshot writes a PNG.  A
--width under 500 px (less than a headless window can be) emulates a
phone of that size.

Every host name but the loopback ones resolves to nothing, so a page
that asks an outside host for anything fails to load it; and the page's
resource timing is printed as {"resources": [...]}, so a test can assert
that every request went to the page's own origin.

Exit 0 when every wait succeeded, 1 when one timed out (the last
screenshot is still written), 2 on a usage or driver error.
Only the standard library: CI installs chromium and chromium-driver.
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Driver:
    def __init__(self, width, height):
        exe = shutil.which("chromedriver")
        browser = shutil.which("chromium") or shutil.which("chromium-browser")
        if exe is None or browser is None:
            raise SystemExit("browser.py: chromium and chromedriver are needed")
        self.port = free_port()
        self.profile = tempfile.mkdtemp(prefix="pw-chromium-")
        self.proc = subprocess.Popen(
            [exe, "--port=%d" % self.port, "--allowed-ips=127.0.0.1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = "http://127.0.0.1:%d" % self.port
        deadline = time.monotonic() + 20
        while True:
            try:
                self.call("GET", "/status")
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    self.close()
                    raise SystemExit("browser.py: chromedriver did not start")
                time.sleep(0.1)
        args = ["--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-extensions",
                "--disable-sync", "--disable-default-apps",
                "--user-data-dir=" + self.profile,
                "--window-size=%d,%d" % (width, height),
                # Nothing but loopback resolves: an outside request fails.
                "--host-resolver-rules=MAP * ~NOTFOUND, "
                "EXCLUDE localhost, EXCLUDE 127.0.0.1"]
        opts = {"binary": browser, "args": args}
        if width < 500:
            # A headless window is never narrower than 500 px: a phone's
            # width is emulated, as a phone (the viewport meta counts).
            opts["mobileEmulation"] = {"deviceMetrics": {
                "width": width, "height": height, "pixelRatio": 1,
                "mobile": True, "touch": True}}
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome", "goog:chromeOptions": opts}}}
        self.sid = self.call("POST", "/session", caps)["sessionId"]

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data,
                                     method=method)
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return json.loads(r.read().decode()).get("value")
        except urllib.error.HTTPError as e:
            raise SystemExit("browser.py: %s %s: %s" %
                             (method, path, e.read().decode()[:500]))

    def session(self, method, path, body=None):
        return self.call(method, "/session/%s%s" % (self.sid, path), body)

    def js(self, expr):
        return self.session("POST", "/execute/sync",
                            {"script": "return (%s);" % expr, "args": []})

    def until(self, expr, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.js(expr):
                    return True
            except SystemExit:
                pass  # the page is still loading
            time.sleep(0.1)
        return False

    def click(self, css):
        el = self.session("POST", "/element",
                          {"using": "css selector", "value": css})
        ref = list(el.values())[0]
        self.session("POST", "/element/%s/click" % ref, {})

    def screenshot(self, path):
        png = base64.b64decode(self.session("GET", "/screenshot"))
        with open(path, "wb") as f:
            f.write(png)

    def close(self):
        try:
            if getattr(self, "sid", None):
                self.session("DELETE", "")
        except SystemExit:
            pass
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


def main(argv):
    timeout, shot, width, height = 20.0, None, 1280, 900
    actions, url = [], None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("--timeout", "--screenshot", "--width", "--height",
                 "--until", "--click", "--eval"):
            if i + 1 >= len(argv):
                print("browser.py: %s needs a value" % a, file=sys.stderr)
                return 2
            v = argv[i + 1]
            i += 2
            if a == "--timeout":
                timeout = float(v)
            elif a == "--screenshot":
                shot = v
            elif a == "--width":
                width = int(v)
            elif a == "--height":
                height = int(v)
            else:
                actions.append((a[2:], v))
        elif url is None and not a.startswith("--"):
            url = a
            i += 1
        else:
            print(__doc__, file=sys.stderr)
            return 2
    if url is None:
        print(__doc__, file=sys.stderr)
        return 2
    d = Driver(width, height)
    rc = 0
    try:
        d.session("POST", "/url", {"url": url})
        for kind, v in actions:
            if kind == "until":
                if not d.until(v, timeout):
                    print("browser.py: timed out waiting for: %s" % v,
                          file=sys.stderr)
                    rc = 1
                    break
            elif kind == "click":
                d.click(v)
            else:
                print(json.dumps({"eval": v, "value": d.js(v)}))
        print(json.dumps({"resources": d.js(
            "performance.getEntriesByType('resource').map(e => e.name)")}))
        if shot:
            d.screenshot(shot)
    finally:
        d.close()
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
