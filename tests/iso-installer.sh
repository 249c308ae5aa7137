#!/bin/sh
# The installer's decisions (iso/installer-lib.sh) with made-up disks and
# typed answers: the interactive screen, the typed confirmation, the config
# from a file or the kernel command line, and the disk-size preflight.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/iso/installer-lib.sh"
# shellcheck disable=SC2034 # read by iso/installer-lib.sh
CAPACITY=$top_srcdir/charts/capacity.json
TMPDIR=$T; export TMPDIR

# lsblk -dbnr -o NAME,SIZE,TYPE,RO,MODEL as it prints them (spaces as \x20).
cat >"$T/lsblk" <<'L'
sda 500107862016 disk 0 Samsung\x20SSD\x20870
sr0 1073741824 rom 0 QEMU\x20DVD-ROM
sdb 16013942784 disk 0 USB\x20Stick
sdc 128035676160 disk 1 Read\x20Only
nvme0n1 1024209543168 disk 0 WD\x20Blue\x20SN570
L
LSBLK_OUT=$T/lsblk BOOT_DISK=sdb; export LSBLK_OUT BOOT_DISK
disks >"$T/d"
printf 'sda 500107862016 Samsung SSD 870\nnvme0n1 1024209543168 WD Blue SN570\n' >"$T/want"
cmp -s "$T/d" "$T/want" && ok "disks: writable whole disks, not the boot medium, models decoded" ||
	{ not_ok "disks"; diff "$T/want" "$T/d" | sed 's/^/# /' >&2; }

echo 2 | choose_disk >"$T/screen" 3>"$T/pick" && [ "$(cat "$T/pick")" = nvme0n1 ] &&
	ok "choose by number" || not_ok "choose by number: $(cat "$T/pick")"
expect_grep "2) /dev/nvme0n1 *953.9 GiB *WD Blue SN570" "$T/screen" "the screen lists size and model"
echo /dev/sda | choose_disk >"$T/screen" 3>"$T/pick" && [ "$(cat "$T/pick")" = sda ] &&
	ok "choose by name" || not_ok "choose by name"
if echo sdb | choose_disk >"$T/screen" 3>"$T/pick"; then not_ok "the boot medium was offered"; else
	expect_grep "No such disk: 'sdb'" "$T/screen" "the boot medium cannot be chosen"; fi
if choose_disk </dev/null >"$T/screen" 3>"$T/pick"; then not_ok "no answer chose a disk"; else ok "no answer chooses nothing"; fi
: >"$T/none"
if LSBLK_OUT=$T/none choose_disk </dev/null >"$T/screen" 3>"$T/pick"; then not_ok "chose from no disks"; else
	expect_grep "No disk to install on" "$T/screen" "no disks: says so"; fi

echo sda | confirm_erase sda >"$T/screen" && ok "typed name confirms" || not_ok "typed name"
expect_grep "Everything on /dev/sda will be erased" "$T/screen" "the confirmation says what is erased"
echo yes | confirm_erase sda >/dev/null && not_ok "'yes' must not confirm" || ok "'yes' does not confirm"
confirm_erase sda </dev/null >/dev/null && not_ok "end of input must not confirm" || ok "end of input does not confirm"

# Config: the file wins, the kernel command line fills in.
echo "BOOT_IMAGE=/live/vmlinuz boot=live outpost.install=auto outpost.disk=/dev/vda outpost.wipe=true" >"$T/cmdline"
CMDLINE=$T/cmdline; export CMDLINE
[ "$(cfg install)" = auto ] && [ "$(cfg disk)" = /dev/vda ] && ok "config from the kernel command line" ||
	not_ok "cmdline config: $(cfg install) $(cfg disk)"
printf 'disk = /dev/sdz\nssh_key=ssh-ed25519 AAAA admin@x\n' >"$T/conf"
CFG_FILE=$T/conf; export CFG_FILE
[ "$(cfg disk)" = /dev/sdz ] && [ "$(cfg wipe)" = true ] && [ "$(cfg ssh_key)" = "ssh-ed25519 AAAA admin@x" ] &&
	ok "the config file wins, the command line fills in" || not_ok "file config: $(cfg disk) $(cfg wipe) $(cfg ssh_key)"

# Network: DHCP unless address= is given; static with gateway and DNS.
unset CFG_FILE
printf 'disk=/dev/vda\n' >"$T/net.conf"
CFG_FILE=$T/net.conf network_unit >"$T/net" 2>"$T/net.err" && grep -qx "DHCP=yes" "$T/net" &&
	ok "no address: DHCP" || not_ok "DHCP: $(cat "$T/net" "$T/net.err")"
printf 'address=10.0.2.15/24\ngateway=10.0.2.2\ndns=10.0.2.3, 192.0.2.53\n' >"$T/net.conf"
CFG_FILE=$T/net.conf network_unit >"$T/net" 2>"$T/net.err"
printf '[Match]\nName=en* eth*\n\n[Network]\nAddress=10.0.2.15/24\nGateway=10.0.2.2\nDNS=10.0.2.3\nDNS=192.0.2.53\n' >"$T/want"
cmp -s "$T/net" "$T/want" && ok "address=: a static network with gateway and DNS" ||
	{ not_ok "static network"; diff "$T/want" "$T/net" | sed 's/^/# /' >&2; }
printf 'address=10.0.2.15\n' >"$T/net.conf"
if CFG_FILE=$T/net.conf network_unit >/dev/null 2>"$T/net.err"; then not_ok "an address without prefix was taken"; else
	expect_grep "give it as ADDRESS/PREFIX" "$T/net.err" "an address without its prefix length is refused"; fi
printf 'gateway=10.0.2.2\n' >"$T/net.conf"
if CFG_FILE=$T/net.conf network_unit >/dev/null 2>"$T/net.err"; then not_ok "a gateway without address was taken"; else
	expect_grep "without address=" "$T/net.err" "a gateway without an address is refused"; fi
CFG_FILE=$T/conf; export CFG_FILE

# Preflight: capacity.json's minimum (system + k3s + platform volumes) and reference box.
min=$(min_disk_gib)
[ "$min" = 64 ] && ok "minimum disk from capacity.json is 64 GiB" || not_ok "minimum disk $min"
case $(judge_disk $((20 * 1073741824))) in "refuse disk is 20 GiB, the minimum is 64 GiB") ok "a 20 GiB disk is refused" ;;
	*) not_ok "20 GiB: $(judge_disk $((20 * 1073741824)))" ;; esac
case $(judge_disk $((80 * 1073741824))) in "warn disk is 80 GiB, below the reference box's 100 GiB") ok "an 80 GiB disk warns" ;;
	*) not_ok "80 GiB: $(judge_disk $((80 * 1073741824)))" ;; esac
[ "$(judge_disk 500107862016)" = ok ] && ok "a 500 GB disk passes" || not_ok "500 GB"
if [ -n "${SHELLCHECK:-}" ]; then
	# SC2016: single-quoted code runs in the target (mmdebstrap hooks, sh -c).
	expect_exit 0 "the ISO's scripts pass shellcheck" -- "$SHELLCHECK" -x -e SC1091,SC2015,SC2016,SC2012,SC2154 \
		"$top_srcdir/iso/build" "$top_srcdir/iso/build-root" "$top_srcdir/iso/installer" \
		"$top_srcdir/iso/installer-lib.sh" "$top_srcdir/iso/k3s-standin" "$top_srcdir/iso/outpost-issue" \
		"$top_srcdir/tests/iso-vm.sh" \
		"$top_srcdir/tests/iso-installer.sh"
else
	echo "# shellcheck not installed: the ISO's scripts not linted"
fi
finish
