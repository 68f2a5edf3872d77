#!/usr/bin/env bash
# Makes sure what the test suite talks to is present and running:
# PostgreSQL on 127.0.0.1:5432, the Debian packages of the real servers the
# integration tests start themselves (Dovecot), and the browser the browser
# tests drive (tests/e2e: Debian's Chromium, never Playwright's download, with
# a CJK font so Chinese pages render).  Safe to run repeatedly.
set -euo pipefail

need_packages=()
command -v /usr/sbin/dovecot >/dev/null 2>&1 || need_packages+=(dovecot-imapd)
command -v /usr/bin/tesseract >/dev/null 2>&1 || need_packages+=(tesseract-ocr)
for lang in chi_sim eng; do  # the fax channel's OCR languages (tests/integration/test_fax.py)
    [ -f "/usr/share/tesseract-ocr/5/tessdata/$lang.traineddata" ] \
        || need_packages+=("tesseract-ocr-${lang//_/-}")
done
command -v /usr/bin/chromium >/dev/null 2>&1 || need_packages+=(chromium)
dpkg-query -W -f='${Status}' fonts-wqy-zenhei 2>/dev/null | grep -q "install ok installed" \
    || need_packages+=(fonts-wqy-zenhei)

if [ ${#need_packages[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing Debian packages: ${need_packages[*]} (run as root to install them)" >&2
        exit 1
    fi
    echo "installing ${need_packages[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_packages[@]}" >/dev/null
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
    for _ in $(seq 1 30); do
        pg_isready -q -h 127.0.0.1 -p 5432 && break
        sleep 1
    done
fi
pg_isready -h 127.0.0.1 -p 5432
