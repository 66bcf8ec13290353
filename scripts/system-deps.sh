#!/usr/bin/env bash
# Install the Debian packages Aftermath and its tests use, only those that are missing.
set -euo pipefail

need=()
command -v restic >/dev/null || need+=(restic)
[ -x /usr/lib/postgresql/15/bin/initdb ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v nft >/dev/null || need+=(nftables)
command -v ip >/dev/null || need+=(iproute2)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null || need+=(openssh-client)  # sftp: repositories are read through ssh -s sftp, as restic does
[ -e /usr/lib/x86_64-linux-gnu/libmagic.so.1 ] || ls /usr/lib/*/libmagic.so.1 >/dev/null 2>&1 || need+=(libmagic1)
command -v sqlite3 >/dev/null || need+=(sqlite3)
command -v setcap >/dev/null || need+=(libcap2-bin)  # the sweep tests plant a file capability
command -v gcc >/dev/null || need+=(gcc)  # the sweep tests compile a preloaded library
command -v rpmbuild >/dev/null || need+=(rpm)  # the sweep tests build an rpm database in a lab host
command -v age >/dev/null || need+=(age)  # tests prove the standard age tool opens hand-over packages
# WeasyPrint (consult report, notify letters: PDF) needs Pango and HarfBuzz; poppler-utils checks the PDFs in tests.
ls /usr/lib/*/libpango-1.0.so.0 >/dev/null 2>&1 || need+=(libpango-1.0-0 libpangoft2-1.0-0)
ls /usr/lib/*/libharfbuzz-subset.so.0 >/dev/null 2>&1 || need+=(libharfbuzz-subset0)
command -v pdftotext >/dev/null || need+=(poppler-utils)
command -v rclone >/dev/null || need+=(rclone)  # `rclone serve restic`: the REST server of the remote-repository tests
# The dashboard's browser tests drive Debian's Chromium through Playwright (never a downloaded browser).
[ -x /usr/bin/chromium ] || need+=(chromium)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "Installing Debian packages: ${need[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "error: need root or sudo to install ${need[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
