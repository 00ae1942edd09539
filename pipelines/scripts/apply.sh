#!/usr/bin/env bash
# Stage "apply", shared by the Jenkins and GitHub Actions redeploy pipelines: applies
# exactly the reviewed plan artifact. cdhelper checks its signature first (HMAC-SHA256 with
# CDHELPER_PLAN_KEY, made by the plan stage) and refuses an unsigned or changed plan
# before calling anything.
#
# Usage: apply.sh PLAN OUT_DIR
#   CDHELPER_APPLY_ARGS  more `cdhelper apply` arguments, e.g. "--wait --timeout 600"
#   CDHELPER_PLAN_KEY    required: the plan signing key, as in the plan stage
#   The credentials come from the CI's credential store (see plan.sh); the target is the
#   one recorded in the plan.
#
# Writes OUT_DIR/apply.txt, report.json (a result per action) and junit.xml (for the CI's
# test report), and adds the outcome to $GITHUB_STEP_SUMMARY. Exit: 0 applied, 1 error,
# stale plan or any failed action.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=pipelines/scripts/lib.sh
. "$here/lib.sh"

plan=${1:?usage: apply.sh PLAN OUT_DIR}
out=${2:?usage: apply.sh PLAN OUT_DIR}
mkdir -p "$out"
require_plan_key "cdhelper apply"
cdhelper=$(cdhelper_bin)
read -r -a extra <<< "${CDHELPER_APPLY_ARGS:-}"

rc=0
run_logged "$out/apply.txt" "$cdhelper" apply "$plan" "${extra[@]}" \
    --report "$out/report.json" --junit "$out/junit.xml" || rc=$?
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    { echo "### cdhelper apply"; echo; echo '```'; cat "$out/apply.txt"; echo '```'; } >> "$GITHUB_STEP_SUMMARY"
fi
if [ "$rc" -ne 0 ]; then
    ci_error "cdhelper apply" "$(failure_text "$out/apply.txt")"
    exit 1
fi
