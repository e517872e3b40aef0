#!/usr/bin/env bash
# Configure Vault's kubernetes auth for the poller host of deployment.yaml and the namespaces it serves (README: Deploy).
#
#  - Role kes-vault-backend, bound to the controller's own service account (kes-vault/kes-vault-backend). deployment.yaml
#    sets DEFAULT_VAULT_ROLE=kes-vault-backend, so an ExternalSecret that names no vaultRole reads as this role, with the
#    controller's projected token (VAULT_SERVICE_ACCOUNT_TOKEN_PATH). Its policy reads only ${KV_MOUNT}/data/shared/*.
#  - Per namespace N: role N, bound to the service account vault-reader of namespace N and reading ${KV_MOUNT}/data/N/*.
#    An ExternalSecret in N reads as it with `vaultRole: N` and `vaultServiceAccount: vault-reader`: the host asks the
#    API server for a TokenRequest JWT of N's vault-reader and logs in with it. N is annotated so that it may name
#    vault-reader (permitted-service-accounts), only role N (iam.amazonaws.com/permitted), and only keys under its own
#    and the shared paths (permitted-key-name).
#  - Every role is bound to the audience "vault": the projected token in deployment.yaml and the TokenRequest JWTs
#    (VAULT_AUTH_AUDIENCES=vault) carry it, so no other service's token can log in, nor ours be replayed elsewhere.
#
# Usage: VAULT_ADDR=... VAULT_TOKEN=... ./vault-setup.sh [namespace ...]   (default: team-a team-b)
#   VAULT_IN_CLUSTER=false when Vault does not run as a pod of this cluster (see "How Vault reviews" below).
# Needs: vault, kubectl pointing at the cluster. Idempotent.
set -euo pipefail

