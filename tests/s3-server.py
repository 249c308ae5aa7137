#!/usr/bin/env python3
"""A small S3 server for the MinIO part's tests (tests/backup-minio.sh).

Usage: s3-server.py ROOT CREDFILE PORTFILE [LOG]

Buckets are the directories of ROOT and objects the files under them, the
key's '/' as directories; an empty directory is a "dir/" object, as MinIO
keeps them on a plain file system. CREDFILE holds the access key on its
first line and the secret on its second (the credentials never reach argv).
It listens on 127.0.0.1, on a port the kernel picks, and writes that port
to PORTFILE once it accepts connections. LOG, when given, gets a line per
request: the method, the raw path and the status.

Every request's AWS Signature V4 is checked with botocore (an implementation
independent of libcurl's): the request is rebuilt from the method, URL, the
headers it says it signed and its body, signed with the same credentials at
the request's own x-amz-date, and the two signatures are compared. The
x-amz-content-sha256 header must be the SHA-256 of the body received. Only
what Outpost's client uses is implemented: ListBuckets, ListObjectsV2
(max-keys, continuation tokens), GET/PUT/DELETE object, PUT bucket.
S3_MAX_KEYS in the environment caps a list page (to exercise paging);
S3_EXTRA_KEYS names a file whose lines "BUCKET<tab>KEY" add keys to that
bucket's list that no file system could hold ("../x", "a//b"), read at each
list: a client must refuse them. With S3_TLS_CERT and S3_TLS_KEY (PEM
files) it speaks HTTPS.
"""
import base64
import hashlib
import hmac
import os
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit
from xml.sax.saxutils import escape

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
ROOT, CREDFILE, PORTFILE = sys.argv[1:4]
LOG = sys.argv[4] if len(sys.argv) > 4 else None
with open(CREDFILE, encoding="utf-8") as f:
    USER, SECRET = f.read().split("\n")[:2]
MAX_KEYS_CAP = int(os.environ.get("S3_MAX_KEYS", "1000"))
EXTRA_KEYS = os.environ.get("S3_EXTRA_KEYS")
LOCK = threading.Lock()


class S3Error(Exception):
    def __init__(self, status, code):
        super().__init__(code)
        self.status = status
        self.code = code


def bucket_dir(bucket):
    if not bucket or "/" in bucket or bucket.startswith("."):
        raise S3Error(400, "InvalidBucketName")
    return os.path.join(ROOT, bucket)


def object_path(bucket, key):
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in (".", "..") for p in parts) or "" in parts[:-1]:
        raise S3Error(400, "InvalidObjectName")
    return os.path.join(bucket_dir(bucket), key)


def extra_keys(bucket):
    if not EXTRA_KEYS or not os.path.exists(EXTRA_KEYS):
        return []
    with open(EXTRA_KEYS, encoding="utf-8") as f:
        lines = [line.rstrip("\n").split("\t", 1) for line in f if "\t" in line]
    return [k for b, k in lines if b == bucket]


def all_keys(bdir):
    """Every key of a bucket directory, sorted as S3 sorts (UTF-8 bytes)."""
    keys = extra_keys(os.path.basename(bdir))
    for top, dirs, files in os.walk(bdir):
        rel = os.path.relpath(top, bdir)
        prefix = "" if rel == "." else rel + "/"
        if prefix and not dirs and not files:
            keys.append(prefix)
        keys.extend(prefix + f for f in files)
    return sorted(keys, key=lambda k: k.encode("utf-8", "surrogateescape"))


