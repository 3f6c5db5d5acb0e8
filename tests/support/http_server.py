#!/usr/bin/env python3
"""http_server.py - a real HTTP/1.1 server for the tests of the util HTTP client.

Standard library only (Debian's /usr/bin/python3). It listens on 127.0.0.1 with a port the
kernel chooses, optionally also with TLS on a second port and on a unix socket, prints
"<port> <tls_port>" (0 when TLS is off) on one line of stdout, and serves until its stdin
closes (the test holds the other end, so a crashed test takes the server with it) or it is
killed.

Endpoints (query parameters; every request that carries key=K is counted under K):
  /ok                       200 "ok\\n"
  /echo                     200 JSON {method, path, query, headers, body}
  /slow?ms=N                sleeps N ms, then 200
  /flaky?key=K&fail=N       503 for the first N requests of K, then 200
  /status?code=N            status N
  /big?bytes=N[&chunked=1]  N bytes of 'x' (with Content-Length, or chunked)
  /ratelimited?key=K&n=N&after=S
                            429 with "Retry-After: S" for the first N requests of K, then 200
  /count?key=K              200 JSON {count, max_inflight} of K (not counted itself)
HEAD works on all of them (headers only).
"""

import argparse
import json
import socketserver
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

lock = threading.Lock()
hits = {}
inflight = {}
max_inflight = {}


def enter(key):
    with lock:
        hits[key] = hits.get(key, 0) + 1
        inflight[key] = inflight.get(key, 0) + 1
        max_inflight[key] = max(max_inflight.get(key, 0), inflight[key])
        return hits[key]


def leave(key):
    with lock:
        inflight[key] -= 1


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes

    def log_message(self, fmt, *args):
        pass

    def address_string(self):
        return "client"  # unix sockets have no address

    def reply(self, code, body=b"", ctype="text/plain", extra=None, send_body=True):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def big(self, n, chunked, send_body):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(n))
        self.end_headers()
        if not send_body:
            return
        block = b"x" * 65536
        try:
            while n > 0:
                part = block[:min(n, len(block))]
                if chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                else:
                    self.wfile.write(part)
                n -= len(part)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def dispatch(self, send_body):
        url = urlsplit(self.path)
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        key = q.get("key")

        if url.path == "/count":
            with lock:
                doc = {"count": hits.get(key, 0), "max_inflight": max_inflight.get(key, 0)}
            return self.reply(200, json.dumps(doc).encode(), "application/json",
                              send_body=send_body)
        n = enter(key) if key else 1
        try:
            self.route(url, q, body, n, send_body)
        finally:
            if key:
                leave(key)

    def route(self, url, q, body, n, send_body):
        path = url.path
        if path == "/ok":
            self.reply(200, b"ok\n", send_body=send_body)
        elif path == "/echo":
            doc = {
                "method": self.command,
                "path": path,
                "query": url.query,
                "headers": {k: v for k, v in self.headers.items()},
                "body": body.decode("latin-1"),
            }
            self.reply(200, json.dumps(doc).encode(), "application/json",
                       send_body=send_body)
        elif path == "/slow":
            time.sleep(int(q.get("ms", "1000")) / 1000.0)
            self.reply(200, b"slow\n", send_body=send_body)
        elif path == "/flaky":
            if n <= int(q.get("fail", "1")):
                self.reply(503, b"unavailable\n", send_body=send_body)
            else:
                self.reply(200, b"recovered\n", send_body=send_body)
        elif path == "/status":
            code = int(q.get("code", "200"))
            self.reply(code, b"status %d\n" % code, send_body=send_body)
        elif path == "/big":
            self.big(int(q.get("bytes", "0")), q.get("chunked") == "1", send_body)
        elif path == "/ratelimited":
            if n <= int(q.get("n", "1")):
                self.reply(429, b"slow down\n", extra={"Retry-After": q.get("after", "1")},
                           send_body=send_body)
            else:
                self.reply(200, b"ok\n", send_body=send_body)
        else:
            self.reply(404, b"not found\n", send_body=send_body)

    def do_GET(self):
        self.dispatch(True)

    def do_HEAD(self):
        self.dispatch(False)

    do_POST = do_GET
    do_PUT = do_GET
    do_DELETE = do_GET
    do_PATCH = do_GET
    do_OPTIONS = do_GET


class UnixHandler(Handler):
    disable_nagle_algorithm = False  # not a TCP socket


class Quiet:
    """Clients that hang up (timeouts, cancels, body limits) are part of the tests."""

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError, TimeoutError)):
            super().handle_error(request, client_address)


class TCPServer(Quiet, ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 4096  # the tests open a thousand connections at once


class UnixServer(Quiet, socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    request_queue_size = 1024


def serve(server):
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--unix", help="also listen on this unix socket path")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"),
                    help="also listen with TLS on a second port")
    args = ap.parse_args()

    httpd = TCPServer(("127.0.0.1", 0), Handler)
    serve(httpd)
    tls_port = 0
    if args.tls:
        tlsd = TCPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls[0], args.tls[1])
        tlsd.socket = ctx.wrap_socket(tlsd.socket, server_side=True)
        tls_port = tlsd.server_address[1]
        serve(tlsd)
    if args.unix:
        serve(UnixServer(args.unix, UnixHandler))
    print(httpd.server_address[1], tls_port, flush=True)
    sys.stdin.read()  # until the test goes away


if __name__ == "__main__":
    main()
