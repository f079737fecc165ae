"""A local proxy in front of moto that lets IAM through at RATE requests per second, as
IAM's own rate limit would: a request over the rate waits for its slot (no errors, so
the measure is the pruner's use of the rate, not its retry policy). Other services pass
unthrottled. Prints its URL, then serves until killed.

    python ratelimit_proxy.py UPSTREAM_URL RATE
"""
import http.client
import http.server
import socketserver
import sys
import threading
import time
import urllib.parse

UPSTREAM = urllib.parse.urlparse(sys.argv[1])
RATE = float(sys.argv[2])
LOCK = threading.Lock()
NEXT_SLOT = [0.0]
COUNT = [0]


def wait_for_slot():
    with LOCK:
        now = time.monotonic()
        slot = max(now, NEXT_SLOT[0])
        NEXT_SLOT[0] = slot + 1.0 / RATE
        COUNT[0] += 1
    delay = slot - time.monotonic()
    if delay > 0:
        time.sleep(delay)


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if "/iam/aws4_request" in (self.headers.get("Authorization") or ""):
            wait_for_slot()
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
