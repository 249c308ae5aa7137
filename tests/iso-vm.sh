#!/bin/sh
# The installer ISO in a QEMU virtual machine (TCG; KVM does not run guests on
# these machines): build it with the suite's k3s stand-in in the bundle,
# install unattended onto a blank disk from a labelled config medium, boot
# the disk (without the ISO attached), check over the serial console that
# first boot installed the bundle and runs the appliance, then boot again
# and check that nothing changed. FIRMWARE=uefi (default, OVMF) or bios;
# The bundle's k3s is the real control plane's stand-in (kube-apiserver and
# kube-controller-manager of tests/realapi, needs its cached build);
# OUTPOST_ISO_REAL=0 puts the test API server's stand-in there instead.
# Minutes long: it runs when CI=true or OUTPOST_ISO_CHECK=1 (`make iso-check`).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/bundle-lib.sh"
if [ "${CI:-}" != true ] && [ "${OUTPOST_ISO_CHECK:-}" != 1 ]; then
	echo "SKIP: the VM install takes minutes; run make iso-check (or set OUTPOST_ISO_CHECK=1)"; exit 77
fi
for t in qemu-system-x86_64 qemu-img mmdebstrap mksquashfs grub-mkrescue xorriso mkfs.vfat mcopy helm kubectl dpkg-buildpackage; do
	skip_unless "$t"
done
FIRMWARE=${FIRMWARE:-uefi}
OVMF=/usr/share/ovmf/OVMF.fd
case $FIRMWARE in
uefi) [ -r "$OVMF" ] || skip "OVMF not installed ($OVMF)"; fw="-bios $OVMF" ;;
bios) fw= ;;
*) echo "FIRMWARE=$FIRMWARE: uefi or bios" >&2; exit 2 ;;
esac
now() { date +%s; }

# --- build ---------------------------------------------------------------
t0=$(now)
expect_exit 0 "make deb" -- env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "${MAKE:-make}" -s --no-print-directory -C "$top_builddir" deb \
	DEB_SCRATCH="$T/deb-build" DEB_OUT="$T/pkg"
DEB=$(tail -n 1 "$T/out")
[ -r "$DEB" ] || { finish; exit 1; }
make_keys "$T/keys"
# By default the bundle's "k3s" is the real control plane's
# stand-in (tests/realapi: kube-apiserver and kube-controller-manager from
# the cached build, etcd, the real helm), which needs more memory.
MEM=2048 W=1
if [ "${OUTPOST_ISO_REAL:-1}" = 1 ]; then
	. "$top_srcdir/tests/realapi/rig.sh"
	realapi_available || skip "the real control plane: $realapi_missing"
	expect_exit 0 "the real control plane's k3s stand-in" -- "$top_srcdir/iso/k3s-standin" --real "$REALAPI_BIN" "$T/k3s"
	# The real platform charts (the fixture bundle's are ConfigMaps only,
	# which the test API server's stand-in makes look ready, a real rig not).
	mkdir -p "$T/fix"
	cp "$FIX/images.txt" "$FIX/outpost.service" "$FIX/fixture-config.yaml" "$T/fix/"
	ln -s "$top_srcdir/charts" "$T/fix/charts"
	# shellcheck disable=SC2034 # APP_CHARTS is read by make_bundle (tests/bundle-lib.sh)
	FIX=$T/fix APP_CHARTS=1
	MEM=3072 W=3
else
	"$top_srcdir/iso/k3s-standin" "$T/k3s"
fi
sed 's|@bindir@|/usr/bin|g' "$top_srcdir/systemd/outpost.service.in" >"$T/outpost.service"
K3S_FILE=$T/k3s UNIT_FILE=$T/outpost.service make_bundle "$T/test.bundle" 1.0.0 standin
t1=$(now)
expect_exit 0 "iso/build" -- "$top_srcdir/iso/build" "$T/outpost.iso" "$T/test.bundle" "$T/keys/bundle-signing.pub" "$DEB"
[ -s "$T/outpost.iso" ] || { finish; exit 1; }
t2=$(now)
xorriso -indev "$T/outpost.iso" -report_el_torito plain >"$T/eltorito" 2>&1 || :
expect_grep "El Torito boot img.*BIOS" "$T/eltorito" "the ISO boots on BIOS"
expect_grep "El Torito boot img.*UEFI" "$T/eltorito" "the ISO boots on UEFI"
[ -s "$T/outpost.iso.packages" ] && grep -q '^linux-image-amd64 ' "$T/outpost.iso.packages" &&
	ok "package manifest next to the ISO" || not_ok "package manifest"
