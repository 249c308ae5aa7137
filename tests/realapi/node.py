"""A node stand-in for the real control-plane rig, in the manner of KWOK.

The rig has no kubelet and no scheduler. This program plays both for pods
whose images could never run here:
  - registers Node `outpost` (the reference box: 8 cores, 16 GiB) and keeps
    its Ready condition fresh, so the node lifecycle controller leaves it be;
  - binds every pending pod to it (pods/binding, as the scheduler does);
  - reports a bound pod Running and Ready, or Succeeded (its containers
    terminated with exit code 0) when a Job owns it, through pods/status, so
    the real job, replicaset, deployment, statefulset and namespace
    controllers do the rest;
  - deletes a pod that has a deletionTimestamp with grace 0, as a kubelet
    does once the containers are gone, so namespaces can terminate;
  - with --hold KEY=VALUE, keeps a Job's pod labelled so Running until the
    test annotates it outpost.test/exit=CODE (the container's exit code:
    Succeeded for 0, else Failed), so a test can play the container's part
    first (tests/backup-keycloak.sh writes what kc.sh would).
Polls the pod list (a stand-in, not a kubelet: a list every 200 ms is
plenty at test sizes). Python 3 standard library only.
"""
import argparse
import datetime
import http.client
import json
import signal
import ssl
import sys
import time
import urllib.parse

NODE = "outpost"
EXIT_ANNOTATION = "outpost.test/exit"
HOLD = None  # (label key, value) of the Job pods the test completes


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


class Api:
    def __init__(self, server, ca, cert, key):
        u = urllib.parse.urlsplit(server)
        self.host, self.port = u.hostname, u.port or 443
        self.ctx = ssl.create_default_context(cafile=ca)
        self.ctx.load_cert_chain(cert, key)
        self.conn = None

    def call(self, method, path, body=None, ctype="application/json"):
        for attempt in range(3):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPSConnection(
                        self.host, self.port, context=self.ctx, timeout=30)
                hdrs = {"Accept": "application/json",
                        "User-Agent": "outpost-node-standin"}
                data = None
                if body is not None:
                    data = json.dumps(body).encode()
                    hdrs["Content-Type"] = ctype
                self.conn.request(method, path, data, hdrs)
                r = self.conn.getresponse()
                out = r.read()
                return r.status, (json.loads(out) if out else {})
            except (OSError, http.client.HTTPException):
                self.conn = None
                if attempt == 2:
                    raise
                time.sleep(0.2)


def node_object():
    cap = {"cpu": "8", "memory": "16Gi", "pods": "110",
           "ephemeral-storage": "100Gi"}
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": NODE, "labels": {
                "kubernetes.io/hostname": NODE, "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "node-role.kubernetes.io/control-plane": "true"}},
            "spec": {}}, cap


def heartbeat(api, cap):
    t = now()
    status = {"capacity": cap, "allocatable": cap,
              "conditions": [{"type": "Ready", "status": "True",
                              "reason": "KubeletReady",
                              "message": "node stand-in",
                              "lastHeartbeatTime": t,
                              "lastTransitionTime": t}],
              "addresses": [{"type": "InternalIP", "address": "127.0.0.1"},
                            {"type": "Hostname", "address": NODE}],
              "nodeInfo": {"kubeletVersion": "v1.20.2-standin",
                           "operatingSystem": "linux",
                           "architecture": "amd64"}}
    code, out = api.call("PATCH", f"/api/v1/nodes/{NODE}/status",
                         {"status": status},
                         "application/merge-patch+json")
    if code != 200:
        print(f"node status: {code} {out.get('message')}", file=sys.stderr)


def owned_by_job(pod):
    return any(r.get("kind") == "Job"
               for r in pod["metadata"].get("ownerReferences") or [])


def held(pod):
    labels = pod["metadata"].get("labels") or {}
    return HOLD is not None and owned_by_job(pod) and \
        labels.get(HOLD[0]) == HOLD[1]


def exit_code(pod):
    """The exit code the test gave a held pod, or None."""
    code = (pod["metadata"].get("annotations") or {}).get(EXIT_ANNOTATION)
    return None if code is None else int(code)


def pod_status(pod, running=False):
    t = now()
    names = [c["name"] for c in pod["spec"].get("containers", [])]
    if owned_by_job(pod) and not running:
        code = exit_code(pod) or 0
        term = {"terminated": {"exitCode": code,
                               "reason": "Completed" if code == 0 else "Error",
                               "startedAt": t, "finishedAt": t}}
        return {"phase": "Succeeded" if code == 0 else "Failed",
                "startTime": t,
                "conditions": [{"type": "Ready", "status": "False",
                                "reason": "PodCompleted"}],
                "containerStatuses": [
                    {"name": n, "ready": False, "restartCount": 0,
                     "image": c.get("image", ""), "imageID": "",
                     "state": term}
                    for n, c in zip(names, pod["spec"]["containers"])]}
    return {"phase": "Running", "startTime": t, "podIP": "10.42.0.2",
            "hostIP": "127.0.0.1",
            "conditions": [{"type": t_, "status": "True",
                            "lastTransitionTime": t}
                           for t_ in ("Initialized", "Ready",
                                      "ContainersReady", "PodScheduled")],
            "containerStatuses": [
                {"name": n, "ready": True, "started": True,
                 "restartCount": 0, "image": c.get("image", ""),
                 "imageID": "", "state": {"running": {"startedAt": t}}}
                for n, c in zip(names, pod["spec"]["containers"])]}


def tend(api, pod):
    md = pod["metadata"]
    ns, name = md["namespace"], md["name"]
    base = f"/api/v1/namespaces/{ns}/pods/{name}"
    if md.get("deletionTimestamp"):
        api.call("DELETE", base, {"apiVersion": "v1", "kind": "DeleteOptions",
                                  "gracePeriodSeconds": 0})
        return
    if not pod["spec"].get("nodeName"):
        api.call("POST", base + "/binding",
                 {"apiVersion": "v1", "kind": "Binding",
                  "metadata": {"name": name, "namespace": ns},
                  "target": {"apiVersion": "v1", "kind": "Node",
                             "name": NODE}})
        return
    phase = (pod.get("status") or {}).get("phase")
    running = held(pod) and exit_code(pod) is None
    # A held pod goes Running, then finishes once it has its exit code.
    done = ("Running", "Succeeded", "Failed") if running else \
        ("Succeeded", "Failed") if held(pod) else None
    if (phase in done) if done else phase not in (None, "Pending"):
        return
    body = dict(pod)
    body["status"] = pod_status(pod, running)
    code, out = api.call("PUT", base + "/status", body)
    if code not in (200, 404, 409):
        print(f"pod {ns}/{name} status: {code} {out.get('message')}",
              file=sys.stderr)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--server", required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--hold", metavar="KEY=VALUE",
                   help="Job pods with this label wait for " + EXIT_ANNOTATION)
    a = p.parse_args()
    global HOLD
    if a.hold:
        HOLD = tuple(a.hold.split("=", 1))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    api = Api(a.server, a.ca, a.cert, a.key)
    node, cap = node_object()
    code, out = api.call("POST", "/api/v1/nodes", node)
    if code not in (201, 409):
        sys.exit(f"node registration: {code} {out.get('message')}")
    last_beat = 0.0
    while True:
        if time.monotonic() - last_beat > 10:
            heartbeat(api, cap)
            last_beat = time.monotonic()
        code, out = api.call("GET", "/api/v1/pods")
        if code == 200:
            for pod in out.get("items", []):
                tend(api, pod)
        time.sleep(0.2)


if __name__ == "__main__":
    main()
