#!/bin/sh
# outpost reset --host in a private mount and network namespace: real bind
# mounts under the kubelet's directory, links named like k3s's (cni0,
# flannel.1, veths enslaved to cni0, kube-ipvs0) and iptables/ip6tables
# chains and rules like k3s's (KUBE-*, CNI-*, FLANNEL-*) and the nftables
# tables of kube-proxy and flannel in their nftables modes. After reset none is
# left, and a foreign rule, mount and link survive, as do the files behind
# a bind mount. (The dummy link driver is missing on some kernels: vxlan and
# bridge links stand in where a node would have a dummy.)
if [ -z "${RESET_NETNS_INNER:-}" ]; then
	if [ "$(id -u)" -ne 0 ] || ! unshare -m -n true 2>/dev/null; then
		. "$top_srcdir/tests/lib.sh"
		skip "needs root and unshare -m -n"
	fi
	RESET_NETNS_INNER=1 exec unshare -m -n sh "$0"
fi
. "$top_srcdir/tests/lib.sh"
skip_unless ip
skip_unless iptables-save
skip_unless ip6tables-save
skip_unless nft

mount --make-rprivate /
R=$T/root
# Before lib.sh removes $T: nothing mounted may be walked into.
on_exit "umount -R -l '$T/root' '$T/foreign' 2>/dev/null || true"
mkdir -p "$R/var/lib/kubelet/pods/p1/volumes/x" "$R/var/lib/kubelet/pods/p2" \
	"$R/var/lib/rancher/k3s/agent/containerd" "$R/run/k3s/containerd/io.containerd.runtime.v2.task/k8s.io/abc/rootfs" \
	"$T/hostdata" "$T/foreign"
echo precious >"$T/hostdata/file"
mount -t tmpfs tmpfs "$R/var/lib/kubelet/pods/p1/volumes/x"
echo vol >"$R/var/lib/kubelet/pods/p1/volumes/x/data"
# A hostPath-like bind: reset must unmount it, never delete through it.
mount --bind "$T/hostdata" "$R/var/lib/kubelet/pods/p2"
mount -t tmpfs tmpfs "$R/run/k3s/containerd/io.containerd.runtime.v2.task/k8s.io/abc/rootfs"
mount -t tmpfs tmpfs "$R/var/lib/rancher/k3s/agent/containerd"
mount -t tmpfs foreign "$T/foreign"

ip link set lo up
ip link add cni0 type bridge
ip link add flannel.1 type vxlan id 1 dstport 8472
# kube-ipvs0 is a dummy link on a node; this kernel may lack the dummy
# driver, and the name is what reset goes by.
ip link add kube-ipvs0 type bridge
ip link add veth1a2b type veth peer name eth0p
ip link set veth1a2b master cni0
ip link add foreign0 type vxlan id 42 dstport 4789
ip link add br-foreign type bridge
ip link add vethfx type veth peer name vethfy
ip link set vethfx master br-foreign

for t in iptables ip6tables; do
	$t -N KUBE-FIREWALL
	$t -A INPUT -j KUBE-FIREWALL
	$t -A KUBE-FIREWALL -m mark --mark 0x8000/0x8000 -j DROP
	$t -N FLANNEL-FWD
	$t -A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD
	$t -t nat -N CNI-HOSTPORT-DNAT
	$t -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
	$t -t nat -N KUBE-POSTROUTING
	$t -t nat -A POSTROUTING -j KUBE-POSTROUTING
	$t -N FOREIGN
	$t -A INPUT -p tcp --dport 22 -j FOREIGN
	$t -A FOREIGN -j ACCEPT
done

# Native nftables tables as kube-proxy's nftables mode and flannel's
# EnableNFTables make them, and a foreign one.
for tbl in "ip kube-proxy" "ip6 kube-proxy" "ip flannel-ipv4" "ip6 flannel-ipv6" "inet foreign"; do
	# shellcheck disable=SC2086 # family and name are two words
	nft add table $tbl && nft add chain $tbl postrouting '{ type nat hook postrouting priority 100 ; }'
