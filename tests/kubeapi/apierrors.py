"""API errors as `kind: Status` bodies, in the API server's own wording.

`details.kind` is the resource (plural, lowercase) for NotFound,
AlreadyExists, Conflict and Forbidden, and the Kind for Invalid, as the real
server reports them; `details.group` is present for non-core groups.
"""


class ApiError(Exception):
    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self):
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {},
                "status": "Failure", "message": self.message,
                "reason": self.reason, "code": self.code}
        if self.details is not None:
            body["details"] = self.details
        return body


def _details(res, name, by_kind=False):
    d = {"name": name, "kind": res.kind if by_kind else res.plural}
    if res.group:
        d["group"] = res.group
    return d


def _qualified(res):
    return res.plural + ("." + res.group if res.group else "")


def not_found(res, name):
    return ApiError(404, "NotFound", f'{_qualified(res)} "{name}" not found',
                    _details(res, name))


def already_exists(res, name):
    return ApiError(409, "AlreadyExists",
                    f'{_qualified(res)} "{name}" already exists',
                    _details(res, name))


def conflict(res, name, why="the object has been modified; please apply "
             "your changes to the latest version and try again"):
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on '
                    f'{_qualified(res)} "{name}": {why}', _details(res, name))


# A cause's value: None means "Required value", FORBIDDEN "Forbidden".
FORBIDDEN = object()


def invalid(res, name, causes):
    """causes: [(field, value, why)] → 422 with details.causes."""
    kind = res.kind + ("." + res.group if res.group else "")
    parts, out = [], []
    for field, value, why in causes:
        if value is None:
            msg = f"Required value: {why}"
            reason = "FieldValueRequired"
        elif value is FORBIDDEN:
            msg = f"Forbidden: {why}"
            reason = "FieldValueForbidden"
        else:
            msg = f'Invalid value: "{value}": {why}'
            reason = "FieldValueInvalid"
        parts.append(f"{field}: {msg}")
        out.append({"reason": reason, "message": msg, "field": field})
    text = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    details = _details(res, name, by_kind=True)
    details["causes"] = out
    return ApiError(422, "Invalid", f'{kind} "{name}" is invalid: {text}',
                    details)


def forbidden(res, name, why, causes=None):
    details = _details(res, name)
    if causes:
        details["causes"] = causes
    return ApiError(403, "Forbidden",
                    f'{_qualified(res)} "{name}" is forbidden: {why}', details)


def bad_request(message):
    return ApiError(400, "BadRequest", message)


def untyped_patch(path, value):
    """kube-apiserver's answer (1.20 and later) to an apply whose body does
    not fit the object's schema, e.g. a quantity sent as a JSON number: a 500,
    though the client is at fault."""
    return ApiError(500, "InternalError",
                    f"failed to create typed patch object: .{path}: expected "
                    f"string, got &value.valueUnstructured{{Value:{value}}}")


def method_not_allowed(message="the server does not allow this method on "
                       "the requested resource"):
    return ApiError(405, "MethodNotAllowed", message)


def unsupported_media(ctype):
    return ApiError(415, "UnsupportedMediaType",
                    f'the body of the request was in an unknown format - '
                    f'accepted media types include: application/json-patch+'
                    f'json, application/merge-patch+json, application/'
                    f'apply-patch+yaml, application/strategic-merge-patch+'
                    f'json (got "{ctype}")')


def expired(message):
    return ApiError(410, "Expired", message)
