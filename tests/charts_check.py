#!/usr/bin/env python3
"""Checks on the platform and app charts, on what `helm template` renders.

  charts_check.py lint CHART [VALUES.yaml]   rendered objects follow the rules
  charts_check.py lint FILE.yaml             so do the objects of a manifest
  charts_check.py budget                     chart sizes equal capacity.json
  charts_check.py data CHART CONFIGMAP KEY   print one key of a rendered ConfigMap
  charts_check.py quantities LIST.json       every quantity in a List (e.g. `outpost
                                             reconcile --dry-run`, HelmCharts' values
                                             included) is a string
  charts_check.py apps LIST.json             each tenant's app chart rendered with the
                                             values of its HelmChart in the List (`outpost
                                             reconcile --dry-run`): the rules, its HPA, and
                                             every pod the HPA may run within the quota

Rendering: `helm template`, then `kubectl annotate --local -o json` turns the
YAML into JSON without a cluster (Python's standard library has no YAML).
Paths come from the environment: top_srcdir, and IMAGES_LOCK / CAPACITY /
PLATFORM to point a test at altered copies. Prints one line per problem and
exits 1 when there is any.
"""
import json
import os
import re
import subprocess
import sys

SRC = os.environ.get("top_srcdir", os.path.join(os.path.dirname(__file__), ".."))
CHARTS = os.path.join(SRC, "charts")
LOCK = os.environ.get("IMAGES_LOCK", os.path.join(SRC, "images", "images.lock"))
CAPACITY = os.environ.get("CAPACITY", os.path.join(CHARTS, "capacity.json"))
PLATFORM = os.environ.get("PLATFORM", os.path.join(CHARTS, "platform.json"))
NAMESPACE = "outpost-platform"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
# Kinds whose pods run until stopped, so need liveness and readiness probes.
SERVING_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
# The ceiling for the whole platform's requests on the 8-core/16 GB box.
MAX_PLATFORM_CPU_M = 3000
MAX_PLATFORM_MEM_MI = 4608


def run(argv, stdin=None):
    env = dict(os.environ, KUBECONFIG=os.devnull)
    p = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(argv[:3]), p.stderr.strip()))
    return p.stdout


def to_objects(yaml_text):
    """YAML stream -> list of dicts, by kubectl offline."""
    out = run(["kubectl", "annotate", "--local", "-f", "-", "-o", "json",
               "outpost.dev/checked=1"], yaml_text)
    dec, objs, i = json.JSONDecoder(), [], 0
    while True:
        while i < len(out) and out[i].isspace():
            i += 1
        if i >= len(out):
            return objs
        obj, i = dec.raw_decode(out, i)
        objs.extend(obj["items"] if obj.get("kind") == "List" else [obj])


def render(chart, values=None, release=None):
    argv = ["helm", "template", release or "outpost-" + os.path.basename(chart),
            chart, "--namespace", NAMESPACE]
    if values:
        argv += ["--values", values]
    return to_objects(run(argv))


def cpu_m(q):
    q = str(q)
    return round(float(q[:-1])) if q.endswith("m") else round(float(q) * 1000)


UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
         "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def bytes_of(q):
    m = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(q))
    if not m or (m.group(2) and m.group(2) not in UNITS):
        raise ValueError("bad quantity %r" % q)
    return float(m.group(1)) * UNITS.get(m.group(2), 1)


def pod_spec(obj):
    spec = obj.get("spec", {})
    if obj["kind"] == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    return spec.get("template", {}).get("spec", {})


def lock_images():
    with open(LOCK) as f:
        return {l.split("#", 1)[0].strip() for l in f} - {""}


def check_image(where, image, locked):
    errs = []
    m = re.fullmatch(r"([^@]+):([^:@/]+)@sha256:[0-9a-f]{64}", image or "")
    if not m:
        errs.append("%s: image %r is not repo:tag@sha256:<digest>" % (where, image))
    elif m.group(2) == "latest":
        errs.append("%s: image %r uses the latest tag" % (where, image))
    if image not in locked:
        errs.append("%s: image %r is not in images/images.lock" % (where, image))
    return errs


def check_container(where, c, pod_sc, locked, serving):
    errs = ["%s: containerPort %s has no protocol" % (where, p.get("containerPort"))
            for p in c.get("ports", []) if "protocol" not in p]
    return errs + check_container_rules(where, c, pod_sc, locked, serving)


