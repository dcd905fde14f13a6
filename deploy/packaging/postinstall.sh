#!/bin/sh
# Reload units so adpacer.service is known; do not start it: the operator
# fills /etc/adpacer/config.yaml and the secrets first, then enables it.
set -e
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
