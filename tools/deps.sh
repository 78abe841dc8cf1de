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
HERALD_BUILD_PACKAGES=(g++ cmake ninja-build libasio-dev node-llhttp catch2)
HERALD_TEST_PACKAGES=(clang libclang-rt-14-dev)
