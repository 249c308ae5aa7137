#!/bin/sh
# The real kubectl against the test API server: if kubectl is happy, the
# server speaks the API the way Outpost's client will meet it on k3s.
. "$top_srcdir/tests/lib.sh"
skip_unless kubectl
. "$top_srcdir/tests/kubeapi/start.sh"

kubeapi_start "$T/api" --token "test-token-$$"
k() { kubectl --kubeconfig "$KUBEAPI_KUBECONFIG" --cache-dir "$T/kcache" "$@"; }
fixture=$top_srcdir/tests/kubeapi/fixtures/objects.yaml

# jsonpath NAME: one field of one object (kubectl get ARGS -o jsonpath=...).
jp() { path=$1; shift; k get "$@" -o "jsonpath={$path}"; }

expect_exit 0 "kubectl get ns" -- k get ns
expect_grep '^kube-system  *Active' "$T/out" "kube-system is listed as Active"
expect_grep '^default ' "$T/out" "default is listed"

expect_exit 0 "kubectl get --raw /version" -- k get --raw /version
expect_grep '"gitVersion":"v1.33.[0-9]*+k3s1"' "$T/out" "k3s version"

expect_exit 0 "kubectl create ns (protobuf body)" -- k create ns t-made
expect_grep 'namespace/t-made created' "$T/out" "create reports created"
expect_exit 0 "get the new namespace" -- jp '.status.phase}{" "}{.metadata.labels.kubernetes\.io/metadata\.name' ns t-made
expect_grep '^Active t-made$' "$T/out" "Active, with the kubernetes.io/metadata.name label"
expect_exit 1 "create it again" -- k create ns t-made
expect_grep 'namespaces "t-made" already exists' "$T/err" "AlreadyExists"
expect_exit 1 "an invalid namespace name" -- k create ns Bad_Name
expect_grep 'The Namespace "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 label' "$T/err" "Invalid names the field"

# Server-side apply: creates, then a re-apply changes nothing.
expect_exit 0 "apply --server-side" -- k apply --server-side -f "$fixture"
for o in namespace/t-one configmap/cfg secret/creds deployment.apps/web helmchart.helm.cattle.io/app; do
	expect_grep "^$o serverside-applied" "$T/out" "$o applied"
done
rvs() { k get cm,secret,deploy,helmchart -n t-one -o 'jsonpath={range .items[*]}{.kind}/{.metadata.name}={.metadata.resourceVersion}{"\n"}{end}'; k get ns t-one -o 'jsonpath={.metadata.resourceVersion}'; }
rvs >"$T/rv1"
expect_exit 0 "the same apply again" -- k apply --server-side -f "$fixture"
rvs >"$T/rv2"
if cmp -s "$T/rv1" "$T/rv2" && [ "$(wc -l <"$T/rv1")" -eq 4 ]; then ok "a no-op re-apply changes no resourceVersion"
else not_ok "a no-op re-apply changed resourceVersions"; diff "$T/rv1" "$T/rv2" >&2 || :; fi

expect_exit 0 "get -o json" -- k get secret creds -n t-one -o json
expect_grep '"password": "aHVudGVyMg=="' "$T/out" "stringData became base64 data"
if grep -q stringData "$T/out"; then not_ok "stringData is not stored"; else ok "stringData is not stored"; fi
expect_grep '"type": "Opaque"' "$T/out" "Secret type defaulted"
expect_exit 0 "managed fields" -- k get cm cfg -n t-one -o json --show-managed-fields
expect_grep '"manager": "kubectl"' "$T/out" "kubectl is the field manager"
expect_grep '"operation": "Apply"' "$T/out" "with an Apply entry"
expect_grep '"f:other": {}' "$T/out" "owning data.other"
expect_exit 0 "deployment fields" -- jp '.spec.replicas}{" "}{.metadata.generation}{" "}{.spec.template.spec.containers[0].image' deploy web -n t-one
expect_grep '^2 1 registry.local/web:1$' "$T/out" "replicas, generation 1, image"

