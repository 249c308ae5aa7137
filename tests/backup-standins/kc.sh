#!/bin/sh
# A stand-in for Keycloak's kc.sh, for tests/backup-standins.sh: export
# copies the realm files of $KC_STORE into --dir, import copies --dir's
# realm files into $KC_STORE (replacing, as --override true does). Each
# call's argv goes to $STANDIN_LOG.
set -eu
echo "kc.sh $*" >>"$STANDIN_LOG"
cmd=$1
shift
dir='' users='' override=''
while [ $# -gt 0 ]; do
	case $1 in
	--dir) dir=$2; shift 2 ;;
	--users) users=$2; shift 2 ;;
	--override) override=$2; shift 2 ;;
	*) echo "kc.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
[ -d "$dir" ] || { echo "kc.sh: --dir $dir is not a directory" >&2; exit 1; }
case $cmd in
export)
	[ "$users" = realm_file ] || { echo "kc.sh: export without --users realm_file" >&2; exit 2; }
	cp "$KC_STORE"/*.json "$dir/"
	;;
import)
	[ "$override" = true ] || { echo "kc.sh: import without --override true" >&2; exit 2; }
	cp "$dir"/*.json "$KC_STORE/"
	;;
*) echo "kc.sh: the stand-in has no '$cmd'" >&2; exit 2 ;;
esac
