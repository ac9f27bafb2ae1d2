#!/usr/bin/env bash
# Builds the Debian package of troupe with dpkg-deb: target/debian/troupe_VERSION_ARCH.deb.
# The binary is target/release/troupe (built first unless --no-build), stripped; the other files
# come from packaging/debian/. The version is the workspace's in Cargo.toml, and
# packaging/debian/changelog must have an entry for it. Prints the package's path last.
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
out=target/debian
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --out) out=$2; shift ;;
    *) echo "usage: scripts/package-deb.sh [--no-build] [--out DIR]" >&2; exit 2 ;;
  esac
  shift
done

version=$(awk '/^\[workspace.package\]/{p=1; next} /^\[/{p=0} p && /^version *=/{gsub(/[" ]/, "", $0); sub(/^version=/, ""); print; exit}' Cargo.toml)
[ -n "$version" ] || { echo "no version in Cargo.toml's [workspace.package]" >&2; exit 1; }
changelog_version=$(sed -n '1s/^troupe (\([^)]*\)).*/\1/p' packaging/debian/changelog)
if [ "$changelog_version" != "$version" ]; then
  echo "packaging/debian/changelog's first entry is $changelog_version, Cargo.toml says $version: add an entry" >&2
  exit 1
fi
arch=$(dpkg --print-architecture)

if [ "$build" = 1 ]; then
  cargo build --release -q -p troupe
fi
[ -x target/release/troupe ] || { echo "target/release/troupe is missing (build it, or drop --no-build)" >&2; exit 1; }

# Reproducible: file dates and the changelog's compression from the last commit.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH

stage=$(mktemp -d "${TMPDIR:-/tmp}/troupe-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root=$stage/troupe
d=packaging/debian

install -d -m 0755 "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/troupe" \
  "$root/usr/share/doc/troupe" "$root/usr/share/man/man1" "$root/usr/share/lintian/overrides"
install -m 0755 target/release/troupe "$root/usr/bin/troupe"
strip --remove-section=.comment --remove-section=.note --strip-unneeded "$root/usr/bin/troupe"
for u in troupe-node.service troupe-master@.service troupe-front.service troupe-vrrp.service; do
  install -m 0644 "$d/$u" "$root/lib/systemd/system/$u"
done
install -m 0644 "$d/troupe.conf" "$root/etc/troupe/troupe.conf"
install -m 0644 "$d/copyright" "$root/usr/share/doc/troupe/copyright"
# A native package: the changelog is changelog.gz (gzip -9n, as dh_installchangelogs does).
gzip -9n < "$d/changelog" > "$root/usr/share/doc/troupe/changelog.gz"
gzip -9n < README.md > "$root/usr/share/doc/troupe/README.md.gz"
gzip -9n < "$d/troupe.1" > "$root/usr/share/man/man1/troupe.1.gz"
chmod 0644 "$root/usr/share/doc/troupe/"*.gz "$root/usr/share/man/man1/troupe.1.gz"
install -m 0644 "$d/lintian-overrides" "$root/usr/share/lintian/overrides/troupe"

for s in postinst prerm postrm; do
  install -m 0755 "$d/$s" "$root/DEBIAN/$s"
done
install -m 0644 "$d/conffiles" "$root/DEBIAN/conffiles"

# The shared-library dependencies of the binary, as dpkg-shlibdeps reads them (it wants a
# debian/control beside it).
mkdir -p "$stage/src/debian"
printf 'Source: troupe\n\nPackage: troupe\nArchitecture: any\n' > "$stage/src/debian/control"
depends=$(cd "$stage/src" && dpkg-shlibdeps -O -e "$root/usr/bin/troupe" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "dpkg-shlibdeps found no dependencies for the binary" >&2; exit 1; }

(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums"
installed_size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@INSTALLED_SIZE@/$installed_size/" \
  -e "s/@DEPENDS@/$depends/" "$d/control" > "$root/DEBIAN/control"
find "$root" -newermt "@$SOURCE_DATE_EPOCH" -print0 | xargs -0 touch --no-dereference --date="@$SOURCE_DATE_EPOCH"

mkdir -p "$out"
deb="$out/troupe_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
