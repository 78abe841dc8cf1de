# Sourced by tools/demo and tools/test: installs the Debian packages herald needs
# when any is missing (as root on a fresh Debian 12 machine; apt-get update once).
herald_install_packages() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  ((${#missing[@]})) || return 0
  echo "herald: installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# What building and testing herald needs; later issues add to this list.
HERALD_BUILD_PACKAGES=(g++ cmake ninja-build libasio-dev node-llhttp catch2 zlib1g-dev libssl-dev)
# herald::redis (optional for a build) and the Redis its tests start: pkg-config finds hiredis.
HERALD_TEST_PACKAGES=(clang libclang-rt-14-dev chromium nodejs python3-websockets pkg-config libhiredis-dev redis-server openssl curl)

# Clients nobody here wrote, for the interop tests: npm packages in a prefix of
# their own (tests find them there; CMake's HERALD_NODE_MODULES).
HERALD_NPM_PREFIX=${HERALD_NPM_PREFIX:-/usr/local/lib/herald-npm}
HERALD_NPM_PACKAGES=(eventsource@3 playwright-core@1 ws@8)
herald_install_npm_packages() {
  local missing=0
  for package in "${HERALD_NPM_PACKAGES[@]}"; do
    [ -d "$HERALD_NPM_PREFIX/node_modules/${package%@*}" ] || missing=1
  done
  ((missing)) || return 0
  command -v npm >/dev/null || herald_install_packages npm
  echo "herald: installing ${HERALD_NPM_PACKAGES[*]} into $HERALD_NPM_PREFIX"
  mkdir -p "$HERALD_NPM_PREFIX"
  npm install --prefix "$HERALD_NPM_PREFIX" --no-audit --no-fund --loglevel=error "${HERALD_NPM_PACKAGES[@]}"
}