def check_container_rules(where, c, pod_sc, locked, serving):
    errs = check_image(where, c.get("image"), locked)
    res = c.get("resources", {})
    for kind in ("requests", "limits"):
        for r in ("cpu", "memory"):
            if r not in res.get(kind, {}):
                errs.append("%s: no %s.%s" % (where, kind, r))
    if serving:
        for probe in ("livenessProbe", "readinessProbe"):
            if probe not in c:
                errs.append("%s: no %s" % (where, probe))
    sc = c.get("securityContext", {})
    if sc.get("allowPrivilegeEscalation") is not False:
        errs.append("%s: allowPrivilegeEscalation is not false" % where)
    if "ALL" not in sc.get("capabilities", {}).get("drop", []):
        errs.append("%s: capabilities do not drop ALL" % where)
    if "readOnlyRootFilesystem" not in sc:
        errs.append("%s: readOnlyRootFilesystem is not set either way" % where)
    if sc.get("privileged"):
        errs.append("%s: privileged" % where)
    if not (sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is True):
        errs.append("%s: runAsNonRoot is not true" % where)
    uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
    if not isinstance(uid, int) or uid == 0:
        errs.append("%s: runAsUser %r is not a non-root id" % (where, uid))
    return errs


# Maps of resource quantities: server-side apply refuses a JSON number in
# them (kube-apiserver converts the patch to its typed form), though a POST or
# helm's create accepts one, so every quantity anywhere must be a string.
QUANTITY_MAPS = {"requests", "limits", "hard", "default", "defaultRequest", "max",
                 "min", "maxLimitRequestRatio", "capacity", "allocatable"}
QUANTITY_FIELDS = {"sizeLimit", "storage"}


def quantity_problems(node, path=""):
    errs = []
    if isinstance(node, dict):
        for k, v in node.items():
            p = "%s.%s" % (path, k) if path else k
            if k in QUANTITY_MAPS and isinstance(v, dict):
                errs += ["%s.%s: quantity %r is not a string" % (p, q, x)
                         for q, x in v.items() if isinstance(x, (int, float)) and not isinstance(x, bool)]
            elif k in QUANTITY_FIELDS and isinstance(v, (int, float)) and not isinstance(v, bool):
                errs.append("%s: quantity %r is not a string" % (p, v))
            errs += quantity_problems(v, p)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            errs += quantity_problems(v, "%s[%d]" % (path, i))
    return errs


def cmd_quantities(path):
    with open(path) as f:
        items = json.load(f)["items"]
    errs = []
    for o in items:
        where = "%s/%s" % (o["kind"], o["metadata"]["name"])
        errs += ["%s: %s" % (where, e) for e in quantity_problems(o)]
        values = o.get("spec", {}).get("valuesContent") if o["kind"] == "HelmChart" else None
        if values:
            # Outpost writes the values as JSON (which is YAML).
            errs += ["%s: values: %s" % (where, e) for e in quantity_problems(json.loads(values))]
    for e in errs:
        print(e)
    if not errs:
        print("%d objects checked" % len(items))
    return 1 if errs else 0


