"""A Docker-registry token service and a token-auth registry for tests.

TokenServer: the "Bearer realm" side of the Distribution token flow, an
http.server thread on a free 127.0.0.1 port. GET /token?service=&scope=
with HTTP Basic credentials answers {"token": JWT, ...}; the JWT is signed
RS256 by a fresh RSA key whose self-signed certificate (cert_path) is the
registry's rootcertbundle, and its header carries that certificate as
"x5c" (Distribution 2.8 checks the chain against the bundle). Wrong or
missing credentials get 401. The registry is registries.Registry with
token=server (`auth: token:` pointing at the TokenServer). Entry point:
`with TokenAuth() as t: t.registry.host, t.server.requests ...`.
"""
import base64, datetime, json, os, secrets, sys
import threading, time, urllib.error, urllib.parse, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from registries import Registries, Registry, free_port  # noqa: E402

USER = "kwtoken"
PASSWORD = "kw-T0ken-Pa55"
SERVICE = "kaiwu-test-registry"
ISSUER = "kaiwu-test-token-issuer"
ACTIONS = ("pull", "push", "delete", "*")


def crypto_missing():
    """A reason the token server cannot run here, or None."""
    try:
        import cryptography  # noqa: F401
    except ImportError:
        return "python package cryptography"
    return None


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(obj):
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


def parse_scope(scope):
    """'repository:NAME:a,b' -> (type, name, [actions]) or None. NAME may
    hold ':' (a host with a port), so the actions are after the last one."""
    first, last = scope.find(":"), scope.rfind(":")
    if first <= 0 or last == first:
        return None
    return (scope[:first], scope[first + 1:last],
            [a for a in scope[last + 1:].split(",") if a])


