#!/usr/bin/env python3
"""Search files for a planted secret in every common encoding.

Usage: secret_scan.py SECRET BASIC_USER FILE...
Looks for the secret as is, URL-encoded (both hex cases, '+' or %20 for a
space), JSON-escaped, in base64 (standard and URL-safe, at every byte
alignment, so inside the encoding of a longer string too), the basic-auth
pair "user:secret" in base64, HTML-escaped, JSON-escaped twice, its
upper-case form (a value derived from it), and its first bytes before a
"..." that marks a value cut short.  Prints each find and exits 1 if there is any.
"""
import base64
import html
import json
import re
import sys
from urllib.parse import quote, quote_plus


def base64_fragments(value):
    out = set()
    for align in range(3):
        data = b"\0" * align + value + b"\0\0"
        for enc in (base64.b64encode(data), base64.urlsafe_b64encode(data)):
            first = (8 * align + 5) // 6
            last = 8 * (align + len(value)) // 6
            frag = enc[first:last]
            if len(frag) >= 4:
                out.add(frag.decode())
    return out


def forms(secret, user):
    raw = secret.encode()
    f = {secret, secret.upper(), quote(secret, safe=""),
         quote(secret, safe="").lower(), quote_plus(secret),
         json.dumps(secret)[1:-1]}
    f |= base64_fragments(raw)
    f.add(base64.b64encode(("%s:%s" % (user, secret)).encode()).decode())
    f.add(html.escape(secret, quote=True))
    f.add(json.dumps(json.dumps(secret)[1:-1])[1:-1])
    f.add(json.dumps(secret)[1:-1].replace("&", "\\u0026")
          .replace("<", "\\u003c").replace(">", "\\u003e"))
    return f


def main():
    secret, user, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    found = 0
    wanted = forms(secret, user)
    for path in files:
        text = open(path, encoding="utf-8", errors="replace").read()
        for form in sorted(wanted):
            if form in text:
                print("%s: holds the secret as %r" % (path, form))
                found += 1
        # The start of a secret shown cut short ("Zq9-s3cr3t...").
        m = re.search(re.escape(secret[:6]) + r"[^\n]{0,60}?\.\.\.", text)
        if m and secret[:6] not in ("", "."):
            print("%s: holds the start of the secret: %r" % (path, m.group(0)))
            found += 1
    if found == 0:
        print("no secret in %d files (%d forms)" % (len(files), len(wanted)))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
