#!/bin/bash
# The deb's postrm (electron-builder's deb.afterRemove); macros as in
# after-install.sh. On remove and purge: electron-builder's own clean-up of
# the console's command, then the service's unit (stopped and disabled
# first) and commands. The mail root, the config and the user stay: they
# hold mail and settings nobody asked to delete. On an upgrade nothing is
# done, as the new postinst puts everything back.
set -e

APP='/opt/${sanitizedProductName}'
ROOT="$DPKG_ROOT"
UNIT=winpop.service

case "$1" in
  upgrade | failed-upgrade | abort-install | abort-upgrade | disappear) exit 0 ;;
esac

if [ -z "$ROOT" ]; then
  if type update-alternatives >/dev/null 2>&1; then
    update-alternatives --remove '${executable}' '/opt/${sanitizedProductName}/${executable}' || true
  else
    rm -f '/usr/bin/${executable}'
  fi
  if [ -d /run/systemd/system ]; then systemctl disable --now "$UNIT" >/dev/null 2>&1 || true; fi
fi

rm -f "$ROOT/lib/systemd/system/$UNIT" "$ROOT/etc/systemd/system/multi-user.target.wants/$UNIT"
for COMMAND in pop3svc winpop; do
  # Only the links the postinst made: a winpop installed some other way stays.
  case "$(readlink "$ROOT/usr/bin/$COMMAND" 2>/dev/null || true)" in
    "$APP/resources/app.asar.unpacked/bin/"*) rm -f "$ROOT/usr/bin/$COMMAND" ;;
  esac
done
if [ -z "$ROOT" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
echo "The POP3 service is removed. Left in place: the mail root /var/lib/winpop/mailroot, the config /etc/winpop and the user winpop."
