"""Resource quantities, stored in canonical form as the API server does.

The server parses every quantity ("1000m", "0.5Gi", 2, "1e3") and writes it
back canonically: "1000m" becomes "1", "0.5Gi" "512Mi", "2000" "2k", 1
"1".  A client that compares what it rendered with what it reads back field
by field meets these rewrites on k3s, so the test server makes them too.
Rules: binary suffixes (Ki..Ei) keep a binary form when the value is a
whole number of at least 1024, else fall back to decimal; decimal forms use
the largest exponent (a multiple of 3, n..E) that keeps the mantissa whole;
precision below 1n rounds up.  Only the fields below are quantities.
"""
import re
from fractions import Fraction

_RE = re.compile(r"^([+-]?[0-9]*\.?[0-9]*)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E"
                 r"|[eE][+-]?[0-9]+)?$")
_BIN = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DEC = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12,
        "P": 15, "E": 18}
_DEC_SUFFIX = {v: k for k, v in _DEC.items()}
WHY = ("must match the regular expression "
       "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")


def parse(value):
    """(Fraction, format) with format 'bin', 'dec' or 'exp'; ValueError."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(value)
    text = str(value) if not isinstance(value, float) else repr(value)
    m = _RE.match(text)
    if not m or m.group(1) in ("", ".", "+", "-", "+.", "-."):
        raise ValueError(value)
    num, suffix = Fraction(m.group(1)), m.group(2) or ""
    if suffix in _BIN:
        return num * (1 << _BIN[suffix]), "bin"
    if suffix in _DEC:
        return num * Fraction(10) ** _DEC[suffix], "dec"
    return num * Fraction(10) ** int(suffix[1:]), "exp"


def canonical(value):
    q, fmt = parse(value)
    if q == 0:
        return "0"
    sign = "-" if q < 0 else ""
    q = abs(q)
    if fmt == "bin" and q >= 1024 and q.denominator == 1:
        n, shift = int(q), 0
        while shift < 60 and n % 1024 == 0:
            n //= 1024
            shift += 10
        suffix = {v: k for k, v in _BIN.items()}.get(shift, "")
        return f"{sign}{n}{suffix}"
    # Round up to a whole number of nano units, then take the largest
    # exponent (multiple of 3, at most 18) leaving a whole mantissa.
    nano = -((-q * 10 ** 9) // 1)
    exp = -9
    while exp < 18 and nano % 1000 == 0:
        nano //= 1000
        exp += 3
    if fmt == "exp":
        return f"{sign}{nano}" + (f"e{exp}" if exp else "")
    return f"{sign}{nano}{_DEC_SUFFIX[exp]}"


def _maps(kind, obj):
    """(path, dict of quantities) for every quantity map of an object."""
    out = []

    def get(node, *keys):
        """node[k1][k2]... when every step is a map, else {}."""
        for k in keys:
            node = node.get(k) if isinstance(node, dict) else None
        return node if node is not None else {}

    def items(node):
        return enumerate(node if isinstance(node, list) else [])

    def pod(path, ps):
        for key in ("containers", "initContainers"):
            for i, c in items(get(ps, key)):
                for part in ("requests", "limits"):
                    m = get(c, "resources", part)
                    if isinstance(m, dict) and m:
                        out.append((f"{path}.{key}[{i}].resources.{part}", m))
    if kind == "Pod":
        pod("spec", get(obj, "spec"))
    elif kind in ("Deployment", "StatefulSet", "Job"):
        pod("spec.template.spec", get(obj, "spec", "template", "spec"))
        for i, t in items(get(obj, "spec", "volumeClaimTemplates")):
            m = get(t, "spec", "resources", "requests")
            if isinstance(m, dict) and m:
                out.append((f"spec.volumeClaimTemplates[{i}].spec.resources."
                            "requests", m))
    elif kind == "ResourceQuota":
        m = get(obj, "spec", "hard")
        if isinstance(m, dict) and m:
            out.append(("spec.hard", m))
    elif kind == "LimitRange":
        for i, lim in items(get(obj, "spec", "limits")):
            for part in ("max", "min", "default", "defaultRequest",
                         "maxLimitRequestRatio"):
                m = get(lim, part)
                if isinstance(m, dict) and m:
                    out.append((f"spec.limits[{i}].{part}", m))
    return out


def canonicalize(kind, obj):
    """Rewrite the object's quantities in place; invalid ones stay as they
    are (errors() reports them)."""
    for _, m in _maps(kind, obj):
        for k, v in m.items():
            try:
                m[k] = canonical(v)
            except (ValueError, ZeroDivisionError):
                pass


def untyped(kind, obj):
    """(path, value) of the first quantity given as a JSON number, or None.
    A POST accepts one; server-side apply converts the patch to its typed
    form, where a quantity is a string, and refuses it."""
    for path, m in _maps(kind, obj):
        for k, v in m.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return f"{path}.{k}", v
    return None


def errors(kind, obj):
    out = []
    for path, m in _maps(kind, obj):
        for k, v in m.items():
            try:
                parse(v)
            except ValueError:
                out.append((f"{path}[{k}]", str(v), WHY))
    return out
