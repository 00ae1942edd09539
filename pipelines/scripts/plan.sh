#!/usr/bin/env bash
# Stage "validate + plan", shared by the Jenkins and GitHub Actions redeploy pipelines.
#
# Usage: plan.sh OUT_DIR
#   CDHELPER_MODE       webhook (default) or smart
#   CDHELPER_PAYLOAD    webhook mode: the payload file (Docker Hub webhook or registry notification)
#   CDHELPER_PLAN_ARGS  more `cdhelper plan` arguments, e.g. "--filter stack=prod"
#   The target comes from the CI's credential store as the usual environment variables:
#   CDHELPER_SWARMPIT_URL + CDHELPER_SWARMPIT_TOKEN, or DOCKER_HOST (+ DOCKER_TLS_VERIFY,
#   DOCKER_CERT_PATH). Never pass secrets as arguments or parameters.
#   CDHELPER_PLAN_KEY   required, from the credential store: cdhelper signs the plan with it
#                       (HMAC-SHA256), and the apply stage runs only a plan signed with it.
#
# Writes OUT_DIR/plan.yaml (the signed artifact to review and apply), plan.txt (the review
# text) and plan.md (Markdown, also added to $GITHUB_STEP_SUMMARY).
# Exit: 0 nothing to do, 2 the plan has actions (review it), 1 error.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=pipelines/scripts/lib.sh
. "$here/lib.sh"

out=${1:?usage: plan.sh OUT_DIR}
mkdir -p "$out"
rm -f "$out/plan.yaml" "$out/plan.md" "$out/plan.txt"
require_plan_key "cdhelper plan"
cdhelper=$(cdhelper_bin)
mode=${CDHELPER_MODE:-webhook}
read -r -a extra <<< "${CDHELPER_PLAN_ARGS:-}"

case "$mode" in
    webhook)
        payload=${CDHELPER_PAYLOAD:-}
        if [ -z "$payload" ] || [ ! -s "$payload" ]; then
            ci_error "cdhelper validate" "webhook mode needs CDHELPER_PAYLOAD: a non-empty payload file"
            exit 1
        fi
        if ! run_logged "$out/validate.txt" "$cdhelper" validate "$payload"; then
            ci_error "cdhelper validate" "$(failure_text "$out/validate.txt")"
            exit 1
        fi
        source_args=(--event "$payload")
        ;;
    smart)
        source_args=(--smart)
        ;;
    *)
        ci_error "cdhelper plan" "CDHELPER_MODE must be webhook or smart, not '$mode'"
        exit 1
        ;;
esac

rc=0
run_logged "$out/plan.log" "$cdhelper" plan "${source_args[@]}" "${extra[@]}" \
    -o "$out/plan.yaml" --detailed-exitcode || rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then
    ci_error "cdhelper plan" "$(failure_text "$out/plan.log")"
    exit 1
fi
"$cdhelper" show "$out/plan.yaml" --format text > "$out/plan.txt"
"$cdhelper" show "$out/plan.yaml" --format markdown > "$out/plan.md"
step_summary "$out/plan.md"
if [ "$rc" -eq 2 ]; then
    step_output changes true
else
    step_output changes false
fi
exit "$rc"
