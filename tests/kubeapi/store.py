"""The object store: every object in memory, one global resourceVersion.

Semantics follow the API server (see README.md in this directory for the
list of simplifications):
  * resourceVersion is one counter over all kinds; every write and every
    deletion takes the next value; a write that changes nothing (no-op PUT,
    patch or apply) takes none.
  * lists are ordered by namespace/name like etcd keys; `limit` returns a
    `continue` token {"v","rv","start"} as the real server encodes it.
    A token whose rv is older than the last compaction gives 410 Expired;
    compaction runs every `compact_interval` seconds (k3s/kine compacts
    every 5 minutes) and on POST /_admin/compact.  Later pages read the
    snapshot at the token's rv (the event history undone), so a list is
    consistent however the objects change between pages.
  * namespace deletion sets Terminating and a deletionTimestamp, then after
    `ns_delete_delay` seconds deletes everything in the namespace, then the
    namespace (finalizers of the contents are not waited for; the
    namespace's own metadata.finalizers hold it, Terminating, until an
    update empties them).
  * deletion of an owner deletes its dependents (ownerReferences by uid)
    synchronously for Foreground and Background; Orphan strips the refs.
    Objects with metadata.finalizers get a deletionTimestamp and go away
    when an update empties the finalizers.
Stored objects are never mutated: every write stores a new dict, so readers
may serialize them without holding the lock.
"""
import base64
import binascii
import collections
import json
import re
import secrets
import threading
import time
import uuid

import apierrors
import immutable
import labelsel
import patch as patchlib
import quantity
import resources
from patch import clone

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")

_NAME_RULES = {
    "subdomain": (_SUBDOMAIN, 253,
                  "a lowercase RFC 1123 subdomain must consist of lower case "
                  "alphanumeric characters, '-' or '.', and must start and "
                  "end with an alphanumeric character (e.g. 'example.com', "
                  "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])"
                  "?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"),
    "label": (_LABEL, 63,
              "a lowercase RFC 1123 label must consist of lower case "
              "alphanumeric characters or '-', and must start and end with "
              "an alphanumeric character (e.g. 'my-name',  or '123-abc', "
              "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"),
    "label1035": (_LABEL1035, 63,
                  "a DNS-1035 label must consist of lower case alphanumeric "
                  "characters or '-', start with an alphabetic character, "
                  "and end with an alphanumeric character (e.g. 'my-name',  "
                  "or 'abc-123', regex used for validation is "
                  "'[a-z]([-a-z0-9]*[a-z0-9])?')"),
}

NAMESPACES = resources.find("", "Namespace")
HISTORY = 100000


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def name_errors(res, name):
    regex, limit, why = _NAME_RULES[res.name_rule]
    out = []
    if len(name) > limit:
        out.append(("metadata.name", name,
                    f"must be no more than {limit} characters"))
    if not regex.match(name):
        out.append(("metadata.name", name, why))
    return out


def label_errors(meta):
    out = []
    for k, v in (meta.get("labels") or {}).items():
        try:
            labelsel.check_key(k)
        except labelsel.SelectorError as e:
            out.append(("metadata.labels", k, str(e)))
        try:
            labelsel.check_value(v)
        except labelsel.SelectorError as e:
            out.append(("metadata.labels", v, str(e)))
    return out


def _decode_error(field, want, value):
    kind = {dict: "object", list: "array", str: "string", bool: "bool",
            int: "number", float: "number"}.get(type(value), "value")
    go = {"dict": "object", "list": "array", "str": "string"}
    return apierrors.bad_request(
        f"json: cannot unmarshal {kind} into Go struct field {field} of "
        f"type {go.get(want, want)}")


def _continue_expired():
    return apierrors.expired(
        "The provided continue parameter is too old to display a consistent "
        "list result. You can start a new list without the continue "
        "parameter, or use the continue token in this response to retrieve "
        "the remainder of the results. Continuing with the provided token "
        "results in an inconsistent list - objects that were created, "
        "modified, or deleted between the time the first chunk was returned "
        "and now may show up in the list.")


def spec_of(obj):
    """Everything a generation counts: all but metadata and status."""
    return {k: v for k, v in obj.items()
            if k not in ("metadata", "status", "apiVersion", "kind")}


