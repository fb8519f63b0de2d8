#!/bin/sh
# /usr/bin/desktop-oms: launcher installed by the .deb; the app itself lives in /opt/desktop-oms.
exec /opt/desktop-oms/desktop-oms "$@"
