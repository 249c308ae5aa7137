# shellcheck shell=sh
# Helpers for the backup tests and benchmarks; source after lib.sh.

# backup_box ROOT VERSION: a box under ROOT with bundle VERSION installed, as
# far as backup and restore look (the install record).
backup_box() {
	mkdir -p "$1/var/lib/outpost"
	printf '{"format":1,"state":"complete","current":{"version":"%s","manifest_sha256":"00"}}\n' "$2" \
		>"$1/var/lib/outpost/install.json"
}

# backup_profile: a box large enough that no tenant added is refused.
backup_profile() {
	OUTPOST_PROFILE=$T/profile.json
	export OUTPOST_PROFILE
	echo '{"cpu_millicores": 4096000, "memory_mib": 16777216, "disk_gib": 1000000}' >"$OUTPOST_PROFILE"
}

# backup_forward_standin ROOT NAMESPACE/POD REMOTE LOCAL SECRET KEY=VALUE...:
# a stand-in at ROOT's installed k3s path for the two kubectl commands a
# pod runner uses: `port-forward -n NAMESPACE POD :REMOTE`, which reports
# LOCAL as the local end of its tunnel (a test server's port), writes its
# pid to $T/forward.pid and stays up until stopped, and `get secret -n
# NAMESPACE SECRET -o jsonpath={.data.KEY}` for each KEY given. Every
# command line goes to $T/kubectl.log; anything else fails as kubectl does.
backup_forward_standin() {
	_root=$1 _ns=${2%%/*} _pod=${2#*/} _remote=$3 _local=$4 _secret=$5
	shift 5
	mkdir -p "$_root/usr/local/bin"
	# shellcheck disable=SC2016 # the stand-in's own $1, $2, $* and $$
	{
		printf '#!/bin/sh\necho "$*" >>"%s/kubectl.log"\n' "$T"
		printf '[ "$1 $2" = "kubectl --kubeconfig" ] || exit 64\nshift 3\ncase "$*" in\n'
		printf '"port-forward -n %s %s :%s")\n' "$_ns" "$_pod" "$_remote"
		printf '\techo "Forwarding from 127.0.0.1:%s -> %s"\n' "$_local" "$_remote"
		printf '\techo "Forwarding from [::1]:%s -> %s"\n' "$_local" "$_remote"
		printf '\techo $$ >"%s/forward.pid"\n\texec sleep 600 ;;\n' "$T"
		for _kv; do
			printf '"get secret -n %s %s -o jsonpath={.data.%s}")\n\tprintf %%s %s ;;\n' \
				"$_ns" "$_secret" "${_kv%%=*}" "$(printf '%s' "${_kv#*=}" | base64 -w0)"
		done
		printf '*) echo "error: not found: $*" >&2; exit 1 ;;\nesac\n'
	} >"$_root/usr/local/bin/k3s"
	chmod +x "$_root/usr/local/bin/k3s"
}