# Server-side field validation: kubectl asks for Strict.
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: typo, namespace: t-one}\ndta: {a: b}\n' >"$T/typo.yaml"
expect_exit 1 "apply with an unknown field" -- k apply --server-side -f "$T/typo.yaml"
expect_grep 'strict decoding error: unknown field "dta"' "$T/err" "Strict field validation refuses it"
expect_exit 0 "apply --validate=warn" -- k apply --server-side --validate=warn -f "$T/typo.yaml"
expect_grep 'Warning: unknown field "dta"' "$T/err" "Warn: kubectl shows the server's warning"
expect_exit 0 "typo cm stored without the field" -- k get cm typo -n t-one -o json
if grep -q dta "$T/out"; then not_ok "unknown field dropped"; else ok "unknown field dropped"; fi
expect_exit 0 "delete typo" -- k delete cm typo -n t-one

# Label selectors through kubectl.
expect_exit 0 "get -l 'a=b,c!=d'" -- k get cm,secret,deploy -A -l 'a=b,c!=d' -o name
expect_grep '^configmap/cfg$' "$T/out" "cfg matches a=b,c!=d"
expect_grep '^deployment.apps/web$' "$T/out" "web (no c label) matches c!=d"
if grep -q creds "$T/out"; then not_ok "creds (c=d) is excluded"; else ok "creds (c=d) is excluded"; fi
expect_exit 0 "get -l 'env in (x,y)'" -- k get ns,cm -A -l 'env in (x,y)' -o name
if [ "$(sort "$T/out" | tr '\n' ' ')" = "configmap/cfg namespace/t-one " ]; then ok "env in (x,y) selects the namespace and the ConfigMap"
else not_ok "env in (x,y) selected: $(tr '\n' ' ' <"$T/out")"; fi
expect_exit 0 "get -l '!env'" -- k get cm,secret -n t-one -l '!env' -o name
expect_grep '^secret/creds$' "$T/out" "!env selects creds only"
expect_exit 1 "a malformed selector" -- k get cm -A -l 'a in (b'
expect_grep 'unable to parse requirement' "$T/err" "400 with the parser's reason"

# Pagination: kubectl follows continue tokens.
expect_exit 0 "get ns --chunk-size=2" -- k get ns --chunk-size=2 -o name
if [ "$(wc -l <"$T/out")" -eq 6 ]; then ok "all 6 namespaces over 3 pages"; else not_ok "$(wc -l <"$T/out") namespaces listed, wanted 6"; fi

# Apply semantics: a field dropped from the applied config goes away; an
# apply by another manager conflicts unless forced.
sed 's/^  other: kept$//' "$fixture" >"$T/less.yaml"
expect_exit 0 "apply without data.other" -- k apply --server-side -f "$T/less.yaml"
expect_exit 0 "get cfg data" -- jp '.data' cm cfg -n t-one
if grep -q other "$T/out"; then not_ok "data.other removed"; else ok "data.other removed"; fi
cat >"$T/other.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: t-one}
data: {key: changed}
YAML
expect_exit 1 "apply by another manager" -- k apply --server-side --field-manager=intruder -f "$T/other.yaml"
expect_grep 'conflict with "kubectl"' "$T/err" "409 names the owning manager"
expect_exit 0 "apply --force-conflicts" -- k apply --server-side --field-manager=intruder --force-conflicts -f "$T/other.yaml"
expect_exit 0 "value taken" -- jp '.data.key' cm cfg -n t-one
expect_grep '^changed$' "$T/out" "forced value stored"

