"""A fault-injecting HTTP proxy in front of moto server, deterministic for a seed: the
SDK clients under test talk to it, it forwards to moto and, at the rates it is given,
answers in AWS's manner instead:

  throttle      400 with the protocol's throttling error (IAM's `Throttling`)
  429           429 with the same error
  500, 503      InternalFailure, ServiceUnavailable
  reset-before  the connection reset before the request reaches moto (nothing happened)
  reset-after   the request carried out by moto, then the connection reset: the write
                happened, the answer was lost (the hard case: a retry repeats it)
  slow          the request carried out, the answer held for SLOW seconds (longer than
                the client's attempt timeout: the client gives up and retries)

    python fault_proxy.py UPSTREAM_URL --seed N --rate R [--mix kind=weight,...]
        [--services iam,sns,...] [--rates Service.Operation=R,...] [--slow S]
        [--delay-ms LO-HI] [--log Service.Operation,...]

Whether a request is faulted depends only on the seed, the operation and how many
requests of that operation came before it: the same run gets the same faults whatever
the threads' timing. `--delay-ms` delays every forwarded request (AWS's round trip, for
the latency benchmark). `--log` records when each answer of those operations was
written, with its user, role and policy (for when a deny was in place). Prints its URL, then serves until killed. `GET /_faults` answers
what was injected so far (per kind and per operation) as JSON.
"""
import argparse
import http.client
import http.server
import json
import random
import socket
import socketserver
import struct
import threading
import time
import urllib.parse

KINDS = ["throttle", "429", "500", "503", "reset-before", "reset-after", "slow"]
# Services spoken in JSON (X-Amz-Target): errors as {"__type": ...}.
JSON_SERVICES = {"dynamodb", "sqs", "cloudtrail", "securityhub", "organizations", "secretsmanager"}

LOCK = threading.Lock()
COUNTERS = {}  # operation -> requests seen
STATS = {"requests": 0, "faults": {}, "by_operation": {}, "requests_by_operation": {}, "log": []}


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("upstream")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rate", type=float, default=0.0)
    p.add_argument("--mix", default="throttle=3,429=1,500=2,503=2,reset-before=1,reset-after=2,slow=1")
    p.add_argument("--services", default="iam,sns,sqs,dynamodb,sts,cloudtrail")
    p.add_argument("--rates", default="")
    p.add_argument("--slow", type=float, default=3.0)
    p.add_argument("--delay-ms", default="")
    p.add_argument("--log", default="iam.AttachUserPolicy,iam.PutUserPolicy,iam.AttachRolePolicy,iam.PutRolePolicy")
    return p.parse_args()


ARGS = parse_args()
UPSTREAM = urllib.parse.urlparse(ARGS.upstream)
MIX = []
for part in filter(None, ARGS.mix.split(",")):
    kind, weight = part.split("=")
    assert kind in KINDS, f"unknown fault kind {kind}"
    MIX.append((kind, float(weight)))
SERVICES = set(filter(None, ARGS.services.split(",")))
RATES = {}
for part in filter(None, ARGS.rates.split(",")):
    op, rate = part.split("=")
    RATES[op] = float(rate)
DELAY = tuple(int(x) for x in ARGS.delay_ms.split("-")) if ARGS.delay_ms else None
LOG = set(filter(None, ARGS.log.split(",")))


def service_of(headers):
    """The service of a SigV4 Authorization header's credential scope."""
    auth = headers.get("Authorization") or ""
    try:
        return auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")[3]
    except IndexError:
        return ""


def operation_of(headers, path, body):
    target = headers.get("X-Amz-Target")
    if target:
        return target.rsplit(".", 1)[-1]
    if "/operation/" in path:
        return path.rsplit("/", 1)[-1]
    try:
        form = urllib.parse.parse_qs(body.decode(), keep_blank_values=True)
        return form.get("Action", ["?"])[0]
    except UnicodeDecodeError:
        return "?"


