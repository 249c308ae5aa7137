"""Label and field selectors, parsed the way the API server parses them.

Label selector grammar (comma = AND):
    key | !key | key=value | key==value | key!=value
    key in (v1,v2) | key notin (v1,v2) | key>N | key<N
`!=` and `notin` also match objects that lack the label, as in Kubernetes.
Field selectors support metadata.name and metadata.namespace with =, ==, !=
(what every resource supports; kind-specific fields are not implemented).
Errors raise SelectorError with a message in the API server's wording.
"""
import re

_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_SPECIAL = set(",=!()<>")


class SelectorError(ValueError):
    pass


def check_key(key):
    prefix, _, name = key.rpartition("/")
    if "/" in key and (not prefix or len(prefix) > 253
                       or not _SUBDOMAIN.match(prefix)):
        raise SelectorError(f'invalid label key "{key}": prefix part must '
                            'be a lowercase RFC 1123 subdomain')
    if not name or len(name) > 63 or not _NAME.match(name):
        raise SelectorError(
            f'invalid label key "{key}": name part must consist of '
            "alphanumeric characters, '-', '_' or '.', and must start and "
            "end with an alphanumeric character")


def check_value(value):
    if value and (len(value) > 63 or not _NAME.match(value)):
        raise SelectorError(
            f'invalid label value: "{value}": a valid label must be an '
            "empty string or consist of alphanumeric characters, '-', '_' "
            "or '.', and must start and end with an alphanumeric character")


def _tokens(text):
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c.isspace():
            i += 1
        elif text.startswith(("==", "!="), i):
            out.append(text[i:i + 2])
            i += 2
        elif c in _SPECIAL:
            out.append(c)
            i += 1
        else:
            j = i
            while j < len(text) and not text[j].isspace() \
                    and text[j] not in _SPECIAL:
                j += 1
            out.append(text[i:j])
            i = j
    return out


def _is_word(tok):
    return tok is not None and tok not in ("==", "!=") and tok not in _SPECIAL


def parse_labels(text):
    """[(key, op, values)] with op one of exists, !exists, =, !=, in,
    notin, gt, lt."""
    toks = _tokens(text or "")
    reqs, i = [], 0

    def peek(k=0):
        return toks[i + k] if i + k < len(toks) else None

    while i < len(toks):
        if peek() == "!":
            i += 1
            if not _is_word(peek()):
                raise SelectorError(f"unable to parse requirement: found "
                                    f"'{peek()}', expected: identifier")
            check_key(peek())
            reqs.append((peek(), "!exists", []))
            i += 1
        elif _is_word(peek()):
            key = peek()
            check_key(key)
            i += 1
            op = peek()
            if op in (None, ","):
                reqs.append((key, "exists", []))
            elif op in ("=", "==", "!="):
                i += 1
                val = peek()
                if _is_word(val):
                    i += 1
                elif val in (None, ","):
                    val = ""
                else:
                    raise SelectorError(f"unable to parse requirement: "
                                        f"found '{val}', expected: identifier")
                check_value(val)
                reqs.append((key, "!=" if op == "!=" else "=", [val]))
            elif op in ("<", ">"):
                i += 1
                val = peek()
                try:
                    int(val)
                except (TypeError, ValueError):
                    raise SelectorError(f"unable to parse requirement: for "
                                        f"'gt', 'lt' operators, the value "
                                        f"must be an integer") from None
                i += 1
                reqs.append((key, "gt" if op == ">" else "lt", [val]))
            elif op in ("in", "notin"):
                i += 1
                if peek() != "(":
                    raise SelectorError(f"unable to parse requirement: found "
                                        f"'{peek()}', expected: '('")
                i += 1
                vals = []
                while True:
                    if _is_word(peek()):
                        vals.append(peek())
                        i += 1
                    else:
                        vals.append("")
                    if peek() == ",":
                        i += 1
                        continue
                    if peek() == ")":
                        i += 1
                        break
                    raise SelectorError(f"unable to parse requirement: found "
                                        f"'{peek()}', expected: ',', ')'")
                for v in vals:
                    check_value(v)
                reqs.append((key, op, vals))
            else:
                raise SelectorError(f"unable to parse requirement: found "
                                    f"'{op}', expected: in, notin, =, ==, "
                                    f"!=, gt, lt")
        else:
            raise SelectorError(f"unable to parse requirement: found "
                                f"'{peek()}', expected: !, identifier")
        if peek() == ",":
            i += 1
            if peek() is None:
                raise SelectorError("unable to parse requirement: found '', "
                                    "expected: !, identifier")
        elif peek() is not None:
            raise SelectorError(f"found '{peek()}', expected: ',' or "
                                "'end of string'")
    return reqs


def match_labels(reqs, labels):
    labels = labels or {}
    for key, op, vals in reqs:
        have = key in labels
        val = labels.get(key)
        if op == "exists" and not have:
            return False
        if op == "!exists" and have:
            return False
        if op == "=" and val != vals[0]:
            return False
        if op == "!=" and have and val == vals[0]:
            return False
        if op == "in" and (not have or val not in vals):
            return False
        if op == "notin" and have and val in vals:
            return False
        if op in ("gt", "lt"):
            try:
                n = int(val)
            except (TypeError, ValueError):
                return False
            if (op == "gt" and not n > int(vals[0])) or \
                    (op == "lt" and not n < int(vals[0])):
                return False
    return True


FIELDS = ("metadata.name", "metadata.namespace")


def parse_fields(text):
    """[(field, op, value)] for a field selector."""
    reqs = []
    for term in (text or "").split(","):
        term = term.strip()
        if not term:
            continue
        m = re.match(r"^([^=!]+?)\s*(==|!=|=)\s*(.*)$", term)
        if not m:
            raise SelectorError(f"invalid selector: '{text}'; can't understand "
                                f"'{term}'")
        field, op, value = m.group(1).strip(), m.group(2), m.group(3).strip()
        if field not in FIELDS:
            raise SelectorError(f'"{field}" is not a known field selector: '
                                'only "metadata.name", "metadata.namespace"')
        reqs.append((field, "!=" if op == "!=" else "=", value))
    return reqs


def match_fields(reqs, obj):
    meta = obj.get("metadata", {})
    for field, op, value in reqs:
        have = meta.get(field.split(".", 1)[1], "")
        if (op == "=") != (have == value):
            return False
    return True
