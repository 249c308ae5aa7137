"""API semantics of the test server, checked over HTTPS with the client
certificate (run by tests/kubeapi-semantics.sh; python3 -m unittest works
too)."""
import http.client
import json
import os
import shutil
import socket
import ssl
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)

import labelsel  # noqa: E402
from client import Client, start_server  # noqa: E402


def cm(name, labels=None, data=None, ns=None):
    obj = {"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": name}, "data": data or {"k": "v"}}
    if labels:
        obj["metadata"]["labels"] = labels
    if ns:
        obj["metadata"]["namespace"] = ns
    return obj


class ServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kubeapi-test.")
        cls.dir = os.path.join(cls.tmp, "api")
        cls.proc, cls.port = start_server(cls.dir, "--ns-delete-delay",
                                          "0.3")
        cls.c = Client(cls.dir, cls.port)

    @classmethod
    def tearDownClass(cls):
        cls.c.close()
        cls.proc.terminate()
        cls.proc.wait()
        shutil.rmtree(cls.tmp)

    def setUp(self):
        self.c.admin("faults", {})
        self.c.admin("controllers", {})

    def ns(self, name):
        code, out = self.c.req("POST", "/api/v1/namespaces",
                               {"metadata": {"name": name}})
        self.assertEqual(code, 201, out)
        return out

    def assertStatus(self, out, code, reason, name=None, kind=None):
        self.assertEqual(out["kind"], "Status")
        self.assertEqual(out["apiVersion"], "v1")
        self.assertEqual(out["status"], "Failure")
        self.assertEqual(out["code"], code)
        self.assertEqual(out["reason"], reason)
        self.assertTrue(out["message"])
        if name is not None:
            self.assertEqual(out["details"]["name"], name)
            self.assertEqual(out["details"]["kind"], kind)


class Auth(ServerTest):
    def test_no_client_certificate_is_refused(self):
        c = Client(self.dir, self.port, cert=False)
        with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
            c.req("GET", "/readyz")
        c.close()

    def test_certificate_from_another_ca_is_refused(self):
        other = os.path.join(self.tmp, "other")
        import certs
        certs.ensure(other)
        c = Client(self.dir, self.port, cert=False)
        c.ctx.load_cert_chain(os.path.join(other, "admin.crt"),
                              os.path.join(other, "admin.key"))
        with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
            c.req("GET", "/readyz")

    def test_kubeconfig_and_key_modes(self):
        with open(os.path.join(self.dir, "kubeconfig")) as f:
            text = f.read()
        for line in ("current-context: default", "  name: default",
                     f"    server: https://127.0.0.1:{self.port}",
                     "    certificate-authority-data: ",
                     "    client-certificate-data: ",
                     "    client-key-data: "):
            self.assertIn(line, text)
        for n in ("ca.key", "server.key", "admin.key", "kubeconfig"):
            mode = os.stat(os.path.join(self.dir, n)).st_mode & 0o777
            self.assertEqual(mode, 0o600, n)

    def test_keep_alive(self):
        c = Client(self.dir, self.port)
        c.req("GET", "/version")
        sock = c.conn.sock
        for _ in range(5):
            self.assertEqual(c.req("GET", "/api/v1/namespaces/default")[0],
                             200)
        self.assertIs(c.conn.sock, sock)
        c.close()

    def test_http_level_errors_are_status(self):
        resp, data = self.c.raw("OPTIONS", "/api/v1/namespaces")
        out = json.loads(data)
        self.assertEqual((resp.status, out["kind"]), (501, "Status"))
        self.c.close()
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        with self.c.ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            s.sendall(b"NOT A REQUEST LINE AT ALL\r\n\r\n")
            data = b""
            while chunk := s.recv(4096):
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 400 "), head)
        self.assertEqual(json.loads(body)["reason"], "BadRequest")

    def test_expect_100_continue(self):
        # What libcurl does for a large body: headers first, then wait.
        body = json.dumps(cm("big", data={"a": "x" * 5000})).encode()
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        with self.c.ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            s.sendall(b"POST /api/v1/namespaces/default/configmaps HTTP/1.1"
                      b"\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n"
                      % len(body))
            s.settimeout(0.5)
            self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 100 "))
            s.settimeout(5)
            s.sendall(body)
            self.assertIn(b" 201 ", s.recv(100))

    def test_bearer_token(self):
        d = os.path.join(self.tmp, "tok")
        proc, port = start_server(d, "--token", "s3cret",
                                  "--write-kubeconfig",
                                  os.path.join(self.tmp, "k3s.yaml"))
        try:
            c = Client(d, port, cert=False)
            code, out = c.req("GET", "/api/v1/namespaces")
            self.assertEqual(code, 401)
            self.assertStatus(out, 401, "Unauthorized")
            resp, _ = c.raw("GET", "/api/v1/namespaces",
                            headers={"Authorization": "Bearer wrong"})
            self.assertEqual(resp.status, 401)
            resp, _ = c.raw("GET", "/api/v1/namespaces",
                            headers={"Authorization": "Bearer s3cret"})
            self.assertEqual(resp.status, 200)
            with open(os.path.join(d, "kubeconfig-token")) as f:
                self.assertIn("    token: s3cret\n", f.read())
            with open(os.path.join(d, "kubeconfig")) as a, \
                    open(os.path.join(self.tmp, "k3s.yaml")) as b:
                self.assertEqual(a.read(), b.read())
            c.close()
        finally:
            proc.terminate()
            proc.wait()


class Discovery(ServerTest):
    def test_health_and_version(self):
        for p in ("/readyz", "/livez", "/healthz"):
            self.assertEqual(self.c.req("GET", p), (200, "ok"))
        code, v = self.c.req("GET", "/version")
        self.assertRegex(v["gitVersion"], r"^v1\.33\.\d+\+k3s1$")

    def test_groups_and_resources(self):
        _, api = self.c.req("GET", "/api")
        self.assertEqual(api["versions"], ["v1"])
        _, apis = self.c.req("GET", "/apis")
        names = {g["name"] for g in apis["groups"]}
        self.assertEqual(names, {"apps", "batch", "networking.k8s.io",
                                 "helm.cattle.io", "metrics.k8s.io"})
        # metrics-server's API is read-only.
        _, metrics = self.c.req("GET", "/apis/metrics.k8s.io/v1beta1")
        self.assertEqual([(r["kind"], r["verbs"]) for r in metrics["resources"]],
                         [("PodMetrics", ["get", "list"])])
        _, core = self.c.req("GET", "/api/v1")
        byname = {r["name"]: r for r in core["resources"]}
        for n in ("namespaces", "secrets", "configmaps", "serviceaccounts",
                  "services", "resourcequotas", "limitranges", "pods"):
            self.assertIn("patch", byname[n]["verbs"])
        self.assertFalse(byname["namespaces"]["namespaced"])
        self.assertEqual(byname["namespaces"]["shortNames"], ["ns"])
        _, helm = self.c.req("GET", "/apis/helm.cattle.io/v1")
        kinds = {r["kind"] for r in helm["resources"]}
        self.assertEqual(kinds, {"HelmChart", "HelmChartConfig"})
        code, out = self.c.req("GET", "/apis/nope/v1")
        self.assertEqual(code, 404)
        self.assertStatus(out, 404, "NotFound")