def size(path):
    return os.path.getsize(path) if os.path.isfile(path) else 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and Expect: 100-continue

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass

    def send(self, status, body=b"", ctype="application/xml"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        if LOG:
            with LOCK, open(LOG, "a", encoding="utf-8") as f:
                f.write(f"{self.command} {self.path} {status}\n")

    def error(self, status, code):
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
                f"<Message>{code}</Message><Resource>{escape(self.path)}</Resource></Error>")
        self.send(status, body.encode())

    def body(self):
        n = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(n) if n else b""

    def check_signature(self, body):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            raise S3Error(403, "AccessDenied")
        fields = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
        access, _date, region, service, _ = fields["Credential"].split("/")
        if access != USER:
            raise S3Error(403, "InvalidAccessKeyId")
        signed = fields["SignedHeaders"].split(";")
        for need in ("host", "x-amz-date", "x-amz-content-sha256"):
            if need not in signed:
                raise S3Error(403, "AccessDenied")
        if self.headers["x-amz-content-sha256"] != hashlib.sha256(body).hexdigest():
            raise S3Error(400, "XAmzContentSHA256Mismatch")
        headers = {h: self.headers[h] for h in signed}
        request = AWSRequest(method=self.command, url="http://" + self.headers["host"] + self.path,
                             headers=headers, data=body)
        request.context["timestamp"] = self.headers["x-amz-date"]
        signer = S3SigV4Auth(Credentials(USER, SECRET), service, region)
        canonical = signer.canonical_request(request)
        want = signer.signature(signer.string_to_sign(request, canonical), request)
        if signer.signed_headers(signer.headers_to_sign(request)) != fields["SignedHeaders"] or \
                not hmac.compare_digest(want, fields["Signature"]):
            raise S3Error(403, "SignatureDoesNotMatch")

    def route(self):
        body = self.body()
        self.check_signature(body)
        url = urlsplit(self.path)
        bucket, _, key = url.path[1:].partition("/")
        bucket, key = unquote(bucket), unquote(key)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        if not bucket:
            if self.command != "GET":
                raise S3Error(405, "MethodNotAllowed")
            return self.list_buckets()
        if not key:
            if self.command == "PUT":
                return self.make_bucket(bucket)
            if self.command == "GET" and query.get("list-type") == "2":
                return self.list_objects(bucket, query)
            raise S3Error(501, "NotImplemented")
        if not os.path.isdir(bucket_dir(bucket)):
            raise S3Error(404, "NoSuchBucket")
        handler = {"GET": self.get_object, "PUT": self.put_object, "DELETE": self.delete_object}
        if self.command not in handler:
            raise S3Error(405, "MethodNotAllowed")
        return handler[self.command](bucket, key, body)

    def list_buckets(self):
        names = sorted(d for d in os.listdir(ROOT) if os.path.isdir(os.path.join(ROOT, d)))
        items = "".join(f"<Bucket><Name>{escape(n)}</Name><CreationDate>2026-01-01T00:00:00.000Z"
                        "</CreationDate></Bucket>" for n in names)
        self.send(200, (f'<?xml version="1.0" encoding="UTF-8"?>\n<ListAllMyBucketsResult xmlns="{NS}">'
                        f"<Owner><ID>x</ID></Owner><Buckets>{items}</Buckets></ListAllMyBucketsResult>").encode())

    def make_bucket(self, bucket):
        path = bucket_dir(bucket)
        if os.path.isdir(path):
            raise S3Error(409, "BucketAlreadyOwnedByYou")
        os.mkdir(path)
        self.send(200)

    def list_objects(self, bucket, query):
        path = bucket_dir(bucket)
        if not os.path.isdir(path):
            raise S3Error(404, "NoSuchBucket")
        keys = all_keys(path)
        if "continuation-token" in query:
            after = base64.urlsafe_b64decode(query["continuation-token"].encode()).decode("utf-8", "surrogateescape")
            keys = [k for k in keys if k.encode("utf-8", "surrogateescape") > after.encode("utf-8", "surrogateescape")]
        limit = min(int(query.get("max-keys", "1000")), MAX_KEYS_CAP)
        page, truncated = keys[:limit], len(keys) > limit
        items = "".join(f"<Contents><Key>{escape(k)}</Key><Size>{size(os.path.join(path, k))}"
                        "</Size><StorageClass>STANDARD</StorageClass></Contents>" for k in page)
        token = ""
        if truncated:
            token = base64.urlsafe_b64encode(page[-1].encode("utf-8", "surrogateescape")).decode()
            token = f"<NextContinuationToken>{token}</NextContinuationToken>"
        self.send(200, (f'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="{NS}">'
                        f"<Name>{escape(bucket)}</Name><KeyCount>{len(page)}</KeyCount>"
                        f"<MaxKeys>{limit}</MaxKeys><IsTruncated>{'true' if truncated else 'false'}</IsTruncated>"
                        f"{items}{token}</ListBucketResult>").encode())

    def get_object(self, bucket, key, _body):
        path = object_path(bucket, key)
        if key.endswith("/") and os.path.isdir(path):
            return self.send(200, b"", "application/octet-stream")
        if not os.path.isfile(path):
            raise S3Error(404, "NoSuchKey")
        with open(path, "rb") as f:
            return self.send(200, f.read(), "application/octet-stream")

    def put_object(self, bucket, key, body):
        path = object_path(bucket, key)
        if key.endswith("/"):
            if body:
                raise S3Error(400, "InvalidRequest")
            os.makedirs(path, exist_ok=True)
            return self.send(200)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(body)
        return self.send(200)

    def delete_object(self, bucket, key, _body):
        path = object_path(bucket, key).rstrip("/")
        try:
            if os.path.isdir(path):
                os.rmdir(path)
            else:
                os.unlink(path)
        except FileNotFoundError:
            pass
        # As MinIO on a file system: parents left empty go with it.
        parent, bdir = os.path.dirname(path), bucket_dir(bucket)
        while parent != bdir and os.path.isdir(parent) and not os.listdir(parent):
            os.rmdir(parent)
            parent = os.path.dirname(parent)
        return self.send(204)

    def handle_one(self):
        try:
            self.route()
        except S3Error as e:
            self.error(e.status, e.code)
        except (KeyError, ValueError):
            self.error(400, "InvalidRequest")
        except OSError:
            self.error(500, "InternalError")

    do_GET = do_PUT = do_DELETE = do_POST = do_HEAD = handle_one


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if os.environ.get("S3_TLS_CERT"):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.environ["S3_TLS_CERT"], os.environ["S3_TLS_KEY"])
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    tmp = PORTFILE + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(f"{server.server_address[1]}\n")
    os.rename(tmp, PORTFILE)
    server.serve_forever()


if __name__ == "__main__":
    main()
