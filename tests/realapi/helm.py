"""A HelmChart stand-in for the real control-plane rig, in the manner of
k3s's helm-controller.

For every helm.cattle.io/v1 HelmChart:
  - adds the finalizer `wrangler.cattle.io/on-helm-chart-remove` (the one
    helm-controller uses), so a deletion waits for the uninstall;
  - runs the real `helm upgrade --install <name>` into spec.targetNamespace
    (default: the HelmChart's namespace) with values in helm-controller's
    order: valuesContent < the HelmChartConfig of the same name and
    namespace < set; the chart is chartContent (base64 .tgz) or spec.chart,
    where https://%{KUBERNETES_API}%/static/X maps to the static directory
    given here, as k3s serves server/static;
  - then creates the Job `helm-install-<name>` in the HelmChart's namespace
    (its pod is completed by the node stand-in) and sets status.jobName and
    the JobCreated condition; a helm failure sets the Failed condition
    instead, with helm's last line, and creates no Job;
  - on a change of spec or HelmChartConfig (a hash of both, kept on the Job
    in the annotation helm-controller uses) replaces the Job and runs helm
    again;
  - on deletion runs `helm uninstall`, deletes the Job and drops the
    finalizer.
With --jobs-only it runs no helm and adds no finalizer: it only makes and
replaces the Jobs, as helm-controller does, for the reconciler's tests, whose
tenants are Ready once their app's install Job succeeded.
Polls the lists (a stand-in: a list every 500 ms is plenty at test sizes).
Python 3 standard library only; the API calls go through node.py's client.
"""
import argparse
import base64
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from node import Api  # noqa: E402

FINALIZER = "wrangler.cattle.io/on-helm-chart-remove"
HASH_ANNOTATION = "helmcharts.helm.cattle.io/configHash"
GROUP = "/apis/helm.cattle.io/v1"
STATIC_PREFIX = "https://%{KUBERNETES_API}%/static/"


def log(msg):
    print(f"helm-standin: {msg}", file=sys.stderr, flush=True)