class Selectors(unittest.TestCase):
    LABELS = {"a": {"env": "x", "tier": "web"},
              "b": {"env": "y"},
              "c": {"tier": "db"},
              "d": {"env": "z", "tier": "web", "example.com/team": "t1"}}
    TABLE = [
        ("env=x", "a"), ("env==x", "a"), ("env!=x", "bcd"),
        ("env in (x,y)", "ab"), ("env in (x, y)", "ab"),
        ("env notin (x,y)", "cd"), ("env", "abd"), ("!env", "c"),
        ("env,tier=web", "ad"), ("tier=web,env!=x", "d"),
        ("example.com/team=t1", "d"), ("", "abcd"), ("env in ()", ""),
        ("  env = y ", "b"), ("tier notin (web),env", "b"),
    ]

    def test_table(self):
        for sel, want in self.TABLE:
            reqs = labelsel.parse_labels(sel)
            got = "".join(n for n in sorted(self.LABELS)
                          if labelsel.match_labels(reqs, self.LABELS[n]))
            self.assertEqual(got, want, sel)

    def test_errors(self):
        for bad in ("env in (x", "=x", "env=x,", "a b", "!", "env notin x",
                    "Bad Key=1", "-a=b", "env=" + "v" * 64, "a,,b"):
            with self.assertRaises(labelsel.SelectorError, msg=bad):
                labelsel.parse_labels(bad)

    def test_fields(self):
        reqs = labelsel.parse_fields("metadata.name=x,metadata.namespace!=y")
        self.assertTrue(labelsel.match_fields(
            reqs, {"metadata": {"name": "x", "namespace": "z"}}))
        self.assertFalse(labelsel.match_fields(
            reqs, {"metadata": {"name": "x", "namespace": "y"}}))
        with self.assertRaises(labelsel.SelectorError):
            labelsel.parse_fields("spec.nodeName=n")


class Quantities(unittest.TestCase):
    TABLE = [("1000m", "1"), ("0.5", "500m"), ("1.5", "1500m"),
             ("100M", "100M"), ("1e3", "1e3"), ("1024", "1024"),
             ("2000", "2k"), ("512Mi", "512Mi"), ("0.5Gi", "512Mi"),
             ("1536Mi", "1536Mi"), ("1024Mi", "1Gi"), ("100m", "100m"),
             (1, "1"), ("0", "0"), ("0.5Ki", "512"), ("1.5Ki", "1536"),
             ("1.0001", "1000100u"), ("0.0000000001", "1n"),
             ("129e6", "129e6"), ("-1", "-1")]

    def test_table(self):
        import quantity
        for value, want in self.TABLE:
            self.assertEqual(quantity.canonical(value), want, value)
        for bad in ("", "abc", "1Qi", "1.2.3", ".", True, None):
            with self.assertRaises(ValueError, msg=bad):
                quantity.parse(bad)