: "${VAULT_ADDR:?set VAULT_ADDR}"
: "${VAULT_TOKEN:?set VAULT_TOKEN}"
AUTH_MOUNT="${AUTH_MOUNT:-kubernetes}"          # = DEFAULT_VAULT_MOUNT_POINT in deployment.yaml
KV_MOUNT="${KV_MOUNT:-secret}"                  # = VAULT_ALLOWED_MOUNTS in deployment.yaml
CONTROLLER_NS="${CONTROLLER_NS:-kes-vault}"
CONTROLLER_SA="${CONTROLLER_SA:-kes-vault-backend}"
CONTROLLER_ROLE="${CONTROLLER_ROLE:-kes-vault-backend}" # = DEFAULT_VAULT_ROLE in deployment.yaml
READER_SA="${READER_SA:-vault-reader}"
AUDIENCE="${AUDIENCE:-vault}"                   # = the projected token's audience and VAULT_AUTH_AUDIENCES
TOKEN_TTL="${TOKEN_TTL:-1h}"
TOKEN_MAX_TTL="${TOKEN_MAX_TTL:-24h}"
VAULT_IN_CLUSTER="${VAULT_IN_CLUSTER:-true}"
NAMESPACES=("$@")
[ ${#NAMESPACES[@]} -gt 0 ] || NAMESPACES=(team-a team-b)

vault auth list -format=json | grep -q "\"${AUTH_MOUNT}/\"" || vault auth enable -path="${AUTH_MOUNT}" kubernetes
vault secrets list -format=json | grep -q "\"${KV_MOUNT}/\"" || vault secrets enable -path="${KV_MOUNT}" -version=2 kv

# How Vault reviews login JWTs (the TokenReview API). A reviewer token from `kubectl create token` expires (after a
# day at most) and from then on every login fails, so neither branch uses one:
#  - Vault in this cluster (default): no token_reviewer_jwt and no kubernetes_ca_cert. Vault then reviews with its own
#    pod's service-account token, which it re-reads as the kubelet rotates it, and trusts the pod's CA. Vault's own
#    service account needs system:auth-delegator (the Vault Helm chart binds it by default: server.authDelegator).
#  - Vault outside the cluster (VAULT_IN_CLUSTER=false): it has no pod token. Without token_reviewer_jwt it would send
#    each login's own JWT as the bearer, but ours are bound to the audience "vault", which the API server does not
#    accept. So Vault gets the token of a long-lived service-account token Secret of a reviewer account that can only
#    review tokens (system:auth-delegator); it lasts until the Secret is deleted.
if [ "${VAULT_IN_CLUSTER}" = true ]; then
  vault write "auth/${AUTH_MOUNT}/config" kubernetes_host="${KUBE_HOST:-https://kubernetes.default.svc}"
else
  kubectl apply -f - <<YAML
apiVersion: v1
kind: ServiceAccount
metadata:
  name: vault-token-reviewer
  namespace: ${CONTROLLER_NS}
---
apiVersion: v1
kind: Secret
type: kubernetes.io/service-account-token
metadata:
  name: vault-token-reviewer
  namespace: ${CONTROLLER_NS}
  annotations:
    kubernetes.io/service-account.name: vault-token-reviewer
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: vault-token-reviewer
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:auth-delegator
subjects:
  - kind: ServiceAccount
    name: vault-token-reviewer
    namespace: ${CONTROLLER_NS}
YAML
  # The API server fills the Secret in shortly after it is created.
  REVIEWER_JWT=""
  for _ in $(seq 30); do
    REVIEWER_JWT="$(kubectl -n "${CONTROLLER_NS}" get secret vault-token-reviewer -o jsonpath='{.data.token}' | base64 -d)"
    [ -n "${REVIEWER_JWT}" ] && break
    sleep 1
  done
  [ -n "${REVIEWER_JWT}" ] || { echo "secret ${CONTROLLER_NS}/vault-token-reviewer has no token after 30 s" >&2; exit 1; }
  KUBE_HOST="${KUBE_HOST:-$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')}"
  KUBE_CA="$(kubectl -n "${CONTROLLER_NS}" get secret vault-token-reviewer -o jsonpath='{.data.ca\.crt}' | base64 -d)"
  vault write "auth/${AUTH_MOUNT}/config" \
    kubernetes_host="${KUBE_HOST}" \
    kubernetes_ca_cert="${KUBE_CA}" \
    token_reviewer_jwt="${REVIEWER_JWT}"
fi

# The controller's own role: ExternalSecrets that name no vaultRole read as it (DEFAULT_VAULT_ROLE), in every namespace.
vault policy write "${CONTROLLER_ROLE}" - <<POLICY
path "${KV_MOUNT}/data/shared/*" { capabilities = ["read"] }
POLICY
vault write "auth/${AUTH_MOUNT}/role/${CONTROLLER_ROLE}" \
  bound_service_account_names="${CONTROLLER_SA}" \
  bound_service_account_namespaces="${CONTROLLER_NS}" \
  audience="${AUDIENCE}" \
  token_policies="${CONTROLLER_ROLE}" token_ttl="${TOKEN_TTL}" token_max_ttl="${TOKEN_MAX_TTL}"

for ns in "${NAMESPACES[@]}"; do
  kubectl get namespace "${ns}" >/dev/null 2>&1 || kubectl create namespace "${ns}"
  kubectl -n "${ns}" get serviceaccount "${READER_SA}" >/dev/null 2>&1 || kubectl -n "${ns}" create serviceaccount "${READER_SA}"
  # The tenant guard (README: Multi-tenant safety), checked by the host before any Vault request: ExternalSecrets in
  # this namespace may name only this namespace's role, only the service account vault-reader (of this namespace),
  # and only keys under this namespace's and the shared paths. Patterns match the whole value.
  kubectl annotate namespace "${ns}" --overwrite \
    "iam.amazonaws.com/permitted=${ns}" \
    "externalsecrets.kubernetes-client.io/permitted-service-accounts=${READER_SA}" \
    "externalsecrets.kubernetes-client.io/permitted-key-name=${KV_MOUNT}/data/(${ns}|shared)/.+"
  vault policy write "${ns}" - <<POLICY
path "${KV_MOUNT}/data/${ns}/*" { capabilities = ["read"] }
path "${KV_MOUNT}/metadata/${ns}/*" { capabilities = ["list", "read"] }
POLICY
  vault write "auth/${AUTH_MOUNT}/role/${ns}" \
    bound_service_account_names="${READER_SA}" \
    bound_service_account_namespaces="${ns}" \
    audience="${AUDIENCE}" \
    token_policies="${ns}" token_ttl="${TOKEN_TTL}" token_max_ttl="${TOKEN_MAX_TTL}"
  echo "namespace ${ns}: role ${ns}, service account ${READER_SA}, reads ${KV_MOUNT}/data/${ns}/*; an ExternalSecret there sets"
  echo "  vaultRole: ${ns} and vaultServiceAccount: ${READER_SA} (without them it reads as ${CONTROLLER_ROLE}: ${KV_MOUNT}/data/shared/*)"
done
