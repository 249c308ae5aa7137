"""Patches and server-side apply.

Merge patch is RFC 7386.  JSON patch is RFC 6902 (add, remove, replace,
move, copy, test).  Strategic merge patch is SIMPLIFIED: it is a merge patch
whose lists are replaced, except lists whose items are all maps with a `name`
(containers, env, volumes, ports ...), which are merged item by item by name
(`$patch: delete` on an item removes it); `$setElementOrder`, `$retainKeys`
and `$deleteFromPrimitiveList` directives are dropped.

Server-side apply keeps, per field manager, the set of leaf field paths it
owns (maps are walked, every LIST IS ATOMIC: owned and replaced as a whole,
where the real server merges associative lists such as containers by key).
From those sets it does what the real server does:
  * a field another manager owns with a different value is a conflict
    (409, reason Conflict, one cause per field) unless force=true, which
    moves the ownership to the applier;
  * equal values are co-owned;
  * fields the applier owned before and no longer applies are removed unless
    another manager still owns them;
  * an apply that changes neither the object nor the ownership is a no-op:
    no new resourceVersion, no new managedFields timestamp.
Non-apply writes (create, update, merge/strategic/JSON patch) record an
`Update` entry owning the fields they changed and take those fields from the
other managers, as the real server does.  An entry is one (manager,
operation, subresource): a manager that created an object with POST and
applies it later has two entries, and a field its apply drops stays while its
`Update` entry still owns it.  A non-apply write to the main resource may
rewrite managedFields: the list it carries replaces the stored one (`[{}]`
clears it; an empty or undecodable list keeps the stored one, so clients
unaware of managedFields never strip them), and the fields the same request
changes then go to its manager.  `fieldsV1` is written in the real
`f:<name>` form, but without `.` markers and `k:`/`v:` list item keys.
"""
import json

import pb
from apierrors import bad_request, ApiError