class Objects(ServerTest):
    def test_status_bodies(self):
        self.ns("st")
        base = "/api/v1/namespaces/st/configmaps"
        code, out = self.c.req("GET", base + "/missing")
        self.assertStatus(out, 404, "NotFound", "missing", "configmaps")
        self.assertEqual(out["message"], 'configmaps "missing" not found')
        self.assertEqual(self.c.req("POST", base, cm("one"))[0], 201)
        code, out = self.c.req("POST", base, cm("one"))
        self.assertStatus(out, 409, "AlreadyExists", "one", "configmaps")
        code, out = self.c.req("POST", base, cm("Not_Valid"))
        self.assertStatus(out, 422, "Invalid", "Not_Valid", "ConfigMap")
        self.assertEqual(out["details"]["causes"][0]["field"],
                         "metadata.name")
        self.assertEqual(out["details"]["causes"][0]["reason"],
                         "FieldValueInvalid")
        code, out = self.c.req("POST", base, cm("x" * 254))
        self.assertEqual(code, 422)
        code, out = self.c.req("POST", "/apis/apps/v1/namespaces/st/"
                               "deployments", {"metadata": {"name": "a.b"},
                                               "spec": {}})
        self.assertEqual(code, 201, out)  # subdomain names allow dots
        code, out = self.c.req("POST", "/api/v1/namespaces/st/services",
                               {"metadata": {"name": "1svc"}})
        self.assertStatus(out, 422, "Invalid", "1svc", "Service")
        code, out = self.c.req("POST", "/apis/apps/v1/namespaces/st/"
                               "deployments/x", {})
        self.assertEqual(code, 405)
        code, out = self.c.req("POST", "/api/v1/namespaces/nowhere/"
                               "configmaps", cm("a"))
        self.assertStatus(out, 404, "NotFound", "nowhere", "namespaces")
        code, out = self.c.req("POST", base, cm("a", {"bad key": "v"}))
        self.assertStatus(out, 422, "Invalid", "a", "ConfigMap")
        spec_str = cm("a")
        spec_str["data"] = "not a map"
        code, out = self.c.req("POST", base, spec_str)
        self.assertStatus(out, 400, "BadRequest")
        for labels in ("x", {"a": 1}, ["a"]):
            bad = cm("a")
            bad["metadata"]["labels"] = labels
            code, out = self.c.req("POST", base, bad)
            self.assertStatus(out, 400, "BadRequest")
            self.assertIn("cannot unmarshal", out["message"])
        code, out = self.c.req("GET", "/apis/apps/v1/namespaces/st/"
                               "deployments/missing")
        self.assertEqual(out["details"], {"name": "missing",
                                          "kind": "deployments",
                                          "group": "apps"})

    def test_create_get_update_conflict_delete(self):
        self.ns("crud")
        base = "/api/v1/namespaces/crud/configmaps"
        code, made = self.c.req("POST", base, cm("c1", {"x": "1"}))
        self.assertEqual(code, 201)
        m = made["metadata"]
        for k in ("uid", "resourceVersion", "creationTimestamp"):
            self.assertTrue(m[k], k)
        self.assertEqual(m["namespace"], "crud")
        code, got = self.c.req("GET", base + "/c1")
        self.assertEqual(got, made)
        upd = dict(got, data={"k": "v2"})
        code, new = self.c.req("PUT", base + "/c1", upd)
        self.assertEqual(code, 200)
        self.assertGreater(int(new["metadata"]["resourceVersion"]),
                           int(m["resourceVersion"]))
        code, out = self.c.req("PUT", base + "/c1", upd)  # stale rv
        self.assertStatus(out, 409, "Conflict", "c1", "configmaps")
        self.assertIn("the object has been modified", out["message"])
        # The same content again is a no-op: no new resourceVersion.
        code, same = self.c.req("PUT", base + "/c1", new)
        self.assertEqual(same["metadata"]["resourceVersion"],
                         new["metadata"]["resourceVersion"])
        code, out = self.c.req("PUT", base + "/other", new)
        self.assertEqual(code, 400)
        code, out = self.c.req("PUT", base + "/gone", dict(
            new, metadata={"name": "gone"}))
        self.assertStatus(out, 404, "NotFound", "gone", "configmaps")
        code, p = self.c.req("PATCH", base + "/c1", {"data": {"n": "1"}},
                             "application/merge-patch+json")
        self.assertEqual(p["data"], {"k": "v2", "n": "1"})
        code, p = self.c.req("PATCH", base + "/c1",
                             [{"op": "remove", "path": "/data/k"}],
                             "application/json-patch+json")
        self.assertEqual(p["data"], {"n": "1"})
        code, out = self.c.req("PATCH", base + "/c1", {"metadata": {
            "resourceVersion": "1"}}, "application/merge-patch+json")
        self.assertEqual(code, 409)
        code, out = self.c.req("DELETE", base + "/c1")
        self.assertEqual((code, out["status"], out["details"]["name"]),
                         (200, "Success", "c1"))
        code, out = self.c.req("DELETE", base + "/c1")
        self.assertStatus(out, 404, "NotFound", "c1", "configmaps")

    def test_unknown_fields(self):
        self.ns("unk")
        base = "/api/v1/namespaces/unk/configmaps"
        obj = cm("u")
        obj["dta"] = {"x": "y"}
        obj["metadata"]["lables"] = {"a": "b"}
        code, out = self.c.req("POST", base + "?fieldValidation=Strict", obj)
        self.assertStatus(out, 400, "BadRequest")
        self.assertEqual(out["message"], 'strict decoding error: unknown '
                         'field "dta", unknown field "metadata.lables"')
        resp, data = self.c.raw("POST", base, obj)  # Warn is the default
        self.assertEqual(resp.status, 201)
        self.assertEqual(resp.headers.get_all("Warning"), [
            '299 - "unknown field \\"dta\\""',
            '299 - "unknown field \\"metadata.lables\\""'])
        made = json.loads(data)
        self.assertNotIn("dta", made)  # dropped, as typed decoding does
        self.assertNotIn("lables", made["metadata"])

    def test_generation(self):
        self.ns("gen")
        base = "/apis/apps/v1/namespaces/gen/deployments"
        dep = {"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "d"}, "spec": {"replicas": 1}}
        code, d = self.c.req("POST", base, dep)
        self.assertEqual(d["metadata"]["generation"], 1)
        code, d = self.c.req("PATCH", base + "/d", {"metadata": {"labels": {
            "a": "b"}}}, "application/merge-patch+json")
        self.assertEqual(d["metadata"]["generation"], 1)  # metadata only
        code, d = self.c.req("PATCH", base + "/d", {"spec": {"replicas": 3}},
                             "application/merge-patch+json")
        self.assertEqual(d["metadata"]["generation"], 2)
        code, d = self.c.req("PATCH", base + "/d", {"status": {
            "readyReplicas": 3}}, "application/merge-patch+json")
        self.assertNotIn("status", d)  # status is a subresource
        code, d = self.c.req("PATCH", base + "/d/status", {"status": {
            "readyReplicas": 3}}, "application/merge-patch+json")
        self.assertEqual(d["status"], {"readyReplicas": 3})
        self.assertEqual(d["metadata"]["generation"], 2)

    def test_scale_subresource(self):
        self.ns("sc")
        base = "/apis/apps/v1/namespaces/sc/statefulsets"
        self.c.req("POST", base, {"metadata": {"name": "s"}, "spec": {
            "replicas": 2, "selector": {"matchLabels": {"app": "s"}}}})
        code, sc = self.c.req("GET", base + "/s/scale")
        self.assertEqual((sc["kind"], sc["apiVersion"], sc["spec"],
                          sc["status"]["selector"]),
                         ("Scale", "autoscaling/v1", {"replicas": 2},
                          "app=s"))
        code, sc = self.c.req("PATCH", base + "/s/scale",
                              {"spec": {"replicas": 0}},
                              "application/merge-patch+json")
        self.assertEqual((code, sc["spec"]["replicas"]), (200, 0))
        _, obj = self.c.req("GET", base + "/s")
        self.assertEqual((obj["spec"]["replicas"],
                          obj["metadata"]["generation"]), (0, 2))
        code, out = self.c.req("PUT", base + "/s/scale", {
            "metadata": {"name": "s", "resourceVersion": "1"},
            "spec": {"replicas": 1}})
        self.assertStatus(out, 409, "Conflict", "s", "statefulsets")
        code, out = self.c.req("PATCH", base + "/s/scale",
                               {"spec": {"replicas": -1}},
                               "application/merge-patch+json")
        self.assertEqual(code, 422)
        code, out = self.c.req("GET", "/api/v1/namespaces/sc/configmaps/x/"
                               "scale")
        self.assertEqual(code, 404)

    def test_list_items_and_kinds(self):
        self.ns("lk")
        self.c.req("POST", "/api/v1/namespaces/lk/configmaps", cm("a"))
        self.c.req("POST", "/apis/helm.cattle.io/v1/namespaces/lk/helmcharts",
                   {"apiVersion": "helm.cattle.io/v1", "kind": "HelmChart",
                    "metadata": {"name": "h"}, "spec": {"chart": "x"}})
        _, lst = self.c.req("GET", "/api/v1/namespaces/lk/configmaps")
        self.assertEqual((lst["kind"], lst["apiVersion"]),
                         ("ConfigMapList", "v1"))
        self.assertNotIn("kind", lst["items"][0])  # typed list encoding
        _, lst = self.c.req("GET", "/apis/helm.cattle.io/v1/helmcharts")
        self.assertEqual(lst["items"][0]["kind"], "HelmChart")  # CRD list
        self.assertTrue(lst["metadata"]["resourceVersion"])


class Lists(ServerTest):
    def test_selectors_over_http(self):
        self.ns("sel")
        base = "/api/v1/namespaces/sel/configmaps"
        for n, labels in Selectors.LABELS.items():
            self.assertEqual(self.c.req("POST", base, cm(n, labels))[0], 201)
        import urllib.parse
        for sel, want in Selectors.TABLE:
            q = urllib.parse.quote(sel)
            code, out = self.c.req("GET", f"{base}?labelSelector={q}")
            self.assertEqual(code, 200, out)
            got = "".join(i["metadata"]["name"] for i in out["items"])
            self.assertEqual(got, want, sel)
        code, out = self.c.req("GET", base + "?labelSelector=a%20in%20(b")
        self.assertStatus(out, 400, "BadRequest")
        code, out = self.c.req("GET", base + "?fieldSelector=metadata.name%3Db")
        self.assertEqual([i["metadata"]["name"] for i in out["items"]], ["b"])

    def test_pagination_and_expired_continue(self):
        self.ns("page")
        base = "/api/v1/namespaces/page/configmaps"
        for i in range(25):
            self.c.req("POST", base, cm(f"cm-{i:02d}"))
        names, token, rvs, remaining = [], "", set(), []
        pages = 0
        while True:
            q = "?limit=10" + (f"&continue={token}" if token else "")
            code, out = self.c.req("GET", base + q)
            self.assertEqual(code, 200, out)
            pages += 1
            names += [i["metadata"]["name"] for i in out["items"]]
            rvs.add(out["metadata"]["resourceVersion"])
            remaining.append(out["metadata"].get("remainingItemCount"))
            token = out["metadata"].get("continue")
            if not token:
                break
        self.assertEqual(pages, 3)
        self.assertEqual(names, [f"cm-{i:02d}" for i in range(25)])
        # Pages after the first are the snapshot of the first page's rv:
        # changes in between do not show.
        code, first = self.c.req("GET", base + "?limit=10")
        self.c.req("DELETE", base + "/cm-15")
        self.c.req("POST", base, cm("cm-12a"))
        self.c.req("PATCH", base + "/cm-20", {"data": {"k": "new"}},
                   "application/merge-patch+json")
        code, second = self.c.req("GET", base + "?limit=10&continue=" +
                                  first["metadata"]["continue"])
        self.assertEqual([i["metadata"]["name"] for i in second["items"]],
                         [f"cm-{i:02d}" for i in range(10, 20)])
        code, third = self.c.req("GET", base + "?limit=10&continue=" +
                                 second["metadata"]["continue"])
        self.assertEqual(third["items"][0]["data"], {"k": "v"})
        self.assertEqual(second["metadata"]["resourceVersion"],
                         first["metadata"]["resourceVersion"])
        self.assertEqual(len(rvs), 1)  # every page reports the list's rv
        self.assertEqual(remaining, [15, 5, None])
        code, out = self.c.req("GET", base + "?limit=10")
        token = out["metadata"]["continue"]
        self.c.admin("compact", {})
        code, out = self.c.req("GET", base + f"?limit=10&continue={token}")
        self.assertStatus(out, 410, "Expired")
        code, out = self.c.req("GET", base + "?limit=10&continue=garbage")
        self.assertStatus(out, 400, "BadRequest")
        # Across namespaces, lists are ordered by "namespace/name" like
        # etcd keys, and pages follow that order ("p-x" < "p/").
        self.ns("p-x")
        self.c.req("POST", "/api/v1/namespaces/p-x/configmaps", cm("a"))
        got, token = [], ""
        while True:
            code, out = self.c.req("GET", "/api/v1/configmaps?limit=7" +
                                   (f"&continue={token}" if token else ""))
            got += [f"{i['metadata']['namespace']}/{i['metadata']['name']}"
                    for i in out["items"]]
            token = out["metadata"].get("continue")
            if not token:
                break
        self.assertEqual(got, sorted(got))
        self.assertEqual(len(got), len(set(got)))
        self.assertIn("p-x/a", got)
        self.assertEqual(len([k for k in got if k.startswith("page/")]), 25)


class Apply(ServerTest):
    def apply(self, path, obj, manager="outpost", force=True):
        q = "?force=true" if force else "?force=false"
        if manager:
            q += f"&fieldManager={manager}"
        return self.c.req("PATCH", path + q, obj,
                          "application/apply-patch+yaml")

    def test_apply(self):
        self.ns("ap")
        path = "/api/v1/namespaces/ap/configmaps/a"
        code, out = self.apply(path, cm("a"), manager=None)
        self.assertStatus(out, 422, "Invalid")
        self.assertIn("fieldManager", out["message"])
        code, made = self.apply(path, cm("a", {"l": "1"}, {"k": "v",
                                                          "x": "y"}))
        self.assertEqual(code, 201)
        mf = made["metadata"]["managedFields"]
        self.assertEqual([(e["manager"], e["operation"]) for e in mf],
                         [("outpost", "Apply")])
        self.assertEqual(mf[0]["fieldsV1"], {
            "f:data": {"f:k": {}, "f:x": {}},
            "f:metadata": {"f:labels": {"f:l": {}}}})
        code, same = self.apply(path, cm("a", {"l": "1"}, {"k": "v",
                                                          "x": "y"}))
        self.assertEqual(code, 200)
        self.assertEqual(same, made)  # no-op: identical, rv included
        code, less = self.apply(path, cm("a", {"l": "1"}, {"k": "v2"}))
        self.assertEqual(less["data"], {"k": "v2"})  # x dropped: removed
        self.assertGreater(int(less["metadata"]["resourceVersion"]),
                           int(made["metadata"]["resourceVersion"]))
        # Another manager: conflict without force; co-own equal values.
        code, out = self.apply(path, cm("a", data={"k": "other"}),
                               manager="someone", force=False)
        self.assertEqual((code, out["reason"]), (409, "Conflict"))
        self.assertEqual(out["details"]["causes"][0]["field"], ".data.k")
        code, out = self.apply(path, cm("a", data={"k": "v2"}),
                               manager="someone", force=False)
        self.assertEqual(code, 200)
        # Merge patch by a third party, then the owner's apply keeps it.
        self.c.req("PATCH", path + "?fieldManager=editor",
                   {"data": {"extra": "e"}}, "application/merge-patch+json")
        code, out = self.apply(path, cm("a", {"l": "1"}, {"k": "v2"}))
        self.assertEqual(out["data"], {"k": "v2", "extra": "e"})
        managers = {e["manager"] for e in out["metadata"]["managedFields"]}
        self.assertEqual(managers, {"outpost", "someone", "editor"})
        code, out = self.c.req("PATCH", path + "?fieldManager=x", "{bad",
                               "application/apply-patch+yaml")
        self.assertStatus(out, 400, "BadRequest")

    def owners(self, obj):
        return [(e["manager"], e["operation"], e.get("subresource", ""))
                for e in obj["metadata"].get("managedFields") or []]

    def test_created_then_applied_keeps_two_entries(self):
        """A manager's POST and its applies are two entries, (outpost,
        Update) and (outpost, Apply): a field a later apply drops stays
        while the Update entry owns it, as on a real API server."""
        self.ns("cu")
        base = "/api/v1/namespaces/cu/configmaps"
        full = cm("a", {"l": "1", "old": "x"}, {"k": "v", "drop": "d"})
        less = cm("a", {"l": "1"}, {"k": "v"})
        code, made = self.c.req("POST", base + "?fieldManager=outpost", full)
        self.assertEqual(code, 201)
        self.assertEqual(self.owners(made), [("outpost", "Update", "")])
        code, out = self.apply(base + "/a", full)
        # In the real server's order: Apply entries first.
        self.assertEqual(self.owners(out), [("outpost", "Apply", ""),
                                            ("outpost", "Update", "")])
        code, out = self.apply(base + "/a", less)
        self.assertEqual(out["data"], {"k": "v", "drop": "d"})
        self.assertEqual(out["metadata"]["labels"], {"l": "1", "old": "x"})
        # A PUT or patch that carries no managedFields keeps them.
        code, put = self.c.req("PUT", base + "/a?fieldManager=editor",
                               {**out, "metadata": {
                                   k: v for k, v in out["metadata"].items()
                                   if k != "managedFields"}})
        self.assertEqual((code, self.owners(put)), (200, self.owners(out)))
        code, kept = self.c.req("PATCH", base + "/a?fieldManager=editor",
                                {"metadata": {"managedFields": []}},
                                "application/merge-patch+json")
        self.assertEqual(self.owners(kept), self.owners(out))

    def test_managed_fields_rewritten(self):
        """The csaupgrade-style move of an Update entry's fields into the
        Apply entry, with a resourceVersion test; then an apply that drops
        a field removes it.  [{}] clears managedFields."""
        self.ns("mv")
        path = "/api/v1/namespaces/mv/configmaps/a"
        full = cm("a", {"l": "1", "old": "x"}, {"k": "v", "drop": "d"})
        self.c.req("POST", "/api/v1/namespaces/mv/configmaps"
                   "?fieldManager=outpost", full)
        code, cur = self.apply(path, full)
        rv = cur["metadata"]["resourceVersion"]
        applied, created = cur["metadata"]["managedFields"]
        self.assertEqual((applied["operation"], created["operation"]),
                         ("Apply", "Update"))
        moved = [dict(applied, fieldsV1=created["fieldsV1"])]
        stale = [{"op": "test", "path": "/metadata/resourceVersion",
                  "value": "1"},
                 {"op": "replace", "path": "/metadata/managedFields",
                  "value": moved}]
        code, out = self.c.req("PATCH", path + "?fieldManager=outpost",
                               stale, "application/json-patch+json")
        self.assertEqual((code, out["reason"]), (422, "Invalid"))
        code, out = self.c.req("PATCH", path + "?fieldManager=outpost",
                               {"metadata": {"resourceVersion": "1",
                                             "managedFields": moved}},
                               "application/merge-patch+json")
        self.assertStatus(out, 409, "Conflict", "a", "configmaps")
        code, out = self.c.req("PATCH", path + "?fieldManager=outpost",
                               [dict(stale[0], value=rv), stale[1]],
                               "application/json-patch+json")
        self.assertEqual(code, 200, out)
        self.assertEqual(self.owners(out), [("outpost", "Apply", "")])
        self.assertEqual(out["metadata"]["managedFields"], moved)
        self.assertGreater(int(out["metadata"]["resourceVersion"]), int(rv))
        code, out = self.apply(path, cm("a", {"l": "1"}, {"k": "v"}))
        self.assertEqual((out["data"], out["metadata"]["labels"]),
                         ({"k": "v"}, {"l": "1"}))
        # A rewrite together with a change: the change is the writer's.
        code, out = self.c.req("PATCH", path + "?fieldManager=editor",
                               {"metadata": {"managedFields": [{}]},
                                "data": {"e": "1"}},
                               "application/merge-patch+json")
        self.assertEqual(self.owners(out), [("editor", "Update", "")])
        self.assertEqual(out["metadata"]["managedFields"][0]["fieldsV1"],
                         {"f:data": {"f:e": {}}})
        code, out = self.c.req("PATCH", path + "?fieldManager=editor",
                               [{"op": "replace",
                                 "path": "/metadata/managedFields",
                                 "value": [{}]}],
                               "application/json-patch+json")
        self.assertNotIn("managedFields", out["metadata"])
        # An apply may not carry them.
        code, out = self.apply(path, {**cm("a"), "metadata": {
            "name": "a", "managedFields": moved}})
        self.assertStatus(out, 400, "BadRequest")
        self.assertIn("managedFields must be nil", out["message"])

    def test_subresource_entries(self):
        """A write through /scale is its own entry (subresource scale) and
        cannot rewrite managedFields."""
        self.ns("sr")
        base = "/apis/apps/v1/namespaces/sr/statefulsets"
        self.c.req("POST", base + "?fieldManager=outpost", {
            "metadata": {"name": "s"}, "spec": {
                "replicas": 2, "selector": {"matchLabels": {"app": "s"}}}})
        code, sc = self.c.req("PATCH", base + "/s/scale?fieldManager=outpost",
                              {"metadata": {"managedFields": [{}]},
                               "spec": {"replicas": 0}},
                              "application/merge-patch+json")
        self.assertEqual(code, 200, sc)
        _, obj = self.c.req("GET", base + "/s")
        self.assertEqual(self.owners(obj), [("outpost", "Update", ""),
                                            ("outpost", "Update", "scale")])
        self.assertEqual(obj["metadata"]["managedFields"][1]["fieldsV1"],
                         {"f:spec": {"f:replicas": {}}})

    def test_apply_in_terminating_namespace_and_deletion(self):
        self.c.admin("settings", {"ns_delete_delay": 1.0})
        try:
            self.ns("term")
            self.apply("/api/v1/namespaces/term/configmaps/a", cm("a"))
            self.apply("/apis/apps/v1/namespaces/term/deployments/d",
                       {"apiVersion": "apps/v1", "kind": "Deployment",
                        "metadata": {"name": "d"}, "spec": {}})
            code, ns = self.c.req("DELETE", "/api/v1/namespaces/term")
            self.assertEqual(code, 200)
            self.assertEqual(ns["kind"], "Namespace")
            self.assertEqual(ns["status"]["phase"], "Terminating")
            self.assertTrue(ns["metadata"]["deletionTimestamp"])
            code, out = self.apply("/api/v1/namespaces/term/configmaps/b",
                                   cm("b"))
            self.assertStatus(out, 403, "Forbidden", "b", "configmaps")
            self.assertEqual(out["message"], 'configmaps "b" is forbidden: '
                             'unable to create new content in namespace '
                             'term because it is being terminated')
            code, out = self.c.req("DELETE", "/api/v1/namespaces/term")
            self.assertStatus(out, 409, "Conflict", "term", "namespaces")
            # Existing objects can still be read while terminating.
            self.assertEqual(self.c.req(
                "GET", "/api/v1/namespaces/term/configmaps/a")[0], 200)
            deadline = time.monotonic() + 20
            while self.c.req("GET", "/api/v1/namespaces/term")[0] != 404:
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.05)
            objs = self.c.admin("objects?namespace=term")["items"]
            self.assertEqual(objs, [])
        finally:
            self.c.admin("settings", {"ns_delete_delay": 0.3})

    def test_owner_references_cascade(self):
        self.ns("own")
        code, owner = self.c.req("POST", "/api/v1/namespaces/own/configmaps",
                                 cm("owner"))
        ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
               "uid": owner["metadata"]["uid"]}
        dep = cm("dep")
        dep["metadata"]["ownerReferences"] = [ref]
        self.c.req("POST", "/api/v1/namespaces/own/configmaps", dep)
        self.c.req("DELETE", "/api/v1/namespaces/own/configmaps/owner")
        self.assertEqual(self.c.req(
            "GET", "/api/v1/namespaces/own/configmaps/dep")[0], 404)


