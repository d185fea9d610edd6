#!/bin/sh
# Install the Debian packages prodwatch needs to build and test.
# Idempotent: does nothing when everything is already installed.
set -eu
pkgs="build-essential autoconf automake libtool pkg-config
      libcurl4-openssl-dev libevent-dev libpcre2-dev libhiredis-dev
      libyaml-dev libjq-dev libsimdjson-dev libssl-dev libsystemd-dev check python3 valgrind
      openssl redis-server systemd groff-base man-db prometheus curl
      chromium chromium-driver"
missing=
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "installing:$missing"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing
