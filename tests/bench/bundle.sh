#!/bin/sh
# Bundle verify+extract against the two-pass baseline, in the same run:
#   outpost:  one pass - decompress, hash and write every member, compare.
#   baseline: `zstd -dc | tar -x`, then `sha256sum` of the extracted files.
# A generated bundle of BENCH_GIB GiB (default 2): a few large files of
# base64-encoded random data (compressible to ~3/4, not trivially).
# Prints wall time, CPU time and peak RSS (/usr/bin/time -f %M); asserts nothing.
set -eu
: "${OUTPOST:?run through make bench}"
gib=${BENCH_GIB:-2}
files=4
W=$(mktemp -d "${TMPDIR:-/tmp}/outpost-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "bench: /usr/bin/time is needed for RSS figures" >&2; exit 1; }

echo "generating ${gib} GiB of inputs in $W"
mkdir -p "$W/in"
per=$((gib * 1024 / files))              # MiB per file
raw=$((per * 3 / 4))                     # base64 grows 3 -> 4
i=0
{
	printf '{ "bundle_version": "bench", "k3s_version": "v1.31.4+k3s1", "inputs": [\n'
	printf '#!/bin/sh\n' >"$W/in/k3s"
	printf '  { "source": "k3s", "path": "k3s/k3s", "role": "k3s-binary", "sha256": "%s" },\n' \
		"$(sha256sum "$W/in/k3s" | cut -d' ' -f1)"
	cp "${top_srcdir:?}/charts/capacity.json" "$W/in/capacity.json"
	printf '  { "source": "capacity.json", "path": "data/capacity.json", "role": "capacity", "sha256": "%s" }' \
		"$(sha256sum "$W/in/capacity.json" | cut -d' ' -f1)"
	while [ $i -lt $files ]; do
		i=$((i + 1))
		head -c "${raw}M" /dev/urandom | base64 -w 76 >"$W/in/blob$i.tar"
		printf ',\n  { "source": "blob%d.tar", "path": "images/blob%d.tar", "role": "images", "sha256": "%s" }' \
			"$i" "$i" "$(sha256sum "$W/in/blob$i.tar" | cut -d' ' -f1)"
	done
	printf '\n] }\n'
} >"$W/in/bundle.lock"
"$OUTPOST" bundle keygen --out "$W/keys" >/dev/null
$TIME -f '%e %M' -o "$W/build.t" "$OUTPOST" bundle build --quiet --lock "$W/in/bundle.lock" \
	--key "$W/keys/bundle-signing.key" --out "$W/b.bundle" >/dev/null
rm -rf "$W/in"
size=$(stat -c %s "$W/b.bundle")
echo "bundle: $((size / 1048576)) MiB compressed, $((gib * 1024)) MiB payload, built in $(cut -d' ' -f1 "$W/build.t") s"

drop() { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true; cat "$W/b.bundle" >/dev/null; }

# outpost, verify only (hash, nothing written)
drop
$TIME -f '%e %U %S %M' -o "$W/v.t" "$OUTPOST" bundle verify --quiet --pubkey "$W/keys/bundle-signing.pub" \
	"$W/b.bundle" >/dev/null
# outpost, verify + extract (one pass)
drop
$TIME -f '%e %U %S %M' -o "$W/o.t" "$OUTPOST" bundle verify --quiet --pubkey "$W/keys/bundle-signing.pub" \
	--extract "$W/x1" "$W/b.bundle" >/dev/null
rm -rf "$W/x1"
# outpost install: the same single pass, plus syncfs of the release and the
# atomic placement of every file (hardlinks) under a root prefix
drop
$TIME -f '%e %U %S %M' -o "$W/i.t" "$OUTPOST" install --quiet --skip-preflight --no-start \
	--pubkey "$W/keys/bundle-signing.pub" --root "$W/root" --bundle "$W/b.bundle" >/dev/null 2>&1
rm -rf "$W/root"
# baseline: two passes
drop
mkdir "$W/x2"
start=$(date +%s%N)
$TIME -f '%e %U %S %M' -o "$W/z.t" zstd -q -dc "$W/b.bundle" |
	$TIME -f '%e %U %S %M' -o "$W/tar.t" tar -x -C "$W/x2"
(cd "$W/x2" && $TIME -f '%e %U %S %M' -o "$W/sha.t" sh -c 'find . -type f -print0 | xargs -0 sha256sum >/dev/null')
end=$(date +%s%N)
rm -rf "$W/x2"

awk -v gib="$gib" -v base_wall="$(( (end - start) / 1000000 ))" \
	-v v="$(cat "$W/v.t")" -v o="$(cat "$W/o.t")" -v i="$(cat "$W/i.t")" -v z="$(cat "$W/z.t")" \
	-v t="$(cat "$W/tar.t")" -v s="$(cat "$W/sha.t")" 'BEGIN {
	split(v, V, " "); split(o, O, " "); split(i, I, " "); split(z, Z, " "); split(t, TT, " "); split(s, S, " ")
	bw = base_wall / 1000; mib = gib * 1024
	bcpu = Z[2] + Z[3] + TT[2] + TT[3] + S[2] + S[3]
	brss = Z[4]; if (TT[4] > brss) brss = TT[4]; if (S[4] > brss) brss = S[4]
	printf "%-34s %8s %9s %9s %10s\n", "", "wall s", "MiB/s", "CPU s", "peak RSS"
	printf "%-34s %8.2f %9.0f %9.2f %7.1f MB\n", "outpost verify (no write)", V[1], mib / V[1], V[2] + V[3], V[4] / 1024
	printf "%-34s %8.2f %9.0f %9.2f %7.1f MB\n", "outpost verify+extract (1 pass)", O[1], mib / O[1], O[2] + O[3], O[4] / 1024
	printf "%-34s %8.2f %9.0f %9.2f %7.1f MB\n", "outpost install (+syncfs, placing)", I[1], mib / I[1], I[2] + I[3], I[4] / 1024
	printf "%-34s %8.2f %9.0f %9.2f %7.1f MB\n", "zstd -dc | tar -x, then sha256sum", bw, mib / bw, bcpu, brss / 1024
	printf "speed-up of the single pass over the baseline: %.2fx (wall), %.2fx (CPU)\n", bw / O[1], bcpu / (O[2] + O[3])
}'
