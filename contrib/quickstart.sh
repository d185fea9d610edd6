#!/bin/sh
# The main job on a fresh Debian 12 machine: install dependencies, build,
# and validate and expand the example scenarios against the example
# configuration.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh contrib/install-deps.sh
sh contrib/build.sh build
build/runner/prodwatch check -c config/prodwatch.yaml
build/runner/prodwatch expand -c config/prodwatch.yaml
