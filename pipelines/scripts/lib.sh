# shellcheck shell=bash
# Shared helpers of the stage scripts (sourced, not run).

# ci_error TITLE MESSAGE: on stderr, and as a GitHub annotation under GitHub Actions.
ci_error() {
    local title=$1 message=$2
    printf 'error: %s: %s\n' "$title" "$message" >&2
    if [ "${GITHUB_ACTIONS:-}" = "true" ]; then
        # Annotation values escape %, CR and LF (workflow command syntax).
        message=${message//'%'/'%25'}
        message=${message//$'\r'/'%0D'}
        message=${message//$'\n'/'%0A'}
        printf '::error title=%s::%s\n' "$title" "$message"
    fi
}

# step_summary FILE: show FILE (Markdown) on the GitHub run page.
step_summary() {
    if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
        cat "$1" >> "$GITHUB_STEP_SUMMARY"
    fi
}

# step_output KEY VALUE: a step output for later jobs (GitHub Actions).
step_output() {
    if [ -n "${GITHUB_OUTPUT:-}" ]; then
        printf '%s=%s\n' "$1" "$2" >> "$GITHUB_OUTPUT"
    fi
}

# run_logged LOG COMMAND...: run, show and keep the output (stdout in LOG, stderr in
# LOG.err); return the command's exit code.
run_logged() {
    local log=$1
    shift
    set +e
    "$@" > "$log" 2> "$log.err"
    local rc=$?
    set -e
    cat "$log"
    cat "$log.err" >&2
    return "$rc"
}

# failure_text LOG: what a failed run_logged said: its errors, else its output.
failure_text() {
    if [ -s "$1.err" ] && grep -q '^error: ' "$1.err"; then
        sed -n '/^error: /,$p' "$1.err" | sed '1s/^error: //'
    else
        cat "$1"
    fi
}

# require_plan_key STAGE: the plan signing key must come from the CI credential store. The
# plan stage signs the plan with it, the apply stage runs only a plan signed with it.
require_plan_key() {
    if [ -z "${CDHELPER_PLAN_KEY:-}" ]; then
        ci_error "$1" "CDHELPER_PLAN_KEY is not set: bind the plan signing key from the CI credential store (the plan stage signs, the apply stage verifies)"
        exit 1
    fi
}

cdhelper_bin() {
    command -v "${CDHELPER:-cdhelper}" || {
        ci_error "cdhelper" "cdhelper is not installed (pip install it, or set CDHELPER to its path)"
        exit 1
    }
}