def choose(service, operation):
    """The fault for this request (or None), from the seed and the operation's count."""
    key = f"{service}.{operation}"
    with LOCK:
        n = COUNTERS.get(key, 0)
        COUNTERS[key] = n + 1
        STATS["requests"] += 1
        STATS["requests_by_operation"][key] = n + 1
    rate = RATES.get(key, ARGS.rate if service in SERVICES else 0.0)
    rng = random.Random(f"{ARGS.seed}:{key}:{n}")
    delay = rng.uniform(DELAY[0], DELAY[1]) / 1000.0 if DELAY else 0.0
    if rate <= 0 or rng.random() >= rate:
        return None, delay
    total = sum(w for _, w in MIX)
    pick = rng.uniform(0, total)
    for kind, weight in MIX:
        pick -= weight
        if pick <= 0:
            break
    with LOCK:
        STATS["faults"][kind] = STATS["faults"].get(kind, 0) + 1
        per = STATS["by_operation"].setdefault(key, {})
        per[kind] = per.get(kind, 0) + 1
    return kind, delay


def error_body(service, status):
    code, message = {
        400: ("Throttling", "Rate exceeded"),
        429: ("Throttling", "Rate exceeded"),
        500: ("InternalFailure", "We encountered an internal error. Please try again."),
        503: ("ServiceUnavailable", "Service is unavailable. Please try again."),
    }[status]
    if service in JSON_SERVICES:
        if status in (400, 429):
            code = "ThrottlingException"
        body = json.dumps({"__type": code, "message": message})
        return "application/x-amz-json-1.0", body.encode(), code
    body = (
        f'<ErrorResponse><Error><Type>{"Receiver" if status >= 500 else "Sender"}</Type>'
        f"<Code>{code}</Code><Message>{message}</Message></Error>"
        f"<RequestId>fault-proxy</RequestId></ErrorResponse>"
    )
    return "text/xml", body.encode(), code


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        # Headers and body leave as written: without it, Nagle's algorithm holds the body
        # behind the headers until the client's delayed ACK (40 ms a call for boto3).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def reset(self):
        """Closes the connection with a TCP reset: the client reads no answer."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close_connection = True
        self.connection.close()

    def answer(self, status, headers, data):
        self.send_response(status)
        for k, v in headers:
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def forward(self, body):
        conn = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=120)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, resp.getheaders(), data

    def handle_one(self):
        if self.path == "/_faults":
            with LOCK:
                data = json.dumps(STATS).encode()
            self.answer(200, [("Content-Type", "application/json")], data)
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        service = service_of(self.headers)
        operation = operation_of(self.headers, self.path, body)
        kind, delay = choose(service, operation)
        if delay:
            time.sleep(delay)
        if kind == "reset-before":
            return self.reset()
        if kind in ("throttle", "429", "500", "503"):
            status = {"throttle": 400, "429": 429, "500": 500, "503": 503}[kind]
            content_type, data, code = error_body(service, status)
            headers = [("Content-Type", content_type), ("x-amzn-RequestId", "fault-proxy")]
            if service in JSON_SERVICES:
                headers.append(("x-amzn-query-error", f"{code};Sender"))
            return self.answer(status, headers, data)
        status, headers, data = self.forward(body or None)
        if kind == "reset-after":
            return self.reset()
        if kind == "slow":
            time.sleep(ARGS.slow)
        try:
            self.answer(status, headers, data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return
        key = f"{service}.{operation}"
        if key in LOG and status == 200:
            form = urllib.parse.parse_qs(body.decode(errors="replace"))
            entry = {"op": key, "at": time.time()}
            for name in ("UserName", "RoleName", "PolicyArn", "PolicyName"):
                if name in form:
                    entry[name] = form[name][0]
            with LOCK:
                STATS["log"].append(entry)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_one


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 128


if __name__ == "__main__":
    server = Server(("127.0.0.1", 0), Proxy)
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()
