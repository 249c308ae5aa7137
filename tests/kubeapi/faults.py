"""Fault injection and request counters.

A fault configuration is a JSON object (every key optional):
  seed            RNG seed (default 1): the same seed and the same request
                  sequence give the same faults
  error_rate      fraction of API requests answered with an error
  error_codes     codes to pick from uniformly (default [500, 502, 503, 504]);
                  502 comes with a text/plain body as a proxy would send it,
                  the others with a `kind: Status` body
  throttle_rate   fraction answered 429 TooManyRequests with Retry-After
  retry_after     the Retry-After seconds (default 1)
  latency_ms      added to every API request (default 0)
  jitter_ms       plus uniform 0..jitter_ms
  drop_rate       fraction whose connection is closed with no response,
                  before the request is processed
  drop_after_rate fraction processed (the write happens) and then dropped
                  with no response: the "did my write land?" case
  max_inflight    at most this many API requests in progress at once (watches,
                  discovery and health excepted); more are answered 429 with
                  Retry-After, as API
                  Priority and Fairness does when a level's seats are taken
  verbs           only requests with these verbs are faulted (default all)
  kinds           only requests for these kinds are faulted (default all)
  health          also fault /readyz /livez /healthz /version (default no)
  rules           deterministic faults, checked first, whatever the rates:
                  [{"verb": "apply", "kind": "Secret", "namespace": "t-a",
                    "name": "creds", "code": 503, "times": 2}, ...]; every
                  key but "code" is optional (absent = any); "code" is an
                  HTTP status, "drop" or "drop_after"; "times" (default 1,
                  0 = forever) counts the matching requests it answers;
                  "name" is the name in the URL (so never matches a create)
Admin endpoints (/_admin/...) are never faulted.  Discovery and openapi are
faulted like API requests (kubectl retries them as any client must).
"""
import random
import threading

VERBS = ["get", "list", "watch", "create", "update", "patch", "apply",
         "delete", "deletecollection"]
WRITES = {"create", "update", "patch", "apply", "delete", "deletecollection"}


class Faults:
    def __init__(self, config=None):
        self.lock = threading.Lock()
        self.inflight = 0
        self.set(config or {})

    def admit(self, verb):
        """False when max_inflight requests are already in progress; else
        counts this one in (release() when done)."""
        with self.lock:
            limit = self.config.get("max_inflight")
            if limit and verb not in (None, "watch") and \
                    self.inflight >= limit:
                return False
            self.inflight += 1
            return True

    def release(self):
        with self.lock:
            self.inflight -= 1

    def set(self, config):
        known = {"seed", "error_rate", "error_codes", "throttle_rate",
                 "retry_after", "latency_ms", "jitter_ms", "drop_rate",
                 "drop_after_rate", "verbs", "kinds", "health",
                 "max_inflight", "rules"}
        bad = set(config) - known
        if bad:
            raise ValueError(f"unknown fault keys: {', '.join(sorted(bad))}")
        rules = []
        for rule in config.get("rules", []):
            if not isinstance(rule, dict) or "code" not in rule or \
                    set(rule) - {"verb", "kind", "namespace", "name", "code",
                                 "times", "retry_after"}:
                raise ValueError(f"bad fault rule: {rule!r}")
            rules.append(dict(rule, left=rule.get("times", 1)))
        with self.lock:
            self.config = dict(config)
            self.rules = rules
            self.rng = random.Random(config.get("seed", 1))

    def get(self):
        with self.lock:
            return dict(self.config)

    def _rule(self, verb, kind, ns, name):
        for rule in self.rules:
            if rule["left"] == -1 or \
                    any(rule.get(k) not in (None, v) for k, v in (
                        ("verb", verb), ("kind", kind), ("namespace", ns),
                        ("name", name))):
                continue
            if rule["left"] > 0:
                rule["left"] = rule["left"] - 1 or -1
            code = rule["code"]
            if code in ("drop", "drop_after"):
                return code
            if code == 429:
                return ("throttle", rule.get("retry_after",
                                             self.config.get("retry_after",
                                                             1)))
            return ("error", code)
        return None

    def decide(self, verb, kind, health=False, ns=None, name=None):
        """(delay seconds, action) with action None, 'drop', 'drop_after',
        ('error', code) or ('throttle', retry_after)."""
        with self.lock:
            if verb is not None:
                action = self._rule(verb, kind, ns, name)
                if action is not None:
                    return 0.0, action
            c = self.config
            if not c or (health and not c.get("health")):
                return 0.0, None
            if c.get("verbs") and verb not in c["verbs"]:
                return 0.0, None
            if c.get("kinds") and kind not in c["kinds"]:
                return 0.0, None
            r = self.rng
            delay = c.get("latency_ms", 0) / 1000.0
            if c.get("jitter_ms"):
                delay += r.uniform(0, c["jitter_ms"]) / 1000.0
            # One draw per request keeps the rates exact and independent of
            # the order the keys appear in.
            x = r.random()
            for action, rate in (("drop", c.get("drop_rate", 0)),
                                 ("throttle", c.get("throttle_rate", 0)),
                                 ("error", c.get("error_rate", 0)),
                                 ("drop_after", c.get("drop_after_rate", 0))):
                if x < rate:
                    if action == "error":
                        codes = c.get("error_codes") or [500, 502, 503, 504]
                        return delay, ("error", r.choice(codes))
                    if action == "throttle":
                        return delay, ("throttle", c.get("retry_after", 1))
                    return delay, action
                x -= rate
            return delay, None


class Counters:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.verbs = {v: {} for v in VERBS}
            self.total = 0
            self.writes = 0
            self.other = 0
            self.by_code = {}
            self.faults = {"error": {}, "throttle": 0, "drop": 0,
                           "drop_after": 0, "delayed": 0, "inflight": 0}

    def request(self, verb, kind):
        with self.lock:
            self.total += 1
            if verb is None:
                self.other += 1
                return
            d = self.verbs[verb]
            d[kind] = d.get(kind, 0) + 1
            if verb in WRITES:
                self.writes += 1

    def response(self, code):
        with self.lock:
            k = str(code)
            self.by_code[k] = self.by_code.get(k, 0) + 1

    def fault(self, action, delay):
        with self.lock:
            if action == "inflight":
                self.faults["inflight"] += 1
                return
            if delay > 0:
                self.faults["delayed"] += 1
            if action is None:
                return
            if isinstance(action, tuple):
                if action[0] == "error":
                    k = str(action[1])
                    self.faults["error"][k] = \
                        self.faults["error"].get(k, 0) + 1
                else:
                    self.faults["throttle"] += 1
            else:
                self.faults[action] += 1

    def snapshot(self):
        with self.lock:
            out = {v: dict(d) for v, d in self.verbs.items()}
            out.update({"total": self.total, "writes": self.writes,
                        "other": self.other, "by_code": dict(self.by_code),
                        "faults": {"error": dict(self.faults["error"]),
                                   **{k: v for k, v in self.faults.items()
                                      if k != "error"}}})
            return out
