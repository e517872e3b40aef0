#!/usr/bin/env bash
# Configure Vault's kubernetes auth for the poller host: one role per namespace, each bound to a
# service account of that namespace and a policy reading only that team's paths.
# Usage: VAULT_ADDR=... VAULT_TOKEN=... ./vault-setup.sh [namespace ...]   (default: team-a team-b)
# Needs: vault, kubectl pointing at the cluster. Idempotent.
set -euo pipefail

: "${VAULT_ADDR:?set VAULT_ADDR}"
: "${VAULT_TOKEN:?set VAULT_TOKEN}"
AUTH_MOUNT="${AUTH_MOUNT:-kubernetes}"
KV_MOUNT="${KV_MOUNT:-secret}"
CONTROLLER_NS="${CONTROLLER_NS:-kes-vault}"
CONTROLLER_SA="${CONTROLLER_SA:-kes-vault-backend}"
AUDIENCE="${AUDIENCE:-vault}"
TOKEN_TTL="${TOKEN_TTL:-1h}"
TOKEN_MAX_TTL="${TOKEN_MAX_TTL:-24h}"
NAMESPACES=("$@")
[ ${#NAMESPACES[@]} -gt 0 ] || NAMESPACES=(team-a team-b)

vault auth list -format=json | grep -q "\"${AUTH_MOUNT}/\"" || vault auth enable -path="${AUTH_MOUNT}" kubernetes
vault secrets list -format=json | grep -q "\"${KV_MOUNT}/\"" || vault secrets enable -path="${KV_MOUNT}" -version=2 kv

# Vault reviews login JWTs with the API server. In-cluster Vault can use its own pod's token;
# outside the cluster, give it the controller account's token and the cluster CA.
KUBE_HOST="$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')"
KUBE_CA="$(kubectl config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d)"
REVIEWER_JWT="$(kubectl -n "${CONTROLLER_NS}" create token "${CONTROLLER_SA}" --duration=24h)"
vault write "auth/${AUTH_MOUNT}/config" \
  kubernetes_host="${KUBE_HOST}" \
  kubernetes_ca_cert="${KUBE_CA}" \
  token_reviewer_jwt="${REVIEWER_JWT}"

# The controller's own role (KES-compatible: ExternalSecrets without vaultServiceAccount log in as it).
vault policy write kes-vault-backend - <<POLICY
path "${KV_MOUNT}/data/shared/*" { capabilities = ["read"] }
POLICY
vault write "auth/${AUTH_MOUNT}/role/kes-vault-backend" \
  bound_service_account_names="${CONTROLLER_SA}" \
  bound_service_account_namespaces="${CONTROLLER_NS}" \
  audience="${AUDIENCE}" \
  token_policies=kes-vault-backend token_ttl="${TOKEN_TTL}" token_max_ttl="${TOKEN_MAX_TTL}"

for ns in "${NAMESPACES[@]}"; do
  kubectl get namespace "${ns}" >/dev/null 2>&1 || kubectl create namespace "${ns}"
  kubectl -n "${ns}" get serviceaccount vault-reader >/dev/null 2>&1 || kubectl -n "${ns}" create serviceaccount vault-reader
  # The role guard: ExternalSecrets in this namespace may only name this namespace's role.
  kubectl annotate namespace "${ns}" --overwrite "iam.amazonaws.com/permitted=^${ns}$"
  vault policy write "${ns}" - <<POLICY
path "${KV_MOUNT}/data/${ns}/*" { capabilities = ["read"] }
path "${KV_MOUNT}/metadata/${ns}/*" { capabilities = ["list", "read"] }
POLICY
  vault write "auth/${AUTH_MOUNT}/role/${ns}" \
    bound_service_account_names=vault-reader \
    bound_service_account_namespaces="${ns}" \
    audience="${AUDIENCE}" \
    token_policies="${ns}" token_ttl="${TOKEN_TTL}" token_max_ttl="${TOKEN_MAX_TTL}"
  echo "namespace ${ns}: role ${ns}, service account vault-reader, reads ${KV_MOUNT}/data/${ns}/*"
done