def lint(objs, platform):
    locked, errs = lock_images(), []
    for o in objs:
        errs += ["%s/%s: %s" % (o["kind"], o["metadata"]["name"], e) for e in quantity_problems(o)]
    services, policies = [], []
    for o in objs:
        kind, name = o["kind"], o["metadata"]["name"]
        where = "%s/%s" % (kind, name)
        if kind in WORKLOAD_KINDS:
            spec = pod_spec(o)
            psc = spec.get("securityContext", {})
            if psc.get("runAsNonRoot") is not True:
                errs.append("%s: pod runAsNonRoot is not true" % where)
            if "fsGroup" not in psc:
                errs.append("%s: pod has no fsGroup" % where)
            if psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
                errs.append("%s: pod seccompProfile is not RuntimeDefault" % where)
            if spec.get("automountServiceAccountToken") is not False:
                errs.append("%s: service account token is mounted" % where)
            if spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"):
                errs.append("%s: uses host namespaces" % where)
            for v in spec.get("volumes", []):
                if "hostPath" in v:
                    errs.append("%s: hostPath volume %s" % (where, v["name"]))
            for key in ("initContainers", "containers"):
                serving = key == "containers" and kind in SERVING_KINDS
                for c in spec.get(key, []):
                    errs += check_container("%s[%s]" % (where, c["name"]), c, psc, locked, serving)
            for t in o.get("spec", {}).get("volumeClaimTemplates", []):
                if t.get("spec", {}).get("storageClassName") != "local-path":
                    errs.append("%s: volume claim %s is not on local-path" % (where, t["metadata"]["name"]))
        elif kind == "PersistentVolumeClaim":
            if o.get("spec", {}).get("storageClassName") != "local-path":
                errs.append("%s: not on local-path" % where)
        elif kind == "Ingress":
            if o.get("spec", {}).get("ingressClassName") != "traefik":
                errs.append("%s: ingressClassName is not traefik" % where)
        elif kind == "Service":
            services.append(o)
            # protocol is a key of the ports list-map: server-side apply
            # (helm 4's default) refuses a port without it on kube 1.20.
            for p in o.get("spec", {}).get("ports", []):
                if "protocol" not in p:
                    errs.append("%s: port %s has no protocol" % (where, p.get("name", p.get("port"))))
        elif kind == "NetworkPolicy":
            policies.append(o)
    if platform:
        for s in services:
            sel = s["spec"].get("selector", {})
            pols = [p for p in policies
                    if p["spec"].get("podSelector", {}).get("matchLabels", {}).items() <= sel.items()]
            tenant_ok = any(
                f.get("namespaceSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/managed-by") == "outpost"
                for p in pols for rule in p["spec"].get("ingress", []) for f in rule.get("from", []))
            if not pols:
                errs.append("Service/%s: no NetworkPolicy selects its pods" % s["metadata"]["name"])
            elif not tenant_ok:
                errs.append("Service/%s: its NetworkPolicy does not admit tenant namespaces" % s["metadata"]["name"])
    return errs


def cmd_lint(path, values=None):
    path = os.path.abspath(path)
    if os.path.isfile(path):
        with open(path) as f:
            objs = to_objects(f.read())
        errs = lint(objs, False)
    else:
        objs = render(path, values)
        errs = lint(objs, os.path.dirname(path) == os.path.abspath(CHARTS))
        # Credentials must be generated at install, not carried by values:
        # two renderings must not share a Secret's data.
        again = {o["metadata"]["name"]: o.get("data")
                 for o in render(path, values) if o["kind"] == "Secret"}
        for o in objs:
            if o["kind"] == "Secret" and o.get("data") and o.get("data") == again.get(o["metadata"]["name"]):
                errs.append("Secret/%s: same data in two renderings (not generated at install)" % o["metadata"]["name"])
    rel = os.path.relpath(path, SRC)
    for e in errs:
        print("%s: %s" % (rel, e))
    if not errs:
        print("%s: %d objects checked" % (rel, len(objs)))
    return 1 if errs else 0


def sizes(containers):
    tot = {"cpu_request_millicores": 0, "memory_request_mib": 0,
           "cpu_limit_millicores": 0, "memory_limit_mib": 0}
    for c in containers:
        r = c.get("resources", {})
        tot["cpu_request_millicores"] += cpu_m(r.get("requests", {}).get("cpu", 0))
        tot["cpu_limit_millicores"] += cpu_m(r.get("limits", {}).get("cpu", 0))
        tot["memory_request_mib"] += bytes_of(r.get("requests", {}).get("memory", 0)) / 2**20
        tot["memory_limit_mib"] += bytes_of(r.get("limits", {}).get("memory", 0)) / 2**20
    return tot