def clone(value):
    """A copy of a JSON value (several times faster than copy.deepcopy,
    which dominated the cost of an apply)."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value


# metadata fields the server owns; never tracked in managedFields.
_SERVER_META = {"name", "namespace", "uid", "resourceVersion", "generation",
                "creationTimestamp", "deletionTimestamp", "managedFields",
                "deletionGracePeriodSeconds", "selfLink", "generateName"}


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return clone(patch)
    out = clone(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def _named_list(value):
    return isinstance(value, list) and value and all(
        isinstance(i, dict) and "name" in i for i in value)


def strategic_merge_patch(target, patch):
    if not isinstance(patch, dict):
        return clone(patch)
    if patch.get("$patch") == "replace":
        return {k: v for k, v in clone(patch).items()
                if k != "$patch"}
    out = clone(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if k.startswith("$"):
            continue
        if v is None:
            out.pop(k, None)
        elif _named_list(v) and _named_list(out.get(k)):
            items = out[k]
            for item in v:
                idx = next((i for i, x in enumerate(items)
                            if x["name"] == item["name"]), None)
                if item.get("$patch") == "delete":
                    if idx is not None:
                        items.pop(idx)
                elif idx is None:
                    items.append(strategic_merge_patch({}, item))
                else:
                    items[idx] = strategic_merge_patch(items[idx], item)
        elif isinstance(v, dict):
            if v.get("$patch") == "delete":
                out.pop(k, None)
            else:
                out[k] = strategic_merge_patch(out.get(k), v)
        else:
            out[k] = clone(v)
    return out


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~")
            for p in path[1:].split("/")]


def _walk(doc, parts):
    for p in parts:
        if isinstance(doc, list):
            doc = doc[int(p)]
        else:
            doc = doc[p]
    return doc


def json_patch(target, ops):
    doc = clone(target)
    if not isinstance(ops, list):
        raise bad_request("json patch must be a list of operations")
    try:
        for op in ops:
            kind = op["op"]
            parts = _pointer(op["path"])
            if kind in ("move", "copy"):
                src = _pointer(op["from"])
                value = clone(_walk(doc, src))
                if kind == "move":
                    _remove(doc, src)
                _add(doc, parts, value)
            elif kind == "add":
                _add(doc, parts, clone(op["value"]))
            elif kind == "remove":
                _remove(doc, parts)
            elif kind == "replace":
                _remove(doc, parts)
                _add(doc, parts, clone(op["value"]))
            elif kind == "test":
                if _walk(doc, parts) != op["value"]:
                    raise ApiError(422, "Invalid",
                                   f"testing value {op['path']} failed")
            else:
                raise bad_request(f"unexpected json patch operation {kind!r}")
    except (KeyError, IndexError, ValueError, TypeError) as e:
        raise ApiError(422, "Invalid",
                       f"the server rejected our request due to an error in "
                       f"our request: json patch: {e}") from None
    return doc


def _add(doc, parts, value):
    parent = _walk(doc, parts[:-1])
    if isinstance(parent, list):
        if parts[-1] == "-":
            parent.append(value)
        else:
            parent.insert(int(parts[-1]), value)
    else:
        parent[parts[-1]] = value


def _remove(doc, parts):
    parent = _walk(doc, parts[:-1])
    if isinstance(parent, list):
        parent.pop(int(parts[-1]))
    else:
        del parent[parts[-1]]


# ---- field sets -------------------------------------------------------------

def _leaves(value, prefix, out):
    if isinstance(value, dict) and value:
        for k, v in value.items():
            _leaves(v, prefix + (k,), out)
    else:
        out.add(prefix)


def field_set(obj, res):
    """The leaf paths of an object a manager can own."""
    out = set()
    for k, v in obj.items():
        if k in ("apiVersion", "kind") or (k == "status" and res.status):
            continue
        if k == "metadata":
            for mk, mv in (v or {}).items():
                if mk not in _SERVER_META:
                    _leaves(mv, ("metadata", mk), out)
        else:
            _leaves(v, (k,), out)
    return out


def to_fields_v1(paths):
    root = {}
    for p in sorted(paths):
        node = root
        for part in p:
            node = node.setdefault("f:" + part, {})
    return root


def from_fields_v1(doc, prefix=()):
    out = set()
    for k, v in (doc or {}).items():
        if k == ".":
            out.add(prefix)
        elif k.startswith("f:"):
            sub = prefix + (k[2:],)
            if v:
                out |= from_fields_v1(v, sub)
            else:
                out.add(sub)
        else:
            # k:/v:/i: list item keys: the list is atomic here.
            out.add(prefix)
    return out


def _get(obj, path):
    node = obj
    for p in path:
        if not isinstance(node, dict) or p not in node:
            return (False, None)
        node = node[p]
    return (True, node)


def _delete(obj, path):
    parents = []
    node = obj
    for p in path[:-1]:
        if not isinstance(node, dict) or p not in node:
            return
        parents.append((node, p))
        node = node[p]
    if isinstance(node, dict):
        node.pop(path[-1], None)
    # Drop maps the removal left empty, but never a top-level key.
    while parents and len(parents) > 1:
        parent, key = parents.pop()
        if parent[key] == {}:
            del parent[key]
        else:
            break


def _merge(dst, src):
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            _merge(dst[k], v)
        else:
            dst[k] = clone(v)


def _overlap(p, q):
    n = min(len(p), len(q))
    return p[:n] == q[:n]


def diff_paths(old, new, res):
    """Leaf paths whose value differs between two objects."""
    out = set()
    for p in field_set(old, res) | field_set(new, res):
        if _get(old, p) != _get(new, p):
            out.add(p)
    return out


def managers(entries):
    """[manager, operation, set, entry, subresource] from managedFields."""
    return [[e.get("manager", ""), e.get("operation", "Update"),
             from_fields_v1(e.get("fieldsV1")), e, e.get("subresource", "")]
            for e in entries or []]


def _stored(obj):
    return obj.get("metadata", {}).get("managedFields") or []


def _decodable(entries):
    return isinstance(entries, list) and entries and all(
        isinstance(e, dict) and e.get("operation") in ("Apply", "Update")
        and e.get("fieldsType") == "FieldsV1"
        and isinstance(e.get("fieldsV1"), dict) for e in entries)


def base_fields(sent, old, subresource=None):
    """The managedFields a non-apply write starts from: those the request
    carries, if it rewrites them, else the stored ones."""
    if subresource:
        return _stored(old)  # a subresource write cannot rewrite them
    if sent == [{}]:
        return []
    return ordered(sent) if _decodable(sent) else _stored(old)


def ordered(entries):
    """managedFields in the real server's order: Apply entries before Update
    ones, then by time, manager, apiVersion and subresource."""
    return sorted(entries, key=lambda e: (
        e.get("operation", ""), e.get("time", ""), e.get("manager", ""),
        e.get("apiVersion", ""), e.get("subresource", "")))


def _entries(mgrs, api_version, now, touched):
    out = []
    for name, op, paths, old, sub in mgrs:
        if not paths:
            continue
        if (name, op, sub) in touched or old is None:
            entry = {"manager": name, "operation": op,
                     "apiVersion": api_version, "time": now,
                     "fieldsType": "FieldsV1",
                     "fieldsV1": to_fields_v1(paths)}
            if sub:
                entry["subresource"] = sub
        elif paths != from_fields_v1(old.get("fieldsV1")):
            # Another manager took some of its fields: same time, fewer
            # fields.
            entry = dict(old, fieldsV1=to_fields_v1(paths))
        else:
            entry = old
        out.append(entry)
    return ordered(out)


def record_update(old, new, res, manager, now, sent=None, base=None,
                  subresource=""):
    """managedFields after a non-apply write by `manager`, starting from
    `base` (base_fields; default: the stored ones); for a create (old is
    None) the manager owns what it sent."""
    if old is None:
        changed = field_set(sent if sent is not None else new, res)
        base = []
    else:
        changed = diff_paths(old, new, res)
        if base is None:
            base = _stored(old)
    present = field_set(new, res)
    if not changed:
        return ordered(base)
    mgrs = managers(base)
    for m in mgrs:
        m[2] = {q for q in m[2] if not any(_overlap(q, p) for p in changed)}
    key = (manager, "Update", subresource or "")
    mine = next((m for m in mgrs if (m[0], m[1], m[4]) == key), None)
    if mine is None:
        mine = [manager, "Update", set(), None, subresource or ""]
        mgrs.append(mine)
    mine[2] |= changed & present
    return _entries(mgrs, new["apiVersion"], now, {key})


def apply(old, applied, res, manager, force, now):
    """Server-side apply of `applied` onto `old` (a stored object).

    Returns (merged object, its managedFields, whether the ownership is
    unchanged).  Raises 409 on conflicts without force.  The caller
    normalizes the object and decides whether anything changed."""
    new_set = field_set(applied, res)
    mgrs = managers(_stored(old))
    conflicts = []  # (entry index, path)
    for i, m in enumerate(mgrs):
        if (m[0], m[1], m[4]) == (manager, "Apply", ""):
            continue
        for q in m[2]:
            for p in new_set:
                longer = p if len(p) >= len(q) else q
                if _overlap(p, q) and \
                        _get(old, longer) != _get(applied, longer):
                    conflicts.append((i, q))
                    break
    if conflicts and not force:
        raise conflict_error(res, old["metadata"]["name"],
                             [(mgrs[i][0], q) for i, q in conflicts],
                             old["apiVersion"])
    for i, q in conflicts:
        mgrs[i][2].discard(q)
    mine = next((m for m in mgrs if (m[0], m[1], m[4]) == (manager, "Apply",
                                                             "")), None)
    before = set() if mine is None else set(mine[2])
    if mine is None:
        mine = [manager, "Apply", set(), None, ""]
        mgrs.append(mine)
    mine[2] = new_set

    result = clone(old)
    others = [q for m in mgrs if m is not mine for q in m[2]]
    for p in sorted(before - new_set, key=len, reverse=True):
        if not any(_overlap(p, q) for q in others):
            _delete(result, p)
    body = {k: v for k, v in applied.items()
            if not (k == "status" and res.status)}
    meta = body.pop("metadata", {}) or {}
    _merge(result, body)
    rmeta = result.setdefault("metadata", {})
    for k, v in meta.items():
        if k in _SERVER_META:
            continue
        if isinstance(v, dict) and isinstance(rmeta.get(k), dict):
            _merge(rmeta[k], v)
        else:
            rmeta[k] = clone(v)

    ownership_same = sorted((m[0], m[1], tuple(sorted(m[2])))
                            for m in mgrs if m[2]) == \
        sorted((m[0], m[1], tuple(sorted(m[2])))
               for m in managers(_stored(old)) if m[2])
    entries = _entries(mgrs, applied.get("apiVersion", old["apiVersion"]),
                       now, {(manager, "Apply", "")})
    return result, entries, ownership_same


def initial_apply_fields(applied, res, manager, now):
    """managedFields of an object an apply created: the applier owns what
    it sent, not what the server defaulted."""
    return [{"manager": manager, "operation": "Apply",
             "apiVersion": res.api_version, "time": now,
             "fieldsType": "FieldsV1",
             "fieldsV1": to_fields_v1(field_set(applied, res))}]


def conflict_error(res, name, conflicts, api_version):
    def dotted(q):
        return "." + ".".join(q)
    causes = [{"reason": "FieldManagerConflict",
               "message": f'conflict with "{mgr}"', "field": dotted(q)}
              for mgr, q in conflicts]
    n = len(conflicts)
    if n == 1:
        mgr, q = conflicts[0]
        text = f'Apply failed with 1 conflict: conflict with "{mgr}" ' \
               f'using {api_version}: {dotted(q)}'
    else:
        lines = "\n".join(f'- conflict with "{mgr}" using {api_version}: '
                          f'{dotted(q)}' for mgr, q in conflicts)
        text = f"Apply failed with {n} conflicts:\n{lines}"
    details = {"name": name, "kind": res.plural, "causes": causes}
    if res.group:
        details["group"] = res.group
    return ApiError(409, "Conflict", text, details)


def parse_body(data, ctype):
    """JSON body; apply patches may be YAML, of which only the JSON subset
    (what kubectl and Outpost send) is accepted; create and update may be
    protobuf for the kinds pb.py knows."""
    if ctype == "application/vnd.kubernetes.protobuf":
        try:
            return pb.decode(data)
        except (pb.ProtobufError, UnicodeDecodeError) as e:
            raise ApiError(415, "UnsupportedMediaType", str(e)) from None
    try:
        return json.loads(data or b"null")
    except ValueError as e:
        kind = "yaml" if "yaml" in ctype else "json"
        raise bad_request(f"error decoding {kind}: {e} (this test server "
                          "accepts JSON, the subset of YAML kubectl sends)"
                          ) from None