echo "# figures: ISO $(($(stat -c %s "$T/outpost.iso") / 1048576)) MiB, bundle $(($(stat -c %s "$T/test.bundle") / 1048576)) MiB (stand-in), ISO build $((t2 - t1)) s (plus $((t1 - t0)) s deb and bundle)"

# --- the VM ----------------------------------------------------------------
# UEFI installs with a static address (QEMU's user network: 10.0.2.15/24,
# gateway .2, DNS .3), BIOS with DHCP, so both network paths are booted.
printf 'disk=/dev/vda\nwipe=true\nhostname=outpost-vm\npreflight=skip\nautologin=1\n' >"$T/outpost-install.conf"
[ "$FIRMWARE" = bios ] || printf 'address=10.0.2.15/24\ngateway=10.0.2.2\ndns=10.0.2.3\n' >>"$T/outpost-install.conf"
mkfs.vfat -n OUTPOSTCFG -C "$T/cfg.img" 2048 >/dev/null
mcopy -i "$T/cfg.img" "$T/outpost-install.conf" ::outpost-install.conf
qemu-img create -q -f qcow2 "$T/disk.qcow2" 64G
mkfifo "$T/ser.in" "$T/ser.out"
# The serial logs outlive $T, for a failure's full story.
keep_serial() {
	for f in install boot1 boot2 small; do
		[ ! -f "$T/$f.log" ] || { echo "=== $f"; tr -d '\r' <"$T/$f.log"; }
	done >"$top_builddir/tests/iso-vm-serial-$FIRMWARE.log" 2>/dev/null || :
}
on_exit keep_serial

# vm LOG [EXTRA QEMU ARGS]: starts the VM with the disk $DRIVE, its serial
# port copied to LOG.
DRIVE=file=$T/disk.qcow2,format=qcow2
vm() {
	log=$1; shift
	: >"$log"
	cat "$T/ser.out" >>"$log" &
	CAT_PID=$!
	# shellcheck disable=SC2086 # $fw is zero or two words
	qemu-system-x86_64 -m "$MEM" -smp 2 $fw -nographic -monitor none -serial pipe:"$T/ser" -no-reboot \
		-drive "$DRIVE",if=virtio -nic user,model=virtio-net-pci "$@" \
		>"$T/qemu.out" 2>&1 &
	QEMU_PID=$!
	on_exit "kill $QEMU_PID $CAT_PID 2>/dev/null || :"
}
vm_down() { kill "$QEMU_PID" 2>/dev/null || :; wait "$QEMU_PID" 2>/dev/null || :; kill "$CAT_PID" 2>/dev/null || :; }

# wait_log SECONDS PATTERN LOG DESCRIPTION
wait_log() {
	end=$(($(now) + $1))
	while ! grep -q -- "$2" "$3"; do
		if [ "$(now)" -ge "$end" ] || ! kill -0 "$QEMU_PID" 2>/dev/null; then
			not_ok "$4 (no '$2' after $1 s)"; tail -n 30 "$3" | sed 's/^/# /' >&2; return 1; fi
		sleep 1
	done
	ok "$4"
}

