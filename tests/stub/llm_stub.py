#!/usr/bin/env python3
"""llm_stub.py - a loopback stand-in for the Anthropic Messages API and the
OpenAI chat completions API, for dmbuild's tests (no network: it only ever
listens on 127.0.0.1).

    python3 tests/stub/llm_stub.py [--script FILE] [--log FILE]
        [--port-file FILE] [--port N] [--latency-ms N] [--fill TEXT]
        [--echo REGEX] [--sequence SPEC] [--max-seconds N]

Endpoints: POST /v1/messages (Anthropic), POST /chat/completions and
/v1/chat/completions (OpenAI).  Requests are checked like the real services
do (JSON body with model, max_tokens and messages; anthropic-version and
x-api-key headers for Anthropic) and answered in the provider's own format.

The port (picked by the system unless --port) goes to --port-file, written
atomically, or else to standard output.  Every request is appended to the
--log file as one JSON line: n (1-based arrival order), t (Unix time),
client_port (one per connection: keep-alive shows as reuse), method, path, provider, headers (lower-cased names, all of them),
x_api_key and authorization (the header's value or null: tests assert
them), body (the parsed JSON, or the raw text if it is not JSON), kind and
status (what the stub answered).

Behaviour comes from a JSON script (--script) whose keys are all optional:

  latency_ms   delay before every answer (default 0)
  fill         the answer text (default "stub fill")
  fills        {"MARKER": "text"}: a prompt containing MARKER gets that text
               (first marker in the map that occurs)
  echo         a regular expression searched in the prompt; the answer is
               its group 1, or the whole match (used when no fills marker
               matched)
  sequence     [RESPONSE, ...]: the Nth request gets the Nth entry
  by_marker    {"MARKER": [RESPONSE, ...]}: a request whose prompt contains
               MARKER takes the next entry of that list first
  default      RESPONSE used when nothing above applies ({"kind": "ok"})
  keys         {"anthropic": KEY, "openai": KEY}: when set, the key a request
               must carry, else 401
  echo_key     true: error messages quote the key the request carried (to
               test that clients never repeat it)

A RESPONSE is {"kind": KIND, ...}; every kind takes latency_ms:

  ok           200 with text (else the fill), usage {input, output,
               cache_read, cache_write} (else counted in words, with prompt
               caching simulated: a system text seen before is a cache read)
  empty        200, well formed, with an empty answer
  rate_limit   429; retry_after (the retry-after header, a string: seconds
               or an HTTP date) and retry_after_ms (retry-after-ms)
  overloaded   Anthropic 529 overloaded_error; OpenAI 503
  server_error 500 (status to choose another 5xx)
  auth         401 (Anthropic authentication_error, OpenAI invalid_api_key)
  permission   403
  quota        Anthropic 400 "credit balance is too low"; OpenAI 429
               insufficient_quota
  invalid_request  400
  error        any status/type/message/code, in the provider's error format
  truncated    200 whose JSON body is cut in half (a complete HTTP reply)
  invalid_json 200 whose body is not JSON
  cut          200 headers announcing the full body, half of it, then the
               connection is closed
  close        the connection is closed without an answer

--sequence is a shorthand for the script's sequence: comma-separated
KIND[:NAME=VALUE]... entries, e.g. "rate_limit:retry_after_ms=300,ok";
numeric values become numbers.

SIGTERM or SIGINT shut it down cleanly; so does its parent going away, and
--max-seconds (default 900) bounds its life.
"""
import argparse
import json
import os
import re
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANTHROPIC_PATHS = ("/v1/messages",)
OPENAI_PATHS = ("/chat/completions", "/v1/chat/completions")


def words(text):
    return len(text.split()) if text else 0


def parse_sequence(spec):
    out = []
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        parts = item.split(":")
        resp = {"kind": parts[0]}
        for p in parts[1:]:
            name, _, value = p.partition("=")
            try:
                resp[name] = int(value)
            except ValueError:
                resp[name] = value
        out.append(resp)
    return out