def component_sizes(comp):
    """Rendered sizes of one platform.json component, or raise with why."""
    if comp.get("chart") is None:
        # k3s's packaged chart: our HelmChartConfig carries its values.
        objs = to_objects(open(os.path.join(CHARTS, "ingress", "traefik-config.yaml")).read())
        cfg = [o for o in objs if o["kind"] == "HelmChartConfig"
               and o["metadata"]["name"] == comp["helmchart"]]
        if not cfg:
            raise RuntimeError("no HelmChartConfig named %s" % comp["helmchart"])
        values = json.loads(cfg[0]["spec"]["valuesContent"])
        tot = sizes([{"resources": values.get("resources", {})}])
        tot["storage_gib"] = 0
        return tot
    objs = render(os.path.join(CHARTS, comp["chart"]), release=comp["helmchart"])
    tot = sizes([])
    tot["storage_gib"] = 0
    for w in comp["workloads"]:
        found = [o for o in objs if o["kind"] == w["kind"] and o["metadata"]["name"] == w["name"]]
        if not found:
            raise RuntimeError("chart %s renders no %s/%s" % (comp["chart"], w["kind"], w["name"]))
        spec, replicas = pod_spec(found[0]), found[0]["spec"].get("replicas", 1)
        main = sizes(spec.get("containers", []))
        for c in spec.get("initContainers", []):
            init = sizes([c])
            # An init container runs alone; it must not raise the pod's request.
            if any(init[k] > main[k] for k in init):
                raise RuntimeError("%s/%s: init container %s asks more than the pod" % (w["kind"], w["name"], c["name"]))
        for k in main:
            tot[k] += main[k] * replicas
        for t in found[0]["spec"].get("volumeClaimTemplates", []):
            tot["storage_gib"] += bytes_of(t["spec"]["resources"]["requests"]["storage"]) / 2**30 * replicas
    return tot


def cmd_budget():
    cap = json.load(open(CAPACITY))["platform"]
    comps = json.load(open(PLATFORM))["components"]
    errs, total_cpu, total_mem = [], 0, 0
    for comp in comps:
        name = comp["name"]
        if not comp.get("workloads"):
            continue
        if name not in cap:
            errs.append("%s: not in capacity.json" % name)
            continue
        try:
            got = component_sizes(comp)
        except (RuntimeError, ValueError, KeyError) as e:
            errs.append("%s: %s" % (name, e))
            continue
        for k, want in cap[name].items():
            if abs(got.get(k, 0) - want) > 1e-6:
                errs.append("%s: %s is %g in the chart but %g in capacity.json" % (name, k, got.get(k, 0), want))
        total_cpu += cap[name]["cpu_request_millicores"]
        total_mem += cap[name]["memory_request_mib"]
        print("%s: %dm CPU, %d MiB requested, %g GiB storage" % (
            name, got["cpu_request_millicores"], got["memory_request_mib"], got["storage_gib"]))
    for name in cap:
        if name not in {c["name"] for c in comps}:
            errs.append("%s: in capacity.json but not a platform.json component" % name)
    print("platform: %dm CPU, %d MiB requested (ceiling %dm, %d MiB)" % (
        total_cpu, total_mem, MAX_PLATFORM_CPU_M, MAX_PLATFORM_MEM_MI))
    if total_cpu > MAX_PLATFORM_CPU_M:
        errs.append("platform: CPU requests %dm exceed %dm" % (total_cpu, MAX_PLATFORM_CPU_M))
    if total_mem > MAX_PLATFORM_MEM_MI:
        errs.append("platform: memory requests %d MiB exceed %d MiB" % (total_mem, MAX_PLATFORM_MEM_MI))
    for e in errs:
        print(e)
    return 1 if errs else 0


