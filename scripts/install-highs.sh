#!/usr/bin/env bash
# install-highs.sh builds and installs the HiGHS MIP solver (the C++ library
# behind github.com/lanl/highs) from Debian trixie's source package, because
# Debian bookworm ships no HiGHS package.
#
# It is idempotent: when pkg-config already finds HiGHS >= 1.7 it returns at
# once. Otherwise it
#   1. installs the build tools from Debian;
#   2. creates a private apt state with one deb-src line for trixie/main whose
#      URI is taken from this machine's own Debian source configuration;
#   3. downloads the orig tarball of highs 1.10.0+ds-1 and checks its sha256;
#   4. builds it with cmake + ninja (Release, shared) and installs to $PREFIX.
#
# Environment: PREFIX (default /usr/local), HIGHS_WORKDIR (default a fresh
# temporary folder, removed on success).
set -euo pipefail

PREFIX=${PREFIX:-/usr/local}
VERSION=1.10.0+ds-1
ORIG=highs_1.10.0+ds.orig.tar.xz
SHA256=5964fc1ca4f0b23dd45987bbed1838f2e570e96aa624635ac63d277152b6c94a
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

die() { echo "install-highs: $*" >&2; exit 1; }
step() { echo "install-highs: $*" >&2; }

# pkg-config must also search $PREFIX for a non-default prefix.
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig:$PREFIX/lib64/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"

if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists 'highs >= 1.7'; then
	step "HiGHS $(pkg-config --modversion highs) already installed; nothing to do"
	exit 0
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || die "must run as root (or with sudo available) to install build tools and HiGHS"
	SUDO=sudo
fi

step "installing build tools (cmake ninja-build pkg-config zlib1g-dev g++)"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null || die "apt-get update failed; check the machine's Debian sources"
$SUDO apt-get install -y -qq --no-install-recommends \
	cmake ninja-build pkg-config zlib1g-dev g++ xz-utils ca-certificates >/dev/null ||
	die "could not install the build tools from Debian"

# debian_uri prints the URI of the machine's main Debian archive, read from its
# deb822 .sources files or from sources.list; security and update archives are
# skipped.
debian_uri() {
	local f uri
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		uri=$(awk '
			/^[[:space:]]*$/ { if (u != "" && s !~ /security/ && t ~ /deb/) { print u; exit } u=""; s=""; t=""; next }
			/^Types:/ { t=$0 }
			/^URIs:/ { u=$2 }
			/^Suites:/ { s=$0 }
			END { if (u != "" && s !~ /security/ && t ~ /deb/) print u }' "$f" | grep -i debian | head -n1)
		[ -n "$uri" ] && { echo "$uri"; return 0; }
	done
	if [ -r /etc/apt/sources.list ]; then
		uri=$(awk '$1 ~ /^deb(-src)?$/ {
				i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
				if ($(i+1) !~ /security/) { print $i; exit } }' /etc/apt/sources.list | grep -i debian | head -n1)
		[ -n "$uri" ] && { echo "$uri"; return 0; }
	fi
	return 1
}

URI=$(debian_uri) || die "found no Debian archive URI in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list"
[ -r "$KEYRING" ] || die "Debian archive keyring $KEYRING is missing (install debian-archive-keyring)"

WORK=${HIGHS_WORKDIR:-$(mktemp -d /tmp/highs-build.XXXXXX)}
mkdir -p "$WORK/apt/lists/partial" "$WORK/apt/sources.list.d" "$WORK/src"
echo "deb-src [signed-by=$KEYRING] $URI trixie main" >"$WORK/apt/sources.list"
APT_OPTS=(
	-o "Dir::Etc::sourcelist=$WORK/apt/sources.list"
	-o "Dir::Etc::sourceparts=$WORK/apt/sources.list.d"
	-o "Dir::State::Lists=$WORK/apt/lists"
	-o "APT::Get::List-Cleanup=0"
	-o "APT::Sandbox::User=root"
)

step "reading trixie source index into a private apt state under $WORK/apt"
apt-get "${APT_OPTS[@]}" update -qq >/dev/null || die "apt-get update of the private trixie deb-src state failed"

step "downloading highs $VERSION source"
cd "$WORK/src"
# The .dsc or the Debian tarball may be missing on some mirrors; only the orig
# tarball is needed, so a partial download is accepted and checked below.
apt-get "${APT_OPTS[@]}" source --download-only "highs=$VERSION" >/dev/null 2>&1 || true
[ -f "$ORIG" ] || die "the orig tarball $ORIG was not downloaded from the trixie source archive"
echo "$SHA256  $ORIG" | sha256sum -c --quiet - || die "sha256 of $ORIG does not match $SHA256"

step "unpacking and configuring"
tar -xJf "$ORIG" || die "could not unpack $ORIG"
SRC=$(find "$WORK/src" -mindepth 1 -maxdepth 1 -type d -iname 'highs*' | head -n1)
[ -n "$SRC" ] && [ -f "$SRC/CMakeLists.txt" ] || die "unpacked source has no CMakeLists.txt"
cmake -S "$SRC" -B "$WORK/build" -G Ninja \
	-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON -DFAST_BUILD=ON \
	-DBUILD_TESTING=OFF -DCMAKE_INSTALL_PREFIX="$PREFIX" >"$WORK/cmake.log" 2>&1 ||
	die "cmake configure failed; see $WORK/cmake.log"

step "building with ninja -j$(nproc) (about 4 minutes on 2 cores)"
ninja -C "$WORK/build" -j"$(nproc)" >"$WORK/build.log" 2>&1 || die "ninja build failed; see $WORK/build.log"

step "installing to $PREFIX"
$SUDO ninja -C "$WORK/build" install >"$WORK/install.log" 2>&1 || die "ninja install failed; see $WORK/install.log"
$SUDO ldconfig || die "ldconfig failed"

pkg-config --exists 'highs >= 1.7' || die "pkg-config cannot find highs after install (PKG_CONFIG_PATH=$PKG_CONFIG_PATH)"
step "installed HiGHS $(pkg-config --modversion highs) to $PREFIX"
[ -z "${HIGHS_WORKDIR:-}" ] && rm -rf "$WORK"
exit 0
