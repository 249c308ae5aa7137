"""The kinds the test API server serves, and their discovery documents.

Only what Outpost (and kubectl driving the same objects) uses is listed.  Each
entry carries what the real API server's behaviour depends on: scope, the name
rule its validation applies, whether writes to the main resource ignore
`status` (kinds with a status subresource), and whether it keeps
`metadata.generation` (built-in kinds with a spec; every custom resource).
"""

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch",
         "update", "watch"]


class Resource:
    def __init__(self, group, version, kind, plural, namespaced,
                 short=(), name_rule="subdomain", status=True,
                 generation=True, categories=(), builtin=True,
                 returns_deleted=False, scale=False, verbs=VERBS):
        self.group = group
        self.version = version
        self.kind = kind
        self.plural = plural
        self.singular = kind.lower()
        self.namespaced = namespaced
        self.short = list(short)
        self.name_rule = name_rule
        self.status = status
        self.generation = generation
        self.categories = list(categories)
        # Typed (built-in) lists are encoded without apiVersion/kind in
        # their items; custom resource lists keep them.
        self.builtin = builtin
        # DELETE answers with the object instead of a Status (the real
        # registry's ReturnDeletedObject).
        self.returns_deleted = returns_deleted
        # Has the /scale subresource (autoscaling/v1 Scale).
        self.scale = scale
        # What discovery lists. The server does not enforce it: a test
        # seeds read-only kinds (PodMetrics) with kubectl create.
        self.verbs = list(verbs)

    @property
    def api_version(self):
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self):
        return (self.group, self.plural)

    def discovery(self):
        doc = {"name": self.plural, "singularName": self.singular,
               "namespaced": self.namespaced, "kind": self.kind,
               "verbs": self.verbs, "storageVersionHash": ""}
        if self.short:
            doc["shortNames"] = self.short
        if self.categories:
            doc["categories"] = self.categories
        return doc


META_FIELDS = {"name", "generateName", "namespace", "selfLink", "uid",
               "resourceVersion", "generation", "creationTimestamp",
               "deletionTimestamp", "deletionGracePeriodSeconds", "labels",
               "annotations", "ownerReferences", "finalizers",
               "managedFields"}
# Top-level fields of each kind besides apiVersion, kind and metadata.
# Typed decoding drops any other (custom resources: structural pruning).
_TOP = {"Secret": {"data", "stringData", "type", "immutable"},
        "ConfigMap": {"data", "binaryData", "immutable"},
        "ServiceAccount": {"secrets", "imagePullSecrets",
                           "automountServiceAccountToken"},
        "LimitRange": {"spec"}, "NetworkPolicy": {"spec"},
        "HelmChartConfig": {"spec"},
        "PodMetrics": {"timestamp", "window", "containers"}}


def unknown_fields(res, obj):
    """Dotted names of the fields typed decoding would not keep."""
    if not isinstance(obj, dict):
        return []
    top = _TOP.get(res.kind, {"spec", "status"}) | {"apiVersion", "kind",
                                                   "metadata"}
    out = [k for k in obj if k not in top]
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        out += [f"metadata.{k}" for k in meta if k not in META_FIELDS]
    return out


RESOURCES = [
    Resource("", "v1", "Namespace", "namespaces", False, ["ns"],
             name_rule="label", generation=False),
    Resource("", "v1", "Secret", "secrets", True, status=False,
             generation=False),
    Resource("", "v1", "ConfigMap", "configmaps", True, ["cm"], status=False,
             generation=False),
    Resource("", "v1", "ServiceAccount", "serviceaccounts", True, ["sa"],
             status=False, generation=False, returns_deleted=True),
    Resource("", "v1", "Service", "services", True, ["svc"],
             name_rule="label1035", generation=False, categories=["all"]),
    Resource("", "v1", "ResourceQuota", "resourcequotas", True, ["quota"],
             generation=False),
    Resource("", "v1", "LimitRange", "limitranges", True, ["limits"],
             status=False, generation=False),
    Resource("", "v1", "Pod", "pods", True, ["po"], generation=False,
             categories=["all"], returns_deleted=True),
    Resource("apps", "v1", "Deployment", "deployments", True, ["deploy"],
             categories=["all"], scale=True),
    Resource("apps", "v1", "StatefulSet", "statefulsets", True, ["sts"],
             categories=["all"], scale=True),
    Resource("batch", "v1", "Job", "jobs", True, categories=["all"]),
    Resource("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies",
             True, ["netpol"], status=False),
    Resource("networking.k8s.io", "v1", "Ingress", "ingresses", True,
             ["ing"]),
    Resource("helm.cattle.io", "v1", "HelmChart", "helmcharts", True,
             builtin=False),
    Resource("helm.cattle.io", "v1", "HelmChartConfig", "helmchartconfigs",
             True, status=False, builtin=False),
    # metrics-server's aggregated API: read-only, no spec or status.
    Resource("metrics.k8s.io", "v1beta1", "PodMetrics", "pods", True,
             status=False, generation=False, verbs=["get", "list"]),
]

BY_PATH = {(r.group, r.version, r.plural): r for r in RESOURCES}
BY_KIND = {(r.group, r.kind): r for r in RESOURCES}


def group_versions():
    """[(group, version)] in a stable order, core first."""
    seen = []
    for r in RESOURCES:
        if (r.group, r.version) not in seen:
            seen.append((r.group, r.version))
    return seen


def resource_list(group, version):
    """The APIResourceList for one group version, or None if not served."""
    items = [r for r in RESOURCES if r.group == group and r.version == version]
    if not items:
        return None
    gv = f"{group}/{version}" if group else version
    resources = []
    for r in items:
        resources.append(r.discovery())
        if r.status:
            resources.append({"name": r.plural + "/status",
                              "singularName": "", "namespaced": r.namespaced,
                              "kind": r.kind, "verbs": ["get", "patch",
                                                        "update"]})
        if r.scale:
            resources.append({"name": r.plural + "/scale",
                              "singularName": "", "namespaced": r.namespaced,
                              "group": "autoscaling", "version": "v1",
                              "kind": "Scale", "verbs": ["get", "patch",
                                                         "update"]})
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": gv, "resources": resources}


def api_group(group):
    versions = [{"groupVersion": f"{g}/{v}", "version": v}
                for g, v in group_versions() if g == group]
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", "name": group,
            "versions": versions, "preferredVersion": versions[0]}


def api_group_list():
    groups = []
    for g, _ in group_versions():
        if g and all(x["name"] != g for x in groups):
            doc = api_group(g)
            del doc["kind"], doc["apiVersion"]
            groups.append(doc)
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def find(group, kind):
    """The Resource for an apiVersion's group and a kind, or None."""
    return BY_KIND.get((group, kind))


def split_api_version(api_version):
    if "/" in api_version:
        g, v = api_version.split("/", 1)
        return g, v
    return "", api_version
