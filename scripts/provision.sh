#!/bin/sh
# Make this machine able to run the demo or the tests: the system software they need beyond
# Node and npm (scripts/bootstrap.sh does the npm side).
#
#   sh scripts/provision.sh demo   a Docker engine, gcc with the static C library (the demo image)
#   sh scripts/provision.sh test   the same, plus busybox-static (test images), docker-registry
#                                  (a loopback registry for pull-by-digest) and Chromium (dApp tests)
#
# When something is missing and this is root on a system with apt-get (Debian, Ubuntu), it
# installs it with apt-get and starts the Docker engine, saying what it does. Otherwise it
# prints the exact commands to run and exits 1. When everything is there it only checks (well
# under a second). `npm run demo` and `npm test` call it; so does `.ci/run`, through `npm test`.
#
# "docker" on the PATH is not a Docker engine: many machines have only the client. The engine is
# there when `docker info` answers; failing that, when dockerd is installed and can be started.
set -eu

cd "$(dirname "$0")/.."

purpose=${1:-}
case "$purpose" in
  demo | test) ;;
  *)
    echo "usage: sh scripts/provision.sh demo|test" >&2
    exit 2
    ;;
esac

say() { echo "provision: $*"; }

is_root() { [ "$(id -u)" = 0 ]; }
can_apt() { is_root && command -v apt-get >/dev/null 2>&1; }
has_systemd() { [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }
engine_answers() { docker info >/dev/null 2>&1; }
# dockerd lives in /usr/sbin on Debian, which a user's PATH may lack.
dockerd_path() { command -v dockerd 2>/dev/null || for d in /usr/sbin/dockerd /usr/bin/dockerd; do [ -x "$d" ] && echo "$d" && return; done; }

# Each requirement: a check, the Debian package that provides it, and why it is needed.
missing_packages=""
reasons=""
need() { # need <package> <why>
  missing_packages="$missing_packages $1"
  reasons="$reasons
  - $1: $2"
}

if ! command -v docker >/dev/null 2>&1 || ! engine_answers; then
  if [ -z "$(dockerd_path)" ]; then
    if command -v docker >/dev/null 2>&1; then
      engine_note="only the Docker client is installed ($(command -v docker)); there is no Docker engine (dockerd) on this machine"
    else
      engine_note="Docker is not installed"
    fi
    need docker.io "the Docker engine: providers run every task in a container ($engine_note)"
  fi
fi
gcc_static_libc() {
  command -v gcc >/dev/null 2>&1 || return 1
  libc=$(gcc -print-file-name=libc.a 2>/dev/null) || return 1
  [ -f "$libc" ]
}
if ! gcc_static_libc; then
  command -v gcc >/dev/null 2>&1 || need gcc "a C compiler: the demo image is a static C program"
  need libc6-dev "the static C library (libc.a): the demo image is linked statically"
fi
if [ "$purpose" = test ]; then
  # Debian's busybox-static puts a statically linked /bin/busybox; the test images copy it.
  if ! { command -v dpkg-query >/dev/null 2>&1 && dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed'; }; then
    need busybox-static "a static busybox: the test images are built from it (no registry is reachable)"
  fi
  command -v docker-registry >/dev/null 2>&1 ||
    need docker-registry "a local image registry: the pull-by-digest tests push to it on loopback"
  [ -x /usr/bin/chromium ] || need chromium "a browser: the dApp's tests drive headless Chromium"
fi

if [ -n "$missing_packages" ]; then
  say "this machine lacks what the $purpose needs:$reasons"
  if can_apt; then
    say "installing with apt-get:$missing_packages (a minute or two the first time)"
    export DEBIAN_FRONTEND=noninteractive
    # Another apt-get (an unattended upgrade, a second checkout provisioning) may hold dpkg's
    # lock: wait for it for up to five minutes instead of failing at once.
    apt_wait="-o DPkg::Lock::Timeout=300"
    # shellcheck disable=SC2086 # one word per option
    apt-get $apt_wait update -qq || { say "apt-get update failed; is a Debian mirror reachable?"; exit 1; }
    # shellcheck disable=SC2086 # one word per option and per package
    apt-get $apt_wait install -y -qq --no-install-recommends $missing_packages >/dev/null ||
      { say "apt-get install$missing_packages failed (see above)"; exit 1; }
    say "installed:$missing_packages"
  else
    if command -v apt-get >/dev/null 2>&1; then
      say "install them, then run the command again:"
      echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends$missing_packages"
    else
      say "this is not a Debian/Ubuntu system: install the equivalents with your package manager"
      say "(Docker Engine: https://docs.docker.com/engine/install/), then run the command again."
    fi
    exit 1
  fi
fi

# The engine: start it when it is installed but does not answer.
if ! engine_answers; then
  if is_root; then
    if has_systemd; then
      say "starting the Docker engine: systemctl start docker"
      systemctl start docker || true
    else
      # No systemd (a container, a minimal VM): run dockerd ourselves, detached from this
      # terminal so a Ctrl-C of the demo does not stop it. vfs storage and no bridge/iptables
      # work everywhere, including machines without overlayfs or bridge networking; tasks run
      # with --network none anyway. CONUN_DOCKERD_ARGS replaces these flags.
      args=${CONUN_DOCKERD_ARGS:---storage-driver=vfs --iptables=false --bridge=none}
      mkdir -p .conun
      say "starting the Docker engine: dockerd $args (log .conun/dockerd.log; it keeps running after this command)"
      # shellcheck disable=SC2086 # the flags are words
      setsid nohup "$(dockerd_path)" $args >.conun/dockerd.log 2>&1 </dev/null &
    fi
    i=0
    until engine_answers; do
      i=$((i + 1))
      if [ "$i" -gt 60 ]; then
        say "the Docker engine did not answer within 60 s; its last log lines:"
        tail -20 .conun/dockerd.log 2>/dev/null || journalctl -u docker -n 20 --no-pager 2>/dev/null || true
        exit 1
      fi
      sleep 1
    done
    say "Docker engine $(docker version --format '{{.Server.Version}}') is running"
  else
    detail=$(docker info 2>&1 | grep -m1 -i 'error\|cannot\|permission' || true)
    say "the Docker engine is installed but does not answer${detail:+ ($detail)}."
    if [ -S /var/run/docker.sock ] && [ ! -w /var/run/docker.sock ]; then
      echo "  Your user may not use /var/run/docker.sock: sudo usermod -aG docker \"\$USER\", then log in again."
    elif has_systemd; then
      echo "  Start it: sudo systemctl start docker"
    else
      echo "  Start it: sudo sh -c 'setsid nohup dockerd --storage-driver=vfs --iptables=false --bridge=none >/var/log/dockerd.log 2>&1 &'"
    fi
    exit 1
  fi
fi
