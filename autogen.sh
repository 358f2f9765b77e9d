#!/bin/sh
# Regenerates the build system: test lists, then autoreconf.
set -e
cd "$(dirname "$0")"
sh tests/gen-list.sh
autoreconf -fi
