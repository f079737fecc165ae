"""A local proxy in front of moto that lets IAM through at RATE requests per second, as
IAM's own rate limit would: a request over the rate waits for its slot (no errors, so
the measure is the pruner's use of the rate, not its retry policy). Other services pass
unthrottled. Prints its URL, then serves until killed.

    python ratelimit_proxy.py UPSTREAM_URL RATE [per-key]

With `per-key`, each access key has its own RATE: IAM's limit is per account, and in
central mode each member account is reached with its member role's own key. `GET
/_counts` answers the requests seen so far per access key and service, as JSON.
"""
import http.client
import json
import http.server
import socketserver
import sys
import threading
import time
import urllib.parse

UPSTREAM = urllib.parse.urlparse(sys.argv[1])
RATE = float(sys.argv[2])
PER_KEY = len(sys.argv) > 3 and sys.argv[3] == "per-key"
LOCK = threading.Lock()
NEXT_SLOT = {}  # access key (or "" for one limit) -> next free slot
COUNT = [0]
COUNTS = {}  # access key -> service -> requests


def credential(authorization):
    """The access key id and the service of a SigV4 Authorization header."""
    try:
        scope = authorization.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        return scope[0], scope[3]
    except IndexError:
        return "", ""


def wait_for_slot(key):
    lane = key if PER_KEY else ""
    with LOCK:
        now = time.monotonic()
        slot = max(now, NEXT_SLOT.get(lane, 0.0))
        NEXT_SLOT[lane] = slot + 1.0 / RATE
        COUNT[0] += 1
    delay = slot - time.monotonic()
    if delay > 0:
        time.sleep(delay)


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def forward(self):
        if self.path == "/_counts":
            with LOCK:
                data = json.dumps(COUNTS).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        key, service = credential(self.headers.get("Authorization") or "")
        with LOCK:
            per = COUNTS.setdefault(key, {})
            per[service] = per.get(service, 0) + 1
        if service == "iam":
            wait_for_slot(key)
        conn = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = forward


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


if __name__ == "__main__":
    server = Server(("127.0.0.1", 0), Proxy)
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()