# sh_vm SECONDS CMD: runs CMD in the VM's serial shell; its exit code is RC.
n=0
sh_vm() {
	n=$((n + 1))
	printf '%s; echo "@@"%s $?@@\n' "$2" "$n" >"$T/ser.in"
	end=$(($(now) + $1))
	while ! grep -q "@@$n [0-9]*@@" "$LOG"; do
		[ "$(now)" -lt "$end" ] || { RC=timeout; return 0; }
		sleep 1
	done
	RC=$(grep -o "@@$n [0-9]*@@" "$LOG" | head -1 | tr -d @ | cut -d' ' -f2)
}
# diag: what the appliance says about itself, into the test's log.
diag() {
	mark=$(wc -l <"$LOG")
	sh_vm 60 'systemctl --no-pager status outpost.service outpost-install.service 2>&1 | tail -n 30; journalctl -b --no-pager -n 60 -u outpost.service; outpost status'
	tail -n +"$mark" "$LOG" | tr -d '\r' | sed 's/^/# /' >&2
}
# in_vm SECONDS DESCRIPTION -- CMD: ok when CMD succeeds in the VM within SECONDS.
in_vm() {
	s=$1 d=$2; shift 3
	end=$(($(now) + s))
	while :; do
		sh_vm 30 "$*"
		[ "$RC" = 0 ] && { ok "$d"; return 0; }
		[ "$(now)" -lt "$end" ] || { not_ok "$d (last exit $RC)"; diag; return 1; }
		sleep 5
	done
}

LOG=$T/install.log
t3=$(now)
vm "$LOG" -cdrom "$T/outpost.iso" -boot order=dc -drive file="$T/cfg.img",if=virtio,format=raw,readonly=on
wait_log 900 "INSTALL FINISHED" "$LOG" "the installer finished unattended" || { vm_down; finish; exit; }
t4=$(now)
wait "$QEMU_PID" 2>/dev/null || :
kill "$CAT_PID" 2>/dev/null || :
grep -o "INSTALL FINISHED in [0-9]* s" "$LOG" | sed 's/^/# installer: /'

boot() {
	LOG=$1
	tb=$(now)
	vm "$LOG"
	wait_log 600 "root@outpost-vm" "$LOG" "$2: the installed system boots to its console" || return 1
	echo "# $2: console after $(($(now) - tb)) s"
}
# ready_figure WHAT: power-on (QEMU started at $tb) to outpost.service's
# READY=1, from the guest's clock (kernel start to READY=1) and the wall clock
# at which this script saw it active (an upper bound: it polls).
ready_figure() {
	sh_vm 30 'echo "@READY $(systemctl show -p ActiveEnterTimestampMonotonic --value outpost.service)"'
	us=$(grep -ao "@READY [0-9][0-9]*" "$LOG" | tail -1 | cut -d' ' -f2)
	echo "# $1: READY=1 $((${us:-0} / 1000000)) s after the kernel started; seen active $(($(now) - tb)) s after power-on"
}
boot "$T/boot1.log" "first boot" || { vm_down; finish; exit; }
in_vm 30 "booted from the disk, not the ISO" -- 'grep -q "root=UUID" /proc/cmdline && ! grep -q boot=live /proc/cmdline'
in_vm $((600 * W)) "outpost-install.service succeeded" -- 'systemctl is-active outpost-install.service && systemctl show -p Result outpost-install.service | grep -qx Result=success'
in_vm $((600 * W)) "outpost.service is active" -- 'systemctl is-active outpost.service'
ready_figure "first boot"
in_vm $((300 * W)) "outpost status shows k3s Running" -- 'outpost status | grep -E "^k3s +Running"'
# The VM (2 CPUs, 2 GiB) is below the platform's own budget, so the tenant is
# admitted against the reference box's profile, as on a lab machine.
in_vm $((60 * W)) "a tenant is added through the CLI" -- \
	'echo "{\"cpu_millicores\": 8000, \"memory_mib\": 16384, \"disk_gib\": 100}" >/root/ref.json && { outpost tenant show demo >/dev/null 2>&1 || outpost --profile /root/ref.json tenant add demo --host demo.example.test; }'
in_vm $((600 * W)) "the tenant reaches Ready (outpost tenant show)" -- 'outpost tenant show demo | grep -q "^phase: *Ready"'
if [ "$FIRMWARE" = bios ]; then
	in_vm 30 "the network came up by DHCP" -- 'grep -qx DHCP=yes /etc/systemd/network/50-outpost.network && ip -4 addr show scope global | grep -q "inet 10\.0\.2\.15/"'
