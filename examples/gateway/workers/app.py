"""The Python service behind the gateway: a plain http.server on the Unix
socket the engine gives in NEBULA_SOCKET. Any framework that can listen on a
Unix socket works the same (e.g. `uvicorn app:app --uds $NEBULA_SOCKET`)."""
import http.server
import json
import os
import socketserver


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def address_string(self):
        return "gateway"

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        if self.path == "/health":
            body = b"ok"
        else:
            user = self.headers.get("X-Forwarded-For", "?")
            body = json.dumps({"service": "python", "pid": os.getpid(), "path": self.path, "from": user}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


print(f"python worker {os.getpid()} on {os.environ['NEBULA_SOCKET']}", flush=True)
Server(os.environ["NEBULA_SOCKET"], Handler).serve_forever()
