"""The soak's webhook receiver: a local HTTP server that records every POST it gets.

    python -m bench.soak.receiver PORT_FILE RECORDS_FILE

Listens on 127.0.0.1 (a free port, written to PORT_FILE once listening), answers every POST
200 and appends one JSON line per delivery to RECORDS_FILE: ``{"at": epoch s, "path",
"key": Idempotency-Key, "signature_ok": the X-Viewer-Signature matches the HMAC-SHA256 of the
body with VIEWER_WEBHOOK_SECRET, "body": the JSON body (or its text)}``. Counting duplicates is
the driver's job: the receiver keeps everything.
"""

import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

_lock = threading.Lock()


def make_handler(records: Path, secret: bytes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            expected = "sha256=" + hmac.new(secret, raw, hashlib.sha256).hexdigest()
            try:
                body: Any = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
            record = {
                "at": time.time(),
                "path": self.path,
                "key": self.headers.get("Idempotency-Key"),
                "signature_ok": hmac.compare_digest(
                    expected, self.headers.get("X-Viewer-Signature") or ""
                ),
                "body": body,
            }
            with _lock, records.open("a") as out:
                out.write(json.dumps(record, sort_keys=True) + "\n")
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    port_file, records = Path(argv[1]), Path(argv[2])
    secret = os.environ["VIEWER_WEBHOOK_SECRET"].encode()
    records.touch()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(records, secret))
    server.daemon_threads = True
    port_file.write_text(f"{server.server_address[1]}\n")
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