class State:
    def __init__(self, script, log_path):
        self.script = script
        self.lock = threading.Lock()
        self.n = 0
        self.seq = list(script.get("sequence", []))
        self.by_marker = {k: list(v) for k, v in script.get("by_marker", {}).items()}
        self.seen_systems = set()
        self.log = open(log_path, "a", encoding="utf-8") if log_path else None

    def next_response(self, prompt):
        """The request's number and its scripted response (under the lock)."""
        with self.lock:
            self.n += 1
            n = self.n
            for marker, lst in self.by_marker.items():
                if marker in prompt and lst:
                    return n, lst.pop(0)
            if n <= len(self.seq):
                return n, self.seq[n - 1]
            return n, self.script.get("default", {"kind": "ok"})

    def cached(self, system):
        """Whether the system text was seen before; remembers it."""
        with self.lock:
            seen = system in self.seen_systems
            self.seen_systems.add(system)
            return seen

    def record(self, entry):
        if not self.log:
            return
        line = json.dumps(entry, ensure_ascii=False)
        with self.lock:
            self.log.write(line + "\n")
            self.log.flush()

    def fill(self, prompt):
        s = self.script
        for marker, text in s.get("fills", {}).items():
            if marker in prompt:
                return text
        if s.get("echo"):
            m = re.search(s["echo"], prompt, re.S)
            if m:
                return m.group(1) if m.groups() else m.group(0)
        return s.get("fill", "stub fill")


