#!/bin/sh
# The product as an operator installs it, with no environment override of
# any path: Outpost configured and built into a private prefix and put down by
# `make install`; a signed bundle laid out by that outpost's `install --root`;
# `outpost supervise` run from the installed files (the supervising program
# from libexec, the worker, platform.json, capacity.json and the app catalog
# from the installed data directory), with the suite's stand-ins for k3s (the
# fake k3s running the test API server, carried in the bundle as its k3s
# binary); a tenant of each catalog app taken to Ready. Also: `make install`
# writes nothing outside its prefix.
# ok and not_ok always succeed, so "test && ok || not_ok" is an if-then-else here.
# shellcheck disable=SC2015
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/supervise-lib.sh"
skip_unless helm
skip_unless kubectl
skip_unless sqlite3
. "$top_srcdir/tests/bundle-lib.sh"

P=$T/prefix R=$T/root
mkdir -p "$T/build" "$R"
# The vendor's key, installed by configure --with-vendor-key as the first trusted key.
make_keys "$T/keys"
# --- make install into the prefix, from this tree's distributed sources (a
# copy: a source tree configured in place refuses a second build beside it)
if (make -C "$top_builddir" distdir distdir="$T/src" >"$T/distdir.log" 2>&1 &&
    cd "$T/build" && "$T/src/configure" -q --prefix="$P" \
	--with-vendor-key="$T/keys/bundle-signing.pub" >"$T/configure.log" 2>&1 &&
    make -j2 >"$T/make.log" 2>&1 && make install >"$T/install.log" 2>&1); then
	ok "configure --prefix, make, make install"
else
	not_ok "configure --prefix, make, make install"
	tail -n 20 "$T/distdir.log" "$T/configure.log" "$T/make.log" "$T/install.log" 2>/dev/null | sed 's/^/# /'
	finish; exit 1
fi
OUTPOST=$P/bin/outpost
# The same install staged under DESTDIR shows every path it writes.
(cd "$T/build" && make install DESTDIR="$T/dest" >/dev/null 2>&1) || :
(cd "$T/dest" && find . ! -type d) | sed 's|^\.||' | grep -v "^$P/" >"$T/outside" || :
[ -d "$T/dest$P/bin" ] && [ ! -s "$T/outside" ] && ok "make install writes nothing outside its prefix" ||
	{ not_ok "make install writes nothing outside its prefix"; sed 's/^/# /' "$T/outside"; }
for f in bin/outpost libexec/outpost/outpost-supervise share/outpost/capacity.json share/outpost/platform.json \
	 share/outpost/apps/site/Chart.yaml share/outpost/apps/webapp/Chart.yaml lib/systemd/system/outpost.service; do
	[ -f "$P/$f" ] && ok "installed: $f" || not_ok "installed: $f"
done

[ "$(stat -c %a "$P/etc/outpost/trusted-keys/vendor.pub" 2>/dev/null)" = 644 ] &&
	cmp -s "$P/etc/outpost/trusted-keys/vendor.pub" "$T/keys/bundle-signing.pub" &&
	ok "installed: the vendor key, 0644" || not_ok "installed: the vendor key, 0644"

# --- a bundle whose k3s is the suite's stand-in, laid out by the installed outpost
make_bundle "$T/b.bundle" 1.0.0 standin
printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "${PYTHON3:-python3}" "$top_srcdir/tests/fake-k3s" >"$T/in-1.0.0/k3s"
"$PYTHON3" - "$T/in-1.0.0/bundle.lock" "$T/in-1.0.0/k3s" <<'PY'
import hashlib, json, sys
lock = json.load(open(sys.argv[1]))
for i in lock["inputs"]:
    if i["role"] == "k3s-binary":
        i["sha256"] = hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest()
json.dump(lock, open(sys.argv[1], "w"))
PY
expect_exit 0 "the installed outpost builds a signed bundle" -- "$OUTPOST" bundle build --quiet \
	--lock "$T/in-1.0.0/bundle.lock" --key "$T/keys/bundle-signing.key" --out "$T/b.bundle"
expect_exit 0 "the installed outpost trusts the vendor key with no --pubkey" -- "$OUTPOST" bundle verify \
	--quiet "$T/b.bundle"
expect_exit 0 "the installed outpost lays it out under --root" -- "$OUTPOST" install --root "$R" \
	--pubkey "$T/keys/bundle-signing.pub" --no-start --skip-preflight --quiet --bundle "$T/b.bundle"
[ -x "$R/usr/local/bin/k3s" ] && ok "k3s (the stand-in) is in place" || not_ok "k3s (the stand-in) is in place"

# --- supervise from the installed files; its settings in the installed
# configuration file, as an operator of a non-default root would write them.
mkdir -p "$P/etc/outpost" "$T/api"
cat >"$P/etc/outpost/supervise.json" <<EOF
{"k3s": "$R/usr/local/bin/k3s", "kubeconfig": "$T/api/kubeconfig",
 "images-dir": "$R/var/lib/rancher/k3s/agent/images",
 "poll": 300, "poll-idle": 1000, "component-retry": 1000}
EOF
cat >"$FAKE_K3S_CONTROL" <<CTL
api=$T/api
manifests=$R/var/lib/rancher/k3s/server/manifests
controllers={"helm": true, "jobs": true, "workloads": true, "delay": 0.1, "platform": "$P/share/outpost/platform.json"}
CTL
"$OUTPOST" --state "$T/state.db" supervise 2>"$T/outpost.log" &
OUTPOST_PID=$!
on_exit "kill -9 $OUTPOST_PID 2>/dev/null || :"
wait_for 60 "the API comes up" -- grep -q "API is ready" "$T/outpost.log" || :
[ "$(readlink "/proc/$OUTPOST_PID/exe")" = "$P/libexec/outpost/outpost-supervise" ] &&
	ok "the main process is the installed supervising program" ||
	not_ok "the main process is $(readlink "/proc/$OUTPOST_PID/exe")"
ready_components() {
	[ "$(sqlite3 "$T/state.db" "select count(*) from component_status where phase = 'Ready'")" -ge 5 ]
}
wait_for 120 "the platform of the installed platform.json is Ready" -- ready_components ||
	sqlite3 "$T/state.db" "select name, phase, message from component_status" | sed 's/^/# /' 

echo '{"cpu_millicores": 8000, "memory_mib": 16384, "disk_gib": 100}' >"$T/profile.json"
for app in site webapp; do
	expect_exit 0 "a tenant of the catalog app $app" -- "$OUTPOST" --state "$T/state.db" --profile "$T/profile.json" \
		tenant add "t-$app" --host "$app.example.test" --app "$app"
done
is_ready() { [ "$(sqlite3 "$T/state.db" "select phase from tenant_status where name = '$1'")" = Ready ]; }
for app in site webapp; do
	wait_for 120 "the $app tenant is Ready" -- is_ready "t-$app" || :
done
KUBECONFIG=$T/api/kubeconfig; export KUBECONFIG
for app in site webapp; do
	kubectl get helmchart "t-t-$app" -n kube-system -o jsonpath='{.spec.chart}' >"$T/chart" 2>/dev/null || :
	expect_grep "/static/charts/$app-" "$T/chart" "the $app tenant's HelmChart names the catalog chart's version"
done
if [ "$fails" -gt 0 ]; then tail -n 30 "$T/outpost.log" | sed 's/^/# /'; fi
kill -TERM "$OUTPOST_PID"
wait "$OUTPOST_PID" 2>/dev/null || :
finish
