"""Test worker: HTTP on the Unix socket (or TCP port) the engine gives in
NEBULA_SOCKET. GET /health -> 200 (503 in mode "unhealthy"), anything else
-> the worker's pid. Modes (argv[1]): serve (default), exit (exits at once
with code 3), never (never listens), ignore-term (ignores SIGTERM),
unhealthy."""
import http.server
import os
import signal
import socketserver
import sys
import time

mode = sys.argv[1] if len(sys.argv) > 1 else "serve"
address = os.environ["NEBULA_SOCKET"]

if mode == "exit":
    print("exiting at once", flush=True)
    sys.exit(3)
if mode == "never":
    print("never listening", flush=True)
    while True:
        time.sleep(3600)
if mode == "ignore-term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


class Handler(http.server.BaseHTTPRequestHandler):
    def address_string(self):
        return "worker"

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        if self.path == "/health":
            code, body = (503 if mode == "unhealthy" else 200), b"ok"
        else:
            code, body = 200, str(os.getpid()).encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class TcpServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


if "NEBULA_PORT" in os.environ:
    server = TcpServer((os.environ["NEBULA_HOST"], int(os.environ["NEBULA_PORT"])), Handler)
else:
    server = UnixServer(address, Handler)
print(f"worker {os.getpid()} listening on {address}", flush=True)
print("a line on stderr", file=sys.stderr, flush=True)
server.serve_forever()
