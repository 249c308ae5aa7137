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
