#!/usr/bin/env python3
"""Every pod Outpost renders or its charts template, checked against the
Pod Security Standards' `restricted` profile (baseline included).

The appliance's k3s enforces `restricted` in tenant namespaces
(render.c labels them); the rig's kube-apiserver 1.20 has no Pod Security
admission, so this check stands in for it on every kind of machine.

  podsecurity.py chart CHART [VALUES.yaml]   pods of `helm template CHART`
  podsecurity.py list LIST.json              pods in a List (e.g. `outpost
                                             reconcile --dry-run`), and the pods
                                             of each app HelmChart's chart
                                             rendered with its valuesContent
Prints one line per breach and exits 1 when there is any.
"""
import json
import os
import sys
import tempfile

import charts_check

POD_KINDS = ("Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet",
             "Job", "CronJob", "ReplicationController")
# restricted: only these volume types.
VOLUME_TYPES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                "persistentVolumeClaim", "projected", "secret"}
# baseline: the sysctls a pod may set.
SAFE_SYSCTLS = {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range",
                "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies",
                "net.ipv4.ping_group_range"}
SELINUX_TYPES = {None, "", "container_t", "container_init_t", "container_kvm_t"}


def pod_of(obj):
    if obj["kind"] == "Pod":
        return obj.get("spec", {}), obj.get("metadata", {})
    spec = obj.get("spec", {})
    if obj["kind"] == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    t = spec.get("template", {})
    return t.get("spec", {}), t.get("metadata", {})


def seccomp_ok(sc):
    t = (sc or {}).get("seccompProfile", {}).get("type")
    return t in ("RuntimeDefault", "Localhost")


def breaches(spec, meta):
    """The restricted profile's rules a pod spec breaks, as text."""
    out = []
    psc = spec.get("securityContext") or {}
    if spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"):
        out.append("host namespaces")
    for s in psc.get("sysctls") or []:
        if s.get("name") not in SAFE_SYSCTLS:
            out.append("unsafe sysctl %s" % s.get("name"))
    for v in spec.get("volumes") or []:
        kinds = set(v) - {"name"}
        if not kinds <= VOLUME_TYPES:
            out.append("volume %s of type %s" % (v.get("name"), ",".join(sorted(kinds - VOLUME_TYPES))))
    for k, v in (meta.get("annotations") or {}).items():
        if k.startswith("container.apparmor.security.beta.kubernetes.io/") and \
                v != "runtime/default" and not v.startswith("localhost/"):
            out.append("AppArmor profile %s" % v)
    containers = [(key, c) for key in ("initContainers", "containers", "ephemeralContainers")
                  for c in spec.get(key) or []]
    pod_nonroot = psc.get("runAsNonRoot") is True
    if psc.get("runAsUser") == 0:
        out.append("pod runAsUser 0")
    for sc in [psc] + [c.get("securityContext") or {} for _, c in containers]:
        se = sc.get("seLinuxOptions") or {}
        if se.get("type") not in SELINUX_TYPES or se.get("user") or se.get("role"):
            out.append("SELinux options %s" % se)
    for key, c in containers:
        where = "%s %s" % (key[:-1], c.get("name"))
        sc = c.get("securityContext") or {}
        if sc.get("privileged"):
            out.append("%s: privileged" % where)
        if (sc.get("windowsOptions") or {}).get("hostProcess") or \
                (psc.get("windowsOptions") or {}).get("hostProcess"):
            out.append("%s: hostProcess" % where)
        if sc.get("allowPrivilegeEscalation") is not False:
            out.append("%s: allowPrivilegeEscalation is not false" % where)
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            out.append("%s: capabilities do not drop ALL" % where)
        for cap in caps.get("add") or []:
            if cap != "NET_BIND_SERVICE":
                out.append("%s: adds capability %s" % (where, cap))
        if sc.get("runAsNonRoot") is False or not (pod_nonroot or sc.get("runAsNonRoot") is True):
            out.append("%s: runAsNonRoot is not true" % where)
        if sc.get("runAsUser") == 0:
            out.append("%s: runAsUser 0" % where)
        if not (seccomp_ok(sc) or (seccomp_ok(psc) and
                                   sc.get("seccompProfile", {}).get("type") in (None, "RuntimeDefault", "Localhost"))):
            out.append("%s: seccompProfile is not RuntimeDefault or Localhost" % where)
        if sc.get("procMount") not in (None, "Default"):
            out.append("%s: procMount %s" % (where, sc.get("procMount")))
        for p in c.get("ports") or []:
            if p.get("hostPort"):
                out.append("%s: hostPort %s" % (where, p["hostPort"]))
    return out


def check(objs, label):
    errs, pods = [], 0
    for o in objs:
        if o.get("kind") not in POD_KINDS:
            continue
        pods += 1
        spec, meta = pod_of(o)
        errs += ["%s: %s/%s: %s" % (label, o["kind"], o["metadata"]["name"], b)
                 for b in breaches(spec, meta)]
    return errs, pods


def app_chart(hc):
    """charts/apps/<app> for an app HelmChart's static chart URL, or None."""
    base = os.path.basename(hc.get("spec", {}).get("chart", ""))
    if not base.endswith(".tgz"):
        return None
    app = base[:-4].rsplit("-", 1)[0]
    path = os.path.join(charts_check.CHARTS, "apps", app)
    return path if os.path.isdir(path) else None


def cmd_list(path):
    with open(path) as f:
        items = json.load(f)["items"]
    errs, pods = check(items, os.path.basename(path))
    for hc in (o for o in items if o["kind"] == "HelmChart"):
        chart = app_chart(hc)
        if not chart:
            errs.append("HelmChart/%s: no chart in the catalog for %s" %
                        (hc["metadata"]["name"], hc["spec"].get("chart")))
            continue
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as v:
            v.write(hc["spec"].get("valuesContent", ""))
            v.flush()
            e, n = check(charts_check.render(chart, v.name), "HelmChart/" + hc["metadata"]["name"])
        errs, pods = errs + e, pods + n
    return errs, pods


def main(argv):
    try:
        if len(argv) in (3, 4) and argv[1] == "chart":
            errs, pods = check(charts_check.render(argv[2], argv[3] if len(argv) == 4 else None), argv[2])
        elif len(argv) == 3 and argv[1] == "list":
            errs, pods = cmd_list(argv[2])
        else:
            print(__doc__.strip().splitlines()[0], file=sys.stderr)
            return 2
    except (RuntimeError, OSError, ValueError, KeyError) as e:
        print("podsecurity: %s" % e)
        return 1
    for e in errs:
        print(e)
    if not errs:
        print("%d pod templates meet the restricted profile" % pods)
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
