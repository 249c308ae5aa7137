"""Certificates (made with the openssl CLI, as the tests' own OpenSSL would)
and the kubeconfig, in the shape k3s writes /etc/rancher/k3s/k3s.yaml.

Files in DIR: ca.crt ca.key server.crt server.key admin.crt admin.key
(keys 0600).  Existing files are reused, so a restarted server keeps its CA
and old kubeconfigs stay valid.  Keys are EC P-256 like k3s's.
"""
import base64
import os
import subprocess
import tempfile


def _openssl(*args):
    subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


def _key(path):
    old = os.umask(0o077)
    try:
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt",
                 "ec_paramgen_curve:P-256", "-out", path)
    finally:
        os.umask(old)
    os.chmod(path, 0o600)


def _sign(d, name, subject, ext):
    key, crt = os.path.join(d, name + ".key"), os.path.join(d, name + ".crt")
    _key(key)
    with tempfile.TemporaryDirectory(dir=d) as tmp:
        csr, extfile = os.path.join(tmp, "csr"), os.path.join(tmp, "ext")
        with open(extfile, "w") as f:
            f.write(ext)
        _openssl("req", "-new", "-key", key, "-subj", subject, "-out", csr)
        _openssl("x509", "-req", "-in", csr, "-CA", os.path.join(d, "ca.crt"),
                 "-CAkey", os.path.join(d, "ca.key"), "-set_serial",
                 str(int.from_bytes(os.urandom(8), "big")), "-days", "3650",
                 "-sha256", "-extfile", extfile, "-out", crt + ".tmp")
    os.rename(crt + ".tmp", crt)


def ensure(d):
    """Create whatever of the CA, server and admin certificates is missing."""
    os.makedirs(d, mode=0o700, exist_ok=True)
    p = lambda n: os.path.join(d, n)
    if not (os.path.exists(p("ca.crt")) and os.path.exists(p("ca.key"))):
        _key(p("ca.key"))
        _openssl("req", "-x509", "-new", "-key", p("ca.key"), "-sha256",
                 "-days", "3650", "-subj", "/CN=k3s-server-ca@outpost-test",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign,"
                 "digitalSignature", "-out", p("ca.crt"))
        for n in ("server.crt", "admin.crt"):
            if os.path.exists(p(n)):
                os.unlink(p(n))
    if not os.path.exists(p("server.crt")):
        _sign(d, "server", "/O=k3s/CN=k3s",
              "basicConstraints=critical,CA:FALSE\n"
              "keyUsage=critical,digitalSignature,keyEncipherment\n"
              "extendedKeyUsage=serverAuth\n"
              "subjectAltName=IP:127.0.0.1,DNS:localhost,"
              "DNS:kubernetes.default.svc\n")
    if not os.path.exists(p("admin.crt")):
        _sign(d, "admin", "/O=system:masters/CN=system:admin",
              "basicConstraints=critical,CA:FALSE\n"
              "keyUsage=critical,digitalSignature,keyEncipherment\n"
              "extendedKeyUsage=clientAuth\n")


def _b64(path):
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode()


def _write_private(path, text):
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


def write_kubeconfig(d, port, token=None, extra=None):
    """DIR/kubeconfig (client certificate, as k3s writes it), the same at
    `extra` if given (k3s's --write-kubeconfig) and, with a token,
    DIR/kubeconfig-token (bearer token, no client certificate)."""
    p = lambda n: os.path.join(d, n)
    cluster = ("apiVersion: v1\n"
               "clusters:\n"
               "- cluster:\n"
               f"    certificate-authority-data: {_b64(p('ca.crt'))}\n"
               f"    server: https://127.0.0.1:{port}\n"
               "  name: default\n"
               "contexts:\n"
               "- context:\n"
               "    cluster: default\n"
               "    user: default\n"
               "  name: default\n"
               "current-context: default\n"
               "kind: Config\n"
               "preferences: {}\n"
               "users:\n"
               "- name: default\n"
               "  user:\n")
    admin = cluster + \
        f"    client-certificate-data: {_b64(p('admin.crt'))}\n" \
        f"    client-key-data: {_b64(p('admin.key'))}\n"
    _write_private(p("kubeconfig"), admin)
    if extra:
        _write_private(extra, admin)
    if token:
        _write_private(p("kubeconfig-token"), cluster +
                       f"    token: {token}\n")