else
	in_vm 30 "the static address, gateway and DNS are configured" -- 'grep -qx Address=10.0.2.15/24 /etc/systemd/network/50-outpost.network && ip -4 addr show scope global | grep -q "inet 10\.0\.2\.15/24" && ip route | grep -q "^default via 10\.0\.2\.2"'
fi
# QEMU's user network hands out (or, static, was given) 10.0.2.15.
in_vm 120 "the login banner shows the address" -- 'agetty --show-issue | grep -q "^Address: 10\.0\.2\.15"'
in_vm $((180 * W)) "and a snapshot of outpost status (every minute)" -- 'agetty --show-issue | grep -qE "^k3s +Running"'
sh_vm 30 'outpost status; systemd-analyze; journalctl -b -u outpost-install.service --no-pager | tail -n 5'
sh_vm 30 'echo "@STATE $(sha256sum /var/lib/outpost/install.json /usr/local/bin/k3s /etc/rancher/k3s/config.yaml | sha256sum | cut -c1-16)"'
before=$(grep -ao "@STATE [0-9a-f][0-9a-f]*" "$LOG" | tail -1)
sh_vm 30 'systemctl poweroff'
wait "$QEMU_PID" 2>/dev/null || :
kill "$CAT_PID" 2>/dev/null || :
t5=$(now)

boot "$T/boot2.log" "second boot" || { vm_down; finish; exit; }
in_vm $((600 * W)) "second boot: outpost.service is active" -- 'systemctl is-active outpost.service'
ready_figure "second boot"
in_vm $((300 * W)) "second boot: the tenant is Ready again" -- 'outpost tenant show demo | grep -q "^phase: *Ready"'
in_vm 60 "second boot: the bundle was not installed again" -- 'journalctl -b -u outpost-install.service | grep -q "already installed"'
sh_vm 30 'echo "@STATE $(sha256sum /var/lib/outpost/install.json /usr/local/bin/k3s /etc/rancher/k3s/config.yaml | sha256sum | cut -c1-16)"'
after=$(grep -ao "@STATE [0-9a-f][0-9a-f]*" "$LOG" | tail -1)
[ -n "$before" ] && [ "$before" = "$after" ] && ok "second boot changed nothing ($after)" ||
	not_ok "second boot changed the installed state ($before -> $after)"
sh_vm 30 'systemctl poweroff'
wait "$QEMU_PID" 2>/dev/null || :
kill "$CAT_PID" 2>/dev/null || :
t6=$(now)

# --- a failure: a disk below capacity.json's minimum ----------------------
# The installer must refuse before writing, say why on the console (with the
# log's tail) and keep its log on the RAM disk.
truncate -s 20G "$T/small.raw"
DRIVE=file=$T/small.raw,format=raw
LOG=$T/small.log
vm "$LOG" -cdrom "$T/outpost.iso" -boot order=dc -drive file="$T/cfg.img",if=virtio,format=raw,readonly=on
if wait_log 900 "outpost-installer: FAILED: preflight" "$LOG" "a 20 GiB disk: the installer stops at the preflight"; then
	expect_grep "FAILED: preflight: /dev/vda: disk is 20 GiB, the minimum is 64 GiB" "$LOG" "the console says why"
	wait_log 120 "the log is in /run/outpost-install.log" "$LOG" "the console names the log on the RAM disk"
fi
vm_down
if blkid -p "$T/small.raw" >/dev/null 2>&1 || [ "$(head -c 1048576 "$T/small.raw" | tr -d '\000' | wc -c)" != 0 ]; then
	not_ok "the refused disk was written"; else ok "the refused disk was not written"; fi
echo "# figures ($FIRMWARE): install boot $((t4 - t3)) s, first boot to checks done $((t5 - t4)) s, refused install $(($(now) - t6)) s, whole test $(($(now) - t0)) s"
finish