def app_problems(hc, objs, quota):
    """What is wrong with one tenant's rendered app: its HPA against its
    values, the Deployment's replicas and rollout, and the most pods the
    HPA may run against the tenant's ResourceQuota."""
    values = json.loads(hc["spec"]["valuesContent"])
    auto = values.get("autoscaling", {})
    deps = [o for o in objs if o["kind"] == "Deployment"]
    hpas = [o for o in objs if o["kind"] == "HorizontalPodAutoscaler"]
    errs = []
    if len(deps) != 1:
        return ["%d Deployments, wanted 1" % len(deps)]
    dep = deps[0]
    strategy = dep["spec"].get("strategy", {})
    if strategy.get("rollingUpdate", {}).get("maxSurge") != 0:
        errs.append("Deployment: maxSurge is not 0 (a surge pod does not fit the quota)")
    if auto.get("enabled"):
        if "replicas" in dep["spec"]:
            errs.append("Deployment sets replicas while its HPA owns them")
        if len(hpas) != 1:
            return errs + ["%d HorizontalPodAutoscalers, wanted 1" % len(hpas)]
        h = hpas[0]
        spec = h["spec"]
        want_ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": dep["metadata"]["name"]}
        if h["apiVersion"] != "autoscaling/v2":
            errs.append("HPA: apiVersion %s, wanted autoscaling/v2" % h["apiVersion"])
        if spec.get("scaleTargetRef") != want_ref:
            errs.append("HPA: scaleTargetRef %s, wanted %s" % (spec.get("scaleTargetRef"), want_ref))
        if (spec.get("minReplicas"), spec.get("maxReplicas")) != (auto["minReplicas"], auto["maxReplicas"]):
            errs.append("HPA: replicas %s..%s, values say %s..%s" % (
                spec.get("minReplicas"), spec.get("maxReplicas"), auto["minReplicas"], auto["maxReplicas"]))
        want_metric = [{"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": auto["targetCPUUtilizationPercentage"]}}}]
        if spec.get("metrics") != want_metric:
            errs.append("HPA: metrics %s, wanted %s" % (spec.get("metrics"), want_metric))
        most = spec.get("maxReplicas", 0)
    else:
        if hpas:
            errs.append("an HPA while autoscaling is off")
        most = dep["spec"].get("replicas", 1)
    hard = quota["spec"]["hard"]
    per_pod = sizes(pod_spec(dep).get("containers", []))
    for key, qkey, unit in (("cpu_request_millicores", "requests.cpu", "cpu"),
                            ("cpu_limit_millicores", "limits.cpu", "cpu"),
                            ("memory_request_mib", "requests.memory", "mem"),
                            ("memory_limit_mib", "limits.memory", "mem")):
        allowed = cpu_m(hard[qkey]) if unit == "cpu" else bytes_of(hard[qkey]) / 2**20
        if per_pod[key] * most > allowed:
            errs.append("%d pods of %s %g exceed the quota's %s %g" % (most, key, per_pod[key], qkey, allowed))
    if most > int(hard["pods"]):
        errs.append("%d pods exceed the quota's %s" % (most, hard["pods"]))
    return errs


def cmd_apps(path):
    with open(path) as f:
        items = json.load(f)["items"]
    quotas = {o["metadata"]["namespace"]: o for o in items if o["kind"] == "ResourceQuota"}
    errs, n = [], 0
    for hc in items:
        m = re.search(r"/static/charts/([a-z0-9-]+)-[0-9][^/]*\.tgz$", hc.get("spec", {}).get("chart", ""))
        if hc["kind"] != "HelmChart" or not m or not os.path.isdir(os.path.join(CHARTS, "apps", m.group(1))):
            continue
        ns = hc["spec"]["targetNamespace"]
        vals = os.path.join(os.environ.get("TMPDIR", "/tmp"), "charts_check.%d.json" % os.getpid())
        with open(vals, "w") as f:
            f.write(hc["spec"]["valuesContent"])
        try:
            objs = render(os.path.join(CHARTS, "apps", m.group(1)), vals, release=ns)
        finally:
            os.unlink(vals)
        errs += ["%s: %s" % (ns, e) for e in lint(objs, False) + app_problems(hc, objs, quotas[ns])]
        n += 1
        hpa = [o["spec"]["maxReplicas"] for o in objs if o["kind"] == "HorizontalPodAutoscaler"]
        print("%s: %s, %s" % (ns, m.group(1), "HPA 1..%d" % hpa[0] if hpa else "no HPA"))
    for e in errs:
        print(e)
    print("%d apps checked" % n)
    return 1 if errs or not n else 0


def cmd_data(chart, name, key):
    for o in render(os.path.abspath(chart)):
        if o["kind"] == "ConfigMap" and o["metadata"]["name"] == name:
            sys.stdout.write(o["data"][key])
            return 0
    raise RuntimeError("%s renders no ConfigMap %s" % (chart, name))


def main(argv):
    try:
        if len(argv) == 5 and argv[1] == "data":
            return cmd_data(*argv[2:])
        if len(argv) in (3, 4) and argv[1] == "lint":
            return cmd_lint(*argv[2:])
        if len(argv) == 3 and argv[1] == "quantities":
            return cmd_quantities(argv[2])
        if len(argv) == 3 and argv[1] == "apps":
            return cmd_apps(argv[2])
        if len(argv) == 2 and argv[1] == "budget":
            return cmd_budget()
    except (RuntimeError, OSError, ValueError, KeyError) as e:
        print("charts_check: %s" % e)
        return 1
    print(__doc__.strip().splitlines()[2], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
