"""Fields an update may not change, as the real validation forbids.

Checked on every update, patch and apply of an existing object (before it is
stored), so a client that re-applies a changed Job template or Deployment
selector meets the same 422 it would meet on k3s:
  * Job: spec.selector, spec.template (field is immutable);
  * Deployment: spec.selector (apps/v1);
  * StatefulSet: everything in spec but replicas, ordinals, template,
    updateStrategy, persistentVolumeClaimRetentionPolicy, minReadySeconds;
  * ConfigMap and Secret with `immutable: true`: data, binaryData (and the
    flag itself).
Returns [(field, value, why)] causes for apierrors.invalid.
"""
import json

from apierrors import FORBIDDEN

_STS_MUTABLE = {"replicas", "ordinals", "template", "updateStrategy",
                "persistentVolumeClaimRetentionPolicy", "minReadySeconds"}


def _short(value):
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= 80 else text[:77] + "..."


def _fixed(old, new, fields, out):
    for f in fields:
        a = (old.get("spec") or {}).get(f)
        b = (new.get("spec") or {}).get(f)
        if a != b:
            out.append((f"spec.{f}", _short(b), "field is immutable"))


def violations(kind, old, new):
    out = []
    if kind == "Job":
        _fixed(old, new, ("selector", "template"), out)
    elif kind == "Deployment":
        _fixed(old, new, ("selector",), out)
    elif kind == "StatefulSet":
        a = {k: v for k, v in (old.get("spec") or {}).items()
             if k not in _STS_MUTABLE}
        b = {k: v for k, v in (new.get("spec") or {}).items()
             if k not in _STS_MUTABLE}
        if a != b:
            out.append(("spec", FORBIDDEN, "updates to statefulset spec for "
                        "fields other than 'replicas', 'ordinals', "
                        "'template', 'updateStrategy', "
                        "'persistentVolumeClaimRetentionPolicy' and "
                        "'minReadySeconds' are forbidden"))
    elif kind in ("ConfigMap", "Secret") and old.get("immutable"):
        for f in ("data", "binaryData", "immutable"):
            if old.get(f) != new.get(f):
                out.append((f, FORBIDDEN, "field is immutable when "
                            "`immutable` is set"))
    return out