class TokenServer:
    """Issues registry tokens. Knobs the tests may flip while it runs:
    token_field ("token", "access_token" or "both"), broken (answer 200
    without a token), grant (callable (user, type, name, actions) -> granted
    actions; default everything asked). requests records every request as
    dict(scopes, user, ok, status)."""

    def __init__(self, root, user=USER, password=PASSWORD, service=SERVICE,
                 issuer=ISSUER, ttl=300):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        self.user, self.password = user, password
        self.service, self.issuer, self.ttl = service, issuer, ttl
        self.token_field = "token"
        self.broken = False
        self.grant = None
        self.requests = []
        self.tokens = []
        self._lock = threading.Lock()

        self._key = rsa.generate_private_key(public_exponent=65537,
                                             key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                             "kaiwu test token signer")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder()
                .subject_name(name).issuer_name(name)
                .public_key(self._key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(hours=1))
                .not_valid_after(now + datetime.timedelta(days=1))
                # a root of its own: Go verifies the x5c leaf against the
                # bundle, and a leaf that is itself in the pool is accepted
                .add_extension(x509.BasicConstraints(ca=True, path_length=None),
                               critical=True)
                .add_extension(x509.KeyUsage(
                    digital_signature=True, key_cert_sign=True,
                    content_commitment=False, key_encipherment=False,
                    data_encipherment=False, key_agreement=False,
                    crl_sign=False, encipher_only=False, decipher_only=False),
                    critical=True)
                .sign(self._key, hashes.SHA256()))
        self._cert_der = cert.public_bytes(serialization.Encoding.DER)
        os.makedirs(root, exist_ok=True)
        self.cert_path = os.path.join(root, "token-signer.pem")
        with open(self.cert_path, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        self._hashes = hashes
        self.port = free_port()
        self.realm = f"http://127.0.0.1:{self.port}/token"
        self._httpd = None
        self._thread = None

    # ---- tokens -------------------------------------------------------------

    def sign(self, claims, header_extra=None):
        """A compact RS256 JWS of claims, header with x5c."""
        from cryptography.hazmat.primitives.asymmetric import padding
        header = {"typ": "JWT", "alg": "RS256",
                  "x5c": [base64.b64encode(self._cert_der).decode()]}
        if header_extra:
            header.update(header_extra)
        signing_input = b64url_json(header) + "." + b64url_json(claims)
        sig = self._key.sign(signing_input.encode(), padding.PKCS1v15(),
                             self._hashes.SHA256())
        return signing_input + "." + b64url(sig)

    def make_token(self, user, scopes):
        access = []
        for sc in scopes:
            parsed = parse_scope(sc)
            if not parsed:
                continue
            typ, name, want = parsed
            want = [a for a in want if a in ACTIONS]
            got = self.grant(user, typ, name, want) if self.grant else want
            if got:
                access.append({"type": typ, "name": name, "actions": list(got)})
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": user, "aud": self.service,
                  "exp": now + self.ttl, "nbf": now - 5, "iat": now,
                  "jti": secrets.token_hex(16), "access": access}
        return self.sign(claims)

    # ---- HTTP ---------------------------------------------------------------

    def _check_basic(self, header):
        """User name when header holds the right Basic credentials; None
        when absent; False when wrong."""
        if not header:
            return None
        if not header.startswith("Basic "):
            return False
        try:
            dec = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return False
        user, sep, pw = dec.partition(":")
        if not sep or not secrets.compare_digest(user.encode(), self.user.encode()) \
                or not secrets.compare_digest(pw.encode(), self.password.encode()):
            return False
        return user

    def _handle(self, h):
        url = urllib.parse.urlsplit(h.path)
        q = urllib.parse.parse_qs(url.query)
        scopes = []
        for s in q.get("scope", []):
            scopes += s.split(" ")  # several scopes may share one parameter
        user = self._check_basic(h.headers.get("Authorization"))
        rec = {"path": url.path, "service": q.get("service", [""])[0],
               "scopes": scopes, "user": user or None}
        if url.path != "/token":
            status, body = 404, {"details": "not found"}
        elif rec["service"] != self.service:
            status, body = 400, {"details": "unknown service"}
        elif not user:
            status, body = 401, {"details": "incorrect username or password"}
        elif self.broken:
            status, body = 200, {"details": "no token today"}
        else:
            tok = self.make_token(user, scopes)
            with self._lock:
                self.tokens.append(tok)
            status, body = 200, {"expires_in": self.ttl,
                                 "issued_at": datetime.datetime.now(
                                     datetime.timezone.utc).isoformat()}
            if self.token_field in ("token", "both"):
                body["token"] = tok
            if self.token_field in ("access_token", "both"):
                body["access_token"] = tok
        rec["status"] = status
        with self._lock:
            self.requests.append(rec)
        data = json.dumps(body).encode()
        h.send_response(status)
        if status == 401:
            h.send_header("WWW-Authenticate", 'Basic realm="kaiwu-test-token"')
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def start(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                server._handle(self)

            def log_message(self, *args):
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def fetch(self, scope=None, creds=None):
        """(status, parsed body) of a token request, for sanity checks."""
        qs = {"service": self.service}
        if scope:
            qs["scope"] = scope
        req = urllib.request.Request(self.realm + "?" + urllib.parse.urlencode(qs))
        if creds:
            b = base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()
            req.add_header("Authorization", "Basic " + b)
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, None


class TokenAuth(Registries):
    """Context manager: a TokenServer and its token-auth Registry in a temp
    dir, with Registries' start, log tails and clean-up; stops both however
    the block ends."""

    def __init__(self, user=USER, password=PASSWORD):
        super().__init__(auth=False, proxy=False, user=user, password=password)
        self.server = self.registry = None

    def _start(self):
        self.server = TokenServer(self.tmp, self.user, self.password).start()
        self.registry = Registry("registry", self.tmp, token=self.server)
        self.all.append(self.registry)
        self.registry.start()
        self.registry.wait_ready()

    def __exit__(self, etype, evalue, tb):
        if self.server:
            self.server.stop()
        return super().__exit__(etype, evalue, tb)


if __name__ == "__main__":
    # Manual use: python3 token_server.py -> serves until ^C.
    with TokenAuth() as t:
        t.serve(f"registry {t.registry.host} (token auth {t.user}:{t.password})",
                f"realm {t.server.realm}, files under {t.tmp}")
