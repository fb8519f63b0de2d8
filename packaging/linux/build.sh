#!/usr/bin/env bash
# Build the Linux installers from the working tree:
#   dist/desktop-oms_<version>_<arch>.deb            (/opt/desktop-oms, /usr/bin launcher, menu entry, icons)
#   dist/desktop-oms-<version>-linux-<machine>.tar.gz (the same app folder, runnable from anywhere)
#
#   packaging/linux/build.sh            # build, check the frozen app, package
#   packaging/linux/build.sh --no-check # skip running the frozen app (e.g. cross-checking elsewhere)
#
# Needs: uv, binutils (objdump, strip; PyInstaller needs objdump anyway), dpkg-deb for the
# .deb (without it only the tarball is made). The build runs in its own venv with the app's
# runtime dependencies and PyInstaller only (`uv sync --no-default-groups --group build`),
# so the project's dev venv is never touched and no test tooling ends up in the bundle.
# The version comes from pyproject.toml only.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/packaging/linux"
BUILD="${DESKTOP_OMS_BUILD_DIR:-$ROOT/build/linux}"
DIST="${DESKTOP_OMS_DIST_DIR:-$ROOT/dist}"
CHECK=1
for arg in "$@"; do
    case "$arg" in
        --no-check) CHECK=0 ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "unknown option: $arg" >&2; exit 2 ;;
    esac
done

cd "$ROOT"
export UV_PROJECT_ENVIRONMENT="$BUILD/venv"
unset VIRTUAL_ENV  # e.g. when started through `uv run`: the build venv is what counts
T0=$(date +%s)
step() { printf '\n==> %s\n' "$*"; }
elapsed() { echo $(( $(date +%s) - T0 ))s; }
die() { echo "build.sh: $*" >&2; exit 1; }

command -v uv >/dev/null || die "uv is required (https://docs.astral.sh/uv/)"
command -v objdump >/dev/null && command -v readelf >/dev/null || die "objdump/readelf are required (apt-get install binutils)"

case "$(uname -m)" in
    x86_64) DEB_ARCH=amd64; MACHINE=x86_64 ;;
    aarch64) DEB_ARCH=arm64; MACHINE=aarch64 ;;
    *) die "unsupported machine $(uname -m)" ;;
esac

# ------------------------------------------------------------------ build environment
step "build venv $UV_PROJECT_ENVIRONMENT (runtime dependencies + PyInstaller)"
uv sync --no-default-groups --group build --quiet
PY="$UV_PROJECT_ENVIRONMENT/bin/python"
VERSION="$("$PY" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')"
"$PY" - <<'EOF' || die "the build venv must hold PySide6-Essentials and no other Qt binding"
import importlib.metadata as md, importlib.util as u
others = [m for m in ("PyQt5", "PyQt6", "PySide2") if u.find_spec(m)]
addons = [d for d in ("PySide6-Addons", "PySide6") if any(True for _ in md.distributions(name=d))]
md.version("PySide6-Essentials")
raise SystemExit(1 if others or addons else 0)
EOF
echo "desktop-oms $VERSION for $DEB_ARCH"

# ------------------------------------------------------------------ freeze
step "PyInstaller (one-folder)"
T_PYI=$(date +%s)
uv run --no-sync pyinstaller --noconfirm --clean --log-level WARN \
    --distpath "$BUILD/pyinstaller/dist" --workpath "$BUILD/pyinstaller/work" \
    packaging/desktop_oms.spec
APPDIR="$BUILD/pyinstaller/dist/desktop-oms"
[ -x "$APPDIR/desktop-oms" ] || die "PyInstaller produced no $APPDIR/desktop-oms"
echo "PyInstaller took $(( $(date +%s) - T_PYI ))s"

# Symbol tables and debug info (a local interpreter build, Cython/Rust extension modules)
# are ~35 MB the app never uses. Files with an $ORIGIN-relative RPATH/RUNPATH may have been
# rewritten by patchelf (auditwheel's vendored libraries) and are left alone: strip can
# corrupt those.
if command -v strip >/dev/null; then
    before_kb="$(du -sk "$APPDIR" | cut -f1)"
    while IFS= read -r -d '' f; do
        head -c 4 "$f" | grep -q 'ELF' || continue
        readelf -S --wide "$f" 2>/dev/null | grep -qE '\] \.(symtab|debug_info) ' || continue
        readelf -d "$f" 2>/dev/null | grep -E '\((RPATH|RUNPATH)\)' | grep -qF '$ORIGIN' && continue
        strip --strip-unneeded "$f"
    done < <(find "$APPDIR/_internal" -type f -name '*.so*' -print0)
    echo "strip: $(( (before_kb - $(du -sk "$APPDIR" | cut -f1)) / 1024 )) MiB of symbols removed"
