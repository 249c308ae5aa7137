"""A minimal reader of Kubernetes protobuf bodies.

Typed clients (kubectl create namespace|configmap|secret|serviceaccount)
send `application/vnd.kubernetes.protobuf`: a "k8s\\0" magic, then a
runtime.Unknown envelope {typeMeta, raw}.  Only the kinds and fields those
commands send are decoded (ObjectMeta's name, generateName, namespace,
resourceVersion, labels, annotations, ownerReferences, finalizers; the data
of ConfigMap and Secret; Namespace spec; ServiceAccount automount).  Other
kinds answer 415, so a client that needs more fails loudly.  Zero values are
dropped, as JSON's omitempty would.
"""
import base64

MAGIC = b"k8s\x00"

STR, BYTES, VARINT, BOOL = "string", "bytes", "varint", "bool"
MAP_STR = ("map", STR)
MAP_BYTES = ("map", BYTES)

OWNER_REF = {1: ("kind", STR), 3: ("name", STR), 4: ("uid", STR),
             5: ("apiVersion", STR), 6: ("controller", BOOL),
             7: ("blockOwnerDeletion", BOOL)}
OBJECT_META = {1: ("name", STR), 2: ("generateName", STR),
               3: ("namespace", STR), 6: ("resourceVersion", STR),
               11: ("labels", MAP_STR), 12: ("annotations", MAP_STR),
               13: ("ownerReferences", ("repeated", OWNER_REF)),
               14: ("finalizers", ("repeated", STR))}
SCHEMAS = {
    ("v1", "Namespace"): {1: ("metadata", OBJECT_META),
                          2: ("spec", {1: ("finalizers",
                                           ("repeated", STR))})},
    ("v1", "ConfigMap"): {1: ("metadata", OBJECT_META),
                          2: ("data", MAP_STR),
                          3: ("binaryData", MAP_BYTES),
                          4: ("immutable", BOOL)},
    ("v1", "Secret"): {1: ("metadata", OBJECT_META), 2: ("data", MAP_BYTES),
                       3: ("type", STR), 4: ("stringData", MAP_STR),
                       5: ("immutable", BOOL)},
    ("v1", "ServiceAccount"): {1: ("metadata", OBJECT_META),
                               3: ("automountServiceAccountToken", BOOL)},
}


class ProtobufError(ValueError):
    pass


def _varint(buf, i):
    shift = result = 0
    while True:
        if i >= len(buf):
            raise ProtobufError("truncated varint")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def _fields(buf):
    """(field number, wire type, value) for each field of a message."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            val, i = _varint(buf, i)
        elif wt == 2:
            n, i = _varint(buf, i)
            val = buf[i:i + n]
            if len(val) != n:
                raise ProtobufError("truncated field")
            i += n
        elif wt == 1:
            val, i = buf[i:i + 8], i + 8
        elif wt == 5:
            val, i = buf[i:i + 4], i + 4
        else:
            raise ProtobufError(f"unsupported wire type {wt}")
        yield num, wt, val


def _scalar(kind, val):
    if kind == STR:
        return bytes(val).decode()
    if kind == BYTES:
        return base64.b64encode(bytes(val)).decode()
    if kind == BOOL:
        return bool(val)
    return val


def _message(buf, schema):
    out = {}
    for num, _, val in _fields(buf):
        if num not in schema:
            continue
        name, kind = schema[num]
        if isinstance(kind, dict):
            out[name] = _message(val, kind)
        elif isinstance(kind, tuple) and kind[0] == "map":
            entry = {k: v for k, _, v in _fields(val)}
            out.setdefault(name, {})[_scalar(STR, entry.get(1, b""))] = \
                _scalar(kind[1], entry.get(2, b""))
        elif isinstance(kind, tuple):
            item = _message(val, kind[1]) if isinstance(kind[1], dict) \
                else _scalar(kind[1], val)
            out.setdefault(name, []).append(item)
        else:
            out[name] = _scalar(kind, val)
    return {k: v for k, v in out.items() if v not in ("", 0, False, {}, [])}


def decode(data):
    """The JSON-shaped object of a protobuf body."""
    if not data.startswith(MAGIC):
        raise ProtobufError("missing k8s protobuf magic")
    env = {n: v for n, _, v in _fields(data[len(MAGIC):])}
    tm = {n: bytes(v).decode() for n, _, v in _fields(env.get(1, b""))}
    api_version, kind = tm.get(1, ""), tm.get(2, "")
    schema = SCHEMAS.get((api_version, kind))
    if schema is None:
        raise ProtobufError(f"this test server decodes protobuf only for "
                            f"{', '.join(k for _, k in SCHEMAS)} (got "
                            f"{api_version} {kind}); send JSON")
    obj = _message(env.get(2, b""), schema)
    obj["apiVersion"], obj["kind"] = api_version, kind
    return obj