def text_of(content):
    """The text of a message content: a string or a list of blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content if isinstance(b, dict))
    return ""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "llm-stub/1"
    # headers and body are separate writes: without TCP_NODELAY the body
    # waits for the client's delayed ACK (40 ms a request)
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    # --- answering -----------------------------------------------------

    def send_json(self, status, obj, extra=None):
        data = json.dumps(obj).encode()
        self.send_raw(status, data, extra)

    def send_raw(self, status, data, extra=None, length=None):
        self.log_now(status)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data) if length is None else length))
        for k, v in (extra or {}).items():
            self.send_header(k, str(v))
        if isinstance(getattr(self, "_headers_buffer", None), list):
            # one write for the headers and the body
            self._headers_buffer.append(b"\r\n")
            self._headers_buffer.append(data)
            self.flush_headers()
        else:
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()

    def error_body(self, provider, etype, message, code=None):
        if provider == "anthropic":
            return {"type": "error", "error": {"type": etype, "message": message}}
        return {"error": {"message": message, "type": etype, "param": None, "code": code}}

    def ok_body(self, provider, model, system, prompt, resp, text):
        st = self.server.state
        u = resp.get("usage")
        if u is None:
            cached = bool(system) and st.cached(system)
            if provider == "anthropic":
                cc = self.cache_control
                u = {
                    "input": words(prompt) + (0 if cc else words(system)),
                    "output": words(text),
                    "cache_read": words(system) if cc and cached else 0,
                    "cache_write": words(system) if cc and not cached else 0,
                }
            else:
                u = {
                    "input": words(prompt) + words(system),
                    "output": words(text),
                    "cache_read": words(system) if cached else 0,
                    "cache_write": 0,
                }
        if provider == "anthropic":
            return {
                "id": "msg_stub%d" % self.n,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{"type": "text", "text": text}] if text else [],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {
                    "input_tokens": u.get("input", 0),
                    "output_tokens": u.get("output", 0),
                    "cache_creation_input_tokens": u.get("cache_write", 0),
                    "cache_read_input_tokens": u.get("cache_read", 0),
                },
            }
        return {
            "id": "chatcmpl-stub%d" % self.n,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "finish_reason": "stop",
            }],
            "usage": {
                "prompt_tokens": u.get("input", 0),
                "completion_tokens": u.get("output", 0),
                "total_tokens": u.get("input", 0) + u.get("output", 0),
                "prompt_tokens_details": {"cached_tokens": u.get("cache_read", 0)},
            },
        }

    def answer(self, provider, key, model, system, prompt, resp):
        """Send resp; returns (kind, status) for the log."""
        st = self.server.state
        kind = resp.get("kind", "ok")
        anth = provider == "anthropic"
        quoted = (" (key %s)" % key) if st.script.get("echo_key") and key else ""
        self.kind = kind
        if kind in ("ok", "empty"):
            text = "" if kind == "empty" else resp.get("text", st.fill(prompt))
            self.send_json(200, self.ok_body(provider, model, system, prompt, resp, text))
            return kind, 200
        if kind in ("truncated", "cut"):
            data = json.dumps(self.ok_body(provider, model, system, prompt, resp,
                                           resp.get("text", st.fill(prompt)))).encode()
            half = data[: len(data) // 2]
            if kind == "truncated":
                self.send_raw(200, half)
            else:
                self.send_raw(200, half, length=len(data))
                self.close_connection = True
            return kind, 200
        if kind == "invalid_json":
            self.send_raw(200, b"<html><body>this is not JSON</body></html>")
            return kind, 200
        if kind == "close":
            self.log_now(0)
            self.close_connection = True
            return kind, 0
        extra = {}
        if kind == "rate_limit":
            status = 429
            if "retry_after" in resp:
                extra["retry-after"] = resp["retry_after"]
            if "retry_after_ms" in resp:
                extra["retry-after-ms"] = resp["retry_after_ms"]
            body = (self.error_body(provider, "rate_limit_error",
                                    "Number of request tokens has exceeded your per-minute rate limit")
                    if anth else
                    self.error_body(provider, "requests", "Rate limit reached for requests",
                                    "rate_limit_exceeded"))
        elif kind == "overloaded":
            status = 529 if anth else 503
            body = (self.error_body(provider, "overloaded_error", "Overloaded") if anth else
                    self.error_body(provider, "server_error",
                                    "The engine is currently overloaded, please try again later"))
        elif kind == "server_error":
            status = int(resp.get("status", 500))
            body = (self.error_body(provider, "api_error", "Internal server error") if anth else
                    self.error_body(provider, "server_error",
                                    "The server had an error while processing your request"))
        elif kind == "auth":
            status = 401
            body = (self.error_body(provider, "authentication_error", "invalid x-api-key" + quoted)
                    if anth else
                    self.error_body(provider, "invalid_request_error",
                                    "Incorrect API key provided" + quoted, "invalid_api_key"))
        elif kind == "permission":
            status = 403
            body = self.error_body(provider, "permission_error",
                                   "Your API key does not have permission to use the specified resource"
                                   + quoted)
        elif kind == "quota":
            if anth:
                status = 400
                body = self.error_body(provider, "invalid_request_error",
                                       "Your credit balance is too low to access the Anthropic API. "
                                       "Please go to Plans & Billing to upgrade or purchase credits."
                                       + quoted)
            else:
                status = 429
                body = self.error_body(provider, "insufficient_quota",
                                       "You exceeded your current quota, please check your plan "
                                       "and billing details." + quoted, "insufficient_quota")
        elif kind == "invalid_request":
            status = 400
            body = self.error_body(provider, "invalid_request_error",
                                   resp.get("message", "messages: field required") + quoted)
        elif kind == "error":
            status = int(resp.get("status", 500))
            body = self.error_body(provider, resp.get("type", "api_error"),
                                   resp.get("message", "error") + quoted, resp.get("code"))
        else:
            status = 500
            body = self.error_body(provider, "api_error", "llm_stub: unknown kind %r" % kind)
        self.send_json(status, body, extra)
        return kind, status

    # --- requests ------------------------------------------------------

    entry = None
    kind = None

    def do_GET(self):
        self.send_json(404, {"error": {"message": "not found", "type": "not_found"}})

    def do_POST(self):
        st = self.server.state
        path = self.path.split("?", 1)[0]
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            body = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            body = None
        if path in ANTHROPIC_PATHS:
            provider = "anthropic"
        elif path in OPENAI_PATHS:
            provider = "openai"
        else:
            provider = None
        system, prompt, model = "", "", ""
        self.cache_control = False
        if isinstance(body, dict):
            model = body.get("model", "")
            msgs = body.get("messages") or []
            if provider == "anthropic":
                sysv = body.get("system", "")
                system = text_of(sysv)
                self.cache_control = isinstance(sysv, list) and any(
                    isinstance(b, dict) and b.get("cache_control") == {"type": "ephemeral"}
                    for b in sysv)
                if msgs and isinstance(msgs[-1], dict):
                    prompt = text_of(msgs[-1].get("content"))
            elif provider == "openai":
                for m in msgs:
                    if isinstance(m, dict) and m.get("role") == "system":
                        system += text_of(m.get("content"))
                    elif isinstance(m, dict) and m.get("role") == "user":
                        prompt = text_of(m.get("content"))
        n, resp = st.next_response(prompt)
        self.n = n
        xkey = headers.get("x-api-key")
        authz = headers.get("authorization")
        key = xkey if provider == "anthropic" else (
            authz[7:] if authz and authz.startswith("Bearer ") else authz)
        self.entry = {
            "n": n, "t": time.time(), "client_port": self.client_address[1],
            "method": "POST", "path": self.path,
            "provider": provider, "headers": headers, "x_api_key": xkey,
            "authorization": authz,
            "body": body if body is not None else raw.decode("utf-8", "replace"),
        }
        kind, status = self.check(provider, body, headers, key)
        if kind is None:
            delay = resp.get("latency_ms", st.script.get("latency_ms", 0))
            if delay:
                time.sleep(delay / 1000.0)
            self.answer(provider, key, model, system, prompt, resp)

    def log_now(self, status):
        """Record the request, before its answer goes out: a client that
        has its answer finds the request in the log."""
        if self.entry is not None:
            self.entry["kind"] = self.kind
            self.entry["status"] = status
            self.server.state.record(self.entry)
            self.entry = None

    def check(self, provider, body, headers, key):
        """Reject a request the real service would reject: (kind, status),
        or (None, None) when it is acceptable."""
        st = self.server.state
        anth = provider == "anthropic"
        want = st.script.get("keys", {}).get(provider)
        reply = None
        if provider is None:
            reply = ("not_found", 404,
                     {"error": {"message": "no such endpoint", "type": "not_found"}})
        elif anth and not headers.get("x-api-key"):
            reply = ("missing_key", 401, self.error_body(provider, "authentication_error",
                                                         "x-api-key header is required"))
        elif want is not None and key != want:
            reply = ("wrong_key", 401,
                     self.error_body(provider, "authentication_error", "invalid x-api-key")
                     if anth else
                     self.error_body(provider, "invalid_request_error",
                                     "Incorrect API key provided", "invalid_api_key"))
        elif anth and headers.get("anthropic-version") != "2023-06-01":
            reply = ("bad_request", 400, self.error_body(provider, "invalid_request_error",
                                                         "anthropic-version header is required"))
        else:
            problem = None
            if not isinstance(body, dict):
                problem = "the request body is not a JSON object"
            elif not isinstance(body.get("model"), str) or not body["model"]:
                problem = "model: field required"
            elif not isinstance(body.get("messages"), list) or not body["messages"]:
                problem = "messages: field required"
            elif anth and (not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1):
                problem = "max_tokens: field required"
            if problem:
                reply = ("bad_request", 400,
                         self.error_body(provider, "invalid_request_error", problem))
        if reply is None:
            return None, None
        self.kind = reply[0]
        self.send_json(reply[1], reply[2])
        return reply[0], reply[1]


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def handle_error(self, request, client_address):
        # a client that gave up (timeout, cancel) is not an error here
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description="loopback LLM API stub for tests")
    ap.add_argument("--script")
    ap.add_argument("--log")
    ap.add_argument("--port-file")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--latency-ms", type=int)
    ap.add_argument("--fill")
    ap.add_argument("--echo")
    ap.add_argument("--sequence")
    ap.add_argument("--max-seconds", type=float, default=900)
    a = ap.parse_args()

    script = {}
    if a.script:
        with open(a.script, encoding="utf-8") as f:
            script = json.load(f)
    if a.latency_ms is not None:
        script["latency_ms"] = a.latency_ms
    if a.fill is not None:
        script["fill"] = a.fill
    if a.echo is not None:
        script["echo"] = a.echo
    if a.sequence is not None:
        script["sequence"] = parse_sequence(a.sequence)

    srv = Server(("127.0.0.1", a.port), Handler)
    srv.state = State(script, a.log)
    port = srv.server_address[1]

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()

    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, a.port_file)
    else:
        print(port, flush=True)

    parent = os.getppid()
    deadline = time.monotonic() + a.max_seconds
    while not stop.wait(0.1):
        if os.getppid() != parent or time.monotonic() > deadline:
            break
    srv.shutdown()
    srv.server_close()
    if srv.state.log:
        srv.state.log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
