#!/usr/bin/env bash
# Install rodrunner as a systemd service on the host that mounts the sequencer share.
#
#   sudo scripts/install.sh              # install into / and reload systemd
#   DESTDIR=/tmp/stage scripts/install.sh  # stage the layout only (used by the tests)
#
# Lays out /opt/rodrunner (virtualenv from the locked dependencies, docs),
# /etc/rodrunner/config.yaml (mode 0640, root:rodrunner; kept if it exists),
# the units in /etc/systemd/system, and the sysusers.d / tmpfiles.d snippets.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
dest="${DESTDIR:-}"
prefix="${PREFIX:-/opt/rodrunner}"
python="${PYTHON:-python3}"

say() { printf 'rodrunner install: %s\n' "$*"; }

install -d -m 0755 "$dest$prefix" "$dest$prefix/docs"
install -d -m 0755 "$dest/etc/systemd/system" "$dest/usr/lib/sysusers.d" "$dest/usr/lib/tmpfiles.d"
install -d -m 0750 "$dest/etc/rodrunner"

if [ "${SKIP_VENV:-0}" != "1" ]; then
  say "creating the virtualenv in $dest$prefix/venv"
  "$python" -m venv "$dest$prefix/venv"
  req="$(mktemp)"
  trap 'rm -f "$req"' EXIT
  # The exact versions of uv.lock, so the service runs what CI tested.
  (cd "$here" && "$python" -m uv export --frozen --no-dev --no-emit-project --no-hashes -q -o "$req")
  "$dest$prefix/venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
  "$dest$prefix/venv/bin/pip" install --quiet --disable-pip-version-check --no-deps "$here"
fi

cp -r "$here/docs/." "$dest$prefix/docs/"
for unit in "$here"/systemd/*.service; do
  install -m 0644 "$unit" "$dest/etc/systemd/system/$(basename "$unit")"
done
install -m 0644 "$here/systemd/rodrunner.sysusers.conf" "$dest/usr/lib/sysusers.d/rodrunner.conf"
install -m 0644 "$here/systemd/rodrunner.tmpfiles.conf" "$dest/usr/lib/tmpfiles.d/rodrunner.conf"

if [ -z "$dest" ]; then
  systemd-sysusers /usr/lib/sysusers.d/rodrunner.conf
  systemd-tmpfiles --create /usr/lib/tmpfiles.d/rodrunner.conf
fi

config="$dest/etc/rodrunner/config.yaml"
if [ -e "$config" ]; then
  say "keeping the existing $config"
else
  install -m 0640 "$here/config.example.yaml" "$config"
  if [ -z "$dest" ]; then chown root:rodrunner "$config" /etc/rodrunner; fi
  say "wrote $config: edit irods, sequencer and daemon before starting"
fi

if [ -z "$dest" ]; then
  systemctl daemon-reload
  say "done. Next: edit /etc/rodrunner/config.yaml, then: systemctl enable --now rodrunnerd"
else
  say "staged into $dest"
fi