# A create and an apply by one manager are two entries (Update, Apply), as on
# a real API server: a field the apply drops stays while the create's entry
# owns it. Rewriting managedFields with [{}] clears them.
cat >"$T/made.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: made, namespace: t-one}
data: {a: "1", b: "2"}
YAML
sed 's/, b: "2"//' "$T/made.yaml" >"$T/made-less.yaml"
expect_exit 0 "create by manager kubectl" -- k create --field-manager=kubectl -f "$T/made.yaml"
expect_exit 0 "apply the same by kubectl" -- k apply --server-side -f "$T/made.yaml"
expect_exit 0 "apply without data.b" -- k apply --server-side -f "$T/made-less.yaml"
expect_exit 0 "get made" -- jp '.data.b' cm made -n t-one
expect_grep '^2$' "$T/out" "data.b stays: the Update entry still owns it"
expect_exit 0 "managers" -- k get cm made -n t-one --show-managed-fields \
	-o 'jsonpath={range .metadata.managedFields[*]}{.manager}/{.operation} {end}'
expect_grep '^kubectl/Apply kubectl/Update $' "$T/out" "two entries for one manager (Apply first, as the server orders them)"
expect_exit 0 "clear managedFields with [{}]" -- k patch cm made -n t-one --type=json \
	-p '[{"op":"replace","path":"/metadata/managedFields","value":[{}]}]'
expect_exit 0 "managedFields after the reset" -- k get cm made -n t-one --show-managed-fields -o json
if grep -q managedFields "$T/out"; then not_ok "managedFields cleared"; else ok "managedFields cleared"; fi

# Optimistic concurrency and errors through kubectl.
k get cm cfg -n t-one -o json >"$T/old.json"
expect_exit 0 "kubectl label" -- k label cm cfg -n t-one touched=yes
expect_exit 1 "replace with a stale resourceVersion" -- k replace -f "$T/old.json"
expect_grep 'Operation cannot be fulfilled on configmaps "cfg": the object has been modified' "$T/err" "409 Conflict on a stale update"
expect_exit 0 "merge patch" -- k patch cm cfg -n t-one --type=merge -p '{"data":{"patched":"1"}}'
expect_exit 0 "strategic patch of a container" -- k patch deploy web -n t-one -p '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"registry.local/web:2"}]}}}}'
expect_exit 0 "patched" -- jp '.spec.template.spec.containers[0].image}{" "}{.metadata.generation' deploy web -n t-one
expect_grep '^registry.local/web:2 2$' "$T/out" "image patched, generation bumped"
expect_exit 0 "kubectl scale (the /scale subresource)" -- k scale deploy web -n t-one --replicas=0
expect_exit 0 "scaled" -- jp '.spec.replicas}{" "}{.metadata.generation' deploy web -n t-one
expect_grep '^0 3$' "$T/out" "replicas 0, generation bumped"
expect_exit 1 "get a missing object" -- k get cm nope -n t-one
expect_grep 'Error from server (NotFound): configmaps "nope" not found' "$T/err" "404 NotFound from kubectl"
expect_exit 1 "get in a missing namespace" -- k create cm x -n no-such-ns
expect_grep 'namespaces "no-such-ns" not found' "$T/err" "creating in a missing namespace: namespace not found"

# The helm controller stand-in: a changed chart (new generation) gets a
# helm-install Job; kubectl wait watches it complete.
kubeapi_ctl controllers '{"helm": true}' >/dev/null
sed -n '/^kind: HelmChart/,$p' "$fixture" | sed 's/one.example/uno.example/' >"$T/changed.yaml"
sed -i '1i apiVersion: helm.cattle.io/v1' "$T/changed.yaml"
expect_exit 0 "apply a changed HelmChart" -- k apply --server-side -f "$T/changed.yaml"
expect_exit 0 "chart generation" -- jp '.metadata.generation' helmchart app -n t-one
expect_grep '^2$' "$T/out" "valuesContent change bumps the generation"
i=0
until k get job helm-install-app -n t-one >/dev/null 2>&1 || [ $i -ge 300 ]; do sleep 0.1; i=$((i + 1)); done
expect_exit 0 "kubectl wait for the helm-install job" -- k wait --for=condition=complete job/helm-install-app -n t-one --timeout=30s
expect_exit 0 "kubectl delete cm" -- k delete cm cfg -n t-one
expect_grep 'configmap "cfg" deleted' "$T/out" "delete reports deleted"
expect_exit 1 "deleted cm is gone" -- k get cm cfg -n t-one
expect_exit 1 "delete it again" -- k delete cm cfg -n t-one
expect_grep 'configmaps "cfg" not found' "$T/err" "404 on a second delete"