fi

# ------------------------------------------------------------------ system libraries
step "system libraries the bundle links against"
# Every DT_NEEDED of the bundle that the bundle does not provide must come from a package
# named in the control file's Depends; an unknown one fails the build (add it to both).
soname_package() {
    case "$1" in
        libc.so.*|libm.so.*|libdl.so.*|libpthread.so.*|librt.so.*|ld-linux*|libutil.so.*|libresolv.so.*) echo libc6 ;;
        libstdc++.so.*) echo libstdc++6 ;;
        libgcc_s.so.*) echo libgcc-s1 ;;
        libglib-2.0.so.*|libgthread-2.0.so.*|libgobject-2.0.so.*|libgio-2.0.so.*|libgmodule-2.0.so.*) echo libglib2.0-0 ;;
        libdbus-1.so.*) echo libdbus-1-3 ;;
        libfontconfig.so.*) echo libfontconfig1 ;;
        libfreetype.so.*) echo libfreetype6 ;;
        libX11.so.*) echo libx11-6 ;;
        libX11-xcb.so.*) echo libx11-xcb1 ;;
        libxcb.so.*) echo libxcb1 ;;
        libxcb-util.so.*) echo libxcb-util1 ;;
        libxcb-*.so.*) n="${1#libxcb-}"; n="${n%%.so.*}"; echo "libxcb-$n$(echo "${1##*.so.}" | cut -d. -f1)" ;;
        libxkbcommon.so.*) echo libxkbcommon0 ;;
        libxkbcommon-x11.so.*) echo libxkbcommon-x11-0 ;;
        libEGL.so.*) echo libegl1 ;;
        libGL.so.*) echo libgl1 ;;
        libOpenGL.so.*) echo libopengl0 ;;
        libwayland-client.so.*) echo libwayland-client0 ;;
        libwayland-cursor.so.*) echo libwayland-cursor0 ;;
        libwayland-egl.so.*) echo libwayland-egl1 ;;
        libz.so.*) echo zlib1g ;;
        *) echo "" ;;
    esac
}
declared="$(sed -n 's/^Depends: //p' "$HERE/control" | tr ',|' '\n\n' | sed -e 's/(.*//' -e 's/ //g')"
mapfile -t elves < <(find "$APPDIR" -type f \( -name '*.so*' -o -name desktop-oms \) )
bundled="$(find "$APPDIR" \( -type f -o -type l \) -name '*.so*' -printf '%f\n' | sort -u)"
needed="$(for f in "${elves[@]}"; do objdump -p "$f" 2>/dev/null | awk '/NEEDED/ {print $2}'; done | sort -u)"
missing=()
for lib in $(comm -23 <(echo "$needed") <(echo "$bundled")); do
    pkg="$(soname_package "$lib")"
    if [ -z "$pkg" ]; then
        missing+=("$lib (unknown: map it in build.sh and declare its package in packaging/linux/control)")
    elif ! grep -qxF "$pkg" <<<"$declared"; then
        missing+=("$lib (package $pkg is not in Depends)")
    fi
