"""Stand-ins for the k3s controllers the supervisor's bring-up waits on.

Off unless enabled (server.py --controllers, or POST /_admin/controllers):
  helm       a HelmChart (created, or its generation changed) gets a Job
             `helm-install-<name>` in the HelmChart's namespace, owned by the
             chart (deleted with it), and `status.jobName`; after `delay` the
             Job reports succeeded: 1 and a Complete condition, or failed: 1
             and a Failed condition when the chart is in `fail_jobs`
  jobs       any other Job completes the same way after `delay`
  workloads  Deployments and StatefulSets get status.readyReplicas (and
             replicas, updatedReplicas, availableReplicas, observedGeneration)
             = spec.replicas after `delay`, unless listed in `never_ready`
  delay      seconds (default 0.3)
Setting a configuration also acts on what exists: workloads not ready
(and not in never_ready) become ready, Jobs without an outcome finish.
  never_ready / fail_jobs: names, "name" or "namespace/name"
  installs   {"<chart>" or "<namespace>/<chart>": [object, ...]}: what the
             chart's "helm install" creates when its Job succeeds (objects
             without a namespace go to the chart's spec.targetNamespace, or
             its own namespace; a missing namespace is created, as helm's
             --create-namespace would), labelled as helm labels releases
  platform   path of a charts/platform.json: every component's HelmChart
             installs its workloads (1 replica each) in its namespace
Nothing runs helm: `installs` stands for what a chart would create.
"""
import json
import threading

import apierrors
import resources
import store as storelib
from patch import clone

JOBS = resources.find("batch", "Job")
HELMCHARTS = resources.find("helm.cattle.io", "HelmChart")
NAMESPACES = resources.find("", "Namespace")
DEFAULTS = {"helm": False, "jobs": False, "workloads": False, "delay": 0.3,
            "never_ready": [], "fail_jobs": [], "installs": {},
            "platform": None}


def platform_installs(path):
    """installs for every component of a platform.json."""
    with open(path) as f:
        doc = json.load(f)
    out = {}
    for c in doc.get("components", []):
        objs = []
        for w in c.get("workloads", []):
            group = "apps" if w["kind"] in ("Deployment", "StatefulSet") \
                else ""
            objs.append({
                "apiVersion": f"{group}/v1" if group else "v1",
                "kind": w["kind"],
                "metadata": {"name": w["name"], "namespace": c["namespace"]},
                "spec": {"replicas": 1,
                         "selector": {"matchLabels": {"app": w["name"]}},
                         "template": {
                             "metadata": {"labels": {"app": w["name"]}},
                             "spec": {"containers": [
                                 {"name": w["name"],
                                  "image": f"{w['name']}:test"}]}}}})
        out[c["helmchart"]] = objs
    return out


