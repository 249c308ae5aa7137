#!/bin/sh
# One tenant's Keycloak realm "t-<tenant>" with a confidential OIDC client
# "t-<tenant>" for https://TENANT_HOST (client secret = TENANT_PASSWORD).
# ACTION=provision creates or updates them (idempotent), ACTION=deprovision
# deletes the realm with everything in it. Interface:
# charts/provision/README.md. kcadm.sh reads the admin password from
# KC_CLI_PASSWORD and the client secret from its standard input, never argv.
set -eu

die() { echo "keycloak.sh: $*" >&2; exit 2; }

: "${ACTION:?ACTION must be provision or deprovision}"
: "${TENANT:?TENANT (the tenant name) is not set}"
case $TENANT in
'' | -* | *- | *[!a-z0-9-]*) die "TENANT '$TENANT' is not a DNS-1123 label" ;;
esac
: "${KEYCLOAK_ADMIN:?KEYCLOAK_ADMIN (admin user name) is not set}"
: "${KC_CLI_PASSWORD:?KC_CLI_PASSWORD (admin password) is not set}"
export KC_CLI_PASSWORD
realm="t-$TENANT"
kcadm=${KCADM:-/opt/keycloak/bin/kcadm.sh}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The session token lives in this Job's scratch space only.
kc() { "$kcadm" "$@" --config "$work/kcadm.config"; }

kc config credentials --server "${KEYCLOAK_URL:-http://keycloak.outpost-platform.svc:8080}" \
	--realm master --user "$KEYCLOAK_ADMIN" >/dev/null

provision() {
	: "${TENANT_HOST:?TENANT_HOST (the tenant host name) is not set}"
	case $TENANT_HOST in
	*[!a-z0-9.-]* | '') die "TENANT_HOST '$TENANT_HOST' is not a host name" ;;
	esac
	[ -n "${TENANT_PASSWORD:-}" ] || die "TENANT_PASSWORD is empty"
	case $TENANT_PASSWORD in *[!A-Za-z0-9._~-]*) die "TENANT_PASSWORD must be URL-safe ([A-Za-z0-9._~-])" ;; esac

	if kc get "realms/$realm" --fields realm >/dev/null 2>&1; then
		kc update "realms/$realm" -s enabled=true
	else
		kc create realms -s realm="$realm" -s enabled=true -s sslRequired=external
	fi

	cat >"$work/client.json" <<JSON
{
  "clientId": "$realm",
  "name": "$TENANT_HOST",
  "protocol": "openid-connect",
  "enabled": true,
  "publicClient": false,
  "clientAuthenticatorType": "client-secret",
  "secret": "$TENANT_PASSWORD",
  "standardFlowEnabled": true,
  "implicitFlowEnabled": false,
  "directAccessGrantsEnabled": false,
  "rootUrl": "https://$TENANT_HOST",
  "baseUrl": "https://$TENANT_HOST/",
  "redirectUris": ["https://$TENANT_HOST/*"],
  "webOrigins": ["https://$TENANT_HOST"],
  "attributes": { "post.logout.redirect.uris": "https://$TENANT_HOST/*" }
}
JSON
	id=$(kc get clients -r "$realm" -q clientId="$realm" --fields id --format csv --noquotes)
	if [ -n "$id" ]; then
		kc update "clients/$id" -r "$realm" -f - <"$work/client.json"
	else
		kc create clients -r "$realm" -f - <"$work/client.json" >/dev/null
	fi
}

deprovision() {
	if kc get "realms/$realm" --fields realm >/dev/null 2>&1; then
		kc delete "realms/$realm"
	fi
}

case $ACTION in
provision) provision ;;
deprovision) deprovision ;;
*) die "ACTION '$ACTION' is not provision or deprovision" ;;
esac
echo "keycloak.sh: $ACTION $realm: done"