done
[ ${#missing[@]} -eq 0 ] || die "undeclared system libraries: ${missing[*]}"
GLIBC_MIN="$(for f in "${elves[@]}"; do objdump -T "$f" 2>/dev/null | grep -o 'GLIBC_[0-9.]*'; done | sed 's/GLIBC_//' | sort -uV | tail -1)"
echo "all $(comm -23 <(echo "$needed") <(echo "$bundled") | wc -l) external libraries are declared; needs glibc >= $GLIBC_MIN"

# ------------------------------------------------------------------ check the frozen app
if [ "$CHECK" = 1 ]; then
    step "frozen app: --version, packaging check, --smoke (offscreen)"
    got="$("$APPDIR/desktop-oms" --version)"
    [ "$got" = "desktop-oms $VERSION" ] || die "--version printed '$got', expected 'desktop-oms $VERSION'"
    echo "$got"
    DESKTOP_OMS_PACKAGING_CHECK=1 QT_QPA_PLATFORM=offscreen "$APPDIR/desktop-oms" || die "packaging check failed"
    QT_QPA_PLATFORM=offscreen "$APPDIR/desktop-oms" --smoke || die "--smoke failed"
fi

# ------------------------------------------------------------------ stage the package tree
step "stage /opt/desktop-oms, launcher, menu entry, icons"
STAGE="$BUILD/deb/desktop-oms_${VERSION}_${DEB_ARCH}"
rm -rf "$STAGE"
mkdir -p "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" "$STAGE/usr/share/doc/desktop-oms" "$STAGE/DEBIAN"
cp -a "$APPDIR" "$STAGE/opt/desktop-oms"
install -m 0755 "$HERE/desktop-oms.sh" "$STAGE/usr/bin/desktop-oms"
install -m 0644 "$HERE/desktop-oms.desktop" "$STAGE/usr/share/applications/desktop-oms.desktop"
for size in 16 24 32 48 64 128 256 512; do
    install -D -m 0644 "resources/icons/desktop-oms-$size.png" \
        "$STAGE/usr/share/icons/hicolor/${size}x${size}/apps/desktop-oms.png"
done
install -D -m 0644 resources/icons/desktop-oms.svg "$STAGE/usr/share/icons/hicolor/scalable/apps/desktop-oms.svg"
install -m 0644 "$HERE/copyright" "$STAGE/usr/share/doc/desktop-oms/copyright"
# Normalise permissions (the build may run with any umask): dirs and executables 755, rest 644.
find "$STAGE" -type d -exec chmod 0755 {} +
find "$STAGE" -type f -exec chmod go-w,a+r {} +
INSTALLED_KB="$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)"
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$DEB_ARCH/" -e "s/@INSTALLED_SIZE@/$INSTALLED_KB/" \
    -e "s/@GLIBC_MIN@/$GLIBC_MIN/" "$HERE/control" > "$STAGE/DEBIAN/control"
chmod 0644 "$STAGE/DEBIAN/control"

mkdir -p "$DIST"
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || date +%s)}"

# ------------------------------------------------------------------ .deb
DEB="$DIST/desktop-oms_${VERSION}_${DEB_ARCH}.deb"
if command -v dpkg-deb >/dev/null; then
    step "dpkg-deb -> $DEB"
    rm -f "$DEB"
    dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$DEB" >/dev/null
    dpkg-deb --info "$DEB" | sed -n '/Package:/,$p'
else
    echo "dpkg-deb not found: skipping the .deb (apt-get install dpkg-dev or build on Debian/Ubuntu)" >&2
    DEB=""
fi

# ------------------------------------------------------------------ tarball
TARDIR="desktop-oms-$VERSION-linux-$MACHINE"
TAR="$DIST/$TARDIR.tar.gz"
step "tarball -> $TAR"
TSTAGE="$BUILD/tar/$TARDIR"
rm -rf "$BUILD/tar" && mkdir -p "$TSTAGE"
cp -a "$STAGE/opt/desktop-oms/." "$TSTAGE/"
mkdir -p "$TSTAGE/share"
cp -a "$STAGE/usr/share/applications" "$STAGE/usr/share/icons" "$TSTAGE/share/"
install -m 0644 "$HERE/copyright" "$TSTAGE/share/copyright"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
    -C "$BUILD/tar" -cf - "$TARDIR" | gzip -n -6 > "$TAR"

rm -rf "$BUILD/deb" "$BUILD/tar"  # staging copies; the app folder stays in $BUILD/pyinstaller/dist

# ------------------------------------------------------------------ report
step "done in $(elapsed)"
printf '  %-58s %s\n' "installed size (/opt + /usr)" "$(( INSTALLED_KB / 1024 )) MiB"
[ -n "$DEB" ] && printf '  %-58s %s\n' "$(basename "$DEB")" "$(( $(stat -c %s "$DEB") / 1024 / 1024 )) MiB"
printf '  %-58s %s\n' "$(basename "$TAR")" "$(( $(stat -c %s "$TAR") / 1024 / 1024 )) MiB"