done
nft add rule inet foreign postrouting counter

expect_exit 0 "reset --host in the namespace" -- "$OUTPOST" reset --root "$R" --host --yes
sed 's/^/# /' "$T/out"
mounts=$(grep -c " $R/" /proc/self/mountinfo || true)
expect_true "no mount under the root is left" -- test "$mounts" -eq 0
expect_true "the foreign mount survives" -- grep -q " $T/foreign " /proc/self/mountinfo
expect_true "the files behind the bind mount survive" -- grep -q precious "$T/hostdata/file"
expect_true "the kubelet's directory is gone" -- test ! -e "$R/var/lib/kubelet"
ip -o link show >"$T/links"
for l in cni0 flannel.1 kube-ipvs0 veth1a2b eth0p; do
	if grep -q ": ${l}[:@]" "$T/links"; then not_ok "link $l is gone"; else ok "link $l is gone"; fi
done
for l in foreign0 br-foreign vethfx vethfy lo; do
	expect_grep ": ${l}[:@]" "$T/links" "link $l survives"
done
for t in iptables ip6tables; do
	$t-save >"$T/$t"
	if grep -Eq 'KUBE-|CNI-|FLANNEL|flannel' "$T/$t"; then
		not_ok "$t: no k3s chain or rule left"; sed 's/^/# /' "$T/$t"
	else ok "$t: no k3s chain or rule left"; fi
	expect_grep "^-A INPUT -p tcp -m tcp --dport 22 -j FOREIGN" "$T/$t" "$t: the foreign rule survives"
	expect_grep "^-A FOREIGN -j ACCEPT" "$T/$t" "$t: the foreign chain survives"
done

nft list tables >"$T/nft"
for tbl in "ip kube-proxy" "ip6 kube-proxy" "ip flannel-ipv4" "ip6 flannel-ipv6"; do
	if grep -qx "table $tbl" "$T/nft"; then not_ok "nftables table $tbl is gone"; else ok "nftables table $tbl is gone"; fi
done
expect_grep "^table inet foreign\$" "$T/nft" "the foreign nftables table survives"
nft list table inet foreign >"$T/nft-foreign"
expect_grep "counter" "$T/nft-foreign" "with its rule"

expect_exit 0 "a second run finishes" -- "$OUTPOST" reset --root "$R" --host --yes
expect_grep "delete CNI.*ok *0 deleted" "$T/out" "the second run finds no link"
expect_grep "IPv4 rules.*ok *none found" "$T/out" "the second run finds no rule"
expect_grep "nftables tables.*ok *none found" "$T/out" "the second run finds no nftables table"

# A mount under a k3s directory that no unmount step covers: the removal
# does not walk into it (its files survive), its step fails, the steps
# after it still run, and once it is gone a rerun finishes.
mkdir -p "$R/var/lib/cni/networks" "$R/var/lib/outpost/releases/1"
echo '{}' >"$R/var/lib/outpost/install.json"
mount -t tmpfs obstacle "$R/var/lib/cni/networks"
echo inside >"$R/var/lib/cni/networks/f"
expect_exit 1 "a step that fails: exit 1" -- "$OUTPOST" reset --root "$R" --host --yes
expect_grep "var/lib/cni .*FAILED" "$T/out" "the failed step is in the table"
expect_fgrep "step(s) failed" "$T/err" "the error line counts the failed steps"
expect_true "the removal did not walk into the mount" -- grep -q inside "$R/var/lib/cni/networks/f"
expect_true "the steps after it ran" -- test ! -e "$R/var/lib/outpost/install.json"
umount "$R/var/lib/cni/networks"
expect_exit 0 "with the obstacle gone a rerun finishes" -- "$OUTPOST" reset --root "$R" --host --yes
expect_true "and var/lib/cni is gone" -- test ! -e "$R/var/lib/cni"

finish
