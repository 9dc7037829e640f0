#!/bin/bash
# The deb's postinst (electron-builder's deb.afterInstall). electron-builder
# fills in its macros (a dollar sign and a name in braces), so this script's
# own variables are written $NAME, without braces.
#
# First what electron-builder's own script does for the console, then the
# system service: its user, config folder and mail root, the pop3svc and
# winpop commands, and the unit, installed but left disabled until the
# administrator enables it (systemctl enable --now winpop). $DPKG_ROOT (dpkg
# --root) is honoured for the service's part; the console's part needs the
# live system and runs only without it.
set -e

APP='/opt/${sanitizedProductName}'
ROOT="$DPKG_ROOT"
SERVICE_USER=winpop
UNIT=winpop.service

if [ -z "$ROOT" ]; then
  if type update-alternatives >/dev/null 2>&1; then
    if [ -L '/usr/bin/${executable}' ] && [ -e '/usr/bin/${executable}' ] && [ "$(readlink '/usr/bin/${executable}')" != '/etc/alternatives/${executable}' ]; then
      rm -f '/usr/bin/${executable}'
    fi
    update-alternatives --install '/usr/bin/${executable}' '${executable}' '/opt/${sanitizedProductName}/${executable}' 100 || ln -sf '/opt/${sanitizedProductName}/${executable}' '/usr/bin/${executable}'
  else
    ln -sf '/opt/${sanitizedProductName}/${executable}' '/usr/bin/${executable}'
  fi
  # The SUID sandbox helper only where the kernel has no usable user namespaces.
  if ! { [ -L /proc/self/ns/user ] && unshare --user true; }; then
    chmod 4755 "$APP/chrome-sandbox" || true
  else
    chmod 0755 "$APP/chrome-sandbox" || true
  fi
  if hash update-mime-database 2>/dev/null; then update-mime-database /usr/share/mime || true; fi
  if hash update-desktop-database 2>/dev/null; then update-desktop-database /usr/share/applications || true; fi
fi

# --- the system service ---
UNPACKED="$APP/resources/app.asar.unpacked"
mkdir -p "$ROOT/usr/bin"
ln -sfn "$UNPACKED/bin/pop3svc.js" "$ROOT/usr/bin/pop3svc"
ln -sfn "$UNPACKED/bin/winpop.js" "$ROOT/usr/bin/winpop"

if ! grep -q "^$SERVICE_USER:" "$ROOT/etc/passwd"; then
  NOLOGIN=/usr/sbin/nologin
  [ -x "$ROOT$NOLOGIN" ] || NOLOGIN=/bin/false
  if [ -n "$ROOT" ]; then
    useradd --prefix "$ROOT" --system --user-group --home-dir /nonexistent --no-create-home --shell "$NOLOGIN" --comment 'POP3 Service' "$SERVICE_USER"
  else
    useradd --system --user-group --home-dir /nonexistent --no-create-home --shell "$NOLOGIN" --comment 'POP3 Service' "$SERVICE_USER"
  fi
fi
# Numeric ids from the (possibly prefixed) password file: chown by name would ask the live system.
SERVICE_UID=$(awk -F: -v u="$SERVICE_USER" '$1 == u { print $3 }' "$ROOT/etc/passwd")
SERVICE_GID=$(awk -F: -v u="$SERVICE_USER" '$1 == u { print $4 }' "$ROOT/etc/passwd")

# The service rewrites its config (winpop set) beside the old one: the folder is its own.
mkdir -p "$ROOT/etc/winpop"
chmod 0750 "$ROOT/etc/winpop"
chown "$SERVICE_UID:$SERVICE_GID" "$ROOT/etc/winpop"
if [ ! -e "$ROOT/etc/winpop/config.json" ]; then
  printf '{\n  "mailroot": "/var/lib/winpop/mailroot"\n}\n' > "$ROOT/etc/winpop/config.json"
  chmod 0600 "$ROOT/etc/winpop/config.json"
  chown "$SERVICE_UID:$SERVICE_GID" "$ROOT/etc/winpop/config.json"
elif ! grep -q '"mailroot"' "$ROOT/etc/winpop/config.json"; then
  # Without it the service's user would work out a mail root of its own, not root's /var/lib/winpop/mailroot.
  echo "Note: /etc/winpop/config.json names no mailroot; run pop3svc install (or winpop set mailroot /var/lib/winpop/mailroot) before enabling the service."
fi
# An existing store is left as it is: pop3svc install hands a store root made to the service.
if [ ! -d "$ROOT/var/lib/winpop/mailroot" ]; then
  mkdir -p "$ROOT/var/lib/winpop"
  chmod 0755 "$ROOT/var/lib/winpop"
  mkdir -m 0700 "$ROOT/var/lib/winpop/mailroot"
  chown "$SERVICE_UID:$SERVICE_GID" "$ROOT/var/lib/winpop/mailroot"
fi

install -D -m 0644 "$ROOT$APP/resources/$UNIT" "$ROOT/lib/systemd/system/$UNIT"
if [ -z "$ROOT" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
  # An upgrade restarts a service the administrator runs; a first install starts nothing.
  systemctl try-restart "$UNIT" || true
fi

if [ -z "$ROOT" ]; then
  NODE_VERSION=$(/usr/bin/node -p process.versions.node 2>/dev/null || echo none)
  if [ "$NODE_VERSION" = none ] || [ "$(printf '%s\n' 20.11.0 "$NODE_VERSION" | sort -V | head -n1)" != 20.11.0 ]; then
    echo "Note: the POP3 service runs on Node.js 20.11 or later as /usr/bin/node (found: $NODE_VERSION); install it before enabling the service."
  fi
fi
echo "The POP3 service is installed but not enabled; to run it at boot: systemctl enable --now $UNIT"
