#!/usr/bin/env python3
"""How fast the test API server is, so benchmarks that use it know what
part of their time is the server's: 1,000 tenant-sized sets of 10 objects
applied from empty by 4 keep-alive clients, the same again (no-op applies),
a paged list of 3,000 objects by label, and the server's CPU time and peak
RSS.  Prints figures; asserts nothing about time."""
import os
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from client import Client, start_server  # noqa: E402

TENANTS = 1000
CLIENTS = 4
LABELS = {"app.kubernetes.io/managed-by": "outpost"}


def tenant(n):
    """(path, object) for one tenant's objects, shaped like Outpost's."""
    ns = f"t-{n}"
    labels = dict(LABELS, **{"outpost.dev/tenant": str(n)})
    meta = lambda name: {"name": name, "labels": labels}  # noqa: E731
    core = f"/api/v1/namespaces/{ns}/"
    net = f"/apis/networking.k8s.io/v1/namespaces/{ns}/"
    out = [(f"/api/v1/namespaces/{ns}", {
        "apiVersion": "v1", "kind": "Namespace", "metadata": {
            "name": ns, "labels": dict(labels, **{
                "pod-security.kubernetes.io/enforce": "restricted"})}})]
    out.append((core + "resourcequotas/quota", {
        "apiVersion": "v1", "kind": "ResourceQuota", "metadata": meta("quota"),
        "spec": {"hard": {"requests.cpu": "2", "requests.memory": "4Gi"}}}))
    out.append((core + "limitranges/limits", {
        "apiVersion": "v1", "kind": "LimitRange", "metadata": meta("limits"),
        "spec": {"limits": [{"type": "Container",
                             "default": {"cpu": "500m", "memory": "512Mi"}}]}}))
    out.append((core + "serviceaccounts/app", {
        "apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta("app"),
        "automountServiceAccountToken": False}))
    out.append((core + "secrets/creds", {
        "apiVersion": "v1", "kind": "Secret", "metadata": meta("creds"),
        "data": {"password": "aHVudGVyMmh1bnRlcjI="}}))
    for np in ("deny-all", "allow-ingress", "allow-dns"):
        out.append((net + "networkpolicies/" + np, {
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": meta(np), "spec": {"podSelector": {},
                                           "policyTypes": ["Ingress"]}}))
    out.append((f"/apis/helm.cattle.io/v1/namespaces/{ns}/helmcharts/app", {
        "apiVersion": "helm.cattle.io/v1", "kind": "HelmChart",
        "metadata": meta("app"), "spec": {
            "chart": "https://%{KUBERNETES_API}%/static/charts/app.tgz",
            "valuesContent": f"host: t{n}.example\nsecret: creds\n"}}))
    out.append((net + "ingresses/app", {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": meta("app"), "spec": {"rules": [{
            "host": f"t{n}.example"}]}}))
    return out


def apply_all(d, port):
    errors = []

    def worker(ks):
        c = Client(d, port)
        for n in ks:
            for path, obj in tenant(n):
                code, out = c.req(
                    "PATCH", path + "?fieldManager=outpost&force=true", obj,
                    "application/apply-patch+yaml")
                if code not in (200, 201):
                    errors.append((code, out))
        c.close()
    threads = [threading.Thread(target=worker,
                                args=(range(k, TENANTS, CLIENTS),))
               for k in range(CLIENTS)]
    t = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        sys.exit(f"bench: {len(errors)} applies failed, first: {errors[0]}")
    return time.monotonic() - t


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    with tempfile.TemporaryDirectory(prefix="kubeapi-bench.") as tmp:
        d = os.path.join(tmp, "api")
        proc, port = start_server(d)
        try:
            objects = sum(len(tenant(n)) for n in range(TENANTS))
            for label in ("apply from empty", "no-op re-apply"):
                cpu = cpu_seconds(proc.pid)
                wall = apply_all(d, port)
                print(f"{label}: {objects} applies, {CLIENTS} clients: "
                      f"{wall:.1f} s wall, {objects / wall:.0f} req/s, "
                      f"server CPU {cpu_seconds(proc.pid) - cpu:.1f} s")
            c = Client(d, port)
            t, token, n, pages = time.monotonic(), "", 0, 0
            while True:
                code, out = c.req(
                    "GET", "/apis/networking.k8s.io/v1/networkpolicies?"
                    "labelSelector=app.kubernetes.io/managed-by%3Doutpost"
                    "&limit=500" + (f"&continue={token}" if token else ""))
                n, pages = n + len(out["items"]), pages + 1
                token = out["metadata"].get("continue")
                if not token:
                    break
            print(f"paged list: {n} objects in {pages} pages, "
                  f"{time.monotonic() - t:.2f} s")
            counters = c.admin("counters")
            print(f"counters: {counters['total']} requests, "
                  f"{counters['writes']} writes")
            c.close()
            with open(f"/proc/{proc.pid}/status") as f:
                hwm = [line.split()[1] for line in f
                       if line.startswith("VmHWM:")][0]
            print(f"server peak RSS: {int(hwm) // 1024} MB")
        finally:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