class Controller:
    def __init__(self, api, helm, kubeconfig, static, work):
        self.api, self.helm, self.kubeconfig = api, helm, kubeconfig
        self.static, self.work = static, work
        self.failed = {}  # uid -> hash that failed: not retried until it changes
        if helm is None:  # --jobs-only
            return
        # helm-controller's klipper-helm runs helm 3, which applies
        # client-side; helm 4 defaults to server-side apply, which 1.20
        # refuses for a Service port without `protocol`.
        r = subprocess.run([helm, "version", "--template", "{{.Version}}"],
                           capture_output=True, text=True)
        self.apply = [] if r.stdout.startswith("v3.") else ["--server-side=false"]

    def config_hash(self, hc, config):
        h = hashlib.sha256(json.dumps([hc.get("spec", {}), config],
                                      sort_keys=True).encode())
        return "SHA256=" + h.hexdigest().upper()

    def chart_path(self, hc, tmp):
        spec = hc.get("spec", {})
        if spec.get("chartContent"):
            path = os.path.join(tmp, "chart.tgz")
            with open(path, "wb") as f:
                f.write(base64.b64decode(spec["chartContent"]))
            return path, []
        chart = spec.get("chart", "")
        if chart.startswith(STATIC_PREFIX):
            rel = os.path.normpath(chart[len(STATIC_PREFIX):])
            if rel.startswith(".."):
                raise ValueError(f"chart {chart}: outside the static directory")
            return os.path.join(self.static, rel), []
        if spec.get("repo"):
            return chart, ["--repo", spec["repo"]]
        raise ValueError(f"chart {chart!r}: neither a static URL nor chartContent")

    def run_helm(self, args):
        r = subprocess.run([self.helm, "--kubeconfig", self.kubeconfig] + args,
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            lines = (r.stderr or r.stdout).strip().splitlines() or ["no output"]
            raise RuntimeError(f"helm {args[0]}: {lines[-1]}")

    def install(self, hc, config):
        if self.helm is None:
            return
        spec = hc.get("spec", {})
        name = hc["metadata"]["name"]
        target = spec.get("targetNamespace") or hc["metadata"]["namespace"]
        with tempfile.TemporaryDirectory(dir=self.work) as tmp:
            chart, extra = self.chart_path(hc, tmp)
            args = ["upgrade", "--install", name, chart, "--namespace", target] + extra + self.apply
            if spec.get("createNamespace"):
                args.append("--create-namespace")
            if spec.get("version") and not spec.get("chartContent") and spec.get("repo"):
                args += ["--version", spec["version"]]
            for i, text in enumerate([spec.get("valuesContent"), config]):
                if text:
                    path = os.path.join(tmp, f"values-{i}.yaml")
                    with open(path, "w") as f:
                        f.write(text)
                    args += ["--values", path]
            for key, val in sorted((spec.get("set") or {}).items()):
                flag = "--set-string" if isinstance(val, str) else "--set"
                args += [flag, f"{key}={val}"]
            self.run_helm(args)

    def job(self, hc, chash):
        md = hc["metadata"]
        name = "helm-install-" + md["name"]
        return {"apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": name, "namespace": md["namespace"],
                             "annotations": {HASH_ANNOTATION: chash},
                             "labels": {"helmcharts.helm.cattle.io/chart": md["name"]},
                             "ownerReferences": [{
                                 "apiVersion": "helm.cattle.io/v1", "kind": "HelmChart",
                                 "name": md["name"], "uid": md["uid"]}]},
                "spec": {"backoffLimit": 1000, "template": {
                    "metadata": {"labels": {"helmcharts.helm.cattle.io/chart": md["name"]}},
                    "spec": {"restartPolicy": "OnFailure",
                             "serviceAccountName": "default",
                             "containers": [{"name": "helm",
                                             "image": "rancher/klipper-helm:stand-in",
                                             "args": ["install"]}]}}}}

    def set_status(self, hc, conditions, job_name=None):
        md = hc["metadata"]
        status = {"conditions": conditions}
        if job_name:
            status["jobName"] = job_name
        code, out = self.api.call(
            "PATCH", f"{GROUP}/namespaces/{md['namespace']}/helmcharts/{md['name']}/status",
            {"status": status}, "application/merge-patch+json")
        if code != 200:
            log(f"{md['namespace']}/{md['name']} status: {code} {out.get('message')}")

    def set_finalizers(self, hc, finalizers):
        md = hc["metadata"]
        self.api.call("PATCH", f"{GROUP}/namespaces/{md['namespace']}/helmcharts/{md['name']}",
                      {"metadata": {"finalizers": finalizers,
                                    "resourceVersion": md["resourceVersion"]}},
                      "application/merge-patch+json")

    def delete_job(self, ns, name):
        self.api.call("DELETE", f"/apis/batch/v1/namespaces/{ns}/jobs/{name}",
                      {"apiVersion": "v1", "kind": "DeleteOptions",
                       "propagationPolicy": "Background"})

    def remove(self, hc):
        md = hc["metadata"]
        fins = md.get("finalizers") or []
        if FINALIZER not in fins:
            return
        target = hc.get("spec", {}).get("targetNamespace") or md["namespace"]
        try:
            self.run_helm(["uninstall", md["name"], "--namespace", target,
                           "--ignore-not-found"])
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            log(f"{md['namespace']}/{md['name']}: {e}")
            return
        self.delete_job(md["namespace"], "helm-install-" + md["name"])
        self.set_finalizers(hc, [f for f in fins if f != FINALIZER])
        log(f"{md['namespace']}/{md['name']}: uninstalled")

    def tend(self, hc, configs):
        md = hc["metadata"]
        if md.get("deletionTimestamp"):
            self.remove(hc)
            return
        fins = md.get("finalizers") or []
        if FINALIZER not in fins and self.helm is not None:
            self.set_finalizers(hc, fins + [FINALIZER])
            return  # the next list sees the new resourceVersion
        config = configs.get((md["namespace"], md["name"]))
        chash = self.config_hash(hc, config)
        jname = "helm-install-" + md["name"]
        jpath = f"/apis/batch/v1/namespaces/{md['namespace']}/jobs/{jname}"
        code, job = self.api.call("GET", jpath)
        if code == 200:
            if (job["metadata"].get("annotations") or {}).get(HASH_ANNOTATION) == chash:
                return
            if not job["metadata"].get("deletionTimestamp"):
                self.delete_job(md["namespace"], jname)
            return  # installed again once the old Job is gone
        if code != 404 or self.failed.get(md["uid"]) == chash:
            return
        try:
            self.install(hc, config)
        except (RuntimeError, ValueError, OSError, subprocess.TimeoutExpired) as e:
            self.failed[md["uid"]] = chash
            log(f"{md['namespace']}/{md['name']}: {e}")
            self.set_status(hc, [{"type": "Failed", "status": "True",
                                  "reason": "HelmFailed", "message": str(e)}])
            return
        self.failed.pop(md["uid"], None)
        code, out = self.api.call("POST", f"/apis/batch/v1/namespaces/{md['namespace']}/jobs",
                                  self.job(hc, chash))
        if code not in (201, 409):
            log(f"{md['namespace']}/{jname}: {code} {out.get('message')}")
            return
        self.set_status(hc, [{"type": "JobCreated", "status": "True",
                              "reason": "Installed"}], jname)
        log(f"{md['namespace']}/{md['name']}: installed, {jname} created")

    def step(self):
        code, charts = self.api.call("GET", f"{GROUP}/helmcharts")
        if code != 200:
            return
        code, cfgs = self.api.call("GET", f"{GROUP}/helmchartconfigs")
        configs = {}
        if code == 200:
            for c in cfgs.get("items", []):
                configs[(c["metadata"]["namespace"], c["metadata"]["name"])] = \
                    c.get("spec", {}).get("valuesContent")
        for hc in charts.get("items", []):
            self.tend(hc, configs)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for opt in ("server", "ca", "cert", "key"):
        p.add_argument("--" + opt, required=True)
    for opt in ("kubeconfig", "static", "work"):
        p.add_argument("--" + opt)
    p.add_argument("--helm", default="helm")
    p.add_argument("--jobs-only", action="store_true",
                   help="make and replace the install Jobs, run no helm")
    a = p.parse_args()
    if not a.jobs_only and not (a.kubeconfig and a.static and a.work):
        p.error("--kubeconfig, --static and --work are needed unless --jobs-only")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if a.work:
        os.makedirs(a.work, mode=0o700, exist_ok=True)
    ctl = Controller(Api(a.server, a.ca, a.cert, a.key),
                     None if a.jobs_only else a.helm, a.kubeconfig, a.static, a.work)
    while True:
        ctl.step()
        time.sleep(0.5)


if __name__ == "__main__":
    main()
