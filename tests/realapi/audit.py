"""Outpost's requests in a kube-apiserver audit log (JSON lines, level
Metadata), counted in the shape of tests/kubeapi's counters:
{"list": {resource: n}, "get": {...}, "create", "update", "patch", "apply",
 "delete", "deletecollection", "watch", "total", "writes", "other"}.
Outpost is told apart by its user agent ("outpost"); a PATCH whose URI asks
for force=true is its server-side apply, any other PATCH a JSON patch.
Usage: audit.py LOG [--since N] [--agent PREFIX] [--lines]
  --since N   count only events after line N
  --lines     print the log's line count (to pass as --since later)
"""
import argparse
import json

VERBS = ("get", "list", "watch", "create", "update", "patch", "apply",
         "delete", "deletecollection")
# The kinds Outpost writes, by the resource name the audit log gives, so the
# counts read like tests/kubeapi's (by kind).
KINDS = {"namespaces": "Namespace", "resourcequotas": "ResourceQuota",
         "limitranges": "LimitRange", "networkpolicies": "NetworkPolicy",
         "serviceaccounts": "ServiceAccount", "secrets": "Secret",
         "helmcharts": "HelmChart", "helmchartconfigs": "HelmChartConfig",
         "jobs": "Job", "deployments": "Deployment",
         "statefulsets": "StatefulSet", "pods": "Pod"}
WRITES = {"create", "update", "patch", "apply", "delete", "deletecollection"}


def count(lines, agent):
    c = {v: {} for v in VERBS}
    c.update(total=0, writes=0, other=0, by_user={})
    for line in lines:
        try:
            e = json.loads(line)
        except ValueError:
            continue
        user = e.get("user", {}).get("username", "")
        c["by_user"][user] = c["by_user"].get(user, 0) + 1
        ua = e.get("userAgent") or ""
        if ua != agent and not ua.startswith(agent + "/"):
            continue
        verb = e.get("verb")
        if verb == "patch" and "force=true" in e.get("requestURI", ""):
            verb = "apply"
        c["total"] += 1
        res = (e.get("objectRef") or {}).get("resource")
        if verb not in c or res is None:
            c["other"] += 1
            continue
        kind = KINDS.get(res, res)
        c[verb][kind] = c[verb].get(kind, 0) + 1
        if verb in WRITES:
            c["writes"] += 1
    return c


def main():
    p = argparse.ArgumentParser()
    p.add_argument("log")
    p.add_argument("--since", type=int, default=0)
    p.add_argument("--agent", default="outpost")
    p.add_argument("--lines", action="store_true")
    a = p.parse_args()
    try:
        with open(a.log) as f:
            lines = f.readlines()
    except FileNotFoundError:
        lines = []
    if a.lines:
        print(len(lines))
        return
    print(json.dumps(count(lines[a.since:], a.agent)))


if __name__ == "__main__":
    main()
