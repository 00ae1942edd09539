#!/usr/bin/env bash
# Installs the real servers the integration tests start privately: dockerd (docker.io),
# the CNCF registry (docker-registry), busybox-static (to build tiny images), htpasswd
# (apache2-utils) and mmdebstrap (the base of the image test_image.py builds, from the
# Debian mirror). Runs before the tests (tox's commands_pre). Idempotent and quick when
# everything is present. Without root it only says what is missing; the tests then skip,
# except under CI=true, where they fail.
set -euo pipefail

need=()
for package in docker.io docker-registry busybox-static apache2-utils iptables mmdebstrap; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || need+=("$package")
done

if [ ${#need[@]} -eq 0 ]; then
    echo "install-servers: dockerd, docker-registry, busybox-static, htpasswd and mmdebstrap are present"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-servers: missing Debian packages: ${need[*]} (run: sudo apt-get install ${need[*]})" >&2
    [ "${CI:-}" = "true" ] && exit 1
    exit 0
fi
echo "install-servers: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