class Lifecycle(ServerTest):
    def test_generate_name_and_deletecollection(self):
        self.ns("gc")
        base = "/api/v1/namespaces/gc/configmaps"
        names = set()
        for _ in range(3):
            code, out = self.c.req("POST", base, {"metadata": {
                "generateName": "gen-", "labels": {"g": "1"}}})
            self.assertEqual(code, 201, out)
            self.assertRegex(out["metadata"]["name"], r"^gen-[a-z0-9]{5}$")
            names.add(out["metadata"]["name"])
        self.assertEqual(len(names), 3)
        self.c.req("POST", base, cm("keep"))
        code, out = self.c.req("DELETE", base + "?labelSelector=g%3D1")
        self.assertEqual((code, len(out["items"])), (200, 3))
        _, lst = self.c.req("GET", base)
        self.assertEqual([i["metadata"]["name"] for i in lst["items"]],
                         ["keep"])

    def test_finalizers_hold_deletion(self):
        self.ns("fin")
        path = "/api/v1/namespaces/fin/configmaps/f"
        obj = cm("f")
        obj["metadata"]["finalizers"] = ["example.com/hold"]
        self.c.req("POST", "/api/v1/namespaces/fin/configmaps", obj)
        code, out = self.c.req("DELETE", path)
        self.assertEqual((code, out["kind"]), (200, "ConfigMap"))
        self.assertTrue(out["metadata"]["deletionTimestamp"])
        self.assertEqual(self.c.req("GET", path)[0], 200)
        code, out = self.c.req("PATCH", path, {"metadata": {
            "finalizers": None}}, "application/merge-patch+json")
        self.assertEqual(code, 200)
        self.assertEqual(self.c.req("GET", path)[0], 404)

    def test_orphan_and_preconditions(self):
        self.ns("orph")
        base = "/api/v1/namespaces/orph/configmaps"
        _, owner = self.c.req("POST", base, cm("owner"))
        dep = cm("dep")
        dep["metadata"]["ownerReferences"] = [{
            "apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
            "uid": owner["metadata"]["uid"]}]
        self.c.req("POST", base, dep)
        code, out = self.c.req("DELETE", base + "/owner", {
            "preconditions": {"uid": "not-the-uid"}})
        self.assertStatus(out, 409, "Conflict", "owner", "configmaps")
        code, out = self.c.req("DELETE", base + "/owner",
                               {"propagationPolicy": "Orphan"})
        self.assertEqual(code, 200)
        _, kept = self.c.req("GET", base + "/dep")
        self.assertNotIn("ownerReferences", kept["metadata"])

    def test_apply_refuses_a_number_for_a_quantity(self):
        # As kube-apiserver 1.20 does (tests/realapi): apply types the patch
        # and refuses a JSON number where a quantity (a string) belongs,
        # with a 500; a POST of the same object is accepted.
        self.ns("num")
        quota = {"apiVersion": "v1", "kind": "ResourceQuota",
                 "metadata": {"name": "q"}, "spec": {"hard": {"pods": 20}}}
        code, out = self.c.req(
            "PATCH", "/api/v1/namespaces/num/resourcequotas/q"
            "?fieldManager=outpost&force=true", quota,
            "application/apply-patch+yaml")
        self.assertEqual(code, 500)
        self.assertIn("failed to create typed patch object: .spec.hard.pods:"
                      " expected string", out["message"])
        code, out = self.c.req("POST", "/api/v1/namespaces/num/"
                               "resourcequotas", quota)
        self.assertEqual(code, 201)
        self.assertEqual(out["spec"]["hard"]["pods"], "20")

    def test_quantities_are_canonical(self):
        self.ns("qty")
        dep = {"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "d"}, "spec": {"template": {"spec": {
                   "containers": [{"name": "c", "resources": {
                       "requests": {"cpu": "1000m", "memory": "0.5Gi"},
                       "limits": {"cpu": "2", "memory": "1024Mi"}}}]}}}}
        path = "/apis/apps/v1/namespaces/qty/deployments/d"
        q = "?fieldManager=outpost&force=true"
        ctype = "application/apply-patch+yaml"
        code, made = self.c.req("PATCH", path + q, dep, ctype)
        res = made["spec"]["template"]["spec"]["containers"][0]["resources"]
        self.assertEqual(res, {"requests": {"cpu": "1", "memory": "512Mi"},
                               "limits": {"cpu": "2", "memory": "1Gi"}})
        code, again = self.c.req("PATCH", path + q, dep, ctype)
        self.assertEqual(again["metadata"]["resourceVersion"],
                         made["metadata"]["resourceVersion"])
        quota = {"apiVersion": "v1", "kind": "ResourceQuota",
                 "metadata": {"name": "q"},
                 "spec": {"hard": {"requests.cpu": "2000m",
                                   "requests.memory": "bad"}}}
        code, out = self.c.req("POST", "/api/v1/namespaces/qty/"
                               "resourcequotas", quota)
        self.assertStatus(out, 422, "Invalid", "q", "ResourceQuota")
        self.assertEqual(out["details"]["causes"][0]["field"],
                         "spec.hard[requests.memory]")
        quota["spec"]["hard"]["requests.memory"] = "1.5Gi"
        code, out = self.c.req("POST", "/api/v1/namespaces/qty/"
                               "resourcequotas", quota)
        self.assertEqual(out["spec"]["hard"], {"requests.cpu": "2",
                                               "requests.memory": "1536Mi"})

    def test_immutable_fields(self):
        self.ns("imm")
        job = {"apiVersion": "batch/v1", "kind": "Job",
               "metadata": {"name": "j"}, "spec": {"template": {"spec": {
                   "containers": [{"name": "c", "image": "i:1"}]}}}}
        path = "/apis/batch/v1/namespaces/imm/jobs/j"
        q = "?fieldManager=outpost&force=true"
        ctype = "application/apply-patch+yaml"
        self.assertEqual(self.c.req("PATCH", path + q, job, ctype)[0], 201)
        job["spec"]["template"]["spec"]["containers"][0]["image"] = "i:2"
        code, out = self.c.req("PATCH", path + q, job, ctype)
        self.assertStatus(out, 422, "Invalid", "j", "Job")
        self.assertIn("spec.template: Invalid value", out["message"])
        self.assertIn("field is immutable", out["message"])
        sts = {"apiVersion": "apps/v1", "kind": "StatefulSet",
               "metadata": {"name": "s"}, "spec": {"serviceName": "a",
                                                   "replicas": 1}}
        path = "/apis/apps/v1/namespaces/imm/statefulsets/s"
        self.c.req("PATCH", path + q, sts, ctype)
        sts["spec"]["replicas"] = 2
        self.assertEqual(self.c.req("PATCH", path + q, sts, ctype)[0], 200)
        sts["spec"]["serviceName"] = "b"
        code, out = self.c.req("PATCH", path + q, sts, ctype)
        self.assertEqual(out["details"]["causes"][0]["reason"],
                         "FieldValueForbidden")
        frozen = cm("frozen")
        frozen["immutable"] = True
        self.c.req("POST", "/api/v1/namespaces/imm/configmaps", frozen)
        code, out = self.c.req("PATCH", "/api/v1/namespaces/imm/configmaps/"
                               "frozen", {"data": {"k": "new"}},
                               "application/merge-patch+json")
        self.assertStatus(out, 422, "Invalid", "frozen", "ConfigMap")

    def test_strategic_merge(self):
        self.ns("smp")
        base = "/apis/apps/v1/namespaces/smp/deployments"
        self.c.req("POST", base, {"metadata": {"name": "d"}, "spec": {
            "template": {"spec": {"containers": [
                {"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}
            ]}}}})
        code, out = self.c.req("PATCH", base + "/d", {"spec": {"template": {
            "spec": {"containers": [{"name": "b", "image": "b:2"},
                                    {"name": "a", "$patch": "delete"}]}}}},
            "application/strategic-merge-patch+json")
        self.assertEqual(out["spec"]["template"]["spec"]["containers"],
                         [{"name": "b", "image": "b:2"}])
        self.c.req("POST", "/apis/helm.cattle.io/v1/namespaces/smp/"
                   "helmcharts", {"metadata": {"name": "h"}})
        code, out = self.c.req("PATCH", "/apis/helm.cattle.io/v1/namespaces/"
                               "smp/helmcharts/h", {"spec": {}},
                               "application/strategic-merge-patch+json")
        self.assertStatus(out, 415, "UnsupportedMediaType")


class Watch(ServerTest):
    def test_watch_without_resource_version(self):
        self.ns("w0")
        base = "/api/v1/namespaces/w0/configmaps"
        self.c.req("POST", base, cm("a"))
        self.c.req("POST", base, cm("b"))
        resp, data = self.c.raw("GET", base + "?watch=true&timeoutSeconds=1")
        self.assertEqual(resp.getheader("Transfer-Encoding"), "chunked")
        events = [json.loads(line) for line in data.splitlines()]
        self.assertEqual([(e["type"], e["object"]["metadata"]["name"])
                          for e in events], [("ADDED", "a"), ("ADDED", "b")])
        # The connection stays usable after a watch ends.
        self.assertEqual(self.c.req("GET", base + "/a")[0], 200)

    def test_live_events(self):
        self.ns("wl")
        base = "/api/v1/namespaces/wl/configmaps"
        _, lst = self.c.req("GET", base)
        w = Client(self.dir, self.port)
        w.conn = http.client.HTTPSConnection("127.0.0.1", self.port,
                                             context=w.ctx, timeout=30)
        w.conn.request("GET", base + "?watch=1&timeoutSeconds=20&"
                       "resourceVersion=" + lst["metadata"]["resourceVersion"])
        resp = w.conn.getresponse()
        self.assertEqual(resp.status, 200)
        t = time.monotonic()
        self.c.req("POST", base, cm("live"))
        ev = json.loads(resp.readline())
        self.assertEqual((ev["type"], ev["object"]["metadata"]["name"]),
                         ("ADDED", "live"))
        self.c.req("DELETE", base + "/live")
        ev = json.loads(resp.readline())
        self.assertEqual(ev["type"], "DELETED")
        self.assertLess(time.monotonic() - t, 5)
        w.close()

    def test_watch_events(self):
        self.ns("w")
        base = "/api/v1/namespaces/w/configmaps"
        _, lst = self.c.req("GET", base)
        rv = lst["metadata"]["resourceVersion"]
        self.c.req("POST", base, cm("a", {"x": "1"}))
        self.c.req("PATCH", base + "/a", {"data": {"k": "2"}},
                   "application/merge-patch+json")
        self.c.req("PATCH", base + "/a", {"metadata": {"labels": {"x": "2"}}},
                   "application/merge-patch+json")
        self.c.req("DELETE", base + "/a")
        resp, data = self.c.raw(
            "GET", f"{base}?watch=1&resourceVersion={rv}&timeoutSeconds=1"
            "&labelSelector=x%3D1")
        events = [json.loads(line) for line in data.splitlines()]
        self.assertEqual([e["type"] for e in events],
                         ["ADDED", "MODIFIED", "DELETED"])
        self.assertEqual(events[0]["object"]["kind"], "ConfigMap")
        self.c.admin("compact", {})
        resp, data = self.c.raw("GET", f"{base}?watch=1&resourceVersion={rv}"
                                "&timeoutSeconds=1")
        ev = json.loads(data.splitlines()[0])
        self.assertEqual(ev["type"], "ERROR")
        self.assertEqual((ev["object"]["code"], ev["object"]["reason"]),
                         (410, "Expired"))


    def test_streaming_list(self):
        # sendInitialEvents: the state as ADDED events, then a BOOKMARK marking
        # the end of the initial events (what client-go 1.35's kubectl
        # wait/delete ask for); without its companion parameters, 422.
        self.ns("ws")
        base = "/api/v1/namespaces/ws/configmaps"
        self.c.req("POST", base, cm("a"))
        self.c.req("POST", base, cm("b"))
        _, data = self.c.raw(
            "GET", base + "?watch=1&timeoutSeconds=1&sendInitialEvents=true"
            "&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true")
        events = [json.loads(line) for line in data.splitlines()]
        self.assertEqual([e["type"] for e in events],
                         ["ADDED", "ADDED", "BOOKMARK"])
        mark = events[-1]["object"]
        self.assertEqual(mark["metadata"]["annotations"],
                         {"k8s.io/initial-events-end": "true"})
        self.assertEqual(mark["kind"], "ConfigMap")
        _, lst = self.c.req("GET", base)
        self.assertEqual(mark["metadata"]["resourceVersion"],
                         lst["metadata"]["resourceVersion"])
        code, out = self.c.req("GET", base + "?watch=1&sendInitialEvents=true")
        self.assertStatus(out, 422, "Invalid")


class Faults(ServerTest):
    def test_rates(self):
        self.c.admin("faults", {"seed": 7, "error_rate": 0.10,
                                "error_codes": [500, 502, 503, 504],
                                "throttle_rate": 0.05, "retry_after": 2,
                                "drop_rate": 0.02})
        self.c.admin("reset-counters", {})
        n, seen = 2000, {}
        for _ in range(n):
            try:
                resp, data = self.c.raw("GET", "/api/v1/namespaces/default")
            except (OSError, http.client.HTTPException):
                seen["drop"] = seen.get("drop", 0) + 1
                continue
            seen[resp.status] = seen.get(resp.status, 0) + 1
            if resp.status == 429:
                self.assertEqual(resp.getheader("Retry-After"), "2")
                self.assertEqual(json.loads(data)["details"],
                                 {"retryAfterSeconds": 2})
            elif resp.status == 502:
                self.assertEqual(resp.getheader("Content-Type"),
                                 "text/plain")
            elif resp.status != 200:
                self.assertEqual(json.loads(data)["kind"], "Status")
        errors = sum(seen.get(c, 0) for c in (500, 502, 503, 504))
        # Binomial bounds, about four standard deviations.
        self.assertTrue(140 <= errors <= 260, seen)
        self.assertTrue(60 <= seen.get(429, 0) <= 140, seen)
        self.assertTrue(12 <= seen.get("drop", 0) <= 70, seen)
        for c in (500, 502, 503, 504):
            self.assertGreater(seen.get(c, 0), 15, seen)
        counters = self.c.admin("counters")
        self.c.admin("faults", {})
        self.assertEqual(counters["get"], {"Namespace": n})
        self.assertEqual(sum(counters["faults"]["error"].values()), errors)
        self.assertEqual(counters["faults"]["throttle"], seen[429])
        self.assertEqual(counters["faults"]["drop"], seen["drop"])

    def test_same_seed_same_faults(self):
        runs = []
        for _ in range(2):
            self.c.admin("faults", {"seed": 3, "error_rate": 0.3})
            runs.append([self.c.raw("GET", "/api/v1/namespaces")[0].status
                         for _ in range(40)])
        self.assertEqual(runs[0], runs[1])
        self.assertIn(500 if 500 in runs[0] else 503, runs[0])

    def test_latency_and_filters(self):
        self.c.admin("faults", {"latency_ms": 500, "verbs": ["list"]})
        t = time.monotonic()
        self.c.req("GET", "/api/v1/namespaces/default")
        fast = time.monotonic() - t
        t = time.monotonic()
        self.c.req("GET", "/api/v1/namespaces")
        slow = time.monotonic() - t
        self.assertGreaterEqual(slow, 0.5)
        self.assertLess(fast, 0.5)  # only lists are delayed
        # Admin endpoints are never faulted.
        self.c.admin("faults", {"error_rate": 1.0})
        self.assertIn("get", self.c.admin("counters"))
        self.assertEqual(self.c.req("GET", "/readyz")[0], 200)
        self.assertEqual(self.c.req("GET", "/api/v1/namespaces")[0] // 100, 5)

    def test_max_inflight(self):
        import threading
        self.c.admin("faults", {"max_inflight": 2, "latency_ms": 1500,
                                "retry_after": 3})
        codes = []

        def one():
            c = Client(self.dir, self.port)
            resp, _ = c.raw("GET", "/api/v1/namespaces/default")
            codes.append((resp.status, resp.getheader("Retry-After")))
            c.close()
        threads = [threading.Thread(target=one) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(codes)[:2], [(200, None), (200, None)])
        self.assertIn((429, "3"), codes)
        self.assertGreaterEqual(self.c.admin("counters")["faults"]["inflight"],
                                1)

    def test_rules(self):
        self.ns("rl")
        self.c.admin("faults", {"rules": [
            {"verb": "apply", "kind": "Secret", "namespace": "rl",
             "name": "creds", "code": 503, "times": 2},
            {"verb": "get", "name": "always", "code": 500, "times": 0},
            {"verb": "delete", "code": 429, "retry_after": 7}]})
        path = "/api/v1/namespaces/rl/secrets/creds?fieldManager=m"
        body = {"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "creds"}}
        ctype = "application/apply-patch+yaml"
        codes = [self.c.req("PATCH", path, body, ctype)[0] for _ in range(3)]
        self.assertEqual(codes, [503, 503, 201])
        self.assertEqual(self.c.req("PATCH", path.replace("creds", "other"),
                                    dict(body, metadata={"name": "other"}),
                                    ctype)[0], 201)
        for _ in range(3):
            self.assertEqual(self.c.req(
                "GET", "/api/v1/namespaces/rl/configmaps/always")[0], 500)
        resp, _ = self.c.raw("DELETE", "/api/v1/namespaces/rl/secrets/other")
        self.assertEqual((resp.status, resp.getheader("Retry-After")),
                         (429, "7"))
        self.assertEqual(self.c.req(
            "DELETE", "/api/v1/namespaces/rl/secrets/other")[0], 200)
        code, out = self.c.req("POST", "/_admin/faults",
                               {"rules": [{"verb": "get"}]})
        self.assertEqual(code, 400)

    def test_drop_after_write_lands(self):
        self.ns("da")
        self.c.admin("faults", {"drop_after_rate": 1.0, "verbs": ["create"]})
        with self.assertRaises((OSError, http.client.HTTPException)):
            self.c.req("POST", "/api/v1/namespaces/da/configmaps", cm("a"))
        self.c.admin("faults", {})
        self.assertEqual(self.c.req(
            "GET", "/api/v1/namespaces/da/configmaps/a")[0], 200)

    def test_counters(self):
        self.ns("cnt")
        self.c.admin("reset-counters", {})
        base = "/api/v1/namespaces/cnt/configmaps"
        self.c.req("POST", base, cm("a"))
        self.c.req("GET", base + "/a")
        self.c.req("GET", base)
        self.c.req("PATCH", base + "/a?fieldManager=m", cm("a"),
                   "application/apply-patch+yaml")
        self.c.req("PATCH", base + "/a", {"data": {}},
                   "application/merge-patch+json")
        self.c.req("PUT", base + "/a", cm("a"))
        self.c.req("DELETE", base + "/a")
        self.c.req("GET", "/apis")
        got = self.c.admin("counters")
        for verb in ("create", "get", "list", "apply", "patch", "update",
                     "delete"):
            self.assertEqual(got[verb], {"ConfigMap": 1}, verb)
        self.assertEqual((got["total"], got["writes"], got["other"]),
                         (8, 5, 1))


class Controllers(ServerTest):
    def test_workloads_and_helm(self):
        self.ns("ctl")
        self.c.admin("controllers", {"helm": True, "workloads": True,
                                     "delay": 0.05, "never_ready": ["stuck"],
                                     "fail_jobs": ["bad"]})
        for name in ("ok", "stuck"):
            self.c.req("POST", "/apis/apps/v1/namespaces/ctl/deployments",
                       {"metadata": {"name": name},
                        "spec": {"replicas": 2}})
        for name in ("good", "bad"):
            self.c.req("POST", "/apis/helm.cattle.io/v1/namespaces/ctl/"
                       "helmcharts", {"metadata": {"name": name},
                                      "spec": {"chart": "c"}})
        deadline = time.monotonic() + 20

        def status(path):
            """The object's status; {} while it does not exist yet."""
            code, out = self.c.req("GET", "/apis/" + path)
            self.assertIn(code, (200, 404), out)
            return out.get("status", {}) if code == 200 else {}
        while True:
            ok = status("apps/v1/namespaces/ctl/deployments/ok")
            good = status("batch/v1/namespaces/ctl/jobs/helm-install-good")
            bad = status("batch/v1/namespaces/ctl/jobs/helm-install-bad")
            if ok.get("readyReplicas") == 2 and good.get("succeeded") and \
                    bad.get("failed"):
                break
            self.assertLess(time.monotonic(), deadline, (ok, good, bad))
            time.sleep(0.05)
        stuck = status("apps/v1/namespaces/ctl/deployments/stuck")
        self.assertFalse(stuck.get("readyReplicas"))
        # Released: a new configuration acts on the existing Deployment.
        self.c.admin("controllers", {"helm": True, "workloads": True,
                                     "delay": 0.05})
        while status("apps/v1/namespaces/ctl/deployments/stuck").get(
                "readyReplicas") != 2:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)
        chart = status("helm.cattle.io/v1/namespaces/ctl/helmcharts/good")
        self.assertEqual(chart["jobName"], "helm-install-good")
        self.c.req("DELETE", "/apis/helm.cattle.io/v1/namespaces/ctl/"
                   "helmcharts/good")
        self.assertEqual(self.c.req(
            "GET", "/apis/batch/v1/namespaces/ctl/jobs/helm-install-good")[0],
            404)

    def test_platform_installs(self):
        platform = os.path.join(HERE, "..", "..", "charts", "platform.json")
        self.c.admin("controllers", {"helm": True, "workloads": True,
                                     "delay": 0.05, "platform": platform,
                                     "never_ready": ["keycloak"]})
        for chart in ("outpost-postgresql", "outpost-keycloak"):
            self.c.req("POST", "/apis/helm.cattle.io/v1/namespaces/"
                       "kube-system/helmcharts", {"metadata": {"name": chart},
                       "spec": {"chart": "x", "targetNamespace":
                                "outpost-platform"}})
        deadline = time.monotonic() + 20
        base = "/apis/apps/v1/namespaces/outpost-platform/"
        while True:
            code, sts = self.c.req("GET", base + "statefulsets/postgresql")
            if code == 200 and sts.get("status", {}).get("readyReplicas"):
                break
            self.assertLess(time.monotonic(), deadline, sts)
            time.sleep(0.05)
        self.assertEqual(sts["metadata"]["labels"],
                         {"app.kubernetes.io/managed-by": "Helm"})
        self.assertEqual(sts["metadata"]["annotations"][
            "meta.helm.sh/release-name"], "outpost-postgresql")
        while self.c.req("GET", base + "deployments/keycloak")[0] != 200:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)
        time.sleep(0.3)
        _, kc = self.c.req("GET", base + "deployments/keycloak")
        self.assertNotIn("readyReplicas", kc.get("status", {}))
        code, out = self.c.req("POST", "/_admin/controllers",
                               {"platform": "/nonexistent.json"})
        self.assertEqual(code, 400)


if __name__ == "__main__":
    unittest.main()