class Controllers:
    def __init__(self, store, config=None):
        self.store = store
        self.lock = threading.Lock()
        self.config = dict(DEFAULTS)
        self.set(config or {})
        store.listeners.append(self.observe)

    def set(self, config):
        bad = set(config) - set(DEFAULTS)
        if bad:
            raise ValueError(f"unknown controller keys: "
                             f"{', '.join(sorted(bad))}")
        config = {**DEFAULTS, **config}
        if config["platform"]:
            try:
                config["installs"] = {**platform_installs(config["platform"]),
                                      **config["installs"]}
            except (OSError, ValueError, KeyError) as e:
                raise ValueError(f"platform {config['platform']}: {e}") \
                    from None
        with self.lock:
            self.config = config
        self._resync()

    def _resync(self):
        """A changed configuration acts on what exists, as a controller
        that starts acts on the current state: unready workloads no longer
        held back become ready, unfinished Jobs finish."""
        c = self.get()
        with self.store.lock:
            for kind in ("Deployment", "StatefulSet"):
                res = resources.find("apps", kind)
                for obj in list(self.store.objects[res.key].values()):
                    st = obj.get("status") or {}
                    want = (obj.get("spec") or {}).get("replicas", 1)
                    if c["workloads"] and \
                            not self._listed(c["never_ready"], obj) and \
                            (st.get("readyReplicas", 0) != want or
                             st.get("observedGeneration") !=
                             obj["metadata"].get("generation")):
                        self._later(self._ready, res, obj)
            for job in list(self.store.objects[JOBS.key].values()):
                st = job.get("status") or {}
                helm = "helmcharts.helm.cattle.io/chart" in \
                    (job["metadata"].get("labels") or {})
                if not st.get("succeeded") and not st.get("failed") and \
                        ((helm and c["helm"]) or (not helm and c["jobs"])):
                    self._later(self._finish_job, job)

    def get(self):
        with self.lock:
            return dict(self.config)

    @staticmethod
    def _listed(names, obj):
        m = obj["metadata"]
        return m["name"] in names or \
            f"{m.get('namespace', '')}/{m['name']}" in names

    def _later(self, fn, *args):
        t = threading.Timer(self.get()["delay"], self._guarded, (fn,) + args)
        t.daemon = True
        t.start()

    @staticmethod
    def _guarded(fn, *args):
        try:
            fn(*args)
        except apierrors.ApiError:
            pass  # the object went away or moved on meanwhile

    def observe(self, res, etype, obj, prev):
        """Store listener (called under the store lock: only schedules)."""
        if etype == "DELETED":
            return
        c = self.get()
        changed = prev is None or \
            prev["metadata"].get("generation") != \
            obj["metadata"].get("generation")
        if res.kind == "HelmChart" and c["helm"] and changed:
            self._later(self._install, obj)
        elif res.kind == "Job" and etype == "ADDED":
            helm = "helmcharts.helm.cattle.io/chart" in \
                (obj["metadata"].get("labels") or {})
            if (helm and c["helm"]) or (not helm and c["jobs"]):
                self._later(self._finish_job, obj)
        elif res.kind in ("Deployment", "StatefulSet") and c["workloads"] \
                and changed and not self._listed(c["never_ready"], obj):
            self._later(self._ready, res, obj)

    def _install(self, chart):
        m = chart["metadata"]
        ns, name = m["namespace"], m["name"]
        st = self.store
        with st.lock:
            cur = st.get(HELMCHARTS, ns, name)
            if cur["metadata"]["uid"] != m["uid"]:
                return
            job_name = f"helm-install-{name}"
            if st.lookup(JOBS, ns, job_name) is not None:
                st.delete(JOBS, ns, job_name)
            st.create(JOBS, ns, {
                "metadata": {
                    "name": job_name,
                    "labels": {"helmcharts.helm.cattle.io/chart": name},
                    "annotations": {"helmcharts.helm.cattle.io/configHash":
                                    "gen-" + str(m.get("generation", 1))},
                    "ownerReferences": [{
                        "apiVersion": HELMCHARTS.api_version,
                        "kind": "HelmChart", "name": name, "uid": m["uid"],
                        "controller": True, "blockOwnerDeletion": True}]},
                "spec": {"backoffLimit": 1000, "template": {"spec": {
                    "restartPolicy": "OnFailure",
                    "containers": [{"name": "helm",
                                    "image": "rancher/klipper-helm",
                                    "args": ["install"]}]}}}},
                "helm-controller")
            status = clone(cur)
            status["status"] = {"jobName": job_name}
            st.update(HELMCHARTS, ns, name, status, "helm-controller",
                      subresource="status")

    def _finish_job(self, job):
        m = job["metadata"]
        chart = (m.get("labels") or {}).get(
            "helmcharts.helm.cattle.io/chart", "")
        fail = self._listed(self.get()["fail_jobs"], job) or \
            (chart and chart in self.get()["fail_jobs"]) or \
            (chart and f"{m['namespace']}/{chart}" in self.get()["fail_jobs"])
        now = storelib.now_rfc3339()
        with self.store.lock:
            cur = self.store.get(JOBS, m["namespace"], m["name"])
            if cur["metadata"]["uid"] != m["uid"]:
                return
            if chart and not fail:
                self._helm_install(m["namespace"], chart)
            new = clone(cur)
            if fail:
                new["status"] = {"failed": 1, "startTime": now, "conditions": [
                    {"type": "Failed", "status": "True",
                     "reason": "BackoffLimitExceeded",
                     "message": "Job has reached the specified backoff limit",
                     "lastTransitionTime": now}]}
            else:
                new["status"] = {"succeeded": 1, "startTime": now,
                                 "completionTime": now, "conditions": [
                                     {"type": "Complete", "status": "True",
                                      "lastTransitionTime": now}]}
            self.store.update(JOBS, m["namespace"], m["name"], new,
                              "k3s-job-controller", subresource="status")

    def _helm_install(self, ns, chart_name):
        """Create what the chart "installs" (config `installs`)."""
        installs = self.get()["installs"]
        objs = installs.get(f"{ns}/{chart_name}", installs.get(chart_name))
        if not objs:
            return
        chart = self.store.lookup(HELMCHARTS, ns, chart_name)
        target = ((chart or {}).get("spec") or {}).get("targetNamespace") \
            or ns
        for obj in objs:
            obj = clone(obj)
            meta = obj.setdefault("metadata", {})
            meta.setdefault("namespace", target)
            meta.setdefault("labels", {})["app.kubernetes.io/managed-by"] = \
                "Helm"
            meta.setdefault("annotations", {}).update({
                "meta.helm.sh/release-name": chart_name,
                "meta.helm.sh/release-namespace": meta["namespace"]})
            group, _ = resources.split_api_version(obj.get("apiVersion", ""))
            res = resources.find(group, obj.get("kind"))
            if res is None:
                continue
            if self.store.lookup(NAMESPACES, None, meta["namespace"]) is None:
                self.store.create(NAMESPACES, None, {"metadata": {
                    "name": meta["namespace"]}}, "helm")
            if self.store.lookup(res, meta["namespace"], meta["name"]) is None:
                self.store.create(res, meta["namespace"], obj, "helm")

    def _ready(self, res, obj):
        m = obj["metadata"]
        with self.store.lock:
            cur = self.store.get(res, m["namespace"], m["name"])
            if cur["metadata"]["uid"] != m["uid"]:
                return
            n = cur.get("spec", {}).get("replicas", 1)
            new = clone(cur)
            status = {"observedGeneration": cur["metadata"].get("generation",
                                                                1),
                      "replicas": n}
            if n:
                status.update(readyReplicas=n, availableReplicas=n,
                              updatedReplicas=n)
                if res.kind == "StatefulSet":
                    status["currentReplicas"] = n
            new["status"] = status
            self.store.update(res, m["namespace"], m["name"], new,
                              "k3s-controller", subresource="status")