# Namespace deletion: Terminating, refuses new content, then everything goes.
# A finalizer of the test's own holds the namespace Terminating for as long
# as the checks take, however slow the machine.
expect_exit 0 "a finalizer holds t-one" -- k patch ns t-one --type=merge -p '{"metadata": {"finalizers": ["example.test/hold"]}}'
expect_exit 0 "delete ns --wait=false" -- k delete ns t-one --wait=false
expect_exit 0 "namespace is Terminating" -- jp '.status.phase' ns t-one
expect_grep '^Terminating$' "$T/out" "phase Terminating"
expect_exit 1 "create in a Terminating namespace" -- k create cm late -n t-one
expect_grep 'configmaps "late" is forbidden: unable to create new content in namespace t-one because it is being terminated' "$T/err" "403 Forbidden, real message"
contents() { k get secret,deploy,helmchart,job -n t-one -o name 2>/dev/null; }
end=$(($(date +%s) + 60))
while [ -n "$(contents)" ] && [ "$(date +%s)" -lt "$end" ]; do sleep 0.2; done
if [ -z "$(contents)" ]; then ok "the contents go while the finalizer holds the namespace"
else not_ok "contents left after 60 s: $(contents | tr '\n' ' ')"; fi
expect_exit 0 "still Terminating" -- jp '.status.phase' ns t-one
expect_grep '^Terminating$' "$T/out" "phase still Terminating"
expect_exit 0 "the finalizer is removed" -- k patch ns t-one --type=json -p '[{"op": "remove", "path": "/metadata/finalizers"}]'
expect_exit 0 "kubectl wait --for=delete" -- k wait --for=delete ns/t-one --timeout=30s
expect_exit 1 "namespace gone" -- k get ns t-one
expect_exit 0 "nothing left in it" -- k get secret,deploy,helmchart,job -n t-one -o name
if [ -s "$T/out" ]; then not_ok "objects survived: $(cat "$T/out")"; else ok "the namespace's objects are gone"; fi
expect_exit 0 "kubectl delete ns waits until gone" -- k delete ns t-made
expect_exit 1 "t-made gone" -- k get ns t-made

# kubectl get -w: a Table per watch event, printed in the same columns.
: >"$T/watch"
k get ns -w >>"$T/watch" 2>&1 &
watcher=$!
on_exit "kill $watcher 2>/dev/null || :"
i=0
until grep -q '^kube-system' "$T/watch" || [ $i -ge 300 ]; do sleep 0.1; i=$((i + 1)); done
k create ns t-watched >/dev/null
until grep -q '^t-watched  *Active' "$T/watch" || [ $i -ge 600 ]; do sleep 0.1; i=$((i + 1)); done
kill $watcher 2>/dev/null || :
expect_grep '^t-watched  *Active  *[0-9]*s$' "$T/watch" "get -w prints the new namespace as a table row"

# The bearer-token kubeconfig works too.
expect_exit 0 "kubectl with a bearer token" -- kubectl --kubeconfig "$KUBEAPI_DIR/kubeconfig-token" --cache-dir "$T/kcache" get ns default -o name
expect_grep '^namespace/default$' "$T/out" "token authenticates"

expect_exit 0 "counters" -- kubeapi_ctl counters
expect_grep '"Namespace": [1-9]' "$T/out" "counters count Namespace requests"
finish
