#!/bin/sh
# Make this checkout ready to build and test, starting from a machine that has only Node 20
# (or newer) and npm on its PATH.
#
# Hardhat 3 needs Node 22. The `node` dev dependency installs Node 22 from the npm registry as
# node_modules/.bin/node, which npm puts first on the PATH of every npm script. The install
# itself must also run under Node 22: `npm ci` under Node 20 silently skips EDR's native
# optional package (@nomicfoundation/edr-linux-x64-gnu, engines node >= 22), and Hardhat then
# fails with HHE27. So whenever node_modules is missing, stale or incomplete, this script runs
# `npm ci` under a Node 22 fetched by npx. When everything is in place it only checks, quickly.
set -eu

cd "$(dirname "$0")/.."

NODE22="node@22"
LOCAL_NODE="node_modules/.bin/node"

fail() {
  echo "bootstrap: error: $*" >&2
  exit 1
}

command -v npm >/dev/null 2>&1 || fail "npm is not on the PATH; install Node.js 20+ with npm first"
command -v npx >/dev/null 2>&1 || fail "npx is not on the PATH; install Node.js 20+ with npm first"

# Prints why an install is needed, or nothing when node_modules is ready.
install_reason() {
  if [ ! -d node_modules ]; then
    echo "node_modules is missing"
  elif [ ! -x "$LOCAL_NODE" ]; then
    echo "$LOCAL_NODE is missing"
  elif ! "$LOCAL_NODE" -v 2>/dev/null | grep -q '^v22\.'; then
    echo "$LOCAL_NODE is not Node 22"
  elif [ ! -f node_modules/.package-lock.json ]; then
    echo "node_modules was not installed by npm"
  elif [ -n "$(find package-lock.json -newer node_modules/.package-lock.json)" ]; then
    echo "package-lock.json changed since the last install"
  elif ! "$LOCAL_NODE" -e "require('@nomicfoundation/edr')" >/dev/null 2>&1; then
    echo "EDR's native binding does not load"
  fi
}

npm22() {
  npx -y -p "$NODE22" npm "$@" --no-audit --no-fund
}

if [ ! -f package-lock.json ]; then
  echo "bootstrap: package-lock.json is missing: generating it with npm under Node 22"
  npm22 install --package-lock-only || fail "could not generate package-lock.json"
fi

reason=$(install_reason)
if [ -z "$reason" ]; then
  echo "bootstrap: dependencies are ready (Node $("$LOCAL_NODE" -v), EDR loads); nothing to do"
  exit 0
fi

echo "bootstrap: $reason: running npm ci under Node 22 (npx -p $NODE22)"
# npm ci starts by deleting node_modules anyway. Deleting it first also keeps npx from
# picking the project's own (possibly broken) `node` package to satisfy -p node@22.
rm -rf node_modules
npm22 ci || fail "npm ci under Node 22 failed (is the npm registry reachable?)"

reason=$(install_reason)
[ -z "$reason" ] || fail "node_modules is still not usable after npm ci: $reason"
