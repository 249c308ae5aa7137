# shellcheck shell=sh
# The installer's decisions, apart from its actions so that tests can run
# them with made-up disks and answers. Source it; nothing here writes a disk.

# cfg KEY: the setting from the config file ($CFG_FILE, key=value lines) or,
# failing that, the kernel command line (outpost.KEY=value, from $CMDLINE).
cfg() {
	v=
	if [ -n "${CFG_FILE:-}" ] && [ -r "$CFG_FILE" ]; then
		v=$(sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$CFG_FILE" | tail -1)
	fi
	if [ -z "$v" ]; then
		# The command line is one line of words.
		# shellcheck disable=SC2013
		for w in $(cat "${CMDLINE:-/proc/cmdline}"); do
			case $w in "outpost.$1="*) v=${w#*=} ;; esac
		done
	fi
	printf '%s' "$v"
}

# disks: "NAME SIZE_BYTES MODEL..." for every writable whole disk, from
# lsblk (or $LSBLK_OUT, a file with lsblk's -dbnr -o NAME,SIZE,TYPE,RO,MODEL
# output). The medium we booted from (label OUTPOST) is left out.
disks() {
	if [ -n "${LSBLK_OUT:-}" ]; then cat "$LSBLK_OUT"; else
		lsblk -dbnr -o NAME,SIZE,TYPE,RO,MODEL; fi |
		awk -v boot="${BOOT_DISK:-}" '$3 == "disk" && $4 == 0 && $1 != boot {
			m = ""; for (i = 5; i <= NF; i++) m = m (m ? " " : "") $i
			gsub(/\\x20/, " ", m); print $1, $2, (m ? m : "-") }'
}

# min_disk_gib / ref_disk_gib: from capacity.json ($CAPACITY): the minimum is
# what the system and k3s reserve plus the platform's volumes; the reference
# box is its profile.
min_disk_gib() {
	python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); r=c["reserved"]
print(r["system"]["disk_gib"] + r["k3s"]["disk_gib"] + sum(p["storage_gib"] for p in c["platform"].values()))' "$CAPACITY"
}
ref_disk_gib() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["reference_profile"]["disk_gib"])' "$CAPACITY"
}

# judge_disk SIZE_BYTES: prints "refuse <why>", "warn <why>" or "ok".
judge_disk() {
	gib=$(($1 / 1073741824)) min=$(min_disk_gib) ref=$(ref_disk_gib)
	if [ "$gib" -lt "$min" ]; then echo "refuse disk is ${gib} GiB, the minimum is ${min} GiB"
	elif [ "$gib" -lt "$ref" ]; then echo "warn disk is ${gib} GiB, below the reference box's ${ref} GiB"
	else echo ok; fi
}

# choose_disk: the interactive screen. Lists the disks, reads a number or a
# name on stdin, prints the chosen name on fd 3. Returns 1 on no disks or
# an answer that names none.
choose_disk() {
	disks >"${TMPDIR:-/tmp}/disks.$$"
	if [ ! -s "${TMPDIR:-/tmp}/disks.$$" ]; then echo "No disk to install on."; rm -f "${TMPDIR:-/tmp}/disks.$$"; return 1; fi
	echo "Disks on this machine:"
	awk '{ s = $2 / 1073741824; m = ""; for (i = 3; i <= NF; i++) m = m " " $i
		printf "  %d) /dev/%-10s %8.1f GiB %s\n", NR, $1, s, m }' "${TMPDIR:-/tmp}/disks.$$"
	printf 'Install Outpost on which disk (number or name)? '
	read -r ans || ans=
	ans=${ans#/dev/}
	pick=$(awk -v a="$ans" '(NR "" == a) || ($1 == a) { print $1; exit }' "${TMPDIR:-/tmp}/disks.$$")
	rm -f "${TMPDIR:-/tmp}/disks.$$"
	[ -n "$pick" ] || { echo "No such disk: '$ans'."; return 1; }
	echo "$pick" >&3
}

# confirm_erase DISK: the typed confirmation; only the disk's name, typed
# back exactly, agrees.
confirm_erase() {
	printf 'Everything on /dev/%s will be erased. Type its name (%s) to go on: ' "$1" "$1"
	read -r ans || ans=
	[ "$ans" = "$1" ] || [ "$ans" = "/dev/$1" ]
}

# network_unit: the systemd-networkd file for the installed system. Static
# when the config gives address= (CIDR, e.g. 192.0.2.10/24), with gateway=
# and dns= (addresses separated by commas or spaces); DHCP otherwise.
# Returns 1, with the reason on stderr, for an address without a prefix
# length or a gateway/dns without an address.
network_unit() {
	addr=$(cfg address) gw=$(cfg gateway) dns=$(cfg dns)
	printf '[Match]\nName=en* eth*\n\n[Network]\n'
	if [ -z "$addr" ]; then
		if [ -n "$gw$dns" ]; then echo "gateway= or dns= without address=" >&2; return 1; fi
		echo "DHCP=yes"
		return 0
	fi
	case $addr in
	*/[0-9] | */[0-9][0-9] | */[0-9][0-9][0-9]) ;;
	*) echo "address=$addr: give it as ADDRESS/PREFIX (e.g. 192.0.2.10/24)" >&2; return 1 ;;
	esac
	echo "Address=$addr"
	[ -z "$gw" ] || echo "Gateway=$gw"
	for d in $(echo "$dns" | tr ',' ' '); do echo "DNS=$d"; done
}