class Store:
    def __init__(self, ns_delete_delay=0.2, compact_interval=300.0):
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.rv = 0
        self.compacted = 0
        self.ns_delete_delay = ns_delete_delay
        self.purged = set()  # uids of emptied namespaces held by finalizers
        self.compact_interval = compact_interval
        self.objects = {r.key: {} for r in resources.RESOURCES}
        # (rv, resource key, type, object, previous object) for watches.
        self.events = collections.deque(maxlen=HISTORY)
        self.listeners = []
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.create(NAMESPACES, None, {"metadata": {"name": ns}},
                        "k3s")
        if compact_interval > 0:
            t = threading.Thread(target=self._compactor, daemon=True)
            t.start()

    # ---- plumbing ---------------------------------------------------------

    def _compactor(self):
        while True:
            time.sleep(self.compact_interval)
            self.compact()

    def compact(self):
        """Forget history before now, as etcd's compaction does: continue
        tokens and watches from an earlier resourceVersion get 410."""
        with self.lock:
            self.rv += 1
            self.compacted = self.rv
            while self.events and self.events[0][0] < self.compacted:
                self.events.popleft()
            return self.rv

    def _next_rv(self):
        self.rv += 1
        return str(self.rv)

    def _commit(self, res, etype, obj, prev):
        """Store (or drop, for DELETED) an object that already carries its
        new resourceVersion, and tell watchers and controllers."""
        m = obj["metadata"]
        key = (m.get("namespace", ""), m["name"])
        if etype == "DELETED":
            self.objects[res.key].pop(key, None)
        else:
            self.objects[res.key][key] = obj
        self.events.append((int(m["resourceVersion"]), res.key, etype, obj,
                            prev))
        self.cond.notify_all()
        for fn in self.listeners:
            fn(res, etype, obj, prev)

    def lookup(self, res, ns, name):
        return self.objects[res.key].get((ns or "", name))

    def _need(self, res, ns, name):
        obj = self.lookup(res, ns, name)
        if obj is None:
            raise apierrors.not_found(res, name)
        return obj

    def _check_namespace(self, res, ns, name):
        if not res.namespaced:
            return
        nsobj = self.lookup(NAMESPACES, None, ns)
        if nsobj is None:
            raise apierrors.not_found(NAMESPACES, ns)
        if nsobj.get("status", {}).get("phase") == "Terminating":
            raise apierrors.forbidden(
                res, name, f"unable to create new content in namespace {ns} "
                "because it is being terminated",
                [{"reason": "NamespaceTerminating",
                  "message": f"namespace {ns} is being terminated",
                  "field": "metadata.namespace"}])

    def _check_body(self, res, ns, body, url_name=None):
        if not isinstance(body, dict):
            raise apierrors.bad_request("the body of the request must be a "
                                        "JSON object")
        av = body.get("apiVersion")
        if av is not None and av != res.api_version:
            raise apierrors.bad_request(
                f"the API version in the data ({av}) does not match the "
                f"expected API version ({res.api_version})")
        kind = body.get("kind")
        if kind is not None and kind != res.kind:
            raise apierrors.bad_request(
                f"the kind in the data ({kind}) does not match the expected "
                f"kind ({res.kind})")
        meta = body.get("metadata")
        if meta is not None and not isinstance(meta, dict):
            raise _decode_error("metadata", "ObjectMeta", meta)
        meta = meta or {}
        # What Go's typed decoding would refuse before any validation.
        for field, want in (("labels", dict), ("annotations", dict),
                            ("finalizers", list), ("ownerReferences", list),
                            ("name", str), ("namespace", str),
                            ("generateName", str),
                            ("resourceVersion", str)):
            value = meta.get(field)
            if value is not None and not isinstance(value, want):
                raise _decode_error(f"metadata.{field}", want.__name__, value)
        for field in ("labels", "annotations"):
            for k, v in (meta.get(field) or {}).items():
                if not isinstance(v, str):
                    raise _decode_error(f"metadata.{field}", "string", v)
        for field in ("spec", "status", "data", "stringData", "binaryData"):
            value = body.get(field)
            if value is not None and not isinstance(value, dict):
                raise _decode_error(field, "dict", value)
        if url_name is not None and meta.get("name") not in (None, url_name):
            raise apierrors.bad_request(
                f"the name of the object ({meta.get('name')}) does not match "
                f"the name on the URL ({url_name})")
        bns = meta.get("namespace")
        if res.namespaced and bns not in (None, "", ns):
            raise apierrors.bad_request(
                "the namespace of the provided object does not match the "
                "namespace sent on the request")

    def _normalize(self, res, ns, obj, old):
        """Defaults and server-owned fields, the way the real server fills
        them for the kinds Outpost uses.  Mutates obj (a fresh copy)."""
        obj["apiVersion"] = res.api_version
        obj["kind"] = res.kind
        meta = obj.setdefault("metadata", {})
        meta.pop("managedFields", None)
        if res.namespaced:
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        for k in ("labels", "annotations"):
            if k in meta and not meta[k]:
                del meta[k]
        if old is not None:
            om = old["metadata"]
            for k in ("uid", "creationTimestamp", "deletionTimestamp",
                      "deletionGracePeriodSeconds", "generation"):
                if k in om:
                    meta[k] = om[k]
                else:
                    meta.pop(k, None)
            if res.status:
                if "status" in old:
                    obj["status"] = clone(old["status"])
                else:
                    obj.pop("status", None)
        else:
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            for k in ("deletionTimestamp", "deletionGracePeriodSeconds"):
                meta.pop(k, None)
            if res.generation:
                meta["generation"] = 1
            else:
                meta.pop("generation", None)
            if res.status:
                obj.pop("status", None)
        if res.kind == "Namespace":
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = \
                meta["name"]
            obj["spec"] = {"finalizers": ["kubernetes"]}
            obj.setdefault("status", {"phase": "Active"})
        elif res.kind == "Secret":
            obj.setdefault("type", "Opaque")
            string_data = obj.pop("stringData", None) or {}
            if string_data:
                data = obj.setdefault("data", {})
                for k, v in string_data.items():
                    data[k] = base64.b64encode(str(v).encode()).decode()
        elif res.kind in ("Deployment", "StatefulSet"):
            obj.setdefault("spec", {}).setdefault("replicas", 1)
        quantity.canonicalize(res.kind, obj)
        if res.generation and old is not None and \
                spec_of(obj) != spec_of(old):
            meta["generation"] = old["metadata"].get("generation", 0) + 1
        return obj

    def _validate(self, res, obj, old=None):
        meta = obj["metadata"]
        name = meta.get("name") or ""
        causes = []
        if not name:
            causes.append(("metadata.name", None,
                           "name or generateName is required"))
        else:
            causes += name_errors(res, name)
        causes += label_errors(meta)
        if res.kind == "Secret":
            for k, v in (obj.get("data") or {}).items():
                try:
                    base64.b64decode(v, validate=True)
                except (binascii.Error, TypeError, ValueError):
                    causes.append((f"data[{k}]", "<value>", "illegal base64 "
                                   "data"))
        causes += quantity.errors(res.kind, obj)
        if old is not None:
            causes += immutable.violations(res.kind, old, obj)
        if causes:
            raise apierrors.invalid(res, name, causes)

    # ---- reads ------------------------------------------------------------

    def get(self, res, ns, name):
        with self.lock:
            return self._need(res, ns, name)

    def list(self, res, ns, label_reqs, field_reqs, limit=0, cont=None):
        """(items, list resourceVersion, continue token, remaining)."""
        with self.lock:
            list_rv = self.rv
            start = None
            if cont:
                try:
                    tok = json.loads(base64.b64decode(cont, validate=True))
                    start, list_rv = tok["start"], int(tok["rv"])
                    if tok.get("v") != "meta.k8s.io/v1" or \
                            not isinstance(start, str):
                        raise ValueError("bad version")
                except (ValueError, KeyError, TypeError, binascii.Error):
                    raise apierrors.bad_request(
                        "continue key is not valid: incorrect encoded start "
                        "resourceVersion (version meta.k8s.io/v1)") from None
                if list_rv < self.compacted:
                    raise _continue_expired()
            # Ordered by the "namespace/name" string, as etcd orders keys;
            # continue tokens compare against the same string.
            table = self._table_at(res, list_rv)
            keys = sorted(((f"{k[0]}/{k[1]}" if res.namespaced else k[1]), k)
                          for k in table if ns is None or k[0] == ns)
            items, token, remaining = [], None, None
            for i, (skey, k) in enumerate(keys):
                if start is not None and skey < start:
                    continue
                obj = table[k]
                if not labelsel.match_labels(
                        label_reqs, obj["metadata"].get("labels")) or \
                        not labelsel.match_fields(field_reqs, obj):
                    continue
                if limit and len(items) == limit:
                    token = base64.b64encode(json.dumps(
                        {"v": "meta.k8s.io/v1", "rv": list_rv,
                         "start": last_key + "\x00"}).encode()).decode()
                    if not label_reqs and not field_reqs:
                        remaining = len(keys) - i
                    break
                items.append(obj)
                last_key = skey
            return items, str(list_rv), token, remaining

    def _table_at(self, res, rv):
        """The objects of a kind as they were at resourceVersion rv: the
        current ones with the later events undone.  Continued lists read
        this snapshot, as the real server reads etcd at the token's
        revision."""
        table = self.objects[res.key]
        if rv >= self.rv:
            return table
        if len(self.events) == self.events.maxlen and \
                self.events[0][0] > rv + 1:
            raise _continue_expired()
        snap = dict(table)
        for ev_rv, key, _, obj, prev in reversed(self.events):
            if ev_rv <= rv:
                break
            if key != res.key:
                continue
            m = obj["metadata"]
            k = (m.get("namespace", ""), m["name"])
            if prev is None:
                snap.pop(k, None)
            else:
                snap[k] = prev
        return snap

    def dump(self):
        with self.lock:
            out = []
            for r in resources.RESOURCES:
                out += [self.objects[r.key][k]
                        for k in sorted(self.objects[r.key])]
            return {"resourceVersion": str(self.rv), "items": out}

    # ---- writes -----------------------------------------------------------

    def create(self, res, ns, body, manager, dry_run=False, apply=False):
        with self.lock:
            self._check_body(res, ns, body)
            obj = clone(body)
            sent = clone(body)
            meta = obj.setdefault("metadata", {})
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + "".join(
                    secrets.choice("bcdfghjklmnpqrstvwxz2456789")
                    for _ in range(5))
            name = meta.get("name") or ""
            if "resourceVersion" in meta and not apply:
                raise apierrors.bad_request(
                    "resourceVersion should not be set on objects to be "
                    "created")
            meta.pop("resourceVersion", None)
            self._normalize(res, ns, obj, None)
            self._validate(res, obj)
            self._check_namespace(res, ns, name)
            if self.lookup(res, ns, name) is not None:
                raise apierrors.already_exists(res, name)
            now = now_rfc3339()
            if apply:
                meta["managedFields"] = patchlib.initial_apply_fields(
                    sent, res, manager, now)
            elif manager:
                meta["managedFields"] = patchlib.record_update(
                    None, obj, res, manager, now, sent)
            if dry_run:
                return obj
            meta["resourceVersion"] = self._next_rv()
            self._commit(res, "ADDED", obj, None)
            return obj

    def _write(self, res, ns, old, new, manager, subresource=None,
               dry_run=False):
        """Common tail of update and patch: normalize, validate, record the
        manager, and store unless nothing changed."""
        base = patchlib.base_fields(
            (new.get("metadata") or {}).get("managedFields"), old,
            subresource)
        if subresource == "status":
            status = new.get("status")
            new = clone(old)
            if status is None:
                new.pop("status", None)
            else:
                new["status"] = clone(status)
            new["metadata"].pop("managedFields", None)
        else:
            new = self._normalize(res, ns, new, old)
        new["metadata"]["name"] = old["metadata"]["name"]
        self._validate(res, new, old)
        if manager:
            base = patchlib.record_update(old, new, res, manager,
                                          now_rfc3339(), base=base,
                                          subresource=subresource)
        if base:
            new["metadata"]["managedFields"] = base
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        if new == old or dry_run:
            return new
        return self._store_change(res, old, new)

    def _store_change(self, res, old, new):
        meta = new["metadata"]
        meta["resourceVersion"] = self._next_rv()
        if meta.get("deletionTimestamp") and not meta.get("finalizers") \
                and (res.kind != "Namespace" or meta["uid"] in self.purged):
            self.purged.discard(meta["uid"])
            self._commit(res, "DELETED", new, old)
            self._delete_dependents(old, "Background")
        else:
            self._commit(res, "MODIFIED", new, old)
        return new

    def update(self, res, ns, name, body, manager, subresource=None,
               dry_run=False):
        with self.lock:
            self._check_body(res, ns, body, url_name=name)
            old = self._need(res, ns, name)
            rv = (body.get("metadata") or {}).get("resourceVersion")
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise apierrors.conflict(res, name)
            return self._write(res, ns, old, clone(body), manager,
                               subresource, dry_run)

    def patch(self, res, ns, name, kind, body, manager, subresource=None,
              dry_run=False):
        """kind: merge, strategic or json."""
        with self.lock:
            old = self._need(res, ns, name)
            if kind == "json":
                new = patchlib.json_patch(old, body)
            elif not isinstance(body, dict):
                raise apierrors.bad_request("the patch must be a JSON object")
            elif kind == "merge":
                new = patchlib.merge_patch(old, body)
            else:
                new = patchlib.strategic_merge_patch(old, body)
            self._check_body(res, ns, new, url_name=name)
            rv = (new.get("metadata") or {}).get("resourceVersion")
            if rv is not None and rv != old["metadata"]["resourceVersion"]:
                raise apierrors.conflict(res, name)
            return self._write(res, ns, old, new, manager, subresource,
                               dry_run)

    @staticmethod
    def scale_of(obj):
        """The autoscaling/v1 Scale of a Deployment or StatefulSet."""
        m = obj["metadata"]
        sel = ((obj.get("spec") or {}).get("selector") or {}).get(
            "matchLabels") or {}
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {k: m[k] for k in (
                    "name", "namespace", "uid", "resourceVersion",
                    "creationTimestamp") if k in m},
                "spec": {"replicas": (obj.get("spec") or {}).get(
                    "replicas", 1)},
                "status": {"replicas": (obj.get("status") or {}).get(
                    "replicas", 0),
                    "selector": ",".join(f"{k}={v}" for k, v in
                                         sorted(sel.items()))}}

    def write_scale(self, res, ns, name, kind, body, manager, dry_run=False):
        """PUT (kind None) or patch of /scale: sets spec.replicas."""
        with self.lock:
            old = self._need(res, ns, name)
            scale = self.scale_of(old)
            if kind is None:
                new_scale = body
            elif kind == "json":
                new_scale = patchlib.json_patch(scale, body)
            else:
                new_scale = patchlib.merge_patch(scale, body)
            if not isinstance(new_scale, dict):
                raise apierrors.bad_request("a Scale must be an object")
            rv = (new_scale.get("metadata") or {}).get("resourceVersion")
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise apierrors.conflict(res, name)
            replicas = (new_scale.get("spec") or {}).get("replicas")
            if not isinstance(replicas, int) or isinstance(replicas, bool) \
                    or replicas < 0:
                raise apierrors.ApiError(
                    422, "Invalid", f'Scale.autoscaling "{name}" is invalid: '
                    f"spec.replicas: Invalid value: {replicas}: must be "
                    "greater than or equal to 0")
            new = clone(old)
            new.setdefault("spec", {})["replicas"] = replicas
            return self.scale_of(self._write(res, ns, old, new, manager,
                                             "scale", dry_run))

    def apply(self, res, ns, name, body, manager, force, dry_run=False):
        """Server-side apply; returns (object, created)."""
        with self.lock:
            self._check_body(res, ns, body, url_name=name)
            if body.get("apiVersion") is None or body.get("kind") is None:
                raise apierrors.bad_request(
                    "apply patches must specify apiVersion and kind")
            if "managedFields" in (body.get("metadata") or {}):
                raise apierrors.bad_request(
                    "metadata.managedFields must be nil")
            bad = quantity.untyped(res.kind, body)
            if bad:
                raise apierrors.untyped_patch(*bad)
            body = clone(body)
            body.setdefault("metadata", {})["name"] = name
            meta = body["metadata"]
            old = self.lookup(res, ns, name)
            if old is None:
                if meta.get("resourceVersion"):
                    raise apierrors.not_found(res, name)
                return self.create(res, ns, body, manager, dry_run,
                                   apply=True), True
            rv = meta.get("resourceVersion")
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise apierrors.conflict(res, name)
            new, fields, same_owners = patchlib.apply(
                old, body, res, manager, force, now_rfc3339())
            new = self._normalize(res, ns, new, old)
            new["metadata"]["resourceVersion"] = \
                old["metadata"]["resourceVersion"]
            self._validate(res, new, old)
            if same_owners and new == {**old, "metadata": {
                    k: v for k, v in old["metadata"].items()
                    if k != "managedFields"}}:
                return old, False  # a no-op apply: nothing is written
            new["metadata"]["managedFields"] = fields
            if dry_run:
                return new, False
            return self._store_change(res, old, new), False

    def delete(self, res, ns, name, opts=None):
        """Returns (object, deleted_now)."""
        opts = opts or {}
        with self.lock:
            old = self._need(res, ns, name)
            pre = opts.get("preconditions") or {}
            om = old["metadata"]
            if pre.get("uid") and pre["uid"] != om["uid"]:
                raise apierrors.conflict(
                    res, name, f"Precondition failed: UID in precondition: "
                    f"{pre['uid']}, UID in object meta: {om['uid']}")
            if pre.get("resourceVersion") and \
                    pre["resourceVersion"] != om["resourceVersion"]:
                raise apierrors.conflict(
                    res, name, f"Precondition failed: ResourceVersion in "
                    f"precondition: {pre['resourceVersion']}, "
                    f"ResourceVersion in object meta: {om['resourceVersion']}")
            if opts.get("dryRun"):
                return old, False
            if res.kind == "Namespace":
                return self._terminate_namespace(old), False
            policy = opts.get("propagationPolicy") or "Background"
            if om.get("finalizers"):
                if om.get("deletionTimestamp"):
                    return old, False
                new = clone(old)
                new["metadata"]["deletionTimestamp"] = now_rfc3339()
                new["metadata"]["deletionGracePeriodSeconds"] = 0
                new["metadata"]["resourceVersion"] = self._next_rv()
                self._commit(res, "MODIFIED", new, old)
                return new, False
            if policy == "Foreground":
                self._delete_dependents(old, policy)
            gone = self._remove(res, old)
            if policy != "Foreground":
                self._delete_dependents(old, policy)
            return gone, True

    def delete_collection(self, res, ns, label_reqs, field_reqs, opts):
        with self.lock:
            items, _, _, _ = self.list(res, ns, label_reqs, field_reqs)
            out = []
            for obj in items:
                m = obj["metadata"]
                out.append(self.delete(res, m.get("namespace"), m["name"],
                                       opts)[0])
            return out

    def _remove(self, res, old):
        gone = clone(old)
        gone["metadata"]["resourceVersion"] = self._next_rv()
        self._commit(res, "DELETED", gone, old)
        return gone

    def _delete_dependents(self, owner, policy):
        uid = owner["metadata"]["uid"]
        for r in resources.RESOURCES:
            for obj in list(self.objects[r.key].values()):
                refs = obj["metadata"].get("ownerReferences") or []
                if not any(ref.get("uid") == uid for ref in refs):
                    continue
                if policy == "Orphan":
                    new = clone(obj)
                    new["metadata"]["ownerReferences"] = [
                        ref for ref in refs if ref.get("uid") != uid]
                    if not new["metadata"]["ownerReferences"]:
                        del new["metadata"]["ownerReferences"]
                    self._store_change(r, obj, new)
                else:
                    self._delete_dependents(obj, policy)
                    self._remove(r, obj)

    def _terminate_namespace(self, old):
        name = old["metadata"]["name"]
        if old["status"].get("phase") == "Terminating":
            raise apierrors.conflict(
                NAMESPACES, name, "The system is ensuring all content is "
                "removed from this namespace.  Upon completion, this "
                "namespace will automatically be purged by the system.")
        new = clone(old)
        new["metadata"]["deletionTimestamp"] = now_rfc3339()
        new["status"] = {"phase": "Terminating"}
        new["metadata"]["resourceVersion"] = self._next_rv()
        self._commit(NAMESPACES, "MODIFIED", new, old)
        t = threading.Timer(self.ns_delete_delay, self._purge_namespace,
                            (name, new["metadata"]["uid"]))
        t.daemon = True
        t.start()
        return new

    def _purge_namespace(self, name, uid):
        with self.lock:
            for r in resources.RESOURCES:
                if not r.namespaced:
                    continue
                for k in sorted(self.objects[r.key]):
                    if k[0] == name:
                        self._remove(r, self.objects[r.key][k])
            ns = self.lookup(NAMESPACES, None, name)
            if ns is None or ns["metadata"]["uid"] != uid:
                return
            # Emptied, but held by its metadata.finalizers until an update
            # removes the last one (as on a real server).
            if ns["metadata"].get("finalizers"):
                self.purged.add(uid)
            else:
                self._remove(NAMESPACES, ns)

    # ---- watch ------------------------------------------------------------

    def watch_start(self, res, ns, label_reqs, field_reqs, rv,
                    send_initial=False):
        """(initial events, rv to continue from); 410 when rv is too old.

        send_initial is the streaming list (sendInitialEvents=true with
        resourceVersionMatch=NotOlderThan): the current state as ADDED
        events, then a BOOKMARK carrying the annotation
        k8s.io/initial-events-end, whatever rv says (the state is always at
        least as new as any rv this store has handed out)."""
        with self.lock:
            if send_initial or rv in (None, "", "0"):
                items, list_rv, _, _ = self.list(res, ns, label_reqs,
                                                 field_reqs)
                events = [("ADDED", o) for o in items]
                if send_initial:
                    events.append(("BOOKMARK", {
                        "kind": res.kind, "apiVersion": res.api_version,
                        "metadata": {
                            "resourceVersion": str(list_rv),
                            "annotations": {
                                "k8s.io/initial-events-end": "true"}}}))
                return events, int(list_rv)
            try:
                start = int(rv)
            except ValueError:
                raise apierrors.bad_request(
                    f"invalid resource version: {rv}") from None
            oldest = self.events[0][0] if self.events else self.rv + 1
            if start < self.compacted or (start < oldest - 1
                                          and len(self.events) == HISTORY):
                raise apierrors.expired(f"too old resource version: {start} "
                                     f"({max(self.compacted, oldest - 1)})")
            return [], start

    def watch_next(self, res, ns, label_reqs, field_reqs, since, timeout):
        """Events after `since` for this watch, waiting up to `timeout`
        seconds for one; returns (events, new since)."""
        with self.cond:
            deadline = time.monotonic() + timeout
            while self.rv <= since:
                left = deadline - time.monotonic()
                if left <= 0:
                    return [], since
                self.cond.wait(left)
            pending = []
            for ev in reversed(self.events):
                if ev[0] <= since:
                    break
                pending.append(ev)
            since = self.rv
        out = []
        for rv, key, etype, obj, prev in reversed(pending):
            if key != res.key:
                continue
            now_in = self._watch_match(res, ns, label_reqs, field_reqs, obj)
            was_in = prev is not None and self._watch_match(
                res, ns, label_reqs, field_reqs, prev)
            if etype == "DELETED":
                if was_in or now_in:
                    out.append(("DELETED", obj))
            elif now_in and was_in:
                out.append(("MODIFIED", obj))
            elif now_in:
                out.append(("ADDED", obj))
            elif was_in:
                # Left the selector: watchers see it go, as in Kubernetes.
                out.append(("DELETED", obj))
        return out, since

    @staticmethod
    def _watch_match(res, ns, label_reqs, field_reqs, obj):
        m = obj["metadata"]
        if ns is not None and m.get("namespace") != ns:
            return False
        return labelsel.match_labels(label_reqs, m.get("labels")) and \
            labelsel.match_fields(field_reqs, obj)
