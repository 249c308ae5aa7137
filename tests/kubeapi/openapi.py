"""Just enough OpenAPI v3 for kubectl.

kubectl (1.30+) reads /openapi/v3 and a group version's document before
`apply`, to learn whether the PATCH operation of a kind takes the
`fieldValidation` query parameter (server-side field validation); without
these documents it refuses to apply unless given --validate=false.  So each
document lists the object paths with their operations, the
x-kubernetes-group-version-kind extension and the query parameters; there
are no schemas (`kubectl explain` and client-side apply's strategic merge do
not work, and field validation is not enforced).  /openapi/v2 is a 404, as
on a server that no longer serves it.
"""
import hashlib
import json

import resources

_PARAMS = {
    "get": [],
    "put": ["dryRun", "fieldManager", "fieldValidation"],
    "patch": ["dryRun", "fieldManager", "fieldValidation", "force"],
    "delete": ["dryRun", "gracePeriodSeconds", "propagationPolicy"],
    "post": ["dryRun", "fieldManager", "fieldValidation"],
    "list": ["continue", "fieldSelector", "labelSelector", "limit",
             "resourceVersion", "timeoutSeconds", "watch"],
}


def _op(res, action, params):
    return {"operationId": f"{action}{res.kind}",
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": {
                "group": res.group, "version": res.version,
                "kind": res.kind},
            "parameters": [{"name": p, "in": "query", "schema":
                            {"type": "string"}, "uniqueItems": True}
                           for p in params],
            "responses": {"200": {"description": "OK"}}}


def _prefix(group, version):
    return f"/apis/{group}/{version}" if group else f"/api/{version}"


def group_version_doc(group, version):
    paths = {}
    for r in resources.RESOURCES:
        if (r.group, r.version) != (group, version):
            continue
        base = _prefix(group, version)
        coll = (f"{base}/namespaces/{{namespace}}/{r.plural}"
                if r.namespaced else f"{base}/{r.plural}")
        paths[coll] = {"get": _op(r, "list", _PARAMS["list"]),
                       "post": _op(r, "post", _PARAMS["post"])}
        paths[coll + "/{name}"] = {
            verb: _op(r, verb if verb != "put" else "put", _PARAMS[verb])
            for verb in ("get", "put", "patch", "delete")}
    if not paths:
        return None
    return {"openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": "v1.33.5+k3s1"},
            "paths": paths, "components": {"schemas": {}}}


def _key(group, version):
    return _prefix(group, version).lstrip("/")


def root():
    paths = {}
    for g, v in resources.group_versions():
        doc = json.dumps(group_version_doc(g, v), sort_keys=True).encode()
        digest = hashlib.sha512(doc).hexdigest()[:32].upper()
        paths[_key(g, v)] = {
            "serverRelativeURL": f"/openapi/v3/{_key(g, v)}?hash={digest}"}
    return {"paths": paths}


def lookup(path):
    """The document for /openapi/v3[/<gv path>], or None."""
    if path == "/openapi/v3":
        return root()
    rest = path[len("/openapi/v3/"):] if path.startswith("/openapi/v3/") \
        else None
    for g, v in resources.group_versions():
        if rest == _key(g, v):
            return group_version_doc(g, v)
    return None
